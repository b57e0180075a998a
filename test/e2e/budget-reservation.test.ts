/**
 * Budgets reserve a realistic output (src/billing/reservation-plan.ts) and still never pass: a key
 * with max_budget $0.0005 on gpt-4o prices, calling without max_tokens, gets answers — each capped
 * upstream at what the budget left pays for — until its budget is spent, then a refusal that names
 * what is left and what the call needs. 200 concurrent calls never push spend past the budget, in
 * one process (SQLite, limits in memory) and across PostgreSQL + Redis. The mock reports as many
 * completion tokens as the request allows (as OpenAI bills), from a natural answer far longer
 * than any cap.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type StartOptions, type TestGateway } from '../support/gateway.js';
import { Management, promptBound } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';
import { stateSetups } from '../support/shared-state-setups.js';

const setups = await stateSetups();

const MESSAGE = 'How much does this cost?';
/** What the provider counts for the prompt: below the gateway's byte bound, as real tokenizers do. */
const PROMPT_TOKENS = 13;
/** The answer the model would write if nothing stopped it. */
const NATURAL_ANSWER_TOKENS = 4_000;
/** gpt-4o list prices, µ$ per token. */
const INPUT = 2.5;
const OUTPUT = 10;
const PROMPT_BOUND_MICROS = Math.ceil(promptBound(MESSAGE) * INPUT);
const MINIMAL_CALL_MICROS = Math.ceil(promptBound(MESSAGE) * INPUT + 16 * OUTPUT);

const upstream = new MockOpenAI({ promptTokens: PROMPT_TOKENS, completionTokens: NATURAL_ANSWER_TOKENS, honourMaxTokens: true });

function config(apiBase: string): string {
  return `
model_list:
  - model_name: gpt-4o
    litellm_params: {model: openai/gpt-4o, api_base: "${apiBase}", api_key: sk-upstream-test}
    model_info: {id: dep-gpt-4o, input_cost_per_token: 0.0000025, output_cost_per_token: 0.00001, max_output_tokens: 16384}
router_settings:
  num_retries: 0
  disable_cooldowns: true
general_settings:
  master_key: ${MASTER_KEY}
`;
}

type Outcome = { ok: true; completionTokens: number } | { ok: false; status: number; type: unknown; message: string };

async function ask(client: OpenAI, stream = false): Promise<Outcome> {
  try {
    if (stream) {
      const chunks = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: MESSAGE }], stream: true, stream_options: { include_usage: true } });
      let completionTokens = 0;
      for await (const chunk of chunks) if (chunk.usage) completionTokens = chunk.usage.completion_tokens;
      return { ok: true, completionTokens };
    }
    const completion = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: MESSAGE }] });
    return { ok: true, completionTokens: completion.usage!.completion_tokens };
  } catch (error) {
    if (error instanceof OpenAI.APIError) return { ok: false, status: error.status ?? 0, type: (error.error as { type?: unknown } | undefined)?.type, message: error.message };
    throw error;
  }
}

async function spentByKey(gateway: TestGateway, keyHash: string): Promise<number> {
  await gateway.flushUsage();
  const row = await gateway.runtime
    .principals()!
    .db.selectFrom('usage_logs')
    .select((eb) => eb.fn.coalesce(eb.fn.sum<number>('cost_micros'), eb.lit(0)).as('total'))
    .where('key_hash', '=', keyHash)
    .executeTakeFirstOrThrow();
  return Number(row.total);
}

beforeAll(async () => {
  await upstream.start();
});

afterAll(async () => {
  await upstream.close();
});

