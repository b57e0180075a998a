/**
 * A package loaded the first time it is used rather than when the gateway starts. Redis, Postgres,
 * OpenTelemetry, Google and AWS clients and the multipart parser weigh ~600 CommonJS modules and
 * tens of MB of heap and start-up CPU together, and most configurations use none of them
 * (bench/README.md, "Memory"). Loading is synchronous (they are CommonJS packages), so callers stay
 * synchronous; `import type` keeps their types.
 */
import { createRequire } from 'node:module';

const require = createRequire(import.meta.url);

/** `load()` returns the package's exports, requiring it on the first call only. */
export function lazyModule<T>(name: string): () => T {
  let loaded: T | undefined;
  return () => (loaded ??= require(name) as T);
}
