/**
 * Deployments whose OpenAI project serves priority processing unasked. OpenAI bills an answer that
 * says `service_tier: "priority"` at its priority rates (about twice the standard ones; cost.ts); a
 * request that names no tier, or "auto", gets the project's default tier, which the operator may
 * have set to priority. A client cannot ask for priority itself (gateway/validate.ts refuses it),
 * but the reservation made before a call cannot know the project's setting: it priced the standard
 * rates, so concurrent calls on a small budget were each charged up to twice what they reserved.
 *
 * So a deployment that answers such a call at priority is remembered (in this process), and from
 * then on its calls that name no tier (or "auto") reserve the priority rates; calls naming
 * "default" or "flex" reserve the standard ones. The mark lapses an hour after the last priority
 * answer, so a project switched back to standard reserves standard rates again without a restart.
 * The first calls on such a project, before any answer came back, still reserve the standard rates.
 */
import type { Deployment, TokenPrices, Usage } from '../providers/types.js';
import { billsPriority, serviceTierPrices } from './cost.js';

/** How long a deployment keeps reserving priority rates after its last unasked priority answer. */
export const PRIORITY_DEFAULT_TTL_MS = 60 * 60 * 1000;

/** Deployment id → when it last answered a call that named no tier at priority (ms since the epoch). */
const lastUnaskedPriority = new Map<string, number>();

/** Whether a request's `service_tier` leaves the tier to the project's default (absent, null or "auto"). */
function takesProjectDefault(body: Record<string, unknown>): boolean {
  const tier = body.service_tier;
  return tier === undefined || tier === null || tier === 'auto';
}

/** Notes the tier a settled call was billed at: an unasked priority answer marks the deployment. */
export function noteBilledTier(deployment: Pick<Deployment, 'id' | 'provider' | 'prices'>, body: Record<string, unknown>, usage: Usage | undefined): void {
  if (usage?.serviceTier !== 'priority' || !takesProjectDefault(body) || !billsPriority(deployment)) return;
  lastUnaskedPriority.set(deployment.id, Date.now());
}

/** The token prices a call's reservation is sized by: the priority rates on a deployment marked by noteBilledTier, else its prices. */
export function reservedPrices(deployment: Pick<Deployment, 'id' | 'prices'>, body: Record<string, unknown>): TokenPrices | undefined {
  const prices = deployment.prices;
  if (!prices || lastUnaskedPriority.size === 0) return prices;
  const seen = lastUnaskedPriority.get(deployment.id);
  if (seen === undefined || !takesProjectDefault(body)) return prices;
  if (Date.now() - seen > PRIORITY_DEFAULT_TTL_MS) {
    lastUnaskedPriority.delete(deployment.id);
    return prices;
  }
  return serviceTierPrices(prices, 'priority');
}
