/**
 * The invariant, as a table: on every surface that streams an answer — chat on OpenAI, Anthropic and
 * Gemini upstreams, completions, /v1/messages on OpenAI- and Anthropic-format upstreams,
 * /v1/responses translated and relayed natively, Gemini's streamGenerateContent (alt=sse), the
 * /anthropic and /openai/v1 relays, the platform's /api/v1/llm/chat/completions, speech — a client
 * that reads the first chunks of a slow stream (the usage comes only at its end) and then destroys
 * its socket leaves exactly one usage row; that row counts at least the completion tokens of the
 * text it already received, costs more than nothing, and is in the key's spend (GET /key/info);
 * the key's only in-flight slot (max_parallel_requests: 1) is free again, and the upstream call is
 * cancelled (the mock sees its connection close before the answer ended). The same for a JSON call
 * (every JSON surface, agent runs too) whose client leaves while the upstream is still answering:
 * one row, the prompt the provider read charged, the slot freed, the upstream call cancelled — and
 * for a stream left before its first chunk. Every row runs twice: as configured by default, and
 * with general_settings.max_response_size_mb set (streams then re-encoded chunk by chunk, another
 * relay path). Every surface held on the code as it was when this test was written (item 199).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countTextTokens } from '../../src/gateway/token-count.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockAnthropic } from '../support/mock-anthropic.js';
import { MockGemini } from '../support/mock-gemini.js';
import { MockOpenAI } from '../support/mock-openai.js';
import { MockOpenAIMedia } from '../support/mock-openai-media.js';
import { waitFor } from '../support/wait.js';

const REPLY = Array.from({ length: 40 }, (_, index) => `word${index}`).join(' ');
const PRICES = 'input_cost_per_token: 0.000001, output_cost_per_token: 0.000002';
const CHUNK_DELAY_MS = 120;

const openai = new MockOpenAI({ reply: REPLY, chunkDelayMs: CHUNK_DELAY_MS, promptTokens: 30, completionTokens: 80 });
const anthropic = new MockAnthropic({ reply: REPLY, chunkDelayMs: CHUNK_DELAY_MS, inputTokens: 30, outputTokens: 80 });
const gemini = new MockGemini({ reply: REPLY, chunkDelayMs: CHUNK_DELAY_MS, promptTokens: 30, candidatesTokens: 80 });
const media = new MockOpenAIMedia('sk-upstream');
let gateway: TestGateway;
let api: Management;

type Upstream = 'openai' | 'anthropic' | 'gemini' | 'media';

interface Surface {
  name: string;
  path: string;
  body: Record<string, unknown>;
  upstream: Upstream;
  /** A raw byte stream (speech): no text to count. */
  bytes?: boolean;
  /** The mock writes this stream at once (Gemini's JSON array without alt=sse): no mid-answer hang-up to make. */
  atOnce?: boolean;
}

const messages = [{ role: 'user', content: 'Count to forty, one word at a time, please.' }];
const chat = (model: string, extra: Record<string, unknown> = {}) => ({ model, max_tokens: 200, messages, ...extra });
const contents = { contents: [{ role: 'user', parts: [{ text: 'Count to forty, one word at a time, please.' }] }], generationConfig: { maxOutputTokens: 200 } };

const STREAMS: Surface[] = [
  { name: 'chat (OpenAI upstream)', path: '/v1/chat/completions', body: chat('gpt', { stream: true }), upstream: 'openai' },
  { name: 'chat (OpenAI upstream, usage asked)', path: '/v1/chat/completions', body: chat('gpt', { stream: true, stream_options: { include_usage: true } }), upstream: 'openai' },
  { name: 'chat (Anthropic upstream)', path: '/v1/chat/completions', body: chat('claude', { stream: true }), upstream: 'anthropic' },
  { name: 'chat (Gemini upstream)', path: '/v1/chat/completions', body: chat('gem', { stream: true }), upstream: 'gemini' },
  { name: 'completions', path: '/v1/completions', body: { model: 'gpt', prompt: 'Count to forty, one word at a time, please.', max_tokens: 200, stream: true }, upstream: 'openai' },
  { name: 'messages (OpenAI upstream)', path: '/v1/messages', body: chat('gpt', { stream: true }), upstream: 'openai' },
  { name: 'messages (Anthropic upstream)', path: '/v1/messages', body: chat('claude', { stream: true }), upstream: 'anthropic' },
  { name: 'responses (translated, Anthropic upstream)', path: '/v1/responses', body: { model: 'claude', input: 'Count to forty, one word at a time, please.', max_output_tokens: 200, stream: true }, upstream: 'anthropic' },
  { name: 'responses (native, OpenAI upstream)', path: '/v1/responses', body: { model: 'gpt', input: 'Count to forty, one word at a time, please.', max_output_tokens: 200, stream: true }, upstream: 'openai' },
  { name: 'gemini streamGenerateContent', path: '/gemini/v1beta/models/gem:streamGenerateContent?alt=sse', body: contents, upstream: 'gemini' },
  { name: 'gemini streamGenerateContent (JSON array)', path: '/gemini/v1beta/models/gem:streamGenerateContent', body: contents, upstream: 'gemini', atOnce: true },
  { name: 'anthropic relay', path: '/anthropic/v1/messages', body: chat('claude', { stream: true }), upstream: 'anthropic' },
  { name: 'openai relay chat', path: '/openai/v1/chat/completions', body: chat('gpt', { stream: true }), upstream: 'openai' },
  { name: 'openai relay responses', path: '/openai/v1/responses', body: { model: 'gpt', input: 'Count to forty, one word at a time, please.', max_output_tokens: 200, stream: true }, upstream: 'openai' },
  { name: 'platform chat', path: '/api/v1/llm/chat/completions', body: chat('gpt', { stream: true }), upstream: 'openai' },
  { name: 'speech', path: '/v1/audio/speech', body: { model: 'tts', input: 'Count to forty, one word at a time, please. '.repeat(20), voice: 'alloy' }, upstream: 'media', bytes: true },
];

