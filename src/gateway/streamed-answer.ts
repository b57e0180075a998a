/**
 * What a stream relayed, kept as it went by: each item either a run of upstream SSE events
 * forwarded untouched (its text, `data: <json>\n\n` per chunk) or a chat chunk the gateway produced
 * itself. What it answered — text and finish reasons — is read once per stream, in one pass
 * (partsAnswer): the finish reasons when the stream ends (for its trace), the text when the
 * recorded call is handed to the callbacks (callback-content.ts). An event of the usual shape is
 * read by one scan that builds nothing, or through the shape of the event before it; an event of
 * an unusual shape is parsed; parsing every event cost about as much as relaying it. An event that
 * is not a JSON object carries nothing (the rest of its run still counts). The relay parses the
 * events when it counts tokens itself (stream-relay.ts).
 */
import { chatChunkInShape } from '../providers/shared/chunk-shape.js';
import { BILLED_BESIDE_CONTENT } from '../providers/shared/usage.js';
import type { ChatChunk } from '../providers/types.js';

export type StreamedPart = string | ChatChunk;

/** The events of a run, each `data: <json>\n\n`: calls `each` with the bounds of every event's JSON. */
function forEachEvent(sse: string, each: (from: number, to: number) => void): void {
  for (let start = 0; start < sse.length; ) {
    let end = sse.indexOf('\n\n', start);
    if (end === -1) end = sse.length;
    each(start + 6, end);
    start = end + 2;
  }
}

/** The JSON object at sse[from, to) as a chunk (chatChunkInShape); undefined when it is not a JSON object. */
function eventChunk(sse: string, from: number, to: number): ChatChunk | undefined {
  let value: unknown;
  try {
    value = JSON.parse(sse.slice(from, to));
  } catch {
    return undefined;
  }
  return value !== null && typeof value === 'object' && !Array.isArray(value) ? chatChunkInShape(value) : undefined;
}

/**
 * The chat chunks of one forwarded run of SSE events, in order (each event parsed). An event that
 * is not a JSON object carries nothing and is left out; the run's other events still count (an
 * upstream cannot hide a run's text, from the token count or the output cap, by slipping one
 * malformed event into it).
 */
export function runChunks(sse: string): ChatChunk[] {
  const chunks: ChatChunk[] = [];
  forEachEvent(sse, (from, to) => {
    const chunk = eventChunk(sse, from, to);
    if (chunk) chunks.push(chunk);
  });
  return chunks;
}

/** The chat chunks of the parts (runChunks of each forwarded run). */
export function partChunks(parts: readonly StreamedPart[], into: ChatChunk[] = []): ChatChunk[] {
  for (const part of parts) {
    if (typeof part !== 'string') into.push(part);
    else for (const chunk of runChunks(part)) into.push(chunk);
  }
  return into;
}

type Choice = ChatChunk['choices'][number];

/** A chunk's choices that are objects (chatChunkInShape: an upstream's `choices` may be anything). */
export function choicesOf(chunk: ChatChunk): Choice[] {
  return chatChunkInShape(chunk).choices ?? [];
}

function isObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object';
}

/** A delta's tool calls' functions that are objects. */
export function toolFunctionsOf(delta: unknown): Array<{ name?: unknown; arguments?: unknown }> {
  const calls = isObject(delta) ? delta.tool_calls : undefined;
  if (!Array.isArray(calls)) return [];
  const functions: Array<{ name?: unknown; arguments?: unknown }> = [];
  for (const call of calls) if (isObject(call) && isObject(call.function)) functions.push(call.function);
  return functions;
}

/** A tool call's name or arguments as text: a string as it is, any other value as its JSON (what the client received). */
export function valueText(value: unknown): string {
  if (typeof value === 'string') return value;
  return value === undefined || value === null ? '' : JSON.stringify(value);
}

