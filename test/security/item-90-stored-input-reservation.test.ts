/**
 * The attack: a request that names input the provider keeps itself — a Response's
 * `previous_response_id` (OpenAI reads, and bills, the whole earlier conversation again), a file by
 * id — carries a few bytes, and the budget reservation counted only those bytes: ~200 µ$ held for a
 * call the provider bills 40,000 prompt tokens. The usage bounds accept such a count (up to the
 * model's input window, item 62), so each call was charged in full after the fact — but nothing held
 * its cost while it ran, and ten concurrent calls of a key with $0.12 left were all admitted: $0.40
 * spent, 3.3 times the budget, and credits as far below zero (more calls at once, further past).
 * Now such a request reserves its prompt at the model's whole input window (model_info
 * max_input_tokens, else 2,000,000 tokens), the most the provider can read for it, on every route
 * (the OpenAI relay's Responses and chat, and the translated chat with a file by id): concurrency
 * can no longer push the spend past the budget, and a key whose budget cannot hold that is refused
 * before the provider is called.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

/** What the provider bills the stored conversation or file it reads: 40,000 prompt tokens. */
const STORED_PROMPT_TOKENS = 40_000;
const INPUT_WINDOW = 50_000;
/** 1 µ$ per input token, 2 per output token. */
const CALL_MICROS = STORED_PROMPT_TOKENS + 2 * 5;
const BUDGET_MICROS = 120_000;

function config(apiBase: string): string {
  return `
model_list:
  - model_name: cheap
    litellm_params: {model: openai/cheap-upstream, api_base: "${apiBase}", api_key: sk-upstream-test}
    model_info: {id: dep-cheap, input_cost_per_token: 0.000001, output_cost_per_token: 0.000002, max_input_tokens: ${INPUT_WINDOW}}
router_settings:
  num_retries: 0
  disable_cooldowns: true
general_settings:
  master_key: ${MASTER_KEY}
# Files stored on the shared provider account are named by id only with llm.manage_providers (item 296):
# these keys hold it, so the file-by-id cases still reach the reservation they test.
platform:
  roles:
    user: [llm.read, llm.execute, llm.manage_providers]
`;
}

type Ask = (client: OpenAI, relay: OpenAI) => Promise<unknown>;

const asks: Record<string, Ask> = {
  'previous_response_id on the relay': (_client, relay) => relay.responses.create({ model: 'cheap', input: 'and then?', previous_response_id: 'resp_kept_upstream', max_output_tokens: 50 }),
  'a file by id on the relay': (_client, relay) =>
    relay.chat.completions.create({ model: 'cheap', max_tokens: 50, messages: [{ role: 'user', content: [{ type: 'text', text: 'summarize' }, { type: 'file', file: { file_id: 'file-kept-upstream' } }] }] }),
  'a file by id on chat': (client) =>
    client.chat.completions.create({ model: 'cheap', max_tokens: 50, messages: [{ role: 'user', content: [{ type: 'text', text: 'summarize' }, { type: 'file', file: { file_id: 'file-kept-upstream' } }] }] }),
};

describe('input the provider keeps itself is reserved at the model\'s input window', () => {
  const upstream = new MockOpenAI({ promptTokens: STORED_PROMPT_TOKENS, completionTokens: 5 });
  let gateway: TestGateway;
  let api: Management;

  beforeAll(async () => {
    await upstream.start();
    gateway = await startGateway(config(upstream.url));
    api = new Management(gateway.url);
  });
  afterAll(async () => {
    await gateway?.close();
    await upstream.close();
  });

  it.each(Object.keys(asks))('%s: ten concurrent calls stay within the budget', async (name) => {
    const { key } = await api.generateKey({ max_budget: BUDGET_MICROS / 1e6 });
    const client = new OpenAI({ apiKey: key, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
    const relay = new OpenAI({ apiKey: key, baseURL: `${gateway.url}/openai/v1`, maxRetries: 0 });
    const before = upstream.requests.length;
    const outcomes = await Promise.all(
      Array.from({ length: 10 }, () =>
        asks[name](client, relay).then(
          () => 200,
          (error: { status?: number }) => error.status ?? 0,
        ),
      ),
    );
    await gateway.flushUsage();
    const answered = outcomes.filter((status) => status === 200).length;
    // Every refusal is the budget's, before the provider was called.
    expect(outcomes.filter((status) => status !== 200).every((status) => status === 400)).toBe(true);
    expect(upstream.requests.length - before).toBe(answered);
    // Reserved at 50,000 input tokens (+100 µ$ of output): two calls fit in $0.12 at once.
    expect(answered).toBeGreaterThanOrEqual(1);
    const spent = Math.round((await api.keyInfo(key)).spend * 1e6);
    expect(spent).toBe(answered * CALL_MICROS);
    expect(spent).toBeLessThanOrEqual(BUDGET_MICROS);
  });

  it('a key whose budget cannot hold the input window is refused before the provider is called', async () => {
    const { key } = await api.generateKey({ max_budget: 0.02 });
    const relay = new OpenAI({ apiKey: key, baseURL: `${gateway.url}/openai/v1`, maxRetries: 0 });
    const before = upstream.requests.length;
    const status = await asks['previous_response_id on the relay'](new OpenAI({ apiKey: key, baseURL: gateway.url }), relay).then(
      () => 200,
      (error: { status?: number }) => error.status,
    );
    expect(status).toBe(400);
    expect(upstream.requests.length).toBe(before);
    // A call that names no stored input still reserves only what it carries.
    expect((await new OpenAI({ apiKey: key, baseURL: `${gateway.url}/v1`, maxRetries: 0 }).chat.completions.create({ model: 'cheap', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }] })).choices).toHaveLength(1);
  });
});
