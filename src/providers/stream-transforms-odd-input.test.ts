import { describe, expect, it } from 'vitest';
import { fakeDeployment } from '../../test/support/stage-fakes.js';
import { GatewayError } from '../errors.js';
import { AnthropicStreamTransform } from './anthropic/stream.js';
import { createBedrockStreamTransform } from './bedrock/stream.js';
import { createCohereStreamTransform } from './cohere/stream.js';
import { parseGeminiChatResponse } from './gemini/response.js';
import { createGeminiStreamTransform } from './gemini/stream.js';
import { OllamaStreamTransform } from './ollama/stream.js';
import { anthropicNative } from './anthropic/native.js';
import { geminiNative } from './gemini/native.js';
import { OpenAIStreamTransform } from './shared/openai-compatible.js';
import { openAINative } from './shared/openai-native.js';
import type { ChatStreamTransform, EmittedChunk } from './types.js';

/**
 * An upstream may write any JSON where its API documents an object, a list or a string. Each
 * provider's stream transform reads such events without throwing (a throw breaks the stream and
 * the client's call), and every chunk it emits is one the gateway can read: `choices` a list of
 * objects with an object delta. Each seed changes a documented stream's values at random.
 */
const ODD: unknown[] = [null, 5, 'x', true, [], [null], {}, { a: null }, [1, 'y'], { type: null }, { index: 'z' }, { text: 5 }, { parts: 5 }, { content: [null] }];

function generator(seed: number): () => number {
  let state = seed >>> 0;
  return () => (state = (Math.imul(state, 1664525) + 1013904223) >>> 0) / 4294967296;
}

function changed(value: unknown, random: () => number, depth = 0): unknown {
  if (depth > 5) return value;
  if (random() < 0.15) return ODD[Math.floor(random() * ODD.length)];
  if (Array.isArray(value)) return value.map((item) => changed(item, random, depth + 1));
  if (value !== null && typeof value === 'object') return Object.fromEntries(Object.entries(value).map(([key, item]) => [key, changed(item, random, depth + 1)]));
  return value;
}

/** An event's payload, or [event name, payload] where the event name carries its type (Bedrock). */
const STREAMS: Record<string, { events: unknown[]; named?: boolean; transform: () => ChatStreamTransform }> = {
  bedrock: {
    transform: () => createBedrockStreamTransform(fakeDeployment('d', 'm')),
    named: true,
    events: [
      ['messageStart', { role: 'assistant' }],
      ['contentBlockDelta', { contentBlockIndex: 0, delta: { text: 'hi ' } }],
      ['contentBlockStop', { contentBlockIndex: 0 }],
      ['contentBlockStart', { contentBlockIndex: 1, start: { toolUse: { toolUseId: 't1', name: 'f' } } }],
      ['contentBlockDelta', { contentBlockIndex: 1, delta: { toolUse: { input: '{"a":' } } }],
      ['contentBlockDelta', { contentBlockIndex: 1, delta: { reasoningContent: { text: 'hm' } } }],
      ['contentBlockStop', { contentBlockIndex: 1 }],
      ['messageStop', { stopReason: 'tool_use' }],
      ['metadata', { usage: { inputTokens: 20, outputTokens: 10, totalTokens: 30 }, metrics: { latencyMs: 150 } }],
    ],
  },
  cohere: {
    transform: () => createCohereStreamTransform(fakeDeployment('d', 'm')),
    events: [
      { id: 'c1', type: 'message-start', delta: { message: { role: 'assistant', content: [], tool_plan: '', tool_calls: [], citations: [] } } },
      { type: 'content-start', index: 0, delta: { message: { content: { type: 'text', text: '' } } } },
      { type: 'content-delta', index: 0, delta: { message: { content: { text: 'hi' } } } },
      { type: 'content-end', index: 0 },
      { type: 'tool-plan-delta', delta: { message: { tool_plan: 'I will look.' } } },
      { type: 'tool-call-start', index: 0, delta: { message: { tool_calls: { id: 't1', type: 'function', function: { name: 'f', arguments: '' } } } } },
      { type: 'tool-call-delta', index: 0, delta: { message: { tool_calls: { function: { arguments: '{}' } } } } },
      { type: 'tool-call-end', index: 0 },
      { type: 'message-end', delta: { finish_reason: 'TOOL_CALL', usage: { billed_units: { input_tokens: 5, output_tokens: 3 }, tokens: { input_tokens: 9, output_tokens: 3 } } } },
    ],
  },
  anthropic: {
    transform: () => new AnthropicStreamTransform(fakeDeployment('d', 'm')),
    events: [
      { type: 'message_start', message: { id: 'msg_1', type: 'message', role: 'assistant', model: 'claude', content: [], usage: { input_tokens: 5, output_tokens: 1 } } },
      { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } },
      { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: 'hi' } },
      { type: 'content_block_start', index: 1, content_block: { type: 'tool_use', id: 'toolu_1', name: 'f', input: {} } },
      { type: 'content_block_delta', index: 1, delta: { type: 'input_json_delta', partial_json: '{"a"' } },
      { type: 'content_block_stop', index: 0 },
      { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: 7 } },
      { type: 'message_stop' },
    ],
  },
  gemini: {
    transform: () => createGeminiStreamTransform(fakeDeployment('d', 'm')),
    events: [
      { candidates: [{ content: { role: 'model', parts: [{ text: 'hi' }, { functionCall: { name: 'f', args: { a: 1 } } }] }, index: 0 }], usageMetadata: { promptTokenCount: 3 } },
      { candidates: [{ content: { role: 'model', parts: [{ text: '!' }] }, finishReason: 'STOP', index: 0 }], usageMetadata: { promptTokenCount: 3, candidatesTokenCount: 2, totalTokenCount: 5 } },
    ],
  },
  ollama: {
    transform: () => new OllamaStreamTransform(fakeDeployment('d', 'm'), 'chat'),
    events: [
      { model: 'llama3.1', created_at: '2024-01-01T00:00:00Z', message: { role: 'assistant', content: 'hi', tool_calls: [{ function: { name: 'f', arguments: { a: 1 } } }] }, done: false },
      { model: 'llama3.1', created_at: '2024-01-01T00:00:00Z', message: { role: 'assistant', content: '' }, done: true, done_reason: 'stop', prompt_eval_count: 3, eval_count: 2 },
    ],
  },
  'openai-compatible': {
    transform: () => new OpenAIStreamTransform(fakeDeployment('d', 'm')),
    events: [
      { id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: { role: 'assistant', content: 'hi', tool_calls: [{ index: 0, id: 't', function: { name: 'f', arguments: '{}' } }] }, finish_reason: null }] },
      { id: 'c', object: 'chat.completion.chunk', created: 1, model: 'm', choices: [{ index: 0, delta: {}, finish_reason: 'stop' }], usage: { prompt_tokens: 1, completion_tokens: 2, total_tokens: 3 } },
    ],
  },
};

