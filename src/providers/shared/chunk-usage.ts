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

/**
 * How much of a run of plain OpenAI SSE events (`data: <json>\n\n` each) can be forwarded without
 * parsing: everything before the first event that carries a usage object, an error, Groq's
 * extras or `[DONE]` (the relay writes its own). One pass for the three keys over the run.
 */
export function openAIForwardablePrefix(run: string): number {
  let stop = run.search(NEEDS_PARSING);
  if (stop === -1) stop = run.length;
  const done = run.indexOf('data: [DONE]');
  if (done !== -1 && done < stop) stop = done;
  if (stop === run.length) return stop;
  // Back to the start of the event holding `stop`.
  const boundary = run.lastIndexOf('\n\n', stop - 1);
  return boundary === -1 ? 0 : boundary + 2;
}
