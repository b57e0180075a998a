/**
 * Cheap text checks on a raw OpenAI stream chunk, so that the relay parses only the chunks that
 * matter to the gateway. `"usage":null`, which OpenAI puts on every chunk once include_usage is
 * on, is not usage: only a usage object is.
 */

export function mentionsUsageObject(text: string): boolean {
  for (let index = text.indexOf('"usage"'); index !== -1; index = text.indexOf('"usage"', index + 7)) {
    // `"usage":null` (what every chunk carries once include_usage is on) is checked first, cheaply.
    if (!text.startsWith(':null', index + 7) && !followedByNull(text, index + 7)) return true;
  }
  return false;
}

/** Whether the chunk may carry usage (OpenAI's, or Groq's `x_groq.usage`) or an error: those are parsed. */
export function openAIChunkNeedsParsing(text: string): boolean {
  return mentionsUsageObject(text) || text.includes('"error"') || text.includes('"x_groq"');
}

/** `: null` after a key, allowing whitespace around the colon (Python servers write `": "`). */
function followedByNull(text: string, from: number): boolean {
  let index = from;
  while (isSpace(text.charCodeAt(index))) index++;
  if (text.charCodeAt(index) !== 0x3a /* : */) return false;
  index++;
  while (isSpace(text.charCodeAt(index))) index++;
  return text.startsWith('null', index);
}

function isSpace(code: number): boolean {
  return code === 0x20 || code === 0x09 || code === 0x0a || code === 0x0d;
}
