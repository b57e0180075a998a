/**
 * Cheap text checks on a raw OpenAI stream chunk, so that the relay parses only the chunks that
 * matter to the gateway. `"usage":null`, which OpenAI puts on every chunk once include_usage is
 * on, is not usage: only a usage object is.
 *
 * Each check is one regular-expression pass over the chunk (a chunk is scanned once, not once
 * per key: three `indexOf` passes cost about five times as much per stream). The lookahead
 * `(?!\s|null)` after the optional spaces cannot be satisfied by giving spaces back, so
 * `"usage" : null` is not taken for usage.
 */

const USAGE_OBJECT = /"usage"\s*:\s*(?!\s|null)/;
const NEEDS_PARSING = /"usage"\s*:\s*(?!\s|null)|"error"|"x_groq"/;

/** Whether the chunk has a `"usage"` key whose value is not null. */
export function mentionsUsageObject(text: string): boolean {
  return USAGE_OBJECT.test(text);
}

/** Whether the chunk may carry usage (OpenAI's, or Groq's `x_groq.usage`) or an error: those are parsed. */
export function openAIChunkNeedsParsing(text: string): boolean {
  return NEEDS_PARSING.test(text);
}
