/**
 * Deployments whose OpenAI project serves priority processing unasked. OpenAI bills an answer that
 * says `service_tier: "priority"` at its priority rates (about twice the standard ones; cost.ts); a
 * request that names no tier, or "auto", gets the project's default tier, which the operator may
 * have set to priority. A client cannot ask for priority itself (gateway/validate.ts refuses it),
 * but the reservation made before a call cannot know the project's setting: it priced the standard
 * rates, so concurrent calls on a small budget were each charged up to twice what they reserved.
 *
 * So a deployment that answers such a call at priority is remembered, and from
 * then on its calls that name no tier (or "auto") reserve the priority rates; calls naming
 * "default" or "flex" reserve the standard ones. The mark lapses an hour after the last priority
 * answer, so a project switched back to standard reserves standard rates again without a restart.
 * The first calls on such a project, before any answer came back, still reserve the standard rates.
 *
 * Anthropic's US-only inference is the same kind of default: a workspace may run every call in the
 * US (`usage.inference_geo: "us"`, billed at 1.1× every rate; cost.ts) without the request saying
 * so. A deployment that answers a call naming no `inference_geo` that way is marked as well, and its
 * calls naming none reserve 1.1× the rates (a call naming "us" always does, one naming "global"
 * never), lapsing an hour after the last such answer.
 *
 * Every process reserves by a mark, not only the one that saw the answer: a mark is shared through
 * the router state (shareDeploymentMarks: Redis between replicas, the primary between `--workers`),
 * at most once a minute per mark and deployment while it stays set, and the marks the others share
 * are taken in (a process that starts takes those of the last hour).
 */
import { isJsonObject } from '../json-object.js';
import type { Deployment, TokenPrices, Usage } from '../providers/types.js';
import type { DeploymentMark, RouterState } from '../state/router-state.js';
import { billsPriority, inferenceGeoPrices, serviceTierPrices } from './cost.js';

/** How long a deployment keeps reserving priority rates after its last unasked priority answer. */
export const PRIORITY_DEFAULT_TTL_MS = 60 * 60 * 1000;

/** Deployment id → when it last answered a call that named no tier at priority (ms since the epoch). */
const lastUnaskedPriority = new Map<string, number>();
/** Deployment id → when it last answered a call that named no inference_geo US-only (ms since the epoch). */
const lastUnaskedUsInference = new Map<string, number>();

const marksOf = (mark: DeploymentMark): Map<string, number> => (mark === 'priority' ? lastUnaskedPriority : lastUnaskedUsInference);

/** How often a mark that stays set is told to the other processes again (well within its hour). */
const RESHARE_MS = 60_000;
/** `mark\ndeployment` → when this process last shared it. */
const lastShared = new Map<string, number>();
/** The router states of the gateways this process runs (one, but for tests): each shares the marks it sets. */
const sharers = new Set<Pick<RouterState, 'shareMark'>>();

/**
 * Shares the marks this process sets through a gateway's router state and takes in those the other
 * processes share; the returned function stops sharing (the gateway's close).
 */
export function shareDeploymentMarks(state: Pick<RouterState, 'shareMark' | 'onMark'>): () => void {
  sharers.add(state);
  state.onMark((mark, deploymentId, at) => {
    if (!sharers.has(state)) return;
    const marks = marksOf(mark);
    // A later mark wins; one from a clock far ahead is held to now (it cannot last beyond its hour from here).
    const when = Math.min(at, Date.now());
    if (when > (marks.get(deploymentId) ?? 0) && Date.now() - when <= PRIORITY_DEFAULT_TTL_MS) marks.set(deploymentId, when);
  });
  return () => {
    sharers.delete(state);
  };
}

function setMark(mark: DeploymentMark, deploymentId: string): void {
  const now = Date.now();
  marksOf(mark).set(deploymentId, now);
  if (sharers.size === 0) return;
  const key = `${mark}\n${deploymentId}`;
  if (now - (lastShared.get(key) ?? 0) < RESHARE_MS) return;
  lastShared.set(key, now);
  // Sharing never fails a call: a process the mark did not reach reserves by its own answers until it does.
  for (const state of sharers) void state.shareMark(mark, deploymentId, now).catch(() => undefined);
}

/**
 * The `inference_geo` a request sends Anthropic: only a relayed native body (`/anthropic`) carries
 * it. A chat body's own field never reaches Anthropic (refused, or dropped with drop_params), so it
 * must not size the reservation: "global" there would lift the 1.1× hold while the workspace's
 * default still runs the call US-only.
 */
function askedInferenceGeo(body: Record<string, unknown>): unknown {
  const native = body.native;
  return isJsonObject(native) ? native.inference_geo : undefined;
}

/** Whether the mark was set within the last hour (a lapsed one is forgotten). */
function fresh(marks: Map<string, number>, id: string): boolean {
  const seen = marks.get(id);
  if (seen === undefined) return false;
  if (Date.now() - seen <= PRIORITY_DEFAULT_TTL_MS) return true;
  marks.delete(id);
  return false;
}

/** Whether a request's `service_tier` leaves the tier to the project's default (absent, null or "auto"). */
function takesProjectDefault(body: Record<string, unknown>): boolean {
  const tier = body.service_tier;
  return tier === undefined || tier === null || tier === 'auto';
}

/** Notes the tier and geography a settled call was billed at: an unasked priority or US-only answer marks the deployment. */
export function noteBilledTier(deployment: Pick<Deployment, 'id' | 'provider' | 'prices'>, body: Record<string, unknown>, usage: Usage | undefined): void {
  if (usage?.serviceTier === 'priority' && takesProjectDefault(body) && billsPriority(deployment)) setMark('priority', deployment.id);
  if (usage?.inferenceGeo === 'us' && askedInferenceGeo(body) == null) setMark('us-inference', deployment.id);
}

/**
 * The token prices a call's reservation is sized by: the priority rates on a deployment marked by
 * noteBilledTier, and 1.1× them where the call runs US-only (it asks, or names no geography on a
 * marked deployment); else the deployment's prices.
 */
export function reservedPrices(deployment: Pick<Deployment, 'id' | 'prices'>, body: Record<string, unknown>): TokenPrices | undefined {
  let prices = deployment.prices;
  if (!prices) return prices;
  if (lastUnaskedPriority.size > 0 && takesProjectDefault(body) && fresh(lastUnaskedPriority, deployment.id)) prices = serviceTierPrices(prices, 'priority');
  const geo = askedInferenceGeo(body);
  if (geo === 'us' || (geo == null && lastUnaskedUsInference.size > 0 && fresh(lastUnaskedUsInference, deployment.id))) prices = inferenceGeoPrices(prices, 'us');
  return prices;
}
