/**
 * The attack: a `generic_guardrail_api` pre_call guardrail may answer `GUARDRAIL_INTERVENED` with
 * texts that replace the prompt the upstream gets — after admission reserved the key's budget (and
 * the user's credits, the tpm windows) for the prompt the client sent. A guardrail that expands a
 * 5-byte prompt to 40 KB (a policy preamble per text) made one call on a key with $0.0005 of budget
 * cost $0.01001 (20× the budget), and four in parallel $0.04004: the real cost was charged, the hard
 * limit not held. Now the reservations grow by what the rewrite adds to the bound admission
 * computed, before any upstream call, or the call is refused with admission's refusal (400
 * `budget_exceeded`, 402 `insufficient_credits`, 429 `rate_limit_exceeded`) and charged nothing.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MockOpenAI } from '../support/mock-openai.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { Management, pricedConfig } from '../support/management.js';
import { stateSetups } from '../support/shared-state-setups.js';

const setups = await stateSetups();

interface GuardCall { texts: string[]; input_type: string }

/** A generic_guardrail_api whose answer `decide` chooses per call. */
class GuardApi {
  decide: (call: GuardCall) => Record<string, unknown> = () => ({ action: 'NONE' });
  private server: Server | undefined;
  url = '';
  async start(): Promise<void> {
    this.server = createServer(async (req, res) => {
      const chunks: Buffer[] = [];
      for await (const chunk of req) chunks.push(chunk as Buffer);
      const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as GuardCall;
      res.writeHead(200, { 'content-type': 'application/json' });
      res.end(JSON.stringify(this.decide(body)));
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', () => resolve()));
    this.url = `http://127.0.0.1:${(this.server.address() as AddressInfo).port}`;
  }
  async close(): Promise<void> {
    this.server?.closeAllConnections();
    await new Promise<void>((resolve) => this.server?.close(() => resolve()));
  }
}

/** Every request text (the prompt) gets `extra` characters appended; answers pass. */
function expandBy(extra: number): (call: GuardCall) => Record<string, unknown> {
  return (call) => (call.input_type === 'request' ? { action: 'GUARDRAIL_INTERVENED', texts: call.texts.map((text) => `${text} ${'X'.repeat(extra)}`) } : { action: 'NONE' });
}

/** credits_per_usd 1000 and the free tier's markup 0: one millicredit per micro-dollar. */
const PLATFORM = 'platform:\n  credits_per_usd: 1000\n  default_tier: free\n';
/** cheap: 1 µ$ per input token, 2 per output token. */
const BUDGET_USD = 0.0005;
const BUDGET_MICROS = 500;

describe.each(setups)('a prompt a guardrail rewrote after admission is held to the reservations (item 369): $name', (setup) => {
  let upstream: MockOpenAI;
  let guard: GuardApi;
  let gateway: TestGateway;
  let api: Management;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    upstream = new MockOpenAI({ completionTokens: 5 });
    await upstream.start();
    guard = new GuardApi();
    await guard.start();
    const prepared = await setup.prepare();
    cleanup = prepared.cleanup;
    gateway = await startGateway(pricedConfig(upstream.url, `${PLATFORM}guardrails:
  - guardrail_name: expander
    litellm_params:
      guardrail: generic_guardrail_api
      mode: pre_call
      api_base: ${guard.url}
`), prepared.options);
    api = new Management(gateway.url);
  });

  afterEach(() => {
    guard.decide = () => ({ action: 'NONE' });
    upstream.options.promptTokens = undefined;
    upstream.options.chunkDelayMs = undefined;
  });

  afterAll(async () => {
    await gateway?.close();
    await upstream?.close();
    await guard?.close();
    await cleanup?.();
  });

  interface Answer { status: number; code?: string; message?: string; callId: string | null; text: string }

  async function post(path: string, key: string, body: Record<string, unknown>): Promise<Answer> {
    const response = await fetch(`${gateway.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
    const text = await response.text();
    let error: { code?: string; type?: string; message?: string } | undefined;
    try {
      error = (JSON.parse(text) as { error?: { code?: string; type?: string; message?: string } }).error;
    } catch {
      error = undefined;
    }
    return { status: response.status, code: error?.code ?? error?.type, message: error?.message, callId: response.headers.get('x-switchboard-call-id'), text };
  }

  const chat = (key: string, body: Record<string, unknown> = {}) => post('/v1/chat/completions', key, { model: 'cheap', messages: [{ role: 'user', content: 'hello' }], max_tokens: 10, guardrails: ['expander'], ...body });

  async function spendMicros(key: string): Promise<number> {
    await gateway.flushUsage();
    return Math.round((await api.keyInfo(key)).spend * 1_000_000);
  }

  it('a 40 KB expansion on a $0.0005 key is refused before the upstream (400 budget_exceeded) and charges nothing', async () => {
    const { key } = await api.generateKey({ max_budget: BUDGET_USD });
    guard.decide = expandBy(40_000);
    upstream.options.promptTokens = 10_000;
    const before = upstream.requests.length;
    const answer = await chat(key);
    expect(answer.status).toBe(400);
    expect(answer.code).toBe('budget_exceeded');
    expect(answer.message).toContain('guardrail "expander" rewrote the prompt');
    expect(upstream.requests.length).toBe(before);
    expect(await spendMicros(key)).toBe(0);
    const record = await gateway.recordOf(answer.callId!);
    expect(record).toMatchObject({ status: 'failure', http_status: 400 });
    expect(record?.cost_micros ?? 0).toBe(0);
    // The refusal gave the reservation back: a call the guardrail leaves alone still goes through.
    guard.decide = () => ({ action: 'NONE' });
    upstream.options.promptTokens = undefined;
    expect((await chat(key)).status).toBe(200);
  });

  const ROUTES: Array<{ name: string; path: string; body: Record<string, unknown> }> = [
    { name: 'a chat stream', path: '/v1/chat/completions', body: { model: 'cheap', max_tokens: 10, stream: true, messages: [{ role: 'user', content: 'hello' }] } },
    { name: 'a chat call without max_tokens', path: '/v1/chat/completions', body: { model: 'cheap', messages: [{ role: 'user', content: 'hello' }] } },
    { name: '/v1/messages', path: '/v1/messages', body: { model: 'cheap', max_tokens: 10, messages: [{ role: 'user', content: 'hello' }] } },
    { name: '/v1/messages streamed', path: '/v1/messages', body: { model: 'cheap', max_tokens: 10, stream: true, messages: [{ role: 'user', content: 'hello' }] } },
    { name: '/v1/responses', path: '/v1/responses', body: { model: 'cheap', max_output_tokens: 16, input: 'hello' } },
    { name: '/v1/responses streamed', path: '/v1/responses', body: { model: 'cheap', max_output_tokens: 16, stream: true, input: 'hello' } },
  ];

  it.each(ROUTES)('$name: refused alike before the upstream, nothing charged', async ({ path, body }) => {
    // The key's own guardrail applies on every route.
    const { key } = await api.generateKey({ max_budget: BUDGET_USD, metadata: { guardrails: ['expander'] } });
    guard.decide = expandBy(40_000);
    upstream.options.promptTokens = 10_000;
    const before = upstream.requests.length;
    const answer = await post(path, key, body);
    expect(answer.status).toBe(400);
    // Admission's refusal, in the route's envelope (Anthropic's on /v1/messages).
    expect(answer.message).toMatch(/^Budget has been exceeded: guardrail "expander" rewrote the prompt/);
    expect(upstream.requests.length).toBe(before);
    expect(await spendMicros(key)).toBe(0);
  });

  it('parallel calls whose rewrites each fit stay within the budget together', async () => {
    const { key } = await api.generateKey({ max_budget: BUDGET_USD });
    // Each rewritten call may cost about (5 + 1 + 150 + 16) + 10 × 2 = 192 µ$ and really costs 160 + 5 × 2 = 170 µ$:
    // admitted alone at ~41 µ$, five fit the budget; rewritten, two do.
    guard.decide = expandBy(150);
    upstream.options.promptTokens = 160;
    const before = upstream.requests.length;
    const answers = await Promise.all(Array.from({ length: 5 }, () => chat(key)));
    const served = answers.filter((answer) => answer.status === 200).length;
    expect(served).toBeGreaterThan(0);
    expect(answers.filter((answer) => answer.status !== 200).every((answer) => answer.status === 400 && answer.code === 'budget_exceeded')).toBe(true);
    expect(upstream.requests.length - before).toBe(served);
    const spent = await spendMicros(key);
    expect(spent).toBe(served * 170);
    expect(spent).toBeLessThanOrEqual(BUDGET_MICROS);
  });

  it('a rewrite that fits goes through, is charged its real cost, and holds its grown reservation while in flight', async () => {
    const { key } = await api.generateKey({ max_budget: BUDGET_USD });
    guard.decide = (call) => (call.input_type === 'request' && call.texts[0] === 'hello' ? expandBy(300)(call) : { action: 'NONE' });
    upstream.options.promptTokens = 300;
    upstream.options.chunkDelayMs = 150;
    const before = upstream.requests.length;
    // A streams slowly: its reservation, grown to hold ~(5 + 1 + 300 + 16) + 20 = 342 µ$, is held until it settles.
    const response = await fetch(`${gateway.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'cheap', messages: [{ role: 'user', content: 'hello' }], max_tokens: 10, stream: true, guardrails: ['expander'] }) });
    expect(response.status).toBe(200);
    const sent = upstream.requests[before]?.body as { messages: Array<{ content: string }> } | undefined;
    expect(sent?.messages[0].content).toBe(`hello ${'X'.repeat(300)}`);
    // B, unchanged by the guardrail, needs (5 + 16) + 100 × 2 = 221 µ$: more than the 158 µ$ A's grown reservation leaves.
    const other = await chat(key, { max_tokens: 100 });
    expect(other.status).toBe(400);
    expect(other.code).toBe('budget_exceeded');
    await response.text();
    const record = await gateway.recordOf(response.headers.get('x-switchboard-call-id')!);
    expect(record).toMatchObject({ status: 'success', prompt_tokens: 300, completion_tokens: 5, cost_micros: 300 + 5 * 2 });
    expect(await spendMicros(key)).toBe(310);
    expect(upstream.requests.length - before).toBe(1);
  });

  it('a key\'s model_max_budget holds the rewrite too', async () => {
    const { key } = await api.generateKey({ model_max_budget: { cheap: { budget_limit: BUDGET_USD, time_period: '30d' } } });
    guard.decide = expandBy(40_000);
    upstream.options.promptTokens = 10_000;
    const before = upstream.requests.length;
    const answer = await chat(key);
    expect(answer.status).toBe(400);
    expect(answer.code).toBe('budget_exceeded');
    expect(upstream.requests.length).toBe(before);
    expect(await spendMicros(key)).toBe(0);
  });

  it('a tpm_limit holds the rewritten prompt\'s tokens (429 rate_limit_exceeded before the upstream)', async () => {
    const { key } = await api.generateKey({ tpm_limit: 2_000 });
    guard.decide = expandBy(40_000);
    upstream.options.promptTokens = 10_000;
    const before = upstream.requests.length;
    const answer = await chat(key);
    expect(answer.status).toBe(429);
    expect(answer.code).toBe('rate_limit_exceeded');
    expect(answer.message).toContain('tpm_limit');
    expect(upstream.requests.length).toBe(before);
    // Nothing of the refused call stays held or counted: a call the guardrail leaves alone fits the minute.
    guard.decide = () => ({ action: 'NONE' });
    upstream.options.promptTokens = undefined;
    expect((await chat(key)).status).toBe(200);
  });

  it('a user\'s credits hold the rewrite: 402 insufficient_credits before the upstream, the balance untouched', async () => {
    const user = await api.newUser({ user_id: 'item-369-credits' });
    await api.ok('POST', '/api/v1/llm/credits/add', { user_id: user.user_id, amount: 0.5 }); // $0.0005
    guard.decide = expandBy(40_000);
    upstream.options.promptTokens = 10_000;
    const before = upstream.requests.length;
    const answer = await chat(user.key!);
    expect(answer.status).toBe(402);
    expect(answer.code).toBe('insufficient_credits');
    expect(upstream.requests.length).toBe(before);
    await gateway.flushUsage();
    const balance = await api.ok<{ balance: number }>('GET', '/api/v1/llm/credits/balance', undefined, user.key);
    expect(balance.balance).toBeCloseTo(0.5, 9);
  });
});
