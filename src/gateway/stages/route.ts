/**
 * Route: ranks the group's deployments and runs one attempt at a time through `next` (the attempt),
 * retrying retryable failures up to the retry policy, then moving along the fallback chain, and
 * skipping deployments that cool down — the way a retry interceptor wraps a dispatcher. Each
 * attempt gets its plan (deployment, counts, the upstream target) on the call it hands to `next`.
 */
import { performance } from 'node:perf_hooks';
import { GatewayError, toGatewayError } from '../../errors.js';
import { nativeProviderOf } from '../../providers/native-registry.js';
import type { Deployment } from '../../providers/types.js';
import type { ModelGroup } from '../../routing/catalog.js';
import { backoffMs, fallbackKindOf, ownKeyFailure, retriesFor, timeoutOf, type RouterPolicy } from '../../routing/policy.js';
import type { GatewayResult } from '../call-context.js';
import { failedWith, type AttemptPlan, type Call, type Next, type RouteFacts, type Stage } from '../call.js';
import type { ClientConnection } from '../client-connection.js';
import { DEFAULT_TIMEOUT_MS, type GatewayDependencies } from '../dependencies.js';
import { deploymentsForTags } from '../../routing/tag-filter.js';
import { deploymentsInRegion, type AllowedRegion } from '../../routing/region-filter.js';
import { atCapacityError, coolingDownError } from './route-errors.js';
import { fittingDeployments } from './context-window.js';
import { attemptForm } from './native-alternative.js';
import { abandonedAfterUpstreamRead, isRequestTimeout } from './upstream-call.js';
import { upstreamTextKept } from '../record.js';

type RouteDependencies = Pick<GatewayDependencies, 'catalog' | 'router' | 'logger' | 'platform'> & Partial<Pick<GatewayDependencies, 'settings'>>;

/** Where the router is in one call: retries and fallbacks so far, groups found cooling down. */
interface Progress extends RouteFacts {
  cooling: ModelGroup[];
}

export function routeStage(deps: RouteDependencies): Stage {
  return async (call, next) => {
    const { resolution } = call;
    const requested = resolution!.group;
    const progress: Progress = { group: requested, deployment: undefined, retries: 0, fallbacks: 0, requested: requested.name, lastAttempt: undefined, cooling: [] };
    let chain: string[] | undefined;
    let error: GatewayError;
    for (;;) {
      try {
        return await tryGroup(deps, call, next, progress);
      } catch (caught) {
        error = toGatewayError(caught);
      }
      // Gone, or settled already (a billed answer a guardrail refused), or a billed read a reservation cannot repeat: no other group is tried.
      if (call.context.client.gone || call.context.recorded || endsCall.has(error)) break;
      const kind = fallbackKindOf(error);
      if (!kind) break;
      // The fallback list is the requested group's (or the request's own), chosen by the first failure's kind.
      chain ??= resolution!.reachable.fallbackChain(kind);
      const fallback = nextFallback(deps, chain, call.region);
      if (!fallback) break;
      deps.logger.warn({ callId: call.context.callId, from: progress.group.name, to: fallback.name, code: error.code }, 'falling back to another model group');
      progress.fallbacks++;
      progress.group = fallback;
    }
    if (error.code === 'deployments_cooling_down' && progress.cooling.length > 1) error = coolingDownError(deps.router, progress.cooling[0], progress.cooling);
    throw failedWith(error, call, progress);
  };
}

/** Failures after which no other attempt is made (tryGroup: a billed read on a call money holds). */
const endsCall = new WeakSet<GatewayError>();

/** Whether a budget or the user's credits hold the call: what it may bill is what it reserved. */
function holdsMoney(call: Call): boolean {
  return call.admission?.credits !== undefined || call.admission?.ticket?.holdsMoney === true;
}

/**
 * Grows the call's reservations (its budgets', its user's credits) by the billed reads of operator
 * keys made since `readsBefore`; false when one cannot hold them. Reads on the user's own key are
 * not charged, and calls no money holds reserve nothing.
 */
async function reservationHoldsReads(call: Call, readsBefore: number): Promise<boolean> {
  const reads = call.context.unansweredReads;
  if (reads === undefined || reads.length <= readsBefore) return true;
  const charged = reads.slice(readsBefore).filter((read) => !read.byok);
  if (charged.length === 0) return true;
  const { ticket, credits } = call.admission ?? {};
  if (ticket?.holdsMoney === true && !(await ticket.extend(charged.reduce((sum, read) => sum + (read.costMicros ?? 0), 0)))) return false;
  if (credits !== undefined && !(await credits.extend(charged.map((read) => ({ costMicros: read.costMicros, level: read.level }))))) return false;
  return true;
}

