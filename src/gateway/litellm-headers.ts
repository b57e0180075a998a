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

/** Adds LiteLLM's headers (and the request's warnings) to a result's headers, in place. */
export function addLiteLLMHeaders(headers: Record<string, string>, context: CallContext, keySpend?: Pick<KeySpendTally, 'spendOf'>): void {
  headers['x-litellm-call-id'] = context.callId;
  // Ours → LiteLLM's where the value is the same, each written under its literal name: a loop over
  // name pairs stores by computed key, and past a dozen such properties V8 turns the object into a
  // hash table, which made this function and every read of the headers after it slower (profile).
  let value: string | undefined;
  if ((value = headers['x-switchboard-model-id']) !== undefined) headers['x-litellm-model-id'] = value;
  if ((value = headers['x-switchboard-model-group']) !== undefined) headers['x-litellm-model-group'] = value;
  if ((value = headers['x-switchboard-response-cost']) !== undefined) headers['x-litellm-response-cost'] = value;
  if ((value = headers['x-switchboard-overhead-ms']) !== undefined) headers['x-litellm-overhead-duration-ms'] = value;
  if ((value = headers['x-switchboard-attempted-retries']) !== undefined) headers['x-litellm-attempted-retries'] = value;
  if ((value = headers['x-switchboard-attempted-fallbacks']) !== undefined) headers['x-litellm-attempted-fallbacks'] = value;
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
