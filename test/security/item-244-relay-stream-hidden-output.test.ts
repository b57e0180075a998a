/**
 * The attack: an ordinary budgeted key relays a stream through the provider relay
 * (`POST /openai/v1/chat/completions` or `/openai/v1/completions` with `"stream": true`) and leaves
 * out `stream_options.include_usage`. The relay forwarded the body as it came, so the upstream sent
 * no usage chunk and the call was billed on the gateway's local count of the streamed text. A
 * reasoning model (OpenAI's o-series, gpt-5) streams none of its reasoning on Chat Completions but
 * bills it as output tokens: the operator paid for thousands of tokens, the key was charged for the
 * few it could see (here 3,000 output tokens billed upstream, 2 charged). The chat route asks for
 * usage on every stream; the relay did not.
 * Now the relay asks the upstream for the usage chunk on every chat and text completion stream
 * (OpenAI-format providers that take `stream_options`), bills what it reports, and hides that chunk
 * from a client that did not ask for it; a client that asked still gets it.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockOpenAI } from '../support/mock-openai.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';

/** A reasoning model: the visible answer is two words, the output billed upstream 3,000 tokens. */
const upstream = new MockOpenAI({ reply: 'short answer', promptTokens: 12, completionTokens: 3_000 });
let gateway: TestGateway;
let api: Management;

/** $1 and $2 per million tokens: 12 prompt and 3,000 output tokens cost $0.006012. */
const BILLED_UPSTREAM = (12 * 1 + 3_000 * 2) / 1e6;

beforeAll(async () => {
  await upstream.start();
  gateway = await startGateway(`
model_list:
  - model_name: reasoner
    litellm_params: {model: openai/o3-mini, api_base: "${upstream.url}", api_key: sk-upstream}
    model_info: {id: dep-reasoner, input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}
general_settings:
  master_key: ${MASTER_KEY}
`);
  api = new Management(gateway.url);
});

afterAll(async () => {
  await gateway?.close();
  await upstream.close();
});

async function relay(key: string, path: string, body: Record<string, unknown>): Promise<{ status: number; text: string }> {
  const response = await fetch(`${gateway.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: response.status, text: await response.text() };
}

/** The `data:` payloads of an SSE answer, parsed (`[DONE]` left out). */
const events = (text: string) =>
  text
    .split('\n')
    .filter((line) => line.startsWith('data: ') && line !== 'data: [DONE]')
    .map((line) => JSON.parse(line.slice(6)) as { choices: unknown[]; usage?: unknown });

const chat = { model: 'reasoner', max_completion_tokens: 4_000, messages: [{ role: 'user', content: 'think hard' }], stream: true };
const completion = { model: 'reasoner', max_tokens: 4_000, prompt: 'think hard', stream: true };

describe('item 244: a relayed stream is billed on the usage the upstream reports, not on the text it shows', () => {
  for (const [path, body] of [
    ['/openai/v1/chat/completions', chat],
    ['/openai/v1/completions', completion],
  ] as const) {
    it(`POST ${path} with "stream": true and no stream_options charges the output billed upstream, and the client sees no usage chunk`, async () => {
      const { key } = await api.generateKey({ max_budget: 10 });
      const sent = upstream.requests.length;
      const answer = await relay(key, path, body);
      expect(answer.status).toBe(200);
      expect(answer.text.trimEnd().endsWith('data: [DONE]')).toBe(true);
      // The client did not ask for the usage chunk: it does not get one.
      expect(events(answer.text).some((event) => event.choices.length === 0 && event.usage)).toBe(false);
      expect(upstream.requests.length).toBe(sent + 1);
      expect((upstream.requests[sent].body.stream_options as { include_usage?: unknown } | undefined)?.include_usage).toBe(true);
      await gateway.flushUsage();
      expect((await api.keyInfo(key)).spend).toBeCloseTo(BILLED_UPSTREAM, 9);
    });
  }

  it('a client that asks for the usage chunk still gets it, and is charged the same', async () => {
    const { key } = await api.generateKey({ max_budget: 10 });
    const answer = await relay(key, '/openai/v1/chat/completions', { ...chat, stream_options: { include_usage: true } });
    expect(answer.status).toBe(200);
    expect(events(answer.text).filter((event) => event.choices.length === 0 && event.usage)).toHaveLength(1);
    await gateway.flushUsage();
    expect((await api.keyInfo(key)).spend).toBeCloseTo(BILLED_UPSTREAM, 9);
  });
});
