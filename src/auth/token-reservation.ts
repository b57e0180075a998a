/**
 * The tpm part of admission: a request holds its estimated tokens (billing/token-estimate.ts) on
 * every tpm limit of its key, user and team, atomically with the check, so concurrent requests
 * cannot all pass a limit that each alone fits. A request whose estimate alone is over a limit can
 * never pass it and is told so; otherwise a full minute is told when to retry.
 */
import { GatewayError } from '../errors.js';
import type { LimitsState, RateLimit, TokenReserveOutcome } from '../state/limits-state.js';

export interface TokenAdmission {
  /** Subjects holding the request's tokens (to settle). */
  subjects: string[];
  /** x-ratelimit-*-tokens headers of the tightest limit. */
  headers: Record<string, string>;
}

function refusal(message: string, limit: number, retryAfterSeconds: number | undefined): GatewayError {
  const headers: Record<string, string> = { 'x-ratelimit-limit-tokens': String(limit), 'x-ratelimit-remaining-tokens': '0', 'x-ratelimit-reset-tokens': '60s' };
  if (retryAfterSeconds !== undefined) headers['retry-after'] = String(retryAfterSeconds);
  return new GatewayError('rate_limit_exceeded', message, { retryAfterSeconds, headers });
}

/** The refusal of a request whose estimate alone is over one of the limits (it can never pass), if any. */
export function tooLargeRefusal(limits: RateLimit[], estimate: number, describe: (subject: string) => string): GatewayError | undefined {
  const tooLarge = limits.find((limit) => estimate > limit.limit);
  if (!tooLarge) return undefined;
  return refusal(
    `this request alone may use about ${estimate} tokens (its input, estimated, plus max_tokens), more than the ${tooLarge.limit} tokens per minute (tpm_limit) of ${describe(tooLarge.subject)}: lower max_tokens or send a shorter request`,
    tooLarge.limit,
    undefined,
  );
}

/** The refusal of a request the minute has no room for. */
export function fullMinuteRefusal(outcome: Extract<TokenReserveOutcome, { ok: false }>, estimate: number, describe: (subject: string) => string): GatewayError {
  const held = outcome.heldTokens > 0 ? ` and ${outcome.heldTokens} held by requests in flight` : '';
  return refusal(
    `token rate limit reached for ${describe(outcome.subject)}: ${outcome.usedTokens} tokens used in the last minute${held} leave no room for this request's estimated ${estimate} of the ${outcome.limit} tokens per minute (tpm_limit); retry in 60s`,
    outcome.limit,
    60,
  );
}

/** x-ratelimit-*-tokens headers of the tightest limit, added to `headers`. */
export function addTokenHeaders(headers: Record<string, string>, windows: Array<{ limit: number; remaining: number }>): void {
  if (windows.length === 0) return;
  const tightest = windows.reduce((best, window) => (window.remaining < best.remaining ? window : best));
  headers['x-ratelimit-limit-tokens'] = String(tightest.limit);
  headers['x-ratelimit-remaining-tokens'] = String(tightest.remaining);
  headers['x-ratelimit-reset-tokens'] = '60s';
}

/**
 * Holds `estimate` tokens on every limit, or throws 429 (after `onRefused`, which gives back what
 * admission took before).
 */
export async function reserveTokens(
  state: LimitsState,
  limits: RateLimit[],
  requestId: string,
  estimate: number,
  describe: (subject: string) => string,
  onRefused: () => Promise<unknown>,
): Promise<TokenAdmission> {
  if (limits.length === 0) return { subjects: [], headers: {} };
  const tooLarge = tooLargeRefusal(limits, estimate, describe);
  if (tooLarge) {
    await onRefused();
    throw tooLarge;
  }
  const outcome = await state.reserveTokens(limits, requestId, estimate);
  if (!outcome.ok) {
    await onRefused();
    throw fullMinuteRefusal(outcome, estimate, describe);
  }
  const headers: Record<string, string> = {};
  addTokenHeaders(headers, outcome.windows);
  return { subjects: limits.map((limit) => limit.subject), headers };
}