const JSON_CALLS: Surface[] = [
  { name: 'chat (OpenAI upstream)', path: '/v1/chat/completions', body: chat('gpt'), upstream: 'openai' },
  { name: 'chat (Anthropic upstream)', path: '/v1/chat/completions', body: chat('claude'), upstream: 'anthropic' },
  { name: 'chat (Gemini upstream)', path: '/v1/chat/completions', body: chat('gem'), upstream: 'gemini' },
  { name: 'completions', path: '/v1/completions', body: { model: 'gpt', prompt: 'Count to forty, one word at a time, please.', max_tokens: 200 }, upstream: 'openai' },
  { name: 'messages (OpenAI upstream)', path: '/v1/messages', body: chat('gpt'), upstream: 'openai' },
  { name: 'messages (Anthropic upstream)', path: '/v1/messages', body: chat('claude'), upstream: 'anthropic' },
  { name: 'responses (translated, Anthropic upstream)', path: '/v1/responses', body: { model: 'claude', input: 'Count to forty, one word at a time, please.', max_output_tokens: 200 }, upstream: 'anthropic' },
  { name: 'responses (native, OpenAI upstream)', path: '/v1/responses', body: { model: 'gpt', input: 'Count to forty, one word at a time, please.', max_output_tokens: 200 }, upstream: 'openai' },
  { name: 'gemini generateContent', path: '/gemini/v1beta/models/gem:generateContent', body: contents, upstream: 'gemini' },
  { name: 'anthropic relay', path: '/anthropic/v1/messages', body: chat('claude'), upstream: 'anthropic' },
  { name: 'openai relay chat', path: '/openai/v1/chat/completions', body: chat('gpt'), upstream: 'openai' },
  { name: 'platform chat', path: '/api/v1/llm/chat/completions', body: chat('gpt'), upstream: 'openai' },
  { name: 'embeddings', path: '/v1/embeddings', body: { model: 'emb', input: 'Count to forty, one word at a time, please. '.repeat(50) }, upstream: 'openai' },
  { name: 'agent run', path: '/agents/writer/run', body: { input_data: { text: 'Count to forty, one word at a time, please.' } }, upstream: 'openai' },
];

/** The upstream's recorded requests, newest last, with whether the gateway closed each before it ended. */
function recorded(upstream: Upstream): Array<{ aborted: boolean }> {
  if (upstream === 'openai') return openai.requests;
  if (upstream === 'anthropic') return anthropic.requests;
  if (upstream === 'gemini') return gemini.requests;
  return media.speechAnswers;
}

/** Delays the upstream's next answer (the JSON rows) by `ms`, in its own wire format's mock. */
function delayNext(upstream: Upstream, ms: number): void {
  if (upstream === 'openai') openai.faults.push({ kind: 'delay', ms });
  else if (upstream === 'anthropic') anthropic.faults.push({ kind: 'delay', ms });
  else gemini.faults.push({ kind: 'delay', ms });
}

/** The answer text in one SSE data payload, whatever the format (OpenAI chat/completions, Anthropic, Responses, Gemini). */
function textOf(data: unknown): string {
  if (typeof data !== 'object' || data === null) return '';
  const event = data as Record<string, unknown>;
  let text = '';
  for (const choice of (event.choices as Array<Record<string, unknown>> | undefined) ?? []) {
    const delta = choice.delta as { content?: unknown } | undefined;
    if (typeof delta?.content === 'string') text += delta.content;
    if (typeof choice.text === 'string') text += choice.text;
  }
  if (event.type === 'content_block_delta') text += String((event.delta as { text?: unknown } | undefined)?.text ?? '');
  if (event.type === 'response.output_text.delta' && typeof event.delta === 'string') text += event.delta;
  for (const candidate of (event.candidates as Array<{ content?: { parts?: Array<{ text?: unknown }> } }> | undefined) ?? []) {
    for (const part of candidate.content?.parts ?? []) if (typeof part.text === 'string') text += part.text;
  }
  return text;
}

