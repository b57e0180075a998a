/**
 * A key names a `mode: during_call` guardrail and streams. The upstream call starts at once while
 * the guardrail checks the prompt; nothing is relayed before its verdict. The gateway read only the
 * stream's first chunk meanwhile, and when the guardrail blocked (or the client hung up while the
 * verdict was pending) it destroyed the stream and billed what it had read: the upstream had
 * generated — and its provider billed — the whole answer (2000 completion tokens, 4012 µ$), the key
 * was charged 557 µ$ (7 prompt / 275 completion tokens, counted). Now the attempt reads on while the
 * verdict is pending (held for the relay), a refused stream is read to its end as a stream a
 * post_call guardrail cut is, and the call is charged what the upstream reported. A verdict that
 * lets the answer out still relays the whole stream unchanged, in order (item 367).
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import OpenAI, { BadRequestError } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockOpenAI } from '../support/mock-openai.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';

const PROMPT_TOKENS = 12;
const COMPLETION_TOKENS = 2000;
const REPLY = 'word '.repeat(COMPLETION_TOKENS);
/** What the provider bills the whole answer at the `cheap` prices (1 µ$ a prompt token, 2 a completion token). */
const UPSTREAM_BILLED_MICROS = PROMPT_TOKENS * 1 + COMPLETION_TOKENS * 2;

/** A generic_guardrail_api whose verdict (and how long it takes) the test sets. */
const verdict = { action: 'NONE' as string, delayMs: 0 };
const guardApi: Server = createServer(async (request, response) => {
  for await (const _ of request) void _;
  await new Promise((resolve) => setTimeout(resolve, verdict.delayMs));
  response.writeHead(200, { 'content-type': 'application/json' });
  response.end(JSON.stringify(verdict.action === 'BLOCKED' ? { action: 'BLOCKED', blocked_reason: 'not this prompt' } : { action: 'NONE' }));
});

// The upstream writes its whole stream at once (2000 tokens, its usage in the last chunk); the slow one a chunk every 5 ms.
const upstream = new MockOpenAI({ reply: REPLY, promptTokens: PROMPT_TOKENS, completionTokens: COMPLETION_TOKENS });
const slowUpstream = new MockOpenAI({ reply: 'word '.repeat(200), promptTokens: PROMPT_TOKENS, completionTokens: 200, chunkDelayMs: 5 });
let gateway: TestGateway;
let api: Management;

beforeAll(async () => {
  await upstream.start();
  await slowUpstream.start();
  await new Promise<void>((resolve) => guardApi.listen(0, '127.0.0.1', () => resolve()));
  const guardUrl = `http://127.0.0.1:${(guardApi.address() as AddressInfo).port}`;
  gateway = await startGateway(`
model_list:
  - model_name: cheap
    litellm_params: {model: openai/cheap-upstream, api_base: "${upstream.url}", api_key: sk-upstream-test}
    model_info: {id: dep-cheap, input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}
  - model_name: slow
    litellm_params: {model: openai/slow-upstream, api_base: "${slowUpstream.url}", api_key: sk-upstream-test}
    model_info: {id: dep-slow, input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}
router_settings:
  num_retries: 0
  disable_cooldowns: true
general_settings:
  master_key: ${MASTER_KEY}
guardrails:
  - guardrail_name: slow-check
    litellm_params: {guardrail: generic_guardrail_api, mode: during_call, api_base: "${guardUrl}"}
`);
  api = new Management(gateway.url);
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
  await slowUpstream?.close();
  guardApi.closeAllConnections();
  await new Promise<void>((resolve) => guardApi.close(() => resolve()));
});

async function freshKey(): Promise<{ client: OpenAI; key: string; tokenId: string }> {
  const { key } = await api.generateKey({});
  const tokenId = (await api.keyInfo(key)).token_id!;
  return { client: new OpenAI({ apiKey: key, baseURL: `${gateway.url}/v1`, maxRetries: 0 }), key, tokenId };
}

async function rowsOf(tokenId: string) {
  await gateway.flushUsage();
  return (await gateway.runtime.usageLogs()!.listRecent(1_000)).filter((row) => row.key_hash === tokenId);
}

async function spendMicros(key: string): Promise<number> {
  await gateway.flushUsage();
  return Math.round((await api.keyInfo(key)).spend * 1e6);
}

const request = (model = 'cheap') => ({ model, max_tokens: 4000, messages: [{ role: 'user' as const, content: 'hello' }], stream: true as const, guardrails: ['slow-check'] });

