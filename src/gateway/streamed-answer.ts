/**
 * What a stream relayed, kept as it went by: each item either a run of upstream SSE events
 * forwarded untouched (its text, `data: <json>\n\n` per chunk) or a chat chunk the gateway produced
 * itself. Its text is read once, when the recorded call is handed to the callbacks
 * (callback-content.ts): by one scan per event that builds nothing (partsText), an event of an
 * unusual shape parsed; parsing every event cost about as much as relaying it. The relay parses
 * the events when it counts tokens itself (stream-relay.ts).
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

/** Whether sse[start, end) is the key `name`. */
function isKey(sse: string, start: number, end: number, name: string): boolean {
  return end - start === name.length && sse.startsWith(name, start);
}

/** The backslashes right before sse[at]. */
function backslashesBefore(sse: string, at: number): number {
  let count = 0;
  while (sse.charCodeAt(at - 1 - count) === 0x5c) count++;
  return count;
}

function hasBackslash(sse: string, start: number, end: number): boolean {
  for (let at = start; at < end; at++) if (sse.charCodeAt(at) === 0x5c) return true;
  return false;
}

/** Container kinds on the scanner's stack (depth 1 is the event's object). */
const OBJECT = 0;
const ARRAY = 1;
const kinds: number[] = [];

/**
 * The text chunksText reads from one event (its JSON at sse[from, to)), found by one scan over its
 * characters that builds nothing: the first choice's `delta.content` (the last one given, as
 * JSON.parse keeps), where the event has the usual shape. Undefined for anything else — a second
 * choice, tool calls, a legacy `text`, an object or array as content, or text the scan does not
 * take for a JSON object — and the event is then parsed.
 */
function plainEventText(sse: string, from: number, to: number): string | undefined {
  let at = from;
  while (at < to && (sse.charCodeAt(at) === 0x20 || sse.charCodeAt(at) === 0x09)) at++;
  if (sse.charCodeAt(at) !== 0x7b) return undefined;
  let depth = 0;
  /** The key whose value comes next, in the object being read ([keyStart, keyEnd), -1 when none). */
  let keyStart = -1;
  let keyEnd = -1;
  /** Where the choices array, the first choice and its delta are open (their depths; 0: not open). */
  let choicesAt = 0;
  let choiceAt = 0;
  let deltaAt = 0;
  let choices = 0;
  let seenChoices = false;
  /** The delta's content so far: [start, end) of its string body, -1 when none. */
  let contentStart = -1;
  let contentEnd = -1;
  let contentEscaped = false;
  for (; at < to; at++) {
    const code = sse.charCodeAt(at);
    if (code === 0x22) {
      // A string: a key (a colon follows) or a value. Its end is found natively: the first quote
      // not escaped by an odd run of backslashes.
      const start = at + 1;
      let end = sse.indexOf('"', start);
      while (end !== -1 && end < to && backslashesBefore(sse, end) % 2 === 1) end = sse.indexOf('"', end + 1);
      if (end === -1 || end >= to) return undefined;
      at = end;
      let next = end + 1;
      while (next < to && (sse.charCodeAt(next) === 0x20 || sse.charCodeAt(next) === 0x09)) next++;
      if (sse.charCodeAt(next) === 0x3a && kinds[depth] === OBJECT) {
        // A key the event's shape depends on must be written plainly (an escaped one is read by JSON.parse).
        const watched = (depth === 1 && !seenChoices) || (depth === 3 && choiceAt === 3) || (depth === 4 && deltaAt === 4);
        if (watched && hasBackslash(sse, start, end)) return undefined;
        keyStart = start;
        keyEnd = end;
        at = next;
        if (depth === 4 && deltaAt === 4 && isKey(sse, start, end, 'tool_calls')) return undefined;
        if (depth === 3 && choiceAt === 3 && isKey(sse, start, end, 'text')) return undefined;
        continue;
      }
      if (depth === 4 && deltaAt === 4 && keyStart !== -1 && isKey(sse, keyStart, keyEnd, 'content')) {
        contentStart = start;
        contentEnd = end;
        contentEscaped = hasBackslash(sse, start, end);
      }
      keyStart = -1;
      continue;
    }
    if (code === 0x7b || code === 0x5b) {
      // An object or array opens: as the value of the key just read, or as an array's element.
      const key = kinds[depth] === OBJECT ? keyStart : -1;
      if (depth === 1 && code === 0x5b && key !== -1 && isKey(sse, key, keyEnd, 'choices')) {
        if (seenChoices) return undefined;
        seenChoices = true;
        choicesAt = 2;
      } else if (depth === 2 && choicesAt === 2 && code === 0x7b) {
        if (++choices > 1) return undefined;
        choiceAt = 3;
      } else if (depth === 3 && choiceAt === 3 && code === 0x7b && key !== -1 && isKey(sse, key, keyEnd, 'delta')) {
        // A delta given again replaces the first (JSON.parse keeps the last).
        deltaAt = 4;
        contentStart = -1;
      } else if (depth === 4 && deltaAt === 4 && key !== -1 && isKey(sse, key, keyEnd, 'content')) return undefined;
      depth++;
      kinds[depth] = code === 0x7b ? OBJECT : ARRAY;
      keyStart = -1;
      continue;
    }
    if (code === 0x7d || code === 0x5d) {
      if (depth === choicesAt) choicesAt = 0;
      if (depth === choiceAt) choiceAt = 0;
      if (depth === deltaAt) deltaAt = 0;
      depth--;
      if (depth === 0) {
        at++;
        break;
      }
      keyStart = -1;
      continue;
    }
    if (code === 0x2c || code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d || code === 0x3a) continue;
    // A literal (number, true, false, null): a content that is one is no text (chunksText reads strings only).
    if (depth === 4 && deltaAt === 4 && keyStart !== -1 && isKey(sse, keyStart, keyEnd, 'content')) contentStart = -1;
    while (at + 1 < to) {
      const following = sse.charCodeAt(at + 1);
      if (following === 0x2c || following === 0x7d || following === 0x5d || following === 0x20) break;
      at++;
    }
    keyStart = -1;
  }
  if (depth !== 0) return undefined;
  while (at < to && (sse.charCodeAt(at) === 0x20 || sse.charCodeAt(at) === 0x09)) at++;
  if (at !== to) return undefined;
  scannedContent.start = contentStart;
  scannedContent.end = contentEnd;
  if (contentStart === -1) return '';
  return contentEscaped ? decoded(sse, contentStart, contentEnd) : sse.slice(contentStart, contentEnd);
}

