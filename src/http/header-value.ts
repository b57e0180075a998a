/**
 * Response header values that Node accepts and every client can decode. Model group names,
 * aliases, user and team ids (in x-switchboard-model-group, budget warnings, …) may hold any
 * Unicode; Node refuses header values outside Latin-1 and with control characters
 * (ERR_INVALID_CHAR), which once left a call hanging after its upstream was called and billed.
 * Such characters, and "%" itself, are percent-encoded as UTF-8 (as encodeURIComponent does), so a
 * client recovers the text with decodeURIComponent; plain ASCII values pass unchanged.
 */

/** Printable ASCII except "%": left as is. */
const SAFE = /^[\x20-\x24\x26-\x7e]*$/;
const UNSAFE = /[^\x20-\x24\x26-\x7e]/gu;

function percentEncode(character: string): string {
  let encoded = '';
  // A lone surrogate becomes U+FFFD here rather than throwing, as encodeURIComponent would.
  for (const byte of Buffer.from(character, 'utf8')) encoded += `%${byte.toString(16).toUpperCase().padStart(2, '0')}`;
  return encoded;
}

export function safeHeaderValue(value: string): string {
  return SAFE.test(value) ? value : value.replace(UNSAFE, percentEncode);
}

/** The headers as one flat [name, value, …] list for writeHead, every value made safe. */
export function flatSafeHeaders(headers: Record<string, string>): string[] {
  const flat: string[] = [];
  for (const name in headers) flat.push(name, safeHeaderValue(headers[name]!));
  return flat;
}

/** A copy of the headers with every value made safe (for Fastify's reply.headers). */
export function safeHeaders(headers: Record<string, string>): Record<string, string> {
  const safe: Record<string, string> = {};
  for (const name in headers) safe[name] = safeHeaderValue(headers[name]!);
  return safe;
}