async function rowsOf(tokenId: string) {
  await gateway.flushUsage();
  return (await gateway.runtime.usageLogs()!.listRecent(1_000)).filter((row) => row.key_hash === tokenId);
}

/** A fresh key allowed one call at a time. */
async function oneAtATime(): Promise<{ key: string; tokenId: string }> {
  const generated = await api.generateKey({ max_parallel_requests: 1 });
  const info = await api.keyInfo(generated.key);
  return { key: generated.key, tokenId: info.token_id! };
}

/** The key can make a call again: its in-flight slot was released. */
async function slotFreed(key: string): Promise<number> {
  const response = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt', max_tokens: 5, messages: [{ role: 'user', content: 'hi' }] }),
  });
  await response.arrayBuffer();
  return response.status;
}

/** The gateway's config; `extra` goes into general_settings. */
function config(extra: string): string {
  return `
model_list:
  - model_name: gpt
    litellm_params: {model: openai/gpt-4o-mini, api_base: "${openai.url}", api_key: sk-upstream}
    model_info: {id: dep-gpt, ${PRICES}}
  - model_name: claude
    litellm_params: {model: anthropic/claude-3-5-haiku-20241022, api_base: "${anthropic.url}", api_key: sk-ant}
    model_info: {id: dep-claude, ${PRICES}}
  - model_name: gem
    litellm_params: {model: gemini/gemini-1.5-pro, api_base: "${gemini.url}", api_key: g-key}
    model_info: {id: dep-gem, ${PRICES}}
  - model_name: emb
    litellm_params: {model: openai/text-embedding-3-small, api_base: "${openai.url}", api_key: sk-upstream}
    model_info: {id: dep-emb, mode: embedding, input_cost_per_token: 0.000001}
  - model_name: tts
    litellm_params: {model: openai/tts-1, api_base: "${media.url}", api_key: sk-upstream}
    model_info: {id: dep-tts, mode: audio_speech, input_cost_per_character: 0.000015}
router_settings:
  num_retries: 0
  disable_cooldowns: true
agents:
  - name: writer
    model: gpt
general_settings:
  master_key: ${MASTER_KEY}
${extra}
`;
}

beforeAll(async () => {
  await Promise.all([openai.start(), anthropic.start(), gemini.start(), media.start()]);
});

afterAll(async () => {
  await Promise.all([openai.close(), anthropic.close(), gemini.close(), media.close()]);
});

/** With max_response_size_mb set, streams are re-encoded chunk by chunk: the other relay path. */
const SETUPS = [
  { name: 'default', extra: '' },
  { name: 'max_response_size_mb set', extra: '  max_response_size_mb: 10' },
];

