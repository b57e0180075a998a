/**
 * The check every reader of client and upstream JSON makes first: a value is a JSON object (not
 * null, not an array), whose fields may then be read one by one.
 */
export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/**
 * Whether `test` holds for some JSON object inside `value` (itself included): every object of its
 * arrays and fields is visited, depth first and without recursion, so a deeply nested body cannot
 * exhaust the stack; strings are never scanned. Stops at the first object `test` accepts.
 */
export function someJsonObject(value: unknown, test: (node: Record<string, unknown>) => boolean): boolean {
  const pending: unknown[] = [value];
  while (pending.length > 0) {
    const node = pending.pop();
    if (Array.isArray(node)) {
      for (const item of node) if (typeof item === 'object' && item !== null) pending.push(item);
    } else if (isJsonObject(node)) {
      if (test(node)) return true;
      for (const item of Object.values(node)) if (typeof item === 'object' && item !== null) pending.push(item);
    }
  }
  return false;
}

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

/**
 * JSON that a client sends inside a string (a tool call's `arguments`, a tool result) and that an
 * adapter turns into an object for its provider: parsed as a request body is, so that no later
 * walk of the call (JSON.stringify for the upstream, cost and guardrail readers) overflows the
 * stack on a string nested ten thousand levels deep, the string-borne twin of the body depth
 * limit. Throws a SyntaxError for text nested more than MAX_JSON_DEPTH levels, as for text that
 * is not JSON, so that callers refuse both with the same 400 naming the field.
 */
export function parseEmbeddedJson(text: string): unknown {
  if (nestsDeeperThan(text, MAX_JSON_DEPTH)) throw new SyntaxError(`nested more than ${MAX_JSON_DEPTH} levels deep`);
  return JSON.parse(text);
}
