/**
 * Size limits on the strings a client request carries that end up stored or echoed: the model
 * name (usage rows, error messages), `user`, `metadata`, tags and `fallbacks`. Without them one key
 * holder can grow the usage table by megabytes per request. Checked on every call, so each check
 * is a length comparison; only a present `metadata` is serialized to measure it.
 */
import { GatewayError } from '../errors.js';

export const REQUEST_BOUNDS = {
  /** Longest model name (in `model`, `fallbacks`) accepted, in characters. */
  modelNameChars: 256,
  /** Longest `user` (and Anthropic `metadata.user_id`), in characters. */
  userChars: 256,
  /** Largest `metadata` object, serialized as JSON, in UTF-8 bytes. */
  metadataBytes: 8_192,
  /** Most tags (`tags`, `metadata.tags`) and longest tag, in characters. */
  tags: 32,
  tagChars: 128,
  /** Most entries in a request's own `fallbacks`. */
  fallbacks: 16,
} as const;

/** How much of a model name the gateway does not know is kept on a usage row. */
export const UNKNOWN_MODEL_PREFIX_CHARS = 64;

function tooLong(param: string, length: number, limit: number, unit: string): never {
  throw new GatewayError('invalid_request', `"${param}" is ${length} ${unit} long; at most ${limit} are accepted`, { param });
}

function boundString(value: unknown, param: string, limit: number): void {
  if (typeof value === 'string' && value.length > limit) tooLong(param, value.length, limit, 'characters');
}

function boundTags(value: unknown, param: string): void {
  if (!Array.isArray(value)) return;
  if (value.length > REQUEST_BOUNDS.tags) throw new GatewayError('invalid_request', `"${param}" has ${value.length} tags; at most ${REQUEST_BOUNDS.tags} are accepted`, { param });
  value.forEach((tag, index) => boundString(tag, `${param}[${index}]`, REQUEST_BOUNDS.tagChars));
}

function boundMetadata(value: unknown): void {
  if (typeof value !== 'object' || value === null) return;
  const bytes = Buffer.byteLength(JSON.stringify(value));
  if (bytes > REQUEST_BOUNDS.metadataBytes) tooLong('metadata', bytes, REQUEST_BOUNDS.metadataBytes, 'bytes (as JSON)');
  const record = value as Record<string, unknown>;
  boundString(record.user_id, 'metadata.user_id', REQUEST_BOUNDS.userChars);
  boundTags(record.tags, 'metadata.tags');
}

function boundFallbacks(value: unknown): void {
  if (!Array.isArray(value)) return;
  if (value.length > REQUEST_BOUNDS.fallbacks) throw new GatewayError('invalid_request', `"fallbacks" has ${value.length} entries; at most ${REQUEST_BOUNDS.fallbacks} are accepted`, { param: 'fallbacks' });
  value.forEach((item, index) => {
    const name = typeof item === 'object' && item !== null ? (item as { model?: unknown }).model : item;
    boundString(name, `fallbacks[${index}]`, REQUEST_BOUNDS.modelNameChars);
  });
}

/** Refuses (400, naming the field and the limit) a request body whose stored strings are too long. */
export function assertRequestBounds(body: Record<string, unknown>): void {
  boundString(body.model, 'model', REQUEST_BOUNDS.modelNameChars);
  boundString(body.user, 'user', REQUEST_BOUNDS.userChars);
  boundMetadata(body.metadata);
  boundTags(body.tags, 'tags');
  boundFallbacks(body.fallbacks);
}

/**
 * The model name a usage row keeps for a call that named a model the gateway does not serve: a
 * short prefix, so that nothing a client invents is stored at length.
 */
export function modelNameForRecord(name: string | null, isKnown: (name: string) => boolean): string | null {
  if (name === null || name.length <= UNKNOWN_MODEL_PREFIX_CHARS) return name;
  if (name.length <= REQUEST_BOUNDS.modelNameChars && isKnown(name)) return name;
  return `${name.slice(0, UNKNOWN_MODEL_PREFIX_CHARS)}…`;
}