/** The answer's text: content deltas, legacy completion text, and tool calls' names and arguments. */
export function chunksText(chunks: readonly ChatChunk[]): string {
  let text = '';
  for (const chunk of chunks) {
    for (const choice of choicesOf(chunk)) {
      const delta = choice.delta as unknown;
      const content = isObject(delta) ? delta.content : undefined;
      if (typeof content === 'string') text += content;
      else if (typeof choice.text === 'string') text += choice.text; // legacy completions
      for (const call of toolFunctionsOf(delta)) text += valueText(call.name) + valueText(call.arguments);
    }
  }
  return text;
}

/** Everything the chunks hold that the provider bills as output, for a local count: chunksText plus reasoning and refusal text. */
export function billedText(chunks: readonly ChatChunk[]): string {
  let text = chunksText(chunks);
  for (const chunk of chunks) {
    for (const choice of choicesOf(chunk)) {
      const delta = choice.delta as unknown;
      if (!isObject(delta)) continue;
      for (const field of BILLED_BESIDE_CONTENT) if (typeof delta[field] === 'string') text += delta[field];
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
function plainEventText(sse: string, from: number, to: number, head?: EventHead): string | undefined {
  let at = from;
  let depth = 0;
  /** The key whose value comes next, in the object being read ([keyStart, keyEnd), -1 when none). */
  let keyStart = -1;
  let keyEnd = -1;
  if (head) {
    // The event begins with the head of the one before (readRun compared them): the scan is where
    // that one's was at its choices array — inside the event's object, the key just read "choices".
    at = from + head.text.length;
    depth = 1;
    kinds[1] = OBJECT;
    keyStart = from + head.keyStart;
    keyEnd = from + head.keyEnd;
  } else {
    while (at < to && (sse.charCodeAt(at) === 0x20 || sse.charCodeAt(at) === 0x09)) at++;
    if (sse.charCodeAt(at) !== 0x7b) return undefined;
  }
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
  /** The first choice's finish_reason string ([start, end), -1: none) and its index literal ([start, end), -1: none, -2: not a plain one). */
  let finishStart = -1;
  let finishEnd = -1;
  let indexStart = -1;
  let indexEnd = -1;
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
      } else if (depth === 3 && choiceAt === 3 && keyStart !== -1) {
        if (isKey(sse, keyStart, keyEnd, 'finish_reason')) {
          finishStart = start;
          finishEnd = end;
        } else if (isKey(sse, keyStart, keyEnd, 'index')) indexStart = -2;
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
        scannedHead.at = at;
        scannedHead.keyStart = key;
        scannedHead.keyEnd = keyEnd;
      } else if (depth === 2 && choicesAt === 2 && code === 0x7b) {
        if (++choices > 1) return undefined;
        choiceAt = 3;
      } else if (depth === 3 && choiceAt === 3 && code === 0x7b && key !== -1 && isKey(sse, key, keyEnd, 'delta')) {
        // A delta given again replaces the first (JSON.parse keeps the last).
        deltaAt = 4;
        contentStart = -1;
      } else if (depth === 4 && deltaAt === 4 && key !== -1 && isKey(sse, key, keyEnd, 'content')) return undefined;
      else if (depth === 3 && choiceAt === 3 && key !== -1) {
        if (isKey(sse, key, keyEnd, 'finish_reason')) finishStart = -1;
        else if (isKey(sse, key, keyEnd, 'index')) indexStart = -2;
      }
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
    const literal = at;
    while (at + 1 < to) {
      const following = sse.charCodeAt(at + 1);
      if (following === 0x2c || following === 0x7d || following === 0x5d || following === 0x20) break;
      at++;
    }
    if (depth === 3 && choiceAt === 3 && keyStart !== -1) {
      if (isKey(sse, keyStart, keyEnd, 'finish_reason')) finishStart = -1;
      else if (isKey(sse, keyStart, keyEnd, 'index')) {
        indexStart = literal;
        indexEnd = at + 1;
      }
    }
    keyStart = -1;
  }
  if (depth !== 0) return undefined;
  while (at < to && (sse.charCodeAt(at) === 0x20 || sse.charCodeAt(at) === 0x09)) at++;
  if (at !== to) return undefined;
  scannedContent.start = contentStart;
  scannedContent.end = contentEnd;
  scannedFinish.start = finishStart;
  scannedFinish.end = finishEnd;
  scannedFinish.indexStart = indexStart;
  scannedFinish.indexEnd = indexEnd;
  if (contentStart === -1) return '';
  return contentEscaped ? decoded(sse, contentStart, contentEnd) : sse.slice(contentStart, contentEnd);
}

/** Where the last event plainEventText read opened its choices array, and the "choices" key's bounds (its head, for the next event). */
const scannedHead = { at: -1, keyStart: -1, keyEnd: -1 };

/**
 * An event's text up to its choices array (`{"id":…,"model":…,"choices":`, no `[`): the part a
 * stream's events usually share. An event that begins with the same text is scanned from there
 * (plainEventText), as the state there is the same.
 */
interface EventHead {
  text: string;
  /** The "choices" key's body, as offsets into the text. */
  keyStart: number;
  keyEnd: number;
}

/** Where the last event plainEventText read has its content string's body (-1: none). */
const scannedContent = { start: -1, end: -1 };

/** The last event plainEventText read: its first choice's finish_reason string body and index literal (as in plainEventText). */
const scannedFinish = { start: -1, end: -1, indexStart: -1, indexEnd: -1 };

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
  /** The finish reason the event reports (in its prefix or suffix), as [index, reason]; undefined when none. */
  finish: [number, string] | undefined;
}