describe.each(setups)('realistic budget reservations: $name', (setup) => {
  let gateway: TestGateway;
  let api: Management;
  let cleanup: () => Promise<void>;
  let options: StartOptions;

  beforeAll(async () => {
    const prepared = await setup.prepare();
    cleanup = prepared.cleanup;
    options = prepared.options;
    gateway = await startGateway(config(upstream.url), prepared.options);
    api = new Management(gateway.url);
  });

  afterAll(async () => {
    await gateway?.close();
    await cleanup?.();
  });

  it('a $0.0005 key gets capped answers without max_tokens until its budget is spent, then a refusal naming what is left', async () => {
    const key = await api.generateKey({ max_budget: 0.0005 });
    const client = new OpenAI({ apiKey: key.key, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
    const before = upstream.requests.length;
    const answers: number[] = [];
    let refusal: Outcome | undefined;
    for (let call = 0; call < 20 && !refusal; call++) {
      const outcome = await ask(client, call % 2 === 1);
      if (outcome.ok) answers.push(outcome.completionTokens);
      else refusal = outcome;
    }
    // Without the plan every such call was refused (its worst case, 16,384 tokens, is $0.16). Here the
    // first answer is cut at the 40 tokens $0.0005 pays for after the prompt's bound, and costs less
    // than reserved (the provider counts fewer prompt tokens than the bound).
    expect(answers.length).toBeGreaterThanOrEqual(1);
    expect(answers[0]).toBe(Math.floor((500 - PROMPT_BOUND_MICROS) / OUTPUT));
    expect(refusal).toMatchObject({ ok: false, status: 400, type: 'budget_exceeded' });
    const message = (refusal as { message: string }).message;
    expect(message).toMatch(/of its \$0\.0005 budget is left after \$0\.000\d+ spent; this request needs \$0\.000\d+ even for a minimal answer \(its input and 16 tokens of output\)/);

    // Each upstream request carried the cap, the client's body never had one, and the answer stayed within it.
    const sent = upstream.requests.slice(before).map((request) => request.body.max_completion_tokens as number);
    expect(sent).toHaveLength(answers.length);
    expect(sent.every((cap) => Number.isInteger(cap) && cap >= 16 && cap <= 1024)).toBe(true);
    expect(answers).toEqual(sent);
    expect(upstream.requests.slice(before).every((request) => request.body.max_tokens === undefined)).toBe(true);

    const spent = await spentByKey(gateway, key.token);
    expect(spent).toBeLessThanOrEqual(500);
    // Spent down to less than a minimal call: nothing a budget could pay for was refused.
    expect(500 - spent).toBeLessThan(MINIMAL_CALL_MICROS);
    expect(Math.round((await api.keyInfo(key.token)).spend * 1_000_000)).toBe(spent);
  });

  it('200 concurrent calls without max_tokens never push spend past the budget, and every refusal explains itself', async () => {
    const budget = 20_000; // $0.02: about two calls at the full 1024-token allowance, more when capped
    const key = await api.generateKey({ max_budget: budget / 1_000_000 });
    const client = new OpenAI({ apiKey: key.key, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
    // With PostgreSQL and Redis, half the calls go through a second replica: the budget holds across both.
    const replica = setup.name.startsWith('replicas') ? await startGateway(config(upstream.url), options) : undefined;
    const clients = replica ? [client, new OpenAI({ apiKey: key.key, baseURL: `${replica.url}/v1`, maxRetries: 0 })] : [client];
    upstream.alwaysFault = { kind: 'delay', ms: 50 };
    try {
      const outcomes = await Promise.all(Array.from({ length: 200 }, (_, index) => ask(clients[index % clients.length], index % 4 === 0)));
      const answered = outcomes.filter((outcome) => outcome.ok);
      const refused = outcomes.filter((outcome): outcome is Extract<Outcome, { ok: false }> => !outcome.ok);
      expect(answered.length).toBeGreaterThanOrEqual(1);
      expect(refused.every((outcome) => outcome.status === 400 && outcome.type === 'budget_exceeded' && /budget is left/.test(outcome.message))).toBe(true);
      expect(answered.length + refused.length).toBe(200);
    } finally {
      upstream.alwaysFault = undefined;
      await replica?.flushUsage();
      await replica?.close();
    }
    const spent = await spentByKey(gateway, key.token);
    expect(spent).toBeGreaterThan(0);
    expect(spent).toBeLessThanOrEqual(budget);

    // Calls after the burst keep getting answers until not even a minimal one fits.
    for (let call = 0; call < 200; call++) if (!(await ask(client)).ok) break;
    const final = await spentByKey(gateway, key.token);
    expect(final).toBeLessThanOrEqual(budget);
    expect(budget - final).toBeLessThan(MINIMAL_CALL_MICROS);
  });
});

describe('general_settings.budget_reservation_output_tokens', () => {
  let gateway: TestGateway;
  let api: Management;

  beforeAll(async () => {
    gateway = await startGateway(config(upstream.url).replace('general_settings:\n', 'general_settings:\n  budget_reservation_output_tokens: 100\n'));
    api = new Management(gateway.url);
  });

  afterAll(async () => {
    await gateway?.close();
  });

  it('sets what a call without max_tokens reserves and is capped at upstream; a key without a hard budget is not capped', async () => {
    // $1 pays for far more than 100 tokens: the setting, not the budget, sets the cap.
    const budgeted = await api.generateKey({ max_budget: 1 });
    const client = new OpenAI({ apiKey: budgeted.key, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
    for (const stream of [false, true]) {
      const before = upstream.requests.length;
      const outcome = await ask(client, stream);
      expect(outcome).toEqual({ ok: true, completionTokens: 100 });
      expect(upstream.requests[before].body.max_completion_tokens).toBe(100);
    }
    await gateway.flushUsage();
    // Reserved and billed: the prompt the provider counted and the 100 tokens of output.
    const spent = await spentByKey(gateway, budgeted.token);
    expect(spent).toBeGreaterThanOrEqual(2 * Math.floor(PROMPT_TOKENS * INPUT + 100 * OUTPUT));
    expect(spent).toBeLessThanOrEqual(2 * Math.ceil(PROMPT_TOKENS * INPUT + 100 * OUTPUT));

    const unbudgeted = await api.generateKey({ soft_budget: 1 });
    const before = upstream.requests.length;
    const outcome = await ask(new OpenAI({ apiKey: unbudgeted.key, baseURL: `${gateway.url}/v1`, maxRetries: 0 }));
    expect(outcome).toEqual({ ok: true, completionTokens: NATURAL_ANSWER_TOKENS });
    expect(upstream.requests[before].body).not.toHaveProperty('max_completion_tokens');
    expect(upstream.requests[before].body).not.toHaveProperty('max_tokens');
  });

  it('is checked at start: below 16 the config is refused', async () => {
    await expect(startGateway(config(upstream.url).replace('general_settings:\n', 'general_settings:\n  budget_reservation_output_tokens: 8\n'))).rejects.toThrow(/budget_reservation_output_tokens/);
  });
});

describe('an upstream that ignores the completion limit', () => {
  let gateway: TestGateway;
  let api: Management;
  // It streams a word every 2 ms: the cut comes while it is still sending. (A stream already read in
  // full when the cut would come ended nothing: it is billed in full, as the provider bills it.)
  const deaf = new MockOpenAI({ promptTokens: PROMPT_TOKENS, completionTokens: NATURAL_ANSWER_TOKENS, chunkDelayMs: 2, reply: 'word '.repeat(2_000) });

  beforeAll(async () => {
    await deaf.start();
    gateway = await startGateway(config(deaf.url));
    api = new Management(gateway.url);
  });

  afterAll(async () => {
    await gateway?.close();
    await deaf.close();
  });

  it('has its stream cut once the text passes what the cap can hold; what it produced is billed', async () => {
    const key = await api.generateKey({ max_budget: 0.0005 });
    const client = new OpenAI({ apiKey: key.key, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
    // 40 tokens are capped (see above): at most 40 × 32 characters may come; this answer is far longer.
    const before = deaf.requests.length;
    let received = '';
    let failure: unknown;
    try {
      const stream = await client.chat.completions.create({ model: 'gpt-4o', messages: [{ role: 'user', content: MESSAGE }], stream: true });
      for await (const chunk of stream) received += chunk.choices[0]?.delta?.content ?? '';
    } catch (error) {
      failure = error;
    }
    expect(String((failure as Error | undefined)?.message)).toContain('streamed past the completion limit the gateway set (max_completion_tokens: 40');
    expect(deaf.requests[before].body.max_completion_tokens).toBe(40);
    expect(received.length).toBeLessThan(10_000);
    await expect.poll(() => deaf.requests[before].aborted).toBe(true);
    await gateway.flushUsage();
    const row = await gateway.runtime.principals()!.db.selectFrom('usage_logs').selectAll().where('key_hash', '=', key.token).executeTakeFirstOrThrow();
    expect(row.aborted).toBe(1);
    expect(Number(row.cost_micros)).toBeGreaterThan(0);
  });
});
