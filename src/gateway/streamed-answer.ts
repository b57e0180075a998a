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

const CHOICES = '"choices":[';
const DELTA = '"delta":{';
const CONTENT = '"content":';

/**
 * The text chunksText reads from one event (a chat chunk's JSON) when the event has the usual
 * shape, without parsing it: one `"delta":{`, the first choice's (only `"index":…` and the like
 * before it), at most one `"content":` key, which (when there) is a member of that delta whose
 * value is a string or null, and no `"tool_calls"` or `"text":` keys. Undefined for any other
 * event, which is then parsed. (A key cannot occur unescaped inside a JSON string, so finding
 * `"content":` means the key is there.)
 */
function plainEventText(event: string): string | undefined {
  const delta = event.indexOf(DELTA);
  const choices = event.indexOf(CHOICES);
  if (delta === -1 || choices === -1 || choices > delta) return undefined;
  // The first choice's delta: only that choice's brace opens between `"choices":[` and it.
  let braces = 0;
  for (let at = choices + CHOICES.length; at < delta; at++) {
    const code = event.charCodeAt(at);
    if (code === 0x7b) braces++;
    else if (code === 0x7d || code === 0x5b || code === 0x5d) return undefined;
  }
  if (braces !== 1 || event.includes(DELTA, delta + DELTA.length) || event.includes('"tool_calls"') || event.includes('"text":')) return undefined;
  const key = event.indexOf(CONTENT);
  if (key === -1) return '';
  if (key < delta || event.includes(CONTENT, key + CONTENT.length)) return undefined;
  // A direct member of the delta: no object or array opens or closes between the delta's brace and the key.
  for (let at = delta + DELTA.length; at < key; at++) {
    const code = event.charCodeAt(at);
    if (code === 0x7b || code === 0x7d || code === 0x5b || code === 0x5d) return undefined;
  }
  const value = key + CONTENT.length;
  if (event.startsWith('null', value)) return '';
  if (event.charCodeAt(value) !== 0x22) return undefined;
  // The string literal: up to the first quote not escaped by an odd run of backslashes.
  for (let close = event.indexOf('"', value + 1); close !== -1; close = event.indexOf('"', close + 1)) {
    let backslashes = 0;
    while (event.charCodeAt(close - 1 - backslashes) === 0x5c) backslashes++;
    if (backslashes % 2 === 1) continue;
    const body = event.slice(value + 1, close);
    if (!body.includes('\\')) return body;
    try {
      return JSON.parse(`"${body}"`) as string;
    } catch {
      return undefined; // not a JSON string: the event is parsed whole (and refused)
    }
  }
  return undefined;
}

/**
 * chunksText of a run's chunks, reading the text of usually shaped events without parsing them
 * (plainEventText) and parsing the others; undefined when an event it parses is not JSON (a run
 * partChunks skips). For runs of JSON events, the same text as chunksText(runChunks(sse)).
 */
export function runText(sse: string): string | undefined {
  let text = '';
  for (let start = 0; start < sse.length; ) {
    const end = sse.indexOf('\n\n', start);
    if (end === -1) return undefined;
    const event = sse.slice(start + 6, end);
    const plain = plainEventText(event);
    if (plain !== undefined) text += plain;
    else {
      let chunk: ChatChunk;
      try {
        chunk = JSON.parse(event) as ChatChunk;
      } catch {
        return undefined;
      }
      text += chunksText([chunk]);
    }
    start = end + 2;
  }
  return text;
}

/** chunksText(partChunks(parts)), without parsing the forwarded events of the usual shape (runText). */
export function partsText(parts: readonly StreamedPart[]): string {
  let text = '';
  for (const part of parts) {
    if (typeof part !== 'string') text += chunksText([part]);
    else text += runText(part) ?? '';
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
