/**
 * Request bodies as JSON, refused with 400 when they nest objects and arrays deeper than
 * MAX_JSON_DEPTH. JSON.parse itself copes with any depth, but every later recursive walk of the
 * body (validation, JSON.stringify for an upstream, token counting) would overflow the stack on a
 * body nested ten thousand levels deep and answer 500. The depth is found by one linear scan of
 * the text before parsing, skipping over strings, so the check costs about as much as reading
 * the body once.
 */
import { GatewayError } from '../errors.js';

/** Deepest nesting of objects and arrays a request body may have (real bodies stay under 20). */
export const MAX_JSON_DEPTH = 128;

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const OPEN_BRACE = 0x7b;
const OPEN_BRACKET = 0x5b;
const CLOSE_BRACE = 0x7d;
const CLOSE_BRACKET = 0x5d;

/** True when the JSON text nests objects/arrays deeper than `limit` (brackets inside strings do not count). */
export function nestsDeeperThan(text: string, limit: number): boolean {
  let depth = 0;
  const length = text.length;
  for (let index = 0; index < length; index++) {
    const code = text.charCodeAt(index);
    if (code === QUOTE) {
      // Skip the string (most of a body's bytes) with the native search for its closing quote.
      index = closingQuote(text, index);
      if (index === -1) return false; // unterminated: JSON.parse refuses it
    } else if (code === OPEN_BRACE || code === OPEN_BRACKET) {
      if (++depth > limit) return true;
    } else if (code === CLOSE_BRACE || code === CLOSE_BRACKET) {
      depth--;
    }
  }
  return false;
}

/** Index of the quote that closes the string opening at `start`: the next one no odd run of backslashes escapes. */
function closingQuote(text: string, start: number): number {
  let end = text.indexOf('"', start + 1);
  while (end !== -1) {
    let backslashes = 0;
    for (let back = end - 1; text.charCodeAt(back) === BACKSLASH; back--) backslashes++;
    if (backslashes % 2 === 0) return end;
    end = text.indexOf('"', end + 1);
  }
  return -1;
}

const BYTE_ORDER_MARK = 0xfeff;

/**
 * The parsed body; a GatewayError (400) for an empty, too deeply nested or malformed one. A
 * leading UTF-8 byte order mark (some Windows tools write one) is skipped, as RFC 8259 §8.1 lets
 * parsers do: it carries no data, and JSON.parse would refuse it.
 */
export function parseJsonBody(body: string, maxDepth = MAX_JSON_DEPTH): unknown {
  const text = body.charCodeAt(0) === BYTE_ORDER_MARK ? body.slice(1) : body;
  if (text.length === 0) throw new GatewayError('invalid_json', 'the request body is empty: send a JSON object');
  if (nestsDeeperThan(text, maxDepth)) throw new GatewayError('invalid_json', `the request body nests objects or arrays more than ${maxDepth} levels deep; flatten it`);
  try {
    return JSON.parse(text);
  } catch (error) {
    throw new GatewayError('invalid_json', `the request body is not valid JSON: ${(error as Error).message}`);
  }
}