/** The next group of the fallback chain that exists and can be called (in the call's region, when it has one). */
function nextFallback(deps: RouteDependencies, chain: string[], region: AllowedRegion | undefined): ModelGroup | undefined {
  while (chain.length > 0) {
    const name = chain.shift()!;
    const group = deps.catalog.resolve(name);
    if (group && group.available.length > 0) {
      if (!region || group.available.some((deployment) => deployment.region === region)) return group;
      deps.logger.warn({ fallback: name, region }, 'fallback model group has no deployment in the end user\'s allowed region; skipped');
      continue;
    }
    deps.logger.warn({ fallback: name }, 'fallback model group is not configured or unavailable; skipped');
  }
  return undefined;
}

/**
 * Attempts within one group: the ranked deployments in turn, retrying retryable failures up to
 * the retry policy, waiting (backoff, Retry-After) only before trying the same deployment again.
 */
async function tryGroup(deps: RouteDependencies, call: Call, next: Next, progress: Progress): Promise<GatewayResult> {
  const { router } = deps;
  const { group } = progress;
  const { context } = call;
  const rankedAll = inRegion(group, withTags(router.policy, group, servingDeployments(call, group, await router.rank(group, call.stream)), call.context.requestTags), call.region);
  if (rankedAll.length === 0) throw router.allDown(group) ? router.downError(group) : coolingDownError(router, group, progress.cooling);
  const ranked = router.policy.preCallChecks ? fittingDeployments(rankedAll, call.operation, group.name) : rankedAll;
  let deployment = await admitNext(deps, ranked, 0, progress);
  let retriesHere = 0;
  const unreachable = new Set<Deployment>();
  for (;;) {
    const index = ranked.indexOf(deployment);
    progress.deployment = deployment;
    const started = performance.now();
    let attempt: AttemptPlan | undefined;
    const readsBefore = context.unansweredReads?.length ?? 0;
    try {
      attempt = planAttempt(deps, call, deployment, progress);
      progress.lastAttempt = attempt;
      return await next(attemptForm({ ...call, attempt }));
    } catch (caught) {
      // Upstream I/O failures are GatewayErrors already; anything else is a bug, not the upstream's fault.
      if (!(caught instanceof GatewayError)) deps.logger.error({ err: caught, callId: context.callId, deployment: deployment.id }, 'attempt failed unexpectedly');
      const error = toGatewayError(caught);
      // A timeout shorter than the deployment's own, which the request asked for, says nothing of the
      // deployment: counted, any key could cool a shared deployment for everyone (and steer power levels).
      const askedShorter = isRequestTimeout(error) && (context.requestOptions?.timeoutMs ?? Number.POSITIVE_INFINITY) < timeoutOf(router.policy, deployment, DEFAULT_TIMEOUT_MS);
      if (!ownKeyFailure(attempt?.target.byok === true, error) && !askedShorter) void router.recordFailure(deployment, error, performance.now() - started, upstreamTextKept(deps.settings, context));
      // An attempt that settled and was then refused (by a guardrail, or over the size cap) is recorded and billed: not retried.
      if (context.client.gone || context.recorded) throw error;
      // The provider read (and bills) a prompt whose answer never came, cut by the timeout the request
      // itself asked for: on a call a budget or credits hold, another attempt — a retry or a fallback —
      // would bill another read that the reservation, sized for one attempt, does not hold, and the
      // client's own timeout and num_retries would multiply the charge past the balance (up to 11
      // reads, more with fallbacks). Such a call ends here; the deployment's own timeout still retries.
      if (isRequestTimeout(error) && abandonedAfterUpstreamRead(error) && holdsMoney(call)) {
        endsCall.add(error);
        throw error;
      }
      // A failed attempt the provider bills (a prompt read and abandoned at the deployment's timeout,
      // an answer that could not be read) was charged out of the reservation, sized for one attempt:
      // before another attempt — a retry or a fallback — the reservation grows by what was charged,
      // or, when the budget or balance cannot hold that, the call ends here.
      if (!(await reservationHoldsReads(call, readsBefore))) {
        endsCall.add(error);
        throw error;
      }
      if (error.unreachable) {
        // Nothing was sent: the next deployment of the group takes the call at once, without using a
        // retry or waiting for a cooldown (the health monitor has marked this one down).
        unreachable.add(deployment);
        const other = await admitUntried(deps, ranked, unreachable);
        if (other) {
          deps.logger.warn({ callId: context.callId, deployment: deployment.id, to: other.id, code: error.code }, 'upstream unreachable; failing over to another deployment');
          deployment = other;
          continue;
        }
      }
      // litellm_params.max_retries bounds the retries of a retryable failure on this deployment;
      // the request's own num_retries wins over both.
      const allowed = deployment.maxRetries !== undefined && error.retryable && call.context.requestOptions?.numRetries === undefined ? deployment.maxRetries : retriesOfCall(router.policy, call, error);
      if (retriesHere >= allowed) throw error;
      deps.logger.warn({ callId: context.callId, deployment: deployment.id, provider: deployment.provider, code: error.code, status: error.status }, 'upstream attempt failed; retrying');
      const following = ranked.find((candidate, position) => position > index && router.coolingUntil(candidate) === undefined) ?? ranked.find((candidate) => router.coolingUntil(candidate) === undefined);
      if (!following) throw error;
      const wait = backoffMs(router.policy, error, retriesHere, following === deployment, Math.random);
      if (wait === undefined) throw error;
      if (wait > 0) await sleep(wait, context.client);
      if (context.client.gone) throw error;
      retriesHere++;
      progress.retries++;
      deployment = await admitNext(deps, ranked, ranked.indexOf(following), progress);
    }
  }
}

