/**
 * The safety net behind the completion limit the gateway sets for a budget reservation
 * (billing/reservation-plan.ts): an upstream that ignores it and streams on would be billed for
 * output no reservation covers. While a capped stream is relayed, the text of its chunks (answer,
 * reasoning, refusal and tool-call arguments) is counted, and a stream whose text is longer than
 * the limit's tokens could hold — 32 characters per token per choice, beyond what any tokenizer
 * packs into a token on real text — is cut: the upstream call is aborted, the client gets the error event, and what was produced is billed. Only capped
 * streams are counted (the others keep the relay's zero-parse path for pass-through runs).
 */
import { GatewayError } from '../errors.js';
import type { ChatChunk, EmittedChunk } from '../providers/types.js';
import type { StreamEncoder } from './response-format.js';
import { SseRun } from './sse-run.js';
import { choicesOf, toolFunctionsOf, valueText } from './streamed-answer.js';

export const CHARACTERS_PER_TOKEN_CEILING = 32;

function textLength(chunk: ChatChunk): number {
  let length = 0;
  // An upstream's chunk may hold anything: only strings count as text, any other value as its JSON.
  for (const choice of choicesOf(chunk)) {
    const delta = choice.delta as unknown;
    const fields = delta !== null && typeof delta === 'object' ? (delta as Record<string, unknown>) : {};
    if (typeof fields.content === 'string') length += fields.content.length;
    else if (typeof choice.text === 'string') length += choice.text.length; // legacy completions
    // Reasoning and refusals are output the provider bills too: an upstream ignoring the cap could stream them without end.
    for (const field of ['reasoning_content', 'reasoning', 'refusal'] as const) {
      const value = fields[field];
      if (typeof value === 'string') length += value.length;
    }
    for (const call of toolFunctionsOf(delta)) length += valueText(call.name).length + valueText(call.arguments).length;
  }
  return length;
}

/** `encoder`, counting the text it relays; calls `cut` once when the text passes what `tokens` per choice can hold. */
export function outputCapEncoder(encoder: StreamEncoder, cap: { field: string; tokens: number } | undefined, choices: number, provider: string, cut: (error: GatewayError) => void): StreamEncoder {
  if (!cap) return encoder;
  const ceiling = cap.tokens * choices * CHARACTERS_PER_TOKEN_CEILING;
  let seen = 0;
  let tripped = false;
  return {
    contentType: encoder.contentType,
    forwardsSse: encoder.forwardsSse,
    error: (error) => encoder.error(error),
    end: (summary) => encoder.end(summary),
    chunks(emitted: EmittedChunk[]): string {
      if (!tripped) {
        for (const item of emitted) {
          let chunks: ChatChunk[];
          try {
            chunks = item instanceof SseRun ? item.chunks() : [item.chunk];
          } catch {
            continue;
          }
          for (const chunk of chunks) seen += textLength(chunk);
        }
        if (seen > ceiling) {
          tripped = true;
          cut(new GatewayError('upstream_invalid_response', `${provider} streamed past the completion limit the gateway set (${cap.field}: ${cap.tokens}, what the budget reservation covers); the stream was cut and the output so far is billed`, { provider }));
        }
      }
      return encoder.chunks(emitted);
    },
  };
}