/** What readRun learnt of a stream's events, carried from one to the next (across its runs). */
interface EventShape {
  template?: EventTemplate;
  head?: EventHead;
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

/** What a stream answered: its text (chunksText) and the finish reason of each choice that reported one (chunksFinishReasons). */
export interface StreamedAnswerFacts {
  text: string;
  finishReasons: string[];
}

const PLAIN_INDEX = /^(?:0|[1-9][0-9]{0,8})$/;

/**
 * The finish reason of the event plainEventText just read (sse[from, to)), as [index, reason]:
 * null when it reports none, undefined when its finish reason or index is not plainly written (a
 * string index, an escape that does not decode, ...): the event is then parsed for it.
 */
function scannedFinishReason(sse: string): [number, string] | null | undefined {
  const { start, end, indexStart, indexEnd } = scannedFinish;
  if (start === -1) return null;
  let index: number;
  if (indexStart === -1) index = 0;
  else {
    if (indexStart === -2) return undefined;
    const literal = sse.slice(indexStart, indexEnd);
    if (literal === 'null') index = 0;
    else if (PLAIN_INDEX.test(literal)) index = Number(literal);
    else return undefined;
    if (index >= MAX_CHOICES) return null; // not kept (choiceIndex)
  }
  const reason = hasBackslash(sse, start, end) ? decoded(sse, start, end) : sse.slice(start, end);
  return reason === undefined ? undefined : [index, reason];
}

/**
 * The text and finish reasons of a run's events (`reasons` collects the latter, by choice index):
 * an event shaped as the last one read through its template (templatedText), any other through
 * plainEventText, and one of an unusual shape parsed (runChunks: an event that is not a JSON object
 * reports nothing). `shape` carries the template across runs.
 */
function readRun(sse: string, shape: EventShape, reasons: string[]): string {
  let text = '';
  for (let start = 0; start < sse.length; ) {
    let end = sse.indexOf('\n\n', start);
    if (end === -1) end = sse.length;
    const from = start + 6;
    start = end + 2;
    const template = shape.template;
    const templated = template ? templatedText(sse, from, end, template) : undefined;
    if (templated !== undefined) {
      text += templated;
      if (template!.finish) reasons[template!.finish[0]] = template!.finish[1];
      continue;
    }
    const head = shape.head;
    const resumed = head !== undefined && end - from > head.text.length && sse.slice(from, from + head.text.length) === head.text;
    scannedHead.at = -1;
    const plain = plainEventText(sse, from, end, resumed ? head : undefined);
    if (plain !== undefined && !resumed && scannedHead.at !== -1) shape.head = { text: sse.slice(from, scannedHead.at), keyStart: scannedHead.keyStart - from, keyEnd: scannedHead.keyEnd - from };
    const finish = plain === undefined ? undefined : scannedFinishReason(sse);
    if (plain !== undefined && finish !== undefined) {
      text += plain;
      if (finish) reasons[finish[0]] = finish[1];
      if (scannedContent.start !== -1) shape.template = { prefix: sse.slice(from, scannedContent.start), suffix: sse.slice(scannedContent.end, end), finish: finish ?? undefined };
      continue;
    }
    const chunk = eventChunk(sse, from, end);
    if (!chunk) continue;
    text += chunksText([chunk]);
    addFinishReasons(chunk, reasons);
  }
  return text;
}

/** The text of a run's events (readRun); `shape` carries the template across runs. */
export function runText(sse: string, shape: EventShape = {}): string {
  return readRun(sse, shape, []);
}

/**
 * What the parts answered (text and finish reasons) in one pass, each event read once: chunksText
 * and chunksFinishReasons of partChunks(parts).
 */
export function partsAnswer(parts: readonly StreamedPart[]): StreamedAnswerFacts {
  let text = '';
  const reasons: string[] = [];
  // The shape of the stream's events, learnt from one and used for the next (across its runs).
  const shape: EventShape = {};
  for (const part of parts) {
    if (typeof part === 'string') text += readRun(part, shape, reasons);
    else {
      text += chunksText([part]);
      addFinishReasons(part, reasons);
    }
  }
  return { text, finishReasons: reasons.filter((reason) => reason !== undefined) };
}

/**
 * A stream's parts and what they answered, read once, on first demand (partsAnswer): the finish
 * reasons when the stream ends (its trace), the text when the callbacks get the call.
 */
export class StreamedAnswer {
  private facts: StreamedAnswerFacts | undefined;