describe.each(SETUPS)('$name', (setup) => {
  beforeAll(async () => {
    gateway = await startGateway(config(setup.extra));
    api = new Management(gateway.url);
  });

  afterAll(async () => {
    await gateway?.close();
  });

  describe('a client that leaves a stream mid-answer is billed for what was produced, on every streaming surface', () => {
    it.each(STREAMS.filter((surface) => !surface.atOnce))('$name', async (surface) => {
      const { key, tokenId } = await oneAtATime();
      const upstreamCalls = recorded(surface.upstream).length;
      let release: () => void = () => {};
      if (surface.upstream === 'media') media.speechHold = new Promise<void>((resolve) => (release = resolve));
      const controller = new AbortController();
      const response = await fetch(`${gateway.url}${surface.path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify(surface.body),
        signal: controller.signal,
      });
      expect(response.status, await (response.status === 200 ? '' : response.clone().text())).toBe(200);
      // Read until two words of the answer (or the first bytes of audio) arrived, then hang up.
      const reader = response.body!.getReader();
      const decoder = new TextDecoder();
      let buffered = '';
      let text = '';
      for (;;) {
        const { value, done } = await reader.read();
        expect(done, 'the stream ended before the client hung up').toBe(false);
        if (surface.bytes) break;
        buffered += decoder.decode(value, { stream: true }).replace(/\r\n/g, '\n');
        for (let end = buffered.indexOf('\n\n'); end !== -1; end = buffered.indexOf('\n\n')) {
          const block = buffered.slice(0, end);
          buffered = buffered.slice(end + 2);
          const payload = block.split('\n').filter((line) => line.startsWith('data:')).map((line) => line.slice(5).trim()).join('');
          if (payload && payload !== '[DONE]') text += textOf(JSON.parse(payload));
        }
        if (text.split(' ').filter(Boolean).length >= 2) break;
      }
      controller.abort();
      const read = surface.bytes ? 0 : await countTextTokens(text);
      if (!surface.bytes) expect(read).toBeGreaterThan(0);

      // The upstream call is cancelled.
      expect(recorded(surface.upstream).length).toBe(upstreamCalls + 1);
      await waitFor(() => recorded(surface.upstream)[upstreamCalls].aborted, `${surface.name}: the upstream sees its connection closed`, 5_000);
      release();

      // Exactly one row, its tokens and cost, and the key's spend.
      await expect.poll(async () => (await rowsOf(tokenId)).length, { timeout: 5_000 }).toBe(1);
      const [row] = await rowsOf(tokenId);
      expect(row.aborted, `${surface.name}: row ${JSON.stringify(row)}`).toBe(1);
      if (!surface.bytes) expect(row.completion_tokens ?? 0, `${surface.name}: completion tokens of a row ${JSON.stringify(row)}`).toBeGreaterThanOrEqual(read);
      expect(row.cost_micros ?? 0, `${surface.name}: row ${JSON.stringify(row)}`).toBeGreaterThan(0);
      const spend = (await api.keyInfo(key)).spend;
      expect(spend).toBeCloseTo(row.cost_micros! / 1_000_000, 9);

      // The key's in-flight slot was released.
      expect(await slotFreed(key)).toBe(200);
    });
  });

  describe('a client that leaves a stream before its first chunk is billed for the prompt the provider read, on every streaming surface', () => {
    it.each(STREAMS.filter((surface) => !surface.bytes))('$name', async (surface) => {
      const { key, tokenId } = await oneAtATime();
      const upstreamCalls = recorded(surface.upstream).length;
      delayNext(surface.upstream, 1_500);
      const controller = new AbortController();
      const outcome = fetch(`${gateway.url}${surface.path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify(surface.body),
        signal: controller.signal,
      }).then(
        (response) => response.arrayBuffer(),
        () => undefined,
      );
      await waitFor(() => recorded(surface.upstream).length > upstreamCalls, `${surface.name}: the request reaches the upstream`, 5_000);
      controller.abort();
      await outcome.catch(() => undefined);
      await waitFor(() => recorded(surface.upstream)[upstreamCalls].aborted, `${surface.name}: the upstream sees its connection closed`, 5_000);

      await expect.poll(async () => (await rowsOf(tokenId)).length, { timeout: 5_000 }).toBe(1);
      const [row] = await rowsOf(tokenId);
      expect(row.aborted, `${surface.name}: row ${JSON.stringify(row)}`).toBe(1);
      expect(row.prompt_tokens ?? 0, `${surface.name}: row ${JSON.stringify(row)}`).toBeGreaterThan(0);
      expect(row.cost_micros ?? 0, `${surface.name}: row ${JSON.stringify(row)}`).toBeGreaterThan(0);
      expect((await api.keyInfo(key)).spend).toBeCloseTo(row.cost_micros! / 1_000_000, 9);
      expect(await slotFreed(key)).toBe(200);
    });
  });

  describe('a client that leaves a JSON call before the answer is billed for the prompt the provider read, on every JSON surface', () => {
    it.each(JSON_CALLS)('$name', async (surface) => {
      const { key, tokenId } = await oneAtATime();
      const upstreamCalls = recorded(surface.upstream).length;
      delayNext(surface.upstream, 1_500);
      const controller = new AbortController();
      const outcome = fetch(`${gateway.url}${surface.path}`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify(surface.body),
        signal: controller.signal,
      }).then(
        (response) => `answered ${response.status}`,
        () => 'hung up',
      );
      // Hang up once the request reached the upstream, while it is still answering.
      await waitFor(() => recorded(surface.upstream).length > upstreamCalls, `${surface.name}: the request reaches the upstream`, 5_000);
      controller.abort();
      expect(await outcome).toBe('hung up');
      await waitFor(() => recorded(surface.upstream)[upstreamCalls].aborted, `${surface.name}: the upstream sees its connection closed`, 5_000);

      await expect.poll(async () => (await rowsOf(tokenId)).length, { timeout: 5_000 }).toBe(1);
      const [row] = await rowsOf(tokenId);
      expect(row.aborted, `${surface.name}: row ${JSON.stringify(row)}`).toBe(1);
      expect(row.prompt_tokens ?? 0, `${surface.name}: row ${JSON.stringify(row)}`).toBeGreaterThan(0);
      expect(row.cost_micros ?? 0, `${surface.name}: row ${JSON.stringify(row)}`).toBeGreaterThan(0);
      expect((await api.keyInfo(key)).spend).toBeCloseTo(row.cost_micros! / 1_000_000, 9);
      expect(await slotFreed(key)).toBe(200);
    });
  });
});