/** Where the last event plainEventText read has its content string's body (-1: none). */
const scannedContent = { start: -1, end: -1 };

/** A JSON string's body sse[start, end) as its text; undefined when it is not valid JSON. */
function decoded(sse: string, start: number, end: number): string | undefined {
  try {
    return JSON.parse(`"${sse.slice(start, end)}"`) as string;
  } catch {
    return undefined; // not a JSON string: the event is parsed whole (and refused)
  }
}

/**
 * An event plainEventText read, as its text before and after its content string: an event that is
 * the same text around another string has the same shape, so that string is its text. A stream's
 * chunks after the first usually are (the same id, model and keys; only the words differ).
 */
interface EventTemplate {
  prefix: string;
  suffix: string;
}

/** The text of an event (sse[from, to)) that is the template around a string; undefined otherwise. */
function templatedText(sse: string, from: number, to: number, template: EventTemplate): string | undefined {
  const literal = from + template.prefix.length;
  const close = to - template.suffix.length;
  // Compared as slices: equality of two strings is a memory compare, startsWith a character loop.
  if (close < literal || sse.slice(from, literal) !== template.prefix || sse.slice(close, to) !== template.suffix) return undefined;
  // The string must end exactly where the suffix begins: its first unescaped quote is the suffix's.
  let end = sse.indexOf('"', literal);
  while (end !== -1 && end < close && backslashesBefore(sse, end) % 2 === 1) end = sse.indexOf('"', end + 1);
  if (end !== close) return undefined;
  return hasBackslash(sse, literal, close) ? decoded(sse, literal, close) : sse.slice(literal, close);
}

/**
 * chunksText of a run's chunks, reading the text of usually shaped events without parsing them
 * (an event shaped as the last one read: templatedText; else plainEventText) and parsing the
 * others; undefined when an event it parses is not JSON (a run partChunks skips). For runs of JSON
 * events, the same text as chunksText(runChunks(sse)). `shape` carries the template across runs.
 */
export function runText(sse: string, shape: { template?: EventTemplate } = {}): string | undefined {
  let text = '';
  for (let start = 0; start < sse.length; ) {
    const end = sse.indexOf('\n\n', start);
    if (end === -1) return undefined;
    const from = start + 6;
    let plain = shape.template ? templatedText(sse, from, end, shape.template) : undefined;
    if (plain === undefined) {
      plain = plainEventText(sse, from, end);
      if (plain !== undefined && scannedContent.start !== -1) shape.template = { prefix: sse.slice(from, scannedContent.start), suffix: sse.slice(scannedContent.end, end) };
    }
    if (plain !== undefined) text += plain;
    else {
      let chunk: ChatChunk;
      try {
        chunk = JSON.parse(sse.slice(start + 6, end)) as ChatChunk;
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
  // The shape of the stream's events, learnt from one and used for the next (across its runs).
  const shape: { template?: EventTemplate } = {};
  for (const part of parts) {
    if (typeof part !== 'string') text += chunksText([part]);
    else text += runText(part, shape) ?? '';
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
