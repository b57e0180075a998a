/**
 * An embedding vector as a client can use it: a list of finite numbers. An upstream's list holding
 * anything else (null, a string, `1e999` parsed to Infinity, which JSON writes back as null) would
 * reach the client as a vector that breaks its arithmetic, or be base64-encoded as NaN: such an
 * answer is refused as the upstream's failure (a 502 the router retries elsewhere) instead.
 */
export function isEmbeddingVector(value: unknown): value is number[] {
  return Array.isArray(value) && value.every((item) => typeof item === 'number' && Number.isFinite(item));
}
