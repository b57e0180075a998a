/**
 * Chooses deployments for a request: drops those cooling down and those the health monitor has
 * down, ranks priority tiers (`order`, lower first) and orders each tier by the routing strategy.
 * It also keeps the books the strategies, cooldowns and health monitor read: in-flight counts,
 * latencies, failures, per-minute usage.
 */
import type { Logger } from 'pino';
import { GatewayError } from '../errors.js';
import type { Deployment, Usage } from '../providers/types.js';
import type { RouterState } from '../state/router-state.js';
import type { ModelGroup } from './catalog.js';
import { withoutBackendUrl } from '../backends/backend-of.js';
import { DeploymentStats } from './deployment-stats.js';
import { cooldownThreshold, countsTowardCooldown, type RouterPolicy } from './policy.js';
import { routingStrategy, usesUsageWindows } from './strategies/index.js';
import type { RandomSource } from './strategies/types.js';

export interface RouterDependencies {
  policy: RouterPolicy;
  state: RouterState;
  logger: Logger;
  random?: RandomSource;
  stats?: DeploymentStats;
  /** Deployment health (health-monitor.ts): down deployments get no traffic; attempts are reported to it. */
  health?: RouterHealth;
}

/** What the router needs from the health monitor. */
export interface RouterHealth {
  isHealthy(deployment: Deployment): boolean;
  observeSuccess(deployment: Deployment, firstTokenMs: number | undefined): void;
  /** quoteUpstream false: the call's content is not logged, so the upstream's error text is not kept. */
  observeFailure(deployment: Deployment, error: GatewayError, quoteUpstream?: boolean): void;
  /** The status and last error (a missing model's message names it and its backend). */
  statusOf?(deploymentId: string): { status: string; lastError?: string } | undefined;
}

export class Router {
  readonly stats: DeploymentStats;
  private current: RouterPolicy;
  private readonly random: RandomSource;

  constructor(private readonly deps: RouterDependencies) {
    this.stats = deps.stats ?? new DeploymentStats();
    this.current = deps.policy;
    this.random = deps.random ?? Math.random;
  }

  /**
   * The settings in force. Replaced as a whole (setPolicy), so a reader sees one consistent
   * policy; each request reads it when it starts and keeps that one for its fallback chain.
   */
  get policy(): RouterPolicy {
    return this.current;
  }

  /** Switches to new settings at once (router settings changed at run time). */
  setPolicy(policy: RouterPolicy): void {
    this.current = policy;
  }

  coolingUntil(deployment: Deployment): number | undefined {
    return this.deps.state.coolingUntil(deployment.id);
  }

  /** The group's callable deployments that are neither cooling down nor down, best first. */
  async rank(group: ModelGroup, stream: boolean): Promise<Deployment[]> {
    const health = this.deps.health;
    const healthy = group.available.filter((deployment) => this.deps.state.coolingUntil(deployment.id) === undefined && (!health || health.isHealthy(deployment)));
    if (healthy.length <= 1) return healthy;
    const strategy = routingStrategy(this.policy.strategy).rank;
    const usage = usesUsageWindows(this.policy.strategy) ? await this.deps.state.usage(healthy.map((deployment) => deployment.id)) : undefined;
    const tiers = new Map<number, Deployment[]>();
    for (const deployment of healthy) {
      const order = deployment.order ?? Number.MAX_SAFE_INTEGER;
      const tier = tiers.get(order);
      if (tier) tier.push(deployment);
      else tiers.set(order, [deployment]);
    }
    const input = { stream, random: this.random, stats: this.stats, usage, latencyBuffer: this.policy.latencyBuffer };
    return [...tiers.entries()].sort(([a], [b]) => a - b).flatMap(([, tier]) => strategy(tier, input));
  }

  /** True when the health monitor has every callable deployment of the group down. */
  allDown(group: ModelGroup): boolean {
    const health = this.deps.health;
    return health !== undefined && group.available.length > 0 && group.available.every((deployment) => !health.isHealthy(deployment));
  }