// The native relays (a client's own API format, relayed as the upstream wrote it) read the same events for usage and text.
STREAMS['anthropic (native relay)'] = { ...STREAMS.anthropic, transform: () => anthropicNative.createStreamTransform!(fakeDeployment('d', 'm')) };
STREAMS['gemini (native relay)'] = { ...STREAMS.gemini, transform: () => geminiNative.createStreamTransform!(fakeDeployment('d', 'm')) };
STREAMS['openai (native relay)'] = { ...STREAMS['openai-compatible'], transform: () => openAINative.createStreamTransform!(fakeDeployment('d', 'm')) };

function readable(item: EmittedChunk): boolean {
  const { choices } = item.chunk;
  return choices === undefined || (Array.isArray(choices) && choices.every((choice) => choice !== null && typeof choice === 'object' && (choice.delta === undefined || (choice.delta !== null && typeof choice.delta === 'object'))));
}

describe('stream transforms read whatever an upstream writes', () => {
  it.each(Object.keys(STREAMS))('%s: 2,000 streams with values changed at random', (name) => {
    const { events, transform, named } = STREAMS[name];
    const problems: string[] = [];
    for (let seed = 1; seed <= 2_000 && problems.length < 5; seed++) {
      const random = generator(seed);
      const stream = events.map((event) => changed(event, random));
      try {
        const reader = transform();
        const push = (event: unknown): EmittedChunk[] => {
          if (!named) return reader.push(JSON.stringify(event));
          // The event's name is the frame's header, not the upstream's JSON: only its payload changes.
          const payload = Array.isArray(event) && event.length === 2 ? event[1] : event;
          return reader.push(JSON.stringify(payload), (events[stream.indexOf(event)] as [string, unknown])[0]);
        };
        const emitted = [...stream.flatMap(push), ...reader.end()];
        if (!emitted.every(readable)) problems.push(`seed ${seed}: a chunk the gateway cannot read`);
      } catch (error) {
        problems.push(`seed ${seed}: ${(error as Error).message} in ${JSON.stringify(stream).slice(0, 300)}`);
      }
    }
    expect(problems).toEqual([]);
  });

  it('gemini: a JSON answer with values changed at random is read, or refused as not a GenerateContentResponse', () => {
    const answer = { candidates: [{ content: { role: 'model', parts: [{ text: 'hi' }, { functionCall: { name: 'f', args: {} } }] }, finishReason: 'STOP', index: 0 }, { content: { parts: [{ text: 'b' }] }, index: 1 }], usageMetadata: { promptTokenCount: 3, candidatesTokenCount: 2 } };
    const problems: string[] = [];
    for (let seed = 1; seed <= 2_000 && problems.length < 5; seed++) {
      const body = changed(answer, generator(seed));
      try {
        parseGeminiChatResponse(body, fakeDeployment('d', 'm'));
      } catch (error) {
        if (!(error instanceof GatewayError)) problems.push(`seed ${seed}: ${(error as Error).message} in ${JSON.stringify(body).slice(0, 300)}`);
      }
    }
    expect(problems).toEqual([]);
  });
});
