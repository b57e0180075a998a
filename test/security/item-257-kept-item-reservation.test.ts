/**
 * Item 257: input OpenAI keeps from an earlier call and reads again when a request names it by id —
 * a Responses `item_reference` (`{"type":"item_reference","id":"msg_…"}`, or just `{"id":"msg_…"}`
 * at the top of `input`: the SDK types make the type optional) and a chat assistant turn's
 * `audio: {id}` (an earlier spoken answer, read again as audio input). A few bytes name an item of
 * any length, and OpenAI bills every token of it. Item 90 reserved the model's input window for the
 * other ids of such input (previous_response_id, conversation, file_id, prompt), not for these:
 * - on `/openai/v1/responses` and `/openai/v1/chat/completions`, ten concurrent calls of a key with
 *   $0.12 left, each billed 40,000 prompt tokens, were all admitted and charged 16–17 µ$ each (the
 *   usage bounds took the 40,000 for implausible and billed the gateway's count of the body): $0.40
 *   of provider spend for $0.00017 charged;
 * - on `/v1/responses` with a built-in tool (relayed, its usage accepted), the ten were admitted and
 *   charged $0.50 together: over four times the budget.
 * Now such a request is held like item 90's: its prompt reserved at the model's whole input window
 * (model_info max_input_tokens), and the provider's count accepted up to it, so the calls admitted
 * at once fit in the budget and each is charged what OpenAI bills.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

/** What OpenAI bills for the item it reads again: 40,000 prompt tokens. */
const KEPT_PROMPT_TOKENS = 40_000;
const INPUT_WINDOW = 50_000;
/** 1 µ$ per input token, 2 per output token (5 of output). */
const CALL_MICROS = KEPT_PROMPT_TOKENS + 2 * 5;
/** One web_search call ($10 per 1,000 calls), reserved and charged on the built-in tool route. */
const SEARCH_MICROS = 10_000;
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
# Items stored on the shared provider account are named by id only with llm.manage_providers (item 304):
# these keys hold it, so the item_reference cases still reach the reservation they test.
platform:
  roles:
    user: [llm.read, llm.execute, llm.manage_providers]
`;
}

type Ask = (client: OpenAI, relay: OpenAI) => Promise<unknown>;
const turn = { role: 'user', content: 'go on' };

const asks: Record<string, { ask: Ask; perCall: number }> = {
  'an item_reference on the relay': { perCall: CALL_MICROS, ask: (_client, relay) => relay.responses.create({ model: 'cheap', max_output_tokens: 50, input: [{ type: 'item_reference', id: 'msg_kept_upstream' }, turn] } as never) },
  'an item reference without its type on the relay': { perCall: CALL_MICROS, ask: (_client, relay) => relay.responses.create({ model: 'cheap', max_output_tokens: 50, input: [{ id: 'msg_kept_upstream' }, turn] } as never) },
  'an item_reference with a built-in tool': {
    perCall: CALL_MICROS + SEARCH_MICROS,
    ask: (client) => client.responses.create({ model: 'cheap', max_output_tokens: 50, max_tool_calls: 1, tools: [{ type: 'web_search' }], input: [{ type: 'item_reference', id: 'msg_kept_upstream' }, turn] } as never),
  },
  'an earlier spoken answer by id on the relay': {
    perCall: CALL_MICROS,
    ask: (_client, relay) => relay.chat.completions.create({ model: 'cheap', max_tokens: 50, messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', audio: { id: 'audio_kept_upstream' } }, turn] } as never),
  },
};

describe('items OpenAI keeps and reads again by id are reserved at the model\'s input window', () => {
  const upstream = new MockOpenAI({ promptTokens: KEPT_PROMPT_TOKENS, completionTokens: 5 });
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

  it.each(Object.keys(asks))('%s: ten concurrent calls stay within the budget, each charged in full', async (name) => {
    const { key } = await api.generateKey({ max_budget: BUDGET_MICROS / 1e6 });
    const client = new OpenAI({ apiKey: key, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
    const relay = new OpenAI({ apiKey: key, baseURL: `${gateway.url}/openai/v1`, maxRetries: 0 });
    const before = upstream.requests.length;
    const outcomes = await Promise.all(
      Array.from({ length: 10 }, () =>
        asks[name].ask(client, relay).then(
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
    expect(answered).toBeGreaterThanOrEqual(1);
    const spent = Math.round((await api.keyInfo(key)).spend * 1e6);
    expect(spent).toBe(answered * asks[name].perCall);
    expect(spent).toBeLessThanOrEqual(BUDGET_MICROS);
  });

  it('a key whose budget cannot hold the input window is refused; items sent back whole are not held so', async () => {
    const { key } = await api.generateKey({ max_budget: 0.02 });
    const relay = new OpenAI({ apiKey: key, baseURL: `${gateway.url}/openai/v1`, maxRetries: 0 });
    const before = upstream.requests.length;
    const status = await asks['an item_reference on the relay'].ask(relay, relay).then(
      () => 200,
      (error: { status?: number }) => error.status,
    );
    expect(status).toBe(400);
    expect(upstream.requests.length).toBe(before);
    // Items sent back whole (a message with its id and role) are carried, not kept upstream.
    const answer = await relay.responses.create({ model: 'cheap', max_output_tokens: 50, input: [{ type: 'message', id: 'msg_1', role: 'assistant', content: [{ type: 'output_text', text: 'earlier', annotations: [] }] }, turn] } as never);
    expect(answer.id).toBeTruthy();
  });
});
