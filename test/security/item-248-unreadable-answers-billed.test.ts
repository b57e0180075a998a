/**
 * The attack (on the operator's bill): an upstream answers 200 — the provider read the prompt,
 * wrote the output and billed both — but the gateway cannot read or map the answer: a body cut
 * short or otherwise not JSON, an OpenAI-compatible answer without `choices`, an Anthropic Message
 * whose content the mapper chokes on. The client got 502 `upstream_invalid_response` (or 500), and
 * the call was recorded with no tokens and no cost: the key's spend and the user's credits did not
 * move, and each retry or fallback after it was another billed answer for free. Every answer the
 * gateway refuses after reading it (a post_call guardrail, max_response_size_mb) is charged; these
 * were not. Now such an attempt is charged like any answer the client does not get: the usage the
 * body reports when it can be read, else the prompt counted locally and the body counted as the
 * output (held to the request's output limit), added to the call's one usage row whether the
 * call then fails or a retry or fallback answers.
 */
import { createServer, type Server } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';

type Reply = { status?: number; body: string };

/** An upstream that answers each request with the next scripted body (OpenAI's and Anthropic's paths alike). */
const replies: Reply[] = [];
let upstream: Server;
let gateway: TestGateway;
let api: Management;
let key: string;

const USAGE = { prompt_tokens: 100, completion_tokens: 1000, total_tokens: 1100 };
/** 100 prompt tokens at 1 micro-dollar and 1000 completion tokens at 2. */
const ANSWER_COST = 100 * 1 + 1000 * 2;

function chatCompletion(extra: Record<string, unknown> = {}): string {
  return JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion', created: 1, model: 'cheap-upstream', choices: [{ index: 0, message: { role: 'assistant', content: 'An answer.' }, finish_reason: 'stop' }], usage: USAGE, ...extra });
}

beforeAll(async () => {
  upstream = createServer(async (request, response) => {
    for await (const _chunk of request);
    const reply = replies.shift() ?? { body: chatCompletion() };
    response.writeHead(reply.status ?? 200, { 'content-type': 'application/json' });
    response.end(reply.body);
  });
  await new Promise<void>((resolve) => upstream.listen(0, '127.0.0.1', resolve));
  const base = `http://127.0.0.1:${(upstream.address() as { port: number }).port}`;
  gateway = await startGateway(`
model_list:
  - model_name: cheap
    litellm_params: {model: openai/cheap-upstream, api_base: "${base}/v1", api_key: sk-upstream-test}
    model_info: {id: dep-cheap, input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}
  - model_name: flaky
    litellm_params: {model: openai/cheap-upstream, api_base: "${base}/v1", api_key: sk-upstream-test}
    model_info: {id: dep-flaky, input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}
  - model_name: claude
    litellm_params: {model: anthropic/claude-mock, api_base: "${base}", api_key: sk-upstream-test}
    model_info: {id: dep-claude, input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}
router_settings:
  num_retries: 0
  disable_cooldowns: true
  fallbacks: [{flaky: [cheap]}]
general_settings:
  master_key: ${MASTER_KEY}
`);
  api = new Management(gateway.url);
  key = (await api.generateKey({ max_budget: 10 })).key;
});

afterAll(async () => {
  await gateway?.close();
  await new Promise((resolve) => upstream?.close(resolve));
});

/** One chat call with the virtual key: the client's status, the call's usage row and how far the key's spend moved (micro-dollars). */
async function ask(model: string, ...scripted: Reply[]) {
  replies.length = 0;
  replies.push(...scripted);
  const before = (await api.keyInfo(key)).spend;
  const response = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'Tell me something.' }], max_tokens: 2000 }),
  });
  await response.text();
  const row = await gateway.recordOf(response.headers.get('x-switchboard-call-id')!);
  const spent = Math.round(((await api.keyInfo(key)).spend - before) * 1_000_000);
  return { status: response.status, row: row!, spent };
}

describe('an answer the upstream produced but the gateway cannot read', () => {
  it('is charged what the body reports when it reports usage (no "choices")', async () => {
    const { status, row, spent } = await ask('cheap', { body: JSON.stringify({ id: 'chatcmpl-2', object: 'chat.completion', usage: USAGE }) });
    expect(status).toBe(502);
    expect(row).toMatchObject({ status: 'failure', error_code: 'upstream_invalid_response', prompt_tokens: 100, completion_tokens: 1000, cost_micros: ANSWER_COST });
    expect(spent).toBe(ANSWER_COST);
  });

  it('is charged the prompt and the output counted locally when the body is not JSON', async () => {
    const { status, row, spent } = await ask('cheap', { body: chatCompletion({ choices: [{ index: 0, message: { role: 'assistant', content: 'words '.repeat(200) } }] }).slice(0, -40) });
    expect(status).toBe(502);
    expect(row).toMatchObject({ status: 'failure', error_code: 'upstream_invalid_response' });
    expect(row.prompt_tokens).toBeGreaterThan(0);
    // The body held some 200 words of output: counted, and never more than max_tokens.
    expect(row.completion_tokens).toBeGreaterThanOrEqual(200);
    expect(row.completion_tokens).toBeLessThanOrEqual(2000);
    expect(row.cost_micros).toBe(row.prompt_tokens! * 1 + row.completion_tokens! * 2);
    expect(spent).toBe(row.cost_micros);
  });

  it('is charged when the answer breaks the mapper (an Anthropic Message with a null content block)', async () => {
    const message = { id: 'msg_1', type: 'message', role: 'assistant', model: 'claude-mock', content: [null], stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: 100, output_tokens: 1000 } };
    const { status, row, spent } = await ask('claude', { body: JSON.stringify(message) });
    expect(status).toBeGreaterThanOrEqual(500);
    expect(row.status).toBe('failure');
    expect(row.prompt_tokens).toBeGreaterThan(0);
    expect(row.completion_tokens).toBeGreaterThan(0);
    expect(row.cost_micros).toBeGreaterThan(0);
    expect(spent).toBe(row.cost_micros);
  });

  it('is charged beside the fallback that answered, in the call\'s one row', async () => {
    const { status, row, spent } = await ask('flaky', { body: JSON.stringify({ id: 'chatcmpl-3', object: 'chat.completion', usage: USAGE }) }, { body: chatCompletion() });
    expect(status).toBe(200);
    expect(row).toMatchObject({ status: 'success', prompt_tokens: 200, completion_tokens: 2000, cost_micros: 2 * ANSWER_COST });
    expect(spent).toBe(2 * ANSWER_COST);
  });
});