  constructor(readonly parts: readonly StreamedPart[]) {}

  get text(): string {
    return this.read().text;
  }

  get finishReasons(): string[] {
    return this.read().finishReasons;
  }

  private read(): StreamedAnswerFacts {
    return (this.facts ??= partsAnswer(this.parts));
  }
}

/**
 * Choice indexes a finish reason is kept for: OpenAI answers at most 128 choices (`n`). A larger or
 * odd index an upstream writes is not kept: written into the array of reasons, index 999,999,999
 * made reading them back a 24-second loop that held the event loop.
 */
const MAX_CHOICES = 128;

/** The choice index a finish reason is kept at: the index as the choice says (0 when it says none), undefined when it is not an integer below MAX_CHOICES. */
function choiceIndex(value: unknown): number | undefined {
  if (value === undefined || value === null) return 0;
  return typeof value === 'number' && Number.isInteger(value) && value >= 0 && value < MAX_CHOICES ? value : undefined;
}

/** Adds the finish reason of each of the chunk's choices that reports one (at its index: choiceIndex). */
function addFinishReasons(chunk: ChatChunk, reasons: string[]): void {
  for (const choice of choicesOf(chunk)) {
    const index = choiceIndex(choice.index);
    if (typeof choice.finish_reason === 'string' && index !== undefined) reasons[index] = choice.finish_reason;
  }
}

/** The finish reason of each choice that reported one (by choice index). */
export function chunksFinishReasons(chunks: readonly ChatChunk[]): string[] {
  const reasons: string[] = [];
  for (const chunk of chunks) addFinishReasons(chunk, reasons);
  return reasons.filter((reason) => reason !== undefined);
}
