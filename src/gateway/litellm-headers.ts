/**
 * LiteLLM's response headers, sent alongside the gateway's own x-switchboard-* ones so that clients
 * written against LiteLLM's proxy read what they expect. They are derived from the headers the
 * stages already set and the key's spend tally in memory (no I/O: this runs on every response),
 * once, where the Gateway hands a result back; on a stream they say what is known when the headers
 * go out (no cost yet).
 */
import { performance } from 'node:perf_hooks';
import type { KeySpendTally } from '../auth/key-spend.js';
import { spendThisPeriod } from '../auth/principals.js';
import { formatUsd } from '../billing/cost.js';
import { VERSION } from '../version.js';
import type { CallContext } from './call-context.js';

/** Ours → LiteLLM's, where the value is the same. */
const SAME_VALUE: ReadonlyArray<readonly [string, string]> = [
  ['x-switchboard-model-id', 'x-litellm-model-id'],
  ['x-switchboard-model-group', 'x-litellm-model-group'],
  ['x-switchboard-response-cost', 'x-litellm-response-cost'],
  ['x-switchboard-overhead-ms', 'x-litellm-overhead-duration-ms'],
  ['x-switchboard-attempted-retries', 'x-litellm-attempted-retries'],
  ['x-switchboard-attempted-fallbacks', 'x-litellm-attempted-fallbacks'],
];

/** Adds LiteLLM's headers (and the request's warnings) to a result's headers, in place. */
export function addLiteLLMHeaders(headers: Record<string, string>, context: CallContext, keySpend?: Pick<KeySpendTally, 'spendOf'>): void {
  headers['x-litellm-call-id'] = context.callId;
  for (const [ours, theirs] of SAME_VALUE) {
    const value = headers[ours];
    if (value !== undefined) headers[theirs] = value;
  }
  headers['x-litellm-response-duration-ms'] = (performance.now() - context.startedAt).toFixed(2);
  const key = context.caller.principal?.key;
  // The key's spend including every call settled here — this one too once settled (a JSON answer,
  // as LiteLLM adds the response cost); without a tally, as the key's record says.
  if (key) headers['x-litellm-key-spend'] = formatUsd(keySpend ? keySpend.spendOf(key) : spendThisPeriod(key));
  headers['x-litellm-version'] = VERSION;
  const warnings = context.requestOptions?.warnings;
  if (warnings && warnings.length > 0) {
    const earlier = headers['x-switchboard-warnings'];
    headers['x-switchboard-warnings'] = earlier ? `${earlier}; ${warnings.join('; ')}` : warnings.join('; ');
  }
}

/** The upstream's rate-limit headers worth passing on: OpenAI's and Azure's x-ratelimit-*, Anthropic's, Retry-After. */
const PROVIDER_HEADER = /^(?:x-ratelimit-|anthropic-ratelimit-|retry-after$)/;

/**
 * The provider's rate-limit headers, renamed `llm_provider-<name>` as LiteLLM passes them on (so
 * they never mix with the key's own x-ratelimit-* headers). Only these: other upstream headers can
 * name the organization or project behind the gateway's provider key.
 */
export function providerHeaders(upstream: Record<string, string | string[] | undefined>): Record<string, string> | undefined {
  let found: Record<string, string> | undefined;
  for (const name in upstream) {
    if (!PROVIDER_HEADER.test(name)) continue;
    const value = upstream[name];
    if (value === undefined) continue;
    (found ??= {})[`llm_provider-${name}`] = Array.isArray(value) ? value.join(', ') : value;
  }
  return found;
}