/**
 * A native call (`/gemini/...`) is relayed untranslated, so only the group's deployments of that
 * provider can serve it; a group (or fallback) without one is refused by name.
 */
function servingDeployments(call: Call, group: ModelGroup, ranked: Deployment[]): Deployment[] {
  const { operation } = call;
  if (operation.kind !== 'native') return ranked;
  const native = nativeProviderOf(operation.api);
  const serving = ranked.filter((deployment) => native.serves(deployment.provider, operation.method, deployment.upstreamModel));
  if (serving.length > 0 || group.available.some((deployment) => native.serves(deployment.provider, operation.method, deployment.upstreamModel))) return serving;
  throw new GatewayError('invalid_request', `model group "${group.name}" has no ${native.label} deployment: this endpoint is relayed only to ${native.label} deployments`, { param: 'model' });
}

/** The ranking narrowed to the deployments that serve the request's tags, when tag routing is on. */
function withTags(policy: RouterPolicy, group: ModelGroup, ranked: Deployment[], tags: readonly string[] | undefined): Deployment[] {
  if (!policy.tagFiltering) return ranked;
  const serving = deploymentsForTags(group.name, group.available, tags, policy.tagFiltering.matchAny);
  return serving.length === group.available.length ? ranked : ranked.filter((deployment) => serving.includes(deployment));
}

/**
 * The ranking narrowed to the deployments in the end user's allowed region; a group with none
 * there is refused naming the region (checked on its callable deployments, so one of the region
 * that is only cooling down or down is reported as such, not as missing).
 */
function inRegion(group: ModelGroup, ranked: Deployment[], region: AllowedRegion | undefined): Deployment[] {
  if (!region) return ranked;
  const serving = deploymentsInRegion(group.name, group.available, region);
  return ranked.filter((deployment) => serving.includes(deployment));
}

/**
 * The retries an error gets: the request's own `num_retries` (request-options.ts) in place of the
 * router's num_retries and retry_policy, else the router's.
 */
function retriesOfCall(policy: RouterPolicy, call: Call, error: GatewayError): number {
  const asked = call.context.requestOptions?.numRetries;
  if (asked === undefined) return retriesFor(policy, error);
  return retriesFor({ ...policy, numRetries: asked, retryPolicy: {} }, error);
}

/**
 * One attempt's plan: the deployment, the router's counts, and the target (the user's own key, the
 * level charged). The own keys are those the call was admitted with (its credit ticket's), not the
 * stored ones now: a retry after the key was deleted still runs on it, never on the operator's key
 * the reservation did not cover.
 */
function planAttempt(deps: RouteDependencies, call: Call, deployment: Deployment, progress: Progress): AttemptPlan {
  const target = deps.platform ? deps.platform.upstreamTarget(call.admission?.credits?.ownKeys, deployment, call.level!) : { deployment, byok: false, chargedLevel: undefined };
  return { deployment, group: progress.group, retries: progress.retries, fallbacks: progress.fallbacks, requested: progress.requested, target };
}

/** The first deployment from `index` on (wrapping) that is not cooling down and admits the call. */
async function admitNext(deps: RouteDependencies, ranked: Deployment[], index: number, progress: Progress): Promise<Deployment> {
  const { router } = deps;
  for (let offset = 0; offset < ranked.length; offset++) {
    const candidate = ranked[(index + offset) % ranked.length];
    if (router.coolingUntil(candidate) !== undefined) continue;
    if (await router.admit(candidate)) return candidate;
  }
  if (ranked.every((candidate) => router.coolingUntil(candidate) !== undefined)) throw coolingDownError(router, progress.group, progress.cooling);
  throw atCapacityError(progress.group);
}

/** A deployment of the ranking (healthy when ranked) not found unreachable in this call and not cooling down, that admits the call. */
async function admitUntried(deps: RouteDependencies, ranked: Deployment[], unreachable: Set<Deployment>): Promise<Deployment | undefined> {
  const { router } = deps;
  for (const candidate of ranked) {
    if (unreachable.has(candidate) || router.coolingUntil(candidate) !== undefined) continue;
    if (await router.admit(candidate)) return candidate;
  }
  return undefined;
}

/** Waits, or stops waiting when the client goes. */
function sleep(ms: number, client: ClientConnection): Promise<void> {
  return new Promise((resolve) => {
    let stopListening = () => undefined as void;
    const timer = setTimeout(done, ms);
    function done() {
      clearTimeout(timer);
      stopListening();
      resolve();
    }
    stopListening = client.onGone(done);
  });
}