  /** 503 saying the group's deployments are down (fallbacks still apply). */
  downError(group: ModelGroup): GatewayError {
    // Clients see which model is missing, not where the operator's servers are.
    const missing = group.available.flatMap((deployment) => {
      const record = this.deps.health?.statusOf?.(deployment.id);
      return record?.status === 'model_missing' && record.lastError ? [withoutBackendUrl(record.lastError, deployment)] : [];
    });
    if (missing.length > 0) {
      const others = group.available.length - missing.length;
      return new GatewayError('deployments_down', `model group "${group.name}": ${missing.join('; ')}${others > 0 ? ` (and ${others} other deployment${others === 1 ? ' is' : 's are'} down)` : ''}; it gets traffic again as soon as the model is there (GET /backends shows the backends; POST /backends/{id}/models/pull pulls it on Ollama)`, {
        retryAfterSeconds: 5,
        headers: { 'retry-after': '5' },
      });
    }
    return new GatewayError('deployments_down', `model group "${group.name}": every deployment is down (failed its health checks); it gets traffic again as soon as a check passes (GET /health/providers shows the status)`, {
      retryAfterSeconds: 5,
      headers: { 'retry-after': '5' },
    });
  }

  /** The earliest time any of the group's deployments leaves cooldown (epoch ms). */
  earliestRelease(group: ModelGroup): number | undefined {
    const times = group.available.map((deployment) => this.deps.state.coolingUntil(deployment.id)).filter((time): time is number => time !== undefined);
    return times.length > 0 ? Math.min(...times) : undefined;
  }

  /**
   * Usage-based routing never sends a deployment past its rpm/tpm: each call reserves a request
   * in the current minute first (atomically across replicas). Other strategies do not reserve.
   */
  async admit(deployment: Deployment): Promise<boolean> {
    if (!usesUsageWindows(this.policy.strategy) || (deployment.rpm === undefined && deployment.tpm === undefined)) return true;
    return this.deps.state.tryReserveRequest(deployment.id, deployment.rpm, deployment.tpm);
  }

  begin(deployment: Deployment): void {
    this.stats.begin(deployment.id);
  }

  end(deployment: Deployment): void {
    this.stats.end(deployment.id);
  }

  recordSuccess(deployment: Deployment, latencyMs: number, firstTokenMs: number | undefined, usage: Usage | undefined): void {
    this.stats.recordLatency(deployment.id, latencyMs, firstTokenMs);
    this.deps.health?.observeSuccess(deployment, firstTokenMs);
    const tokens = usage?.totalTokens ?? (usage?.promptTokens ?? 0) + (usage?.completionTokens ?? 0);
    if (usesUsageWindows(this.policy.strategy) && tokens > 0) {
      this.deps.state.addTokens(deployment.id, tokens).catch((error: Error) => this.deps.logger.warn({ err: error.message }, 'could not count tokens for usage-based routing'));
    }
  }

  /** Counts the failure toward the deployment's cooldown (off the response path). */
  recordFailure(deployment: Deployment, error: GatewayError, latencyMs: number, quoteUpstream = true): Promise<void> {
    if (!countsTowardCooldown(error)) return Promise.resolve();
    this.deps.health?.observeFailure(deployment, error, quoteUpstream);
    this.stats.recordFailureLatency(deployment.id, Math.max(latencyMs, 10_000));
    const { allowedFails, counter } = cooldownThreshold(this.policy, error);
    return this.deps.state.recordFailure(deployment.id, allowedFails, this.policy.cooldownMs, counter).then(
      (until) => {
        if (until !== undefined) {
          this.deps.logger.warn({ deployment: deployment.id, model: deployment.modelName, until: new Date(until).toISOString(), reason: error.code }, 'deployment cooling down after repeated failures');
        }
      },
      (stateError: Error) => this.deps.logger.warn({ err: stateError.message }, 'could not record a deployment failure'),
    );
  }
}