describe('a during_call guardrail on a stream: what the upstream produced is charged', () => {
  it('blocked after the upstream streamed its whole answer: charged the usage the upstream reported', async () => {
    const { client, key, tokenId } = await freshKey();
    verdict.action = 'BLOCKED';
    verdict.delayMs = 400;
    const error = await client.chat.completions.create(request() as never).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(BadRequestError);
    const rows = await rowsOf(tokenId);
    expect(rows).toHaveLength(1);
    const row = rows[0];
    console.log(`blocked: row ${row.prompt_tokens} prompt / ${row.completion_tokens} completion tokens, ${row.cost_micros} µ$; key spend ${await spendMicros(key)} µ$; upstream billed ${UPSTREAM_BILLED_MICROS} µ$`);
    expect(row.error_code).toBe('guardrail_violation');
    expect(row.prompt_tokens).toBe(PROMPT_TOKENS);
    expect(row.completion_tokens).toBe(COMPLETION_TOKENS);
    expect(row.cost_micros).toBe(UPSTREAM_BILLED_MICROS);
    expect(await spendMicros(key)).toBe(UPSTREAM_BILLED_MICROS);
  });

  it('blocked while the upstream is still streaming: the rest is read (not relayed) to its end and its usage charged', async () => {
    const { client, key, tokenId } = await freshKey();
    verdict.action = 'BLOCKED';
    verdict.delayMs = 200;
    const before = slowUpstream.requests.length;
    const error = await client.chat.completions.create(request('slow') as never).then(
      () => undefined,
      (caught: unknown) => caught,
    );
    expect(error).toBeInstanceOf(BadRequestError);
    const rows = await rowsOf(tokenId);
    expect(rows).toHaveLength(1);
    console.log(`blocked mid-stream: row ${rows[0].completion_tokens} completion tokens, ${rows[0].cost_micros} µ$; upstream billed ${PROMPT_TOKENS + 200 * 2} µ$`);
    // The upstream was read to its end (not cancelled) and its reported usage is what was billed.
    expect(slowUpstream.requests.slice(before).map((recorded) => recorded.aborted)).toEqual([false]);
    expect(rows[0].completion_tokens).toBe(200);
    expect(rows[0].cost_micros).toBe(PROMPT_TOKENS + 200 * 2);
    expect(await spendMicros(key)).toBe(PROMPT_TOKENS + 200 * 2);
  });

  it('the client hangs up while the verdict is pending: charged the usage the upstream reported', async () => {
    const { client, key, tokenId } = await freshKey();
    verdict.action = 'NONE';
    verdict.delayMs = 1000;
    const controller = new AbortController();
    const call = client.chat.completions.create(request() as never, { signal: controller.signal }).catch((caught: unknown) => caught);
    await new Promise((resolve) => setTimeout(resolve, 300));
    controller.abort();
    await call;
    // The call settles once the verdict is in (the pump then finds the client gone).
    let rows = await rowsOf(tokenId);
    for (let tries = 0; tries < 100 && rows.length === 0; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 50));
      rows = await rowsOf(tokenId);
    }
    expect(rows).toHaveLength(1);
    const row = rows[0];
    console.log(`hang-up: row ${row.prompt_tokens} prompt / ${row.completion_tokens} completion tokens, ${row.cost_micros} µ$; key spend ${await spendMicros(key)} µ$; upstream billed ${UPSTREAM_BILLED_MICROS} µ$`);
    expect(row.prompt_tokens).toBe(PROMPT_TOKENS);
    expect(row.completion_tokens).toBe(COMPLETION_TOKENS);
    expect(row.cost_micros).toBe(UPSTREAM_BILLED_MICROS);
    expect(await spendMicros(key)).toBe(UPSTREAM_BILLED_MICROS);
  }, 15_000);

  it.each([
    ['the whole answer arrived while the verdict was pending', 'cheap', REPLY, COMPLETION_TOKENS],
    ['the verdict came mid-stream', 'slow', 'word '.repeat(200), 200],
  ])('allowed (%s): the whole stream is relayed unchanged, in order, and billed as reported', async (_name, model, reply, completionTokens) => {
    const { client, tokenId } = await freshKey();
    verdict.action = 'NONE';
    verdict.delayMs = 300;
    const stream = await client.chat.completions.create(request(model) as never) as unknown as AsyncIterable<OpenAI.Chat.Completions.ChatCompletionChunk>;
    let text = '';
    let chunks = 0;
    let finish: string | null | undefined;
    for await (const chunk of stream) {
      chunks++;
      text += chunk.choices[0]?.delta?.content ?? '';
      finish = chunk.choices[0]?.finish_reason ?? finish;
    }
    expect(text).toBe(reply);
    expect(finish).toBe('stop');
    expect(chunks).toBeGreaterThan(10);
    const rows = await rowsOf(tokenId);
    expect(rows).toHaveLength(1);
    expect(rows[0].error_code).toBeNull();
    expect(rows[0].completion_tokens).toBe(completionTokens);
    expect(rows[0].cost_micros).toBe(PROMPT_TOKENS + completionTokens * 2);
  });
});
