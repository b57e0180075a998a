/**
 * A cached chat answer keeps every part of the answer, whichever way it was stored and replayed.
 *
 * Before: a streamed answer was stored from what the cache's stream capture understood — content,
 * reasoning text, refusal, tool calls — and the rest was silently dropped: Anthropic's signed
 * `thinking_blocks`, `audio` (modalities: ["audio"]), legacy `function_call`, `annotations`,
 * `logprobs`, and any other field. The truncated answer was then served to every caller of the
 * scope (JSON and streams): an empty answer with `finish_reason: "function_call"`, an audio answer
 * without its audio, or a thinking answer without the signature Anthropic requires on the next tool
 * turn. The other way, a stream hit replayed from an answer stored as JSON dropped the same parts
 * (a `/v1/messages` stream hit carried no `signature_delta`).
 *
 * Now the capture rebuilds those parts (thinking blocks with their text and signature, audio,
 * function_call, annotations, logprobs), a stream carrying a delta field it cannot rebuild is not
 * stored, and a replayed stream carries every part of the stored answer.
 */
import Anthropic from '@anthropic-ai/sdk';
import type { IncomingMessage, ServerResponse } from 'node:http';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { MockAnthropic } from '../support/mock-anthropic.js';
import { MockServer } from '../support/mock-server.js';

/** An OpenAI-compatible upstream answering with audio and a legacy function_call, JSON or streamed in pieces. */
class PartsUpstream extends MockServer {
  /** A delta field this gateway does not know, sent in the streamed answer when set. */
  unknownDeltaField: string | undefined;

  start(): Promise<string> {
    return this.listen('/v1');
  }

  protected async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    let text = '';
    for await (const piece of request) text += String(piece);
    const body = JSON.parse(text) as { stream?: boolean; messages: Array<{ content: string }> };
    const base = { id: 'chatcmpl-parts', created: 1, model: 'parts-up' };
    const usage = { prompt_tokens: 7, completion_tokens: 9, total_tokens: 16 };
    const logprobs = { content: [{ token: 'Hi', logprob: -0.1, bytes: [72, 105], top_logprobs: [] }], refusal: null };
    const annotations = [{ type: 'url_citation', url_citation: { url: 'https://example.com', title: 'Example', start_index: 0, end_index: 2 } }];
    if (!body.stream) {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(
        JSON.stringify({
          ...base,
          object: 'chat.completion',
          choices: [{ index: 0, message: { role: 'assistant', content: 'Hi', audio: { id: 'audio_1', data: 'AAAABBBB', transcript: 'Hi there', expires_at: 99 }, function_call: { name: 'lookup', arguments: '{"q":"x"}' }, annotations }, logprobs, finish_reason: 'stop' }],
          usage,
        }),
      );
      return;
    }
    response.writeHead(200, { 'content-type': 'text/event-stream' });
    const chunk = (delta: Record<string, unknown>, finish: string | null = null, extra: Record<string, unknown> = {}) =>
      response.write(`data: ${JSON.stringify({ ...base, object: 'chat.completion.chunk', choices: [{ index: 0, delta, finish_reason: finish, ...extra }] })}\n\n`);
    chunk({ role: 'assistant', content: '' });
    chunk({ content: 'Hi' }, null, { logprobs });
    chunk({ audio: { id: 'audio_1', transcript: 'Hi ' } });
    chunk({ audio: { data: 'AAAA', transcript: 'there' } });
    chunk({ audio: { data: 'BBBB', expires_at: 99 } });
    chunk({ function_call: { name: 'lookup', arguments: '' } });
    chunk({ function_call: { arguments: '{"q":' } });
    chunk({ function_call: { arguments: '"x"}' } });
    chunk({ annotations });
    if (this.unknownDeltaField) chunk({ [this.unknownDeltaField]: { some: 'value' } });
    chunk({}, 'stop');
    response.write(`data: ${JSON.stringify({ ...base, object: 'chat.completion.chunk', choices: [], usage })}\n\n`);
    response.end('data: [DONE]\n\n');
  }
}

const claude = new MockAnthropic({ thinking: 'Let me think about it carefully.' });
const parts = new PartsUpstream();
let gateway: TestGateway;
let openai: OpenAI;
let anthropic: Anthropic;
let counter = 0;
const prompt = (label: string) => `${label} #${++counter} ${Math.random().toString(36).slice(2)}`;

beforeAll(async () => {
  await Promise.all([claude.start(), parts.start()]);
  gateway = await startGateway(`
model_list:
  - model_name: claude
    litellm_params: {model: anthropic/claude-sonnet-4-20250514, api_base: "${claude.url}", api_key: sk-ant-upstream}
    model_info: {id: dep-claude, input_cost_per_token: 0.000003, output_cost_per_token: 0.000015}
  - model_name: parts
    litellm_params: {model: openai/parts-up, api_base: "${parts.url}", api_key: sk-upstream}
    model_info: {id: dep-parts, input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}
litellm_settings:
  cache: true
  cache_params: {type: local, ttl: 600}
general_settings:
  master_key: ${MASTER_KEY}
`);
  openai = gateway.openai();
  anthropic = new Anthropic({ apiKey: MASTER_KEY, baseURL: gateway.url, maxRetries: 0 });
});

afterAll(async () => {
  await gateway?.close();
  await Promise.all([claude.close(), parts.close()]);
});

type Delta = Record<string, unknown>;

