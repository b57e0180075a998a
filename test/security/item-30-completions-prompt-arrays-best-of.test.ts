/**
 * `/v1/completions` (and the `/openai/v1/completions` relay) with a `prompt` that is an array of
 * prompts, or with `best_of`: the provider generates `max(n, best_of)` completions for every prompt
 * and bills them all. The gateway reserves that many completions before the call, accepts an honest
 * report of them (no `usage_adjusted`), charges exactly what the upstream reported, and does not cut
 * an honest stream of many prompts' completions as if it were one. Before, everything counted `n`
 * completions only: 50 prompts × 100 tokens were charged as 100 tokens, and a budget was passed.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { clientFor, Management, pricedConfig } from '../support/management.js';
import { MockServer } from '../support/mock-server.js';

/** Completion tokens each completion takes when the request sets no max_tokens. */
const NATURAL_LENGTH = 24;

/**
 * Legacy completions as OpenAI serves them: one prompt per string / token array, `max(n, best_of)`
 * completions generated per prompt (all billed), `n` returned per prompt; each completion runs to
 * max_tokens (one token per word). Prompt tokens: a string's bytes / 4, a token array's length.
 */
class CompletionsUpstream extends MockServer {
  readonly calls: Array<{ path: string; body: Record<string, unknown> }> = [];

  async start(): Promise<string> {
    return this.listen('/v1');
  }

  protected async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
    this.calls.push({ path: request.url ?? '', body });
    const prompts = promptsOf(body.prompt);
    const n = typeof body.n === 'number' ? body.n : 1;
    const generated = Math.max(n, typeof body.best_of === 'number' ? body.best_of : 1);
    const perCompletion = typeof body.max_tokens === 'number' ? Math.min(body.max_tokens, 1000) : NATURAL_LENGTH;
    const promptTokens = prompts.reduce<number>((sum, prompt) => sum + (Array.isArray(prompt) ? prompt.length : Math.ceil(Buffer.byteLength(String(prompt)) / 4)), 0);
    const usage = { prompt_tokens: promptTokens, completion_tokens: prompts.length * generated * perCompletion, total_tokens: promptTokens + prompts.length * generated * perCompletion };
    const text = 'ab '.repeat(perCompletion);
    const base = { id: 'cmpl-honest', object: 'text_completion', created: Math.floor(Date.now() / 1000), model: String(body.model) };
    const indexes = Array.from({ length: prompts.length * n }, (_, index) => index);
    if (body.stream !== true) {
      const payload = JSON.stringify({ ...base, choices: indexes.map((index) => ({ text, index, logprobs: null, finish_reason: 'length' })), usage });
      response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(payload) });
      response.end(payload);
      return;
    }
    response.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8' });
    for (const index of indexes) {
      for (const word of text.split(/(?<= )/)) response.write(`data: ${JSON.stringify({ ...base, choices: [{ text: word, index, logprobs: null, finish_reason: null }] })}\n\n`);
      response.write(`data: ${JSON.stringify({ ...base, choices: [{ text: '', index, logprobs: null, finish_reason: 'length' }] })}\n\n`);
    }
    if ((body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true) response.write(`data: ${JSON.stringify({ ...base, choices: [], usage })}\n\n`);
    response.end('data: [DONE]\n\n');
  }
}

/** OpenAI's prompts: a string is one, an array of token ids one, an array of strings or token arrays one per item. */
function promptsOf(prompt: unknown): unknown[] {
  if (!Array.isArray(prompt)) return [prompt];
  if (prompt.every((item) => typeof item === 'number')) return [prompt];
  return prompt;
}

const PROMPTS = Array.from({ length: 50 }, (_, index) => `Say hi ${index}`);
/** cheap: $1 / $2 per million tokens = 1 / 2 micro-dollars per token. */
const micros = (usage: { prompt_tokens: number; completion_tokens: number }) => usage.prompt_tokens * 1 + usage.completion_tokens * 2;

