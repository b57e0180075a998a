import { describe, expect, it } from 'vitest';
import type { GatewayError } from '../errors.js';
import type { ChatChunk, EmittedChunk } from '../providers/types.js';
import { CHARACTERS_PER_TOKEN_CEILING, outputCapEncoder } from './output-cap-guard.js';
import type { StreamEncoder } from './response-format.js';
import { SseRun } from './sse-run.js';

const passThrough: StreamEncoder = { contentType: 'text/event-stream', chunks: () => 'x', error: () => 'e', end: () => 'done' };

function chunkOf(delta: Record<string, unknown>): EmittedChunk {
  const chunk: ChatChunk = { id: 'c', object: 'chat.completion.chunk', created: 0, model: 'm', choices: [{ index: 0, delta, finish_reason: null }] };
  return { chunk };
}

/** Sends `pieces` deltas of `size` characters of `field` through an encoder capped at `tokens`; the cut error, if any. */
function run(field: string, tokens: number, pieces: number, size: number): GatewayError | undefined {
  let cut: GatewayError | undefined;
  const encoder = outputCapEncoder(passThrough, { field: 'max_tokens', tokens }, 1, 'openai', (error) => (cut = error));
  for (let index = 0; index < pieces; index++) encoder.chunks([chunkOf({ [field]: 'a'.repeat(size) })]);
  return cut;
}

describe('the output cap guard', () => {
  it.each(['content', 'reasoning_content', 'reasoning', 'refusal'])('cuts a stream whose %s passes what the cap can hold', (field) => {
    const ceiling = 10 * CHARACTERS_PER_TOKEN_CEILING;
    expect(run(field, 10, 1, ceiling)).toBeUndefined();
    expect(run(field, 10, 2, ceiling)?.code).toBe('upstream_invalid_response');
  });

  it('counts answer and reasoning together', () => {
    let cut: GatewayError | undefined;
    const encoder = outputCapEncoder(passThrough, { field: 'max_tokens', tokens: 1 }, 1, 'openai', (error) => (cut = error));
    encoder.chunks([chunkOf({ reasoning_content: 'a'.repeat(CHARACTERS_PER_TOKEN_CEILING - 1) })]);
    expect(cut).toBeUndefined();
    encoder.chunks([chunkOf({ content: 'bb' })]);
    expect(cut).toBeDefined();
  });

  it('counts the rest of a forwarded run that holds a malformed event, and tool arguments of any JSON type', () => {
    const ceiling = 10 * CHARACTERS_PER_TOKEN_CEILING;
    const event = (delta: unknown) => `data: ${JSON.stringify({ id: 'c', choices: [{ index: 0, delta, finish_reason: null }] })}\n\n`;
    let cut: GatewayError | undefined;
    const encoder = outputCapEncoder(passThrough, { field: 'max_tokens', tokens: 10 }, 1, 'openai', (error) => (cut = error));
    // An upstream cannot hide a run's text from the cap by slipping one event that is not JSON into it.
    encoder.chunks([new SseRun(`data: {oops\n\n${event({ content: 'a'.repeat(ceiling) })}data: null\n\n`)]);
    expect(cut).toBeUndefined();
    encoder.chunks([new SseRun(`${event({ tool_calls: [{ index: 0, function: { arguments: { long: 'b'.repeat(8) } } }] })}data: [1]\n\n`)]);
    expect(cut?.code).toBe('upstream_invalid_response');
  });

  it('reads chunks whose choices are not what OpenAI sends without throwing', () => {
    const encoder = outputCapEncoder(passThrough, { field: 'max_tokens', tokens: 10 }, 1, 'openai', () => {});
    for (const choices of [5, [null], ['x'], [{ delta: 'text' }], [{ delta: { tool_calls: { 0: 1 } } }], [{ delta: { tool_calls: [null, { function: 7 }] } }]]) {
      expect(encoder.chunks([{ chunk: { id: 'c', object: 'chat.completion.chunk', created: 0, model: 'm', choices } as never }])).toBe('x');
    }
  });
});
