/**
 * A reasoning model on an OpenAI-format endpoint (DeepSeek's API, or any `openai/…` deployment with
 * an `api_base` that streams `delta.reasoning_content`) writes its reasoning first, often thousands
 * of tokens, and the usage only at the end. A client that reads the reasoning and hangs up before
 * the answer must still pay for the reasoning it received: the provider bills it as output. Every
 * route that streams such an answer counts it locally — /v1/chat/completions, the platform's
 * /api/v1/llm/chat/completions, /v1/messages (as thinking) — and so must the /openai/v1 relay,
 * which before item 200's fix counted only `content`, `text` and tool-call arguments: the reasoning
 * read there was billed as zero completion tokens.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countTextTokens } from '../../src/gateway/token-count.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';
import { waitFor } from '../support/wait.js';

const REASONING = Array.from({ length: 40 }, (_, index) => `step${index} considered`).join(' ');
const upstream = new MockOpenAI({ reasoning: REASONING, reply: 'The answer is 42.', chunkDelayMs: 25, promptTokens: 20, completionTokens: 200 });
let gateway: TestGateway;
let api: Management;

const messages = [{ role: 'user', content: 'Think hard: what is six times seven?' }];
const SURFACES = [
  { name: 'chat', path: '/v1/chat/completions' },
  { name: 'platform chat', path: '/api/v1/llm/chat/completions' },
  { name: 'messages', path: '/v1/messages' },
  { name: 'openai relay chat', path: '/openai/v1/chat/completions' },
];

/** The reasoning text in one SSE payload: OpenAI-format `reasoning_content` / `reasoning`, or Anthropic's `thinking_delta`. */
function reasoningOf(data: Record<string, unknown>): string {
  let text = '';
  for (const choice of (data.choices as Array<{ delta?: Record<string, unknown> }> | undefined) ?? []) {
    for (const field of ['reasoning_content', 'reasoning']) if (typeof choice.delta?.[field] === 'string') text += choice.delta[field];
  }
  const delta = data.delta as { type?: string; thinking?: unknown } | undefined;
  if (data.type === 'content_block_delta' && delta?.type === 'thinking_delta' && typeof delta.thinking === 'string') text += delta.thinking;
  return text;
}

beforeAll(async () => {
  await upstream.start();
  gateway = await startGateway(`
model_list:
  - model_name: thinker
    litellm_params: {model: openai/deepseek-reasoner, api_base: "${upstream.url}", api_key: sk-upstream}
    model_info: {id: dep-thinker, input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}
router_settings:
  num_retries: 0
general_settings:
  master_key: ${MASTER_KEY}
`);
  api = new Management(gateway.url);
});

afterAll(async () => {
  await gateway?.close();
  await upstream.close();
});

describe('reasoning read before a hang-up is billed as output', () => {
  it.each(SURFACES)('$name', async (surface) => {
    const generated = await api.generateKey({});
    const tokenId = (await api.keyInfo(generated.key)).token_id!;
    const upstreamCalls = upstream.requests.length;
    const controller = new AbortController();
    const response = await fetch(`${gateway.url}${surface.path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${generated.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'thinker', max_tokens: 400, messages, stream: true }),
      signal: controller.signal,
    });
    expect(response.status).toBe(200);
    const reader = response.body!.getReader();
    const decoder = new TextDecoder();
    let buffered = '';
    let reasoning = '';
    // Read 20 steps of the reasoning (about half of it), then hang up.
    while (reasoning.split(' ').filter(Boolean).length < 40) {
      const { value, done } = await reader.read();
      expect(done, 'the stream ended before the client hung up').toBe(false);
      buffered += decoder.decode(value, { stream: true });
      for (let end = buffered.indexOf('\n\n'); end !== -1; end = buffered.indexOf('\n\n')) {
        const payload = buffered.slice(0, end).split('\n').filter((line) => line.startsWith('data:')).map((line) => line.slice(5).trim()).join('');
        buffered = buffered.slice(end + 2);
        if (payload && payload !== '[DONE]') reasoning += reasoningOf(JSON.parse(payload) as Record<string, unknown>);
      }
    }
    controller.abort();
    await waitFor(() => upstream.requests[upstreamCalls]?.aborted === true, `${surface.name}: the upstream call is cancelled`, 5_000);
    const read = await countTextTokens(reasoning);
    expect(read).toBeGreaterThan(40);

    await expect
      .poll(async () => {
        await gateway.flushUsage();
        return (await gateway.runtime.usageLogs()!.listRecent(100)).filter((row) => row.key_hash === tokenId).length;
      }, { timeout: 5_000 })
      .toBe(1);
    const [row] = (await gateway.runtime.usageLogs()!.listRecent(100)).filter((row) => row.key_hash === tokenId);
    expect(row.aborted).toBe(1);
    expect(row.completion_tokens ?? 0, `${surface.name}: ${JSON.stringify(row)}`).toBeGreaterThanOrEqual(read);
    expect(row.cost_micros).toBe(row.prompt_tokens! * 1 + row.completion_tokens! * 2);
    expect((await api.keyInfo(generated.key)).spend).toBeCloseTo(row.cost_micros! / 1_000_000, 9);
  });

  it('a relayed stream read to its end without a usage chunk counts the reasoning too', async () => {
    const generated = await api.generateKey({});
    const tokenId = (await api.keyInfo(generated.key)).token_id!;
    // No stream_options.include_usage: OpenAI-format upstreams then send no usage at all.
    const response = await fetch(`${gateway.url}/openai/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${generated.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'thinker', max_tokens: 400, messages, stream: true }),
    });
    expect(response.status).toBe(200);
    const body = await response.text();
    expect(body).not.toContain('"usage"');
    const produced = await countTextTokens(REASONING + 'The answer is 42.');
    await expect
      .poll(async () => {
        await gateway.flushUsage();
        return (await gateway.runtime.usageLogs()!.listRecent(100)).find((row) => row.key_hash === tokenId)?.completion_tokens;
      }, { timeout: 5_000 })
      .toBeGreaterThanOrEqual(produced);
  });
});