describe('legacy completions: every prompt and every best_of completion is reserved and charged', () => {
  const upstream = new CompletionsUpstream();
  let gateway: TestGateway;
  let api: Management;

  beforeAll(async () => {
    await upstream.start();
    // A budgeted call without max_tokens is capped at 16 tokens per completion.
    gateway = await startGateway(pricedConfig(upstream.url, '  budget_reservation_output_tokens: 16\n'));
    api = new Management(gateway.url);
  });

  afterAll(async () => {
    await gateway?.close();
    await upstream.close();
  });

  async function expectCharged(callId: string, key: string, usage: { prompt_tokens: number; completion_tokens: number }): Promise<void> {
    expect(await gateway.recordOf(callId)).toMatchObject({ status: 'success', usage_adjusted: 0, prompt_tokens: usage.prompt_tokens, completion_tokens: usage.completion_tokens, cost_micros: micros(usage) });
    expect((await api.keyInfo(key)).spend).toBeCloseTo(micros(usage) / 1_000_000, 9);
  }

  it('an array of 50 prompts with max_tokens 100: the 5,000 completion tokens the upstream reports are charged', async () => {
    const key = await api.generateKey({ max_budget: 1 });
    const { data, response } = await clientFor(gateway.url, key.key).completions.create({ model: 'cheap', prompt: PROMPTS, max_tokens: 100 }).withResponse();
    expect(data.choices).toHaveLength(50);
    expect(data.usage).toMatchObject({ completion_tokens: 5000 });
    expect(response.headers.get('x-switchboard-response-cost')).toBe(String(micros(data.usage!) / 1_000_000));
    await expectCharged(response.headers.get('x-switchboard-call-id')!, key.key, data.usage!);
  });

  it('best_of 20 with n 2: the 20 completions generated are charged, not the 2 returned', async () => {
    const key = await api.generateKey({ max_budget: 1 });
    const { data, response } = await clientFor(gateway.url, key.key).completions.create({ model: 'cheap', prompt: 'Say hi', max_tokens: 100, n: 2, best_of: 20 }).withResponse();
    expect(data.choices).toHaveLength(2);
    expect(data.usage).toMatchObject({ completion_tokens: 2000 });
    await expectCharged(response.headers.get('x-switchboard-call-id')!, key.key, data.usage!);
  });

  it('an array of token arrays with n 3: every prompt\'s 3 completions are charged', async () => {
    const key = await api.generateKey({ max_budget: 1 });
    const prompt = Array.from({ length: 8 }, (_, index) => [1820, 25, index + 1]);
    const { data, response } = await clientFor(gateway.url, key.key).completions.create({ model: 'cheap', prompt, max_tokens: 40, n: 3 }).withResponse();
    expect(data.choices).toHaveLength(24);
    expect(data.usage).toMatchObject({ prompt_tokens: 24, completion_tokens: 8 * 3 * 40 });
    await expectCharged(response.headers.get('x-switchboard-call-id')!, key.key, data.usage!);
  });

  it('the /openai/v1/completions relay charges the 50 prompts\' completions too', async () => {
    const key = await api.generateKey({ max_budget: 1 });
    const relay = new OpenAI({ apiKey: key.key, baseURL: `${gateway.url}/openai/v1`, maxRetries: 0 });
    const { data, response } = await relay.completions.create({ model: 'cheap', prompt: PROMPTS, max_tokens: 100 }).withResponse();
    expect(data.choices).toHaveLength(50);
    expect(upstream.calls.at(-1)!.body.prompt).toEqual(PROMPTS);
    await expectCharged(response.headers.get('x-switchboard-call-id')!, key.key, data.usage!);
  });

  it('a budgeted stream of 50 prompts without max_tokens: each completion gets the cap, the stream runs to its end and is charged as reported', async () => {
    const key = await api.generateKey({ max_budget: 1 });
    const { data: stream, response } = await clientFor(gateway.url, key.key).completions.create({ model: 'cheap', prompt: PROMPTS, stream: true, stream_options: { include_usage: true } }).withResponse();
    const texts = new Map<number, string>();
    let usage: OpenAI.Completions.CompletionUsage | undefined;
    for await (const chunk of stream) {
      for (const choice of chunk.choices) texts.set(choice.index, (texts.get(choice.index) ?? '') + choice.text);
      usage = chunk.usage ?? usage;
    }
    // The gateway's cap (16 tokens per completion) went upstream, and every prompt's completion came back whole.
    expect(upstream.calls.at(-1)!.body.max_tokens).toBe(16);
    expect(texts.size).toBe(50);
    expect([...texts.values()].every((text) => text === 'ab '.repeat(16))).toBe(true);
    expect(usage).toMatchObject({ completion_tokens: 50 * 16 });
    await expectCharged(response.headers.get('x-switchboard-call-id')!, key.key, usage!);
  });

  it('a budget that pays for one prompt\'s completion but not 50 refuses the call before the upstream is called', async () => {
    // 50 × 100 completion tokens at $2/M = $0.01: over a $0.005 budget (one prompt's 100 tokens would cost $0.0002).
    const key = await api.generateKey({ max_budget: 0.005 });
    const calls = upstream.calls.length;
    const refused = await clientFor(gateway.url, key.key).completions.create({ model: 'cheap', prompt: PROMPTS, max_tokens: 100 }).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(OpenAI.APIError);
    expect((refused as InstanceType<typeof OpenAI.APIError>).status).toBe(400);
    expect((refused as InstanceType<typeof OpenAI.APIError>).code).toBe('budget_exceeded');
    expect(upstream.calls.length).toBe(calls);
    // The same call with one prompt fits.
    const { data } = await clientFor(gateway.url, key.key).completions.create({ model: 'cheap', prompt: PROMPTS[0], max_tokens: 100 }).withResponse();
    expect(data.usage).toMatchObject({ completion_tokens: 100 });
  });
});
