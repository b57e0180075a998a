/**
 * What a stream relayed, kept as it went by: each item either a run of upstream SSE events
 * forwarded untouched (its text, `data: <json>\n\n` per chunk) or a chat chunk the gateway produced
 * itself. Reading its text means parsing the runs, which costs about as much as the relay itself:
 * it is done once, when the recorded call is handed to the callbacks (callback-content.ts), and
 * the relay reads the same way when it counts tokens (stream-relay.ts).
 */
import type { ChatChunk } from '../providers/types.js';

export type StreamedPart = string | ChatChunk;

/** The chat chunks of one forwarded run of SSE events, in order (each event parsed). */
export function runChunks(sse: string): ChatChunk[] {
  const chunks: ChatChunk[] = [];
  for (let start = 0; start < sse.length; ) {
    const end = sse.indexOf('\n\n', start);
    chunks.push(JSON.parse(sse.slice(start + 6, end)) as ChatChunk);
    start = end + 2;
  }
  return chunks;
}

/** The chat chunks of the parts; a run that is not JSON carries no countable text and is skipped. */
export function partChunks(parts: readonly StreamedPart[], into: ChatChunk[] = []): ChatChunk[] {
  for (const part of parts) {
    if (typeof part !== 'string') {
      into.push(part);
      continue;
    }
    try {
      into.push(...runChunks(part));
    } catch {
      // not JSON: nothing to count
    }
  }
  return into;
}

/** The answer's text: content deltas, legacy completion text, and tool calls' names and arguments. */
export function chunksText(chunks: readonly ChatChunk[]): string {
  let text = '';
  for (const chunk of chunks) {
    for (const choice of chunk.choices ?? []) {
      const delta = choice.delta;
      if (typeof delta?.content === 'string') text += delta.content;
      else if (typeof choice.text === 'string') text += choice.text; // legacy completions
      for (const call of delta?.tool_calls ?? []) text += (call.function?.name ?? '') + (call.function?.arguments ?? '');
    }
  }
  return text;
}

/** The finish reason of each choice that reported one (by choice index). */
export function chunksFinishReasons(chunks: readonly ChatChunk[]): string[] {
  const reasons: string[] = [];
  for (const chunk of chunks) {
    for (const choice of chunk.choices ?? []) {
      if (typeof choice.finish_reason === 'string') reasons[choice.index ?? 0] = choice.finish_reason;
    }
  }
  return reasons.filter((reason) => reason !== undefined);
}

const FINISH = '"finish_reason":"';

/**
 * The finish reasons without parsing every event: only the events of a run that name a finish
 * reason are parsed. (An unescaped `"finish_reason":"` cannot occur inside a JSON string, so an
 * event without it reports none.)
 */
export function partsFinishReasons(parts: readonly StreamedPart[]): string[] {
  const chunks: ChatChunk[] = [];
  for (const part of parts) {
    if (typeof part !== 'string') {
      chunks.push(part);
      continue;
    }
    for (let at = part.indexOf(FINISH); at !== -1; ) {
      const start = part.lastIndexOf('\n\n', at) + 2;
      const end = part.indexOf('\n\n', at);
      try {
        chunks.push(JSON.parse(part.slice(start === 1 ? 6 : start + 6, end)) as ChatChunk);
      } catch {
        // not JSON: no finish reason to read
      }
      at = part.indexOf(FINISH, end);
    }
  }
  return chunksFinishReasons(chunks);
}
