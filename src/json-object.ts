/**
 * The check every reader of client and upstream JSON makes first: a value is a JSON object (not
 * null, not an array), whose fields may then be read one by one.
 */
export function isJsonObject(value: unknown): value is Record<string, unknown> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}