async function streamedDeltas(content: string, model: string, extra: Record<string, unknown> = {}): Promise<{ deltas: Delta[]; choices: Array<Record<string, unknown>>; cache: string | null }> {
  const { data, response } = await openai.chat.completions.create({ model, messages: [{ role: 'user', content }], stream: true, ...extra } as unknown as OpenAI.ChatCompletionCreateParamsStreaming).withResponse();
  const deltas: Delta[] = [];
  const choices: Array<Record<string, unknown>> = [];
  for await (const chunk of data) {
    for (const choice of chunk.choices) {
      deltas.push(choice.delta as Delta);
      choices.push(choice as unknown as Record<string, unknown>);
    }
  }
  return { deltas, choices, cache: response.headers.get('x-switchboard-cache') };
}

async function json(content: string, model: string, extra: Record<string, unknown> = {}) {
  const { data, response } = await openai.chat.completions.create({ model, messages: [{ role: 'user', content }], ...extra } as unknown as OpenAI.ChatCompletionCreateParamsNonStreaming).withResponse();
  return { message: data.choices[0]!.message as unknown as Record<string, unknown>, choice: data.choices[0] as unknown as Record<string, unknown>, cache: response.headers.get('x-switchboard-cache') };
}

const THINKING = { thinking: { type: 'enabled', budget_tokens: 1024 }, max_tokens: 2048 };

describe('Anthropic thinking: the signed thinking blocks survive the cache', () => {
  it('a streamed answer stored, then served as JSON: thinking_blocks with their text and signature', async () => {
    const content = prompt('thinking stream first');
    const live = await streamedDeltas(content, 'claude', THINKING);
    expect(live.cache).toBe('miss');
    const signature = live.deltas.flatMap((delta) => (Array.isArray(delta.thinking_blocks) ? delta.thinking_blocks : [])).map((block: { signature?: string }) => block.signature)[0];
    expect(signature).toMatch(/mockSignature/);
    const hit = await json(content, 'claude', THINKING);
    expect(hit.cache).toBe('hit');
    expect(hit.message.reasoning_content).toBe('Let me think about it carefully.');
    expect(hit.message.thinking_blocks).toEqual([{ type: 'thinking', thinking: 'Let me think about it carefully.', signature }]);
  });

  it('an answer stored as JSON, then replayed as a /v1/messages stream: the thinking block keeps its signature', async () => {
    const content = prompt('thinking json first');
    const request = { model: 'claude', max_tokens: 2048, thinking: { type: 'enabled' as const, budget_tokens: 1024 }, messages: [{ role: 'user' as const, content }] };
    const first = await anthropic.messages.create(request).withResponse();
    expect(first.response.headers.get('x-switchboard-cache')).toBe('miss');
    const thinking = first.data.content.find((block) => block.type === 'thinking');
    expect(thinking).toMatchObject({ signature: expect.stringMatching(/mockSignature/) });
    const stream = anthropic.messages.stream(request);
    const replayed = await stream.finalMessage();
    expect((await stream.withResponse()).response.headers.get('x-switchboard-cache')).toBe('hit');
    expect(replayed.content.find((block) => block.type === 'thinking')).toEqual(thinking);
  });
});

describe('audio, function_call, annotations and logprobs survive the cache', () => {
  it('a streamed answer stored, then served as JSON: every part is there', async () => {
    const content = prompt('parts stream first');
    const live = await streamedDeltas(content, 'parts');
    expect(live.cache).toBe('miss');
    const hit = await json(content, 'parts');
    expect(hit.cache).toBe('hit');
    expect(hit.message.audio).toEqual({ id: 'audio_1', data: 'AAAABBBB', transcript: 'Hi there', expires_at: 99 });
    expect(hit.message.function_call).toEqual({ name: 'lookup', arguments: '{"q":"x"}' });
    expect(hit.message.annotations).toEqual([expect.objectContaining({ type: 'url_citation' })]);
    expect(hit.message.content).toBe('Hi');
    expect(hit.choice.logprobs).toEqual({ content: [expect.objectContaining({ token: 'Hi' })], refusal: null });
  });

  it('an answer stored as JSON, then replayed as a stream: every part is in the chunks', async () => {
    const content = prompt('parts json first');
    expect((await json(content, 'parts')).cache).toBe('miss');
    const replay = await streamedDeltas(content, 'parts');
    expect(replay.cache).toBe('hit');
    const audio = replay.deltas.map((delta) => delta.audio).filter(Boolean) as Array<Record<string, unknown>>;
    expect(audio.map((part) => part.data ?? '').join('')).toBe('AAAABBBB');
    expect(audio.map((part) => part.transcript ?? '').join('')).toBe('Hi there');
    const call = replay.deltas.map((delta) => delta.function_call).filter(Boolean) as Array<{ name?: string; arguments?: string }>;
    expect(call.map((part) => part.name ?? '').join('')).toBe('lookup');
    expect(call.map((part) => part.arguments ?? '').join('')).toBe('{"q":"x"}');
    expect(replay.deltas.some((delta) => Array.isArray(delta.annotations))).toBe(true);
    expect(replay.choices.some((choice) => (choice.logprobs as { content?: unknown[] } | null | undefined)?.content?.length === 1)).toBe(true);
  });

  it('a stream with a delta field the cache cannot rebuild is not stored (the next call goes upstream)', async () => {
    const content = prompt('unknown delta');
    parts.unknownDeltaField = 'provider_extra';
    try {
      expect((await streamedDeltas(content, 'parts')).cache).toBe('miss');
    } finally {
      parts.unknownDeltaField = undefined;
    }
    expect((await json(content, 'parts')).cache).toBe('miss');
  });
});
