/**
 * The attack: a Gemini call that names a context cache (`cachedContent: "cachedContents/…"`) makes
 * Google read the whole cached context again, and bill it (at the cache rate): 100,000 prompt
 * tokens for a request of a few bytes. The usage bounds did not know the field, took the count for
 * a report beyond what the request could produce and billed the gateway's own count instead: 8
 * prompt tokens, 8 µ$ for a call Google billed 25,010 µ$ (the row marked usage_adjusted) — every
 * call on a shared cache run at a three-thousandth of its price. And nothing was reserved for the
 * cached context: six concurrent calls of a key with $0.12 left were all admitted (six would have
 * cost $0.15 at the right price). Now `cachedContent` is input
 * the provider keeps itself, as a file or a Response's previous_response_id is: the reported count
 * is billed up to the model's input window, and that window is what each call reserves.
 * Since item 331 only keys with llm.manage_providers may name a cache (it is the shared project's),
 * so the keys here are a proxy_admin user's, with budgets.
 */
import { GoogleGenAI } from '@google/genai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockGemini } from '../support/mock-gemini.js';

const PROMPT_TOKENS = 100_000;
const CACHED_TOKENS = 99_990;
const ANSWER_TOKENS = 5;
/** Pico-dollars per token: $1/M input, $0.25/M cached input, $0.40/M output. */
const INPUT = 1_000_000;
const CACHED = 250_000;
const OUTPUT = 400_000;
/** What Google bills the call: 10 uncached + 99,990 cached prompt tokens and 5 answer tokens (µ$, rounded up). */
const CALL_MICROS = Math.ceil(((PROMPT_TOKENS - CACHED_TOKENS) * INPUT + CACHED_TOKENS * CACHED + ANSWER_TOKENS * OUTPUT) / 1_000_000);
const INPUT_WINDOW = 100_000;

describe('a Gemini context cache is billed and reserved as the input it is', () => {
  const upstream = new MockGemini({ promptTokens: PROMPT_TOKENS, cachedTokens: CACHED_TOKENS, candidatesTokens: ANSWER_TOKENS });
  let gateway: TestGateway;
  let api: Management;

  beforeAll(async () => {
    const base = await upstream.start();
    gateway = await startGateway(`
model_list:
  - model_name: flash
    litellm_params: {model: gemini/gemini-2.0-flash, api_base: "${base}", api_key: upstream-key}
    model_info: {id: dep-flash, input_cost_per_token: 0.000001, cache_read_input_token_cost: 0.00000025, output_cost_per_token: 0.0000004, max_input_tokens: ${INPUT_WINDOW}}
general_settings:
  master_key: ${MASTER_KEY}
`);
    api = new Management(gateway.url);
  });
  afterAll(async () => {
    await gateway?.close();
    await upstream.close();
  });

  /** A key that may name a context cache (a proxy_admin user's), held to a budget. */
  const cacheKey = async (maxBudget: number) => {
    const admin = await api.newUser({ user_role: 'proxy_admin' });
    return api.generateKey({ user_id: admin.user_id, max_budget: maxBudget });
  };
  const genai = (key: string) => new GoogleGenAI({ apiKey: key, httpOptions: { baseUrl: `${gateway.url}/gemini` } });

  it('the cached tokens Google reports are billed, JSON and streamed', async () => {
    const { key } = await cacheKey(1);
    const client = genai(key);
    const answer = await client.models.generateContent({ model: 'flash', contents: 'What does the manual say about torque?', config: { cachedContent: 'cachedContents/manual-v2', maxOutputTokens: 50 } });
    expect(answer.usageMetadata?.cachedContentTokenCount).toBe(CACHED_TOKENS);
    const stream = await client.models.generateContentStream({ model: 'flash', contents: 'And about bolts?', config: { cachedContent: 'cachedContents/manual-v2', maxOutputTokens: 50 } });
    for await (const chunk of stream) void chunk;
    await gateway.flushUsage();
    const rows = await gateway.runtime.principals()!.db.selectFrom('usage_logs').selectAll().where('model_group', '=', 'flash').execute();
    expect(rows).toHaveLength(2);
    for (const row of rows) {
      expect(row).toMatchObject({ prompt_tokens: PROMPT_TOKENS, cached_tokens: CACHED_TOKENS, completion_tokens: ANSWER_TOKENS, usage_adjusted: 0 });
      expect(row.cost_micros).toBe(CALL_MICROS);
    }
    expect(Math.round((await api.keyInfo(key)).spend * 1e6)).toBe(2 * CALL_MICROS);
  });

  it('concurrent calls on a cache cannot pass the budget: each holds the model\'s input window', async () => {
    // Room for one call's reservation (100,000 input tokens at $1/M, plus the output bound), not two.
    const budget = 120_000;
    const { key } = await cacheKey(budget / 1e6);
    const client = genai(key);
    const outcomes = await Promise.all(
      Array.from({ length: 6 }, () =>
        client.models.generateContent({ model: 'flash', contents: 'Summarize chapter 3.', config: { cachedContent: 'cachedContents/manual-v2', maxOutputTokens: 50 } }).then(
          () => 200,
          (error: { status?: number }) => error.status ?? 0,
        ),
      ),
    );
    await gateway.flushUsage();
    const answered = outcomes.filter((status) => status === 200).length;
    expect(answered).toBeGreaterThanOrEqual(1);
    expect(outcomes.filter((status) => status !== 200).every((status) => status === 400)).toBe(true);
    const spent = Math.round((await api.keyInfo(key)).spend * 1e6);
    expect(spent).toBe(answered * CALL_MICROS);
    expect(spent).toBeLessThanOrEqual(budget);
  });
});
