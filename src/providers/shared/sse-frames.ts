/**
 * Byte-level helpers for relaying SSE without decoding it: a read from an OpenAI-compatible
 * upstream is mostly complete `data: {…}\n\n` frames that the client gets unchanged, so those
 * frames are forwarded as the bytes received (no UTF-8 decode, no line splitting, no re-framing).
 * Only frames that matter to the gateway — usage, errors, `[DONE]`, anything unusual — are decoded
 * and parsed.
 */

const DATA_PREFIX = Buffer.from('data: ');
const USAGE = Buffer.from('"usage"');
const ERROR = Buffer.from('"error"');
const GROQ = Buffer.from('"x_groq"');

/** A complete frame `[start, end)` of a read, `end` excluding the blank line that closes it. */
export interface FrameBounds {
  start: number;
  end: number;
}

/**
 * Whether the frame is a single `data: {…}` line (no other fields, no comment, no multi-line
 * data), the only shape forwarded as is.
 */
export function isPlainDataFrame(buffer: Buffer, start: number, end: number): boolean {
  if (end - start < DATA_PREFIX.length + 2) return false;
  if (buffer.compare(DATA_PREFIX, 0, DATA_PREFIX.length, start, start + DATA_PREFIX.length) !== 0) return false;
  if (buffer[start + DATA_PREFIX.length] !== 0x7b /* { */) return false;
  const newline = buffer.indexOf(0x0a, start);
  return newline === -1 || newline >= end;
}

/**
 * Whether an OpenAI chunk's text (or bytes) may carry usage, an error or Groq's `x_groq` usage:
 * those chunks are parsed. `"usage":null`, which OpenAI puts on every chunk once include_usage is
 * on, is not usage.
 */
export function mentionsUsageObject(text: string): boolean {
  for (let index = text.indexOf('"usage"'); index !== -1; index = text.indexOf('"usage"', index + 7)) {
    if (!followedByNull(text.charCodeAt.bind(text), index + 7, text.length)) return true;
  }
  return false;
}

export function openAIChunkNeedsParsing(text: string): boolean {
  return mentionsUsageObject(text) || text.includes('"error"') || text.includes('"x_groq"');
}

/** The byte form of openAIChunkNeedsParsing, over `[start, end)` of a read. */
export function openAIFrameNeedsParsing(buffer: Buffer, start: number, end: number): boolean {
  if (within(buffer.indexOf(ERROR, start), end) || within(buffer.indexOf(GROQ, start), end)) return true;
  for (let index = buffer.indexOf(USAGE, start); within(index, end); index = buffer.indexOf(USAGE, index + USAGE.length)) {
    if (!followedByNull((at) => buffer[at], index + USAGE.length, end)) return true;
  }
  return false;
}

function within(index: number, end: number): boolean {
  return index !== -1 && index < end;
}

/** `: null` after a key, allowing whitespace around the colon. */
function followedByNull(codeAt: (index: number) => number | undefined, from: number, end: number): boolean {
  let index = from;
  while (index < end && isSpace(codeAt(index))) index++;
  if (codeAt(index) !== 0x3a /* : */) return false;
  index++;
  while (index < end && isSpace(codeAt(index))) index++;
  return codeAt(index) === 0x6e && codeAt(index + 1) === 0x75 && codeAt(index + 2) === 0x6c && codeAt(index + 3) === 0x6c; // null
}

function isSpace(code: number | undefined): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d;
}
