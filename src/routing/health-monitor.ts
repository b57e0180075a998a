/**
 * Deployment health: a status per deployment (healthy / degraded / down / unknown) kept from two
 * sources — background rounds of cheap checks (one-token calls, see health-check.ts) and the live
 * traffic the router sees between them. Down deployments get no traffic (the router asks
 * `isHealthy`) and are probed on a shorter interval so they come back as soon as they answer.
 *
 * Statuses are shared by replicas through a HealthStore (a Redis hash + pub/sub, or a database
 * table polled every second without Redis). Every read here is synchronous and in memory.
 */
import type { Logger } from 'pino';
import type { GatewayError } from '../errors.js';
import type { Deployment } from '../providers/types.js';
import type { DeploymentCheck } from './health-check.js';
import { countsTowardCooldown } from './policy.js';

/** `model_missing`: the deployment's local backend answers but does not have its model (src/backends/). */
export type HealthStatus = 'healthy' | 'degraded' | 'down' | 'model_missing' | 'unknown';

/** Statuses that keep a deployment out of traffic until a check passes. */
export function isOutOfService(status: HealthStatus | undefined): boolean {
  return status === 'down' || status === 'model_missing';
}

/**
 * What the monitor asks the local backends (src/backends/backend-directory.ts): read them again
 * before checking their deployments, and which deployments lack their model.
 */
export interface BackendInventoryHook {
  refresh(deployments: Deployment[]): Promise<void>;
  /** The reason when the deployment's backend answered without its model; undefined otherwise. */
  missingModel(deployment: Deployment): string | undefined;
}

export interface DeploymentHealth {
  deploymentId: string;
  status: HealthStatus;
  responseTimeMs?: number;
  /** Epoch ms of the last background check (or probe). */
  lastCheckedAt?: number;
  lastError?: string;
  consecutiveFailures: number;
  /** Epoch ms of the last change; the newer record wins when replicas disagree. */
  updatedAt: number;
}

/** Where statuses are shared across replicas. */
export interface HealthStore {
  /** Loads the statuses other replicas saved and starts delivering their changes. */
  start(onRemote: (record: DeploymentHealth) => void): Promise<void>;
  save(record: DeploymentHealth): Promise<void>;
  /**
   * Claims the next `name` round for this replica for `ttlMs` (true when this replica should run
   * it), so that N replicas do not each check every deployment. Stores without it: every replica
   * runs its own rounds.
   */
  claim?(name: 'round' | 'probe', ttlMs: number): Promise<boolean>;
  close(): Promise<void>;
}

export interface MonitoredDeployment {
  deployment: Deployment;
  /** False for disabled models: listed, never checked. */
  active: boolean;
}

export interface HealthMonitorOptions {
  /** Every deployment the gateway knows now (enabled and disabled). */
  deployments: () => MonitoredDeployment[];
  check: (deployment: Deployment) => Promise<DeploymentCheck>;
  logger: Logger;
  store?: HealthStore;
  /** Between background rounds; 0 turns the background rounds off. */
  intervalMs: number;
  /** Between probes of down deployments. */
  downProbeIntervalMs: number;
  /** A successful call slower than this makes the deployment degraded. */
  degradedThresholdMs: number;
  /** Consecutive failures of live traffic that take a deployment down (default 5). */
  liveDownAfter?: number;
  /** Local backends: read before each round and probe; a deployment without its model is `model_missing`, not called. */
  backends?: BackendInventoryHook;
  now?: () => number;
  /** Told of each change of a deployment's status on this replica (alerting). */
  onStatusChange?: (deployment: Deployment, health: DeploymentHealth, previous: HealthStatus) => void;
}

/** Outcomes remembered per deployment to tell "intermittently failing". */
const WINDOW = 10;
/** Share of failures in the window from which a deployment that answers is degraded. */
const INTERMITTENT_RATIO = 0.2;
/**
 * Check answers that prove the deployment is up even though the check failed: the one-token
 * request itself was refused (some models reject `max_tokens: 1`), or the deployment is rate
 * limited. They make it degraded, never down, so that a check unsuited to a model cannot take it
 * out of traffic.
 */
const ANSWERING_STATUSES = new Set([400, 413, 422, 429]);

interface Entry {
  health: DeploymentHealth;
  /** Recent outcomes, true = success (checks and live traffic). */
  outcomes: boolean[];
}

export interface RoundSummary {
  healthy: number;
  degraded: number;
  down: number;
  model_missing: number;
  unknown: number;
  checked: number;
  durationMs: number;
}

export class HealthMonitor {
  private readonly entries = new Map<string, Entry>();
  private roundTimer: NodeJS.Timeout | undefined;
  private probeTimer: NodeJS.Timeout | undefined;
  private running: Promise<RoundSummary> | undefined;
  private probing = false;
  private readonly modelRechecks = new Map<string, number>();
  private readonly now: () => number;
  private readonly liveDownAfter: number;
  lastRoundAt: number | undefined;

  constructor(private readonly options: HealthMonitorOptions) {
    this.now = options.now ?? Date.now;
    this.liveDownAfter = Math.max(1, options.liveDownAfter ?? 5);
  }

  get intervalMs(): number {
    return this.options.intervalMs;
  }

  async start(): Promise<void> {
    await this.options.store?.start((record) => this.applyRemote(record)).catch((error: Error) => this.options.logger.warn({ err: error.message }, 'could not load shared deployment health'));
    const { intervalMs, downProbeIntervalMs } = this.options;
    if (intervalMs > 0) {
      this.roundTimer = setInterval(() => void this.scheduled('round', intervalMs, () => this.runRound()), intervalMs);
      this.roundTimer.unref();
    }
    if (downProbeIntervalMs > 0) {
      this.probeTimer = setInterval(() => void this.scheduled('probe', downProbeIntervalMs, () => this.probeDown()), downProbeIntervalMs);
      this.probeTimer.unref();
    }
    this.options.logger.info(
      { intervalSeconds: intervalMs / 1000, downProbeSeconds: downProbeIntervalMs / 1000, degradedThresholdMs: this.options.degradedThresholdMs, shared: this.options.store ? 'yes' : 'this process only' },
      intervalMs > 0 ? 'health monitor started' : 'health monitor started without background rounds (health_check_interval is 0): live traffic and POST /health/check only',
    );
  }

  /** A timer's round, run here unless another replica claimed it (results arrive through the store). */
  private async scheduled(name: 'round' | 'probe', intervalMs: number, run: () => Promise<unknown>): Promise<void> {
    try {
      const store = this.options.store;
      // The claim expires a little before the next tick, so a replica that stops leaves the work to the others.
      if (store?.claim && !(await store.claim(name, Math.max(1, Math.floor(intervalMs * 0.8))))) return;
      await run();
    } catch (error) {
      this.options.logger.warn({ err: (error as Error).message }, `health ${name} failed`);
    }
  }

  /** The deployment's status now (synchronous; undefined before anything was learnt about it). */
  statusOf(deploymentId: string): DeploymentHealth | undefined {
    return this.entries.get(deploymentId)?.health;
  }

  /**
   * True when the deployment may get traffic: healthy, degraded, or not known yet (never checked,
   * no traffic). "down" and "model_missing" are false.
   */
  isHealthy(deployment: Deployment | string): boolean {
    const id = typeof deployment === 'string' ? deployment : deployment.id;
    return !isOutOfService(this.entries.get(id)?.health.status);
  }

  /** Forgets what is known of these deployments (their definition changed): they start unknown again. */
  forget(deploymentIds: string[]): void {
    for (const id of deploymentIds) this.entries.delete(id);
  }

  /** Checks every active deployment now (a background round, or POST /health/check). */
  runRound(): Promise<RoundSummary> {
    // A round already under way answers callers that ask meanwhile.
    this.running ??= this.round().finally(() => (this.running = undefined));
    return this.running;
  }

  private async round(): Promise<RoundSummary> {
    const started = this.now();
    const monitored = this.options.deployments();
    const active = monitored.filter((item) => item.active);
    const checks = await this.checkAll(active.map(({ deployment }) => deployment));
    for (const check of checks) this.applyCheck(check);
    this.forgetRemoved(monitored);
    this.lastRoundAt = this.now();
    const summary: RoundSummary = { healthy: 0, degraded: 0, down: 0, model_missing: 0, unknown: 0, checked: checks.length, durationMs: this.now() - started };
    for (const { deployment } of active) summary[this.entries.get(deployment.id)?.health.status ?? 'unknown']++;
    const down = active.filter(({ deployment }) => this.entries.get(deployment.id)?.health.status === 'down').map(({ deployment }) => deployment.id);
    const missing = active.filter(({ deployment }) => this.entries.get(deployment.id)?.health.status === 'model_missing').map(({ deployment }) => `${deployment.id}: ${this.entries.get(deployment.id)?.health.lastError}`);
    this.options.logger.info({ ...summary, ...(down.length > 0 ? { downDeployments: down } : {}), ...(missing.length > 0 ? { missingModels: missing } : {}) }, 'health check round');
    return summary;
  }

  /**
   * Checks these deployments: their local backends are read first, and a deployment whose backend
   * lacks its model is not called (the call could only fail) — its check says what is missing.
   */
  private async checkAll(deployments: Deployment[]): Promise<DeploymentCheck[]> {
    const backends = this.options.backends;
    if (backends) await backends.refresh(deployments).catch((error: Error) => this.options.logger.warn({ err: error.message }, 'could not read the local backends'));
    return Promise.all(
      deployments.map((deployment) => {
        const missing = backends?.missingModel(deployment);
        if (missing) return { deployment, healthy: false, error: missing, modelMissing: true } satisfies DeploymentCheck;
        return this.options.check(deployment).catch((error: Error): DeploymentCheck => ({ deployment, healthy: false, error: error.message }));
      }),
    );
  }

  /** Checks these deployments now and applies the results (after a model was pulled or removed). */
  async checkNow(deployments: Deployment[]): Promise<DeploymentHealth[]> {
    const checks = await this.checkAll(deployments);
    return checks.map((check) => this.applyCheck(check));
  }

  /** Probes the deployments that are down, so that they come back as soon as they answer. */
  async probeDown(): Promise<void> {
    if (this.probing) return;
    this.probing = true;
    try {
      const down = this.options.deployments().filter(({ deployment, active }) => active && isOutOfService(this.entries.get(deployment.id)?.health.status));
      if (down.length === 0) return;
      const checks = await this.checkAll(down.map(({ deployment }) => deployment));
      for (const check of checks) {
        const before = this.entries.get(check.deployment.id)?.health.status;
        this.applyCheck(check);
        const after = this.entries.get(check.deployment.id)?.health.status;
        if (isOutOfService(before) && !isOutOfService(after)) this.options.logger.info({ deployment: check.deployment.id, model: check.deployment.modelName, status: after }, 'deployment is back');
      }
    } finally {
      this.probing = false;
    }
  }

  /** A check's result: a failed check takes the deployment down; a passing one brings it back. */
  applyCheck(check: DeploymentCheck): DeploymentHealth {
    const entry = this.entryOf(check.deployment.id);
    const previous = entry.health.status;
    const now = this.now();
    const health: DeploymentHealth = { ...entry.health, lastCheckedAt: now, updatedAt: now, responseTimeMs: check.latencyMs ?? entry.health.responseTimeMs };
    if (check.healthy) {
      // Back from down is a fresh start: failures from before the outage do not make it "intermittent".
      if (isOutOfService(previous)) entry.outcomes = [];
      push(entry.outcomes, true);
      health.consecutiveFailures = 0;
      health.status = this.answeringStatus(entry, check.latencyMs);
      if (health.status === 'healthy') health.lastError = undefined;
    } else {
      push(entry.outcomes, false);
      health.consecutiveFailures++;
      // A failed check of a deployment whose backend lacks the model (GET /health's checks too) says so.
      const missing = check.modelMissing ? check.error : this.options.backends?.missingModel(check.deployment);
      if (missing) health.status = 'model_missing';
      else health.status = check.upstreamStatus !== undefined && ANSWERING_STATUSES.has(check.upstreamStatus) ? 'degraded' : 'down';
      health.lastError = missing ?? check.error ?? 'unhealthy';
    }
    this.commit(check.deployment, entry, health, previous, true);
    return health;
  }

  /** A live call that succeeded (latency: time to first token for streams; undefined otherwise). */
  observeSuccess(deployment: Deployment, firstTokenMs: number | undefined): void {
    const entry = this.entryOf(deployment.id);
    const previous = entry.health.status;
    push(entry.outcomes, true);
    if (isOutOfService(previous)) return; // only a probe brings a deployment back
    const status = this.answeringStatus(entry, firstTokenMs);
    if (status === previous && entry.health.consecutiveFailures === 0) return;
    this.commit(deployment, entry, { ...entry.health, status, consecutiveFailures: 0, updatedAt: this.now() }, previous, false);
  }

  /**
   * A live call that failed in a way that says something about the deployment (not the client's
   * fault). A connection that could not be made at all (`error.unreachable`) takes it down at once.
   */
  observeFailure(deployment: Deployment, error: GatewayError, quoteUpstream = true): void {
    if (!countsTowardCooldown(error) || error.upstreamStatus === 429) return;
    // A 404 from a local backend is most often a model that is no longer there: read the backend now.
    if (error.upstreamStatus === 404 && this.options.backends) this.recheckModel(deployment);
    const entry = this.entryOf(deployment.id);
    const previous = entry.health.status;
    push(entry.outcomes, false);
    const consecutiveFailures = entry.health.consecutiveFailures + 1;
    let status = previous;
    // A refused connection says more than a slow or failed answer: the server is not there. Down at
    // once (the probes bring it back as soon as it answers).
    if (previous === 'model_missing') status = previous;
    else if (previous === 'down' || error.unreachable || consecutiveFailures >= this.liveDownAfter) status = 'down';
    else if (failureRatio(entry.outcomes) >= INTERMITTENT_RATIO) status = 'degraded';
    this.commit(deployment, entry, { ...entry.health, status, consecutiveFailures, lastError: quoteUpstream || error.unreachable ? error.message.slice(0, 500) : withoutUpstreamText(error), updatedAt: this.now() }, previous, false);
  }

  /** At most every 2 s per deployment: reads its backend and marks it model_missing if the model is gone. */
  private recheckModel(deployment: Deployment): void {
    const backends = this.options.backends!;
    const now = this.now();
    if (now - (this.modelRechecks.get(deployment.id) ?? 0) < 2_000) return;
    this.modelRechecks.set(deployment.id, now);
    void backends
      .refresh([deployment])
      .then(() => {
        const missing = backends.missingModel(deployment);
        if (missing) this.applyCheck({ deployment, healthy: false, error: missing, modelMissing: true });
      })
      .catch((error: Error) => this.options.logger.warn({ err: error.message }, 'could not read the local backend'));
  }

  private answeringStatus(entry: Entry, latencyMs: number | undefined): HealthStatus {
    if (latencyMs !== undefined && latencyMs > this.options.degradedThresholdMs) return 'degraded';
    return failureRatio(entry.outcomes) >= INTERMITTENT_RATIO ? 'degraded' : 'healthy';
  }

  /**
   * Every check result is shared; live traffic only shares status changes, so a storm of failing
   * calls costs no more than one write per change.
   */
  private commit(deployment: Deployment, entry: Entry, health: DeploymentHealth, previous: HealthStatus, fromCheck: boolean): void {
    entry.health = health;
    const changed = health.status !== previous;
    if (changed) {
      const level = isOutOfService(health.status) ? 'warn' : 'info';
      this.options.logger[level]({ deployment: deployment.id, model: deployment.modelName, provider: deployment.provider, from: previous, to: health.status, error: health.lastError }, 'deployment health changed');
      this.options.onStatusChange?.(deployment, health, previous);
    }
    if (fromCheck || changed) void this.options.store?.save(health).catch((error: Error) => this.options.logger.debug({ err: error.message }, 'could not share deployment health'));
  }

  private applyRemote(record: DeploymentHealth): void {
    // A down deployment is re-probed (and its record re-saved) every probe interval; a "down" nobody
    // has confirmed for a while is left over from an earlier run and must not keep traffic away.
    if (isOutOfService(record.status) && this.now() - record.updatedAt > Math.max(60_000, 3 * this.options.downProbeIntervalMs)) return;
    const entry = this.entries.get(record.deploymentId);
    if (entry && entry.health.updatedAt >= record.updatedAt) return;
    if (!entry) {
      this.entries.set(record.deploymentId, { health: record, outcomes: [] });
      return;
    }
    if (isOutOfService(entry.health.status) && !isOutOfService(record.status)) entry.outcomes = [];
    entry.health = record;
  }

  private entryOf(deploymentId: string): Entry {
    let entry = this.entries.get(deploymentId);
    if (!entry) {
      entry = { health: { deploymentId, status: 'unknown', consecutiveFailures: 0, updatedAt: 0 }, outcomes: [] };
      this.entries.set(deploymentId, entry);
    }
    return entry;
  }

  private forgetRemoved(monitored: MonitoredDeployment[]): void {
    const known = new Set(monitored.map(({ deployment }) => deployment.id));
    for (const id of this.entries.keys()) if (!known.has(id)) this.entries.delete(id);
  }

  async close(): Promise<void> {
    clearInterval(this.roundTimer);
    clearInterval(this.probeTimer);
    await this.options.store?.close();
  }
}

function push(outcomes: boolean[], outcome: boolean): void {
  outcomes.push(outcome);
  if (outcomes.length > WINDOW) outcomes.shift();
}

function failureRatio(outcomes: boolean[]): number {
  if (outcomes.length === 0) return 0;
  let failures = 0;
  for (const outcome of outcomes) if (!outcome) failures++;
  return failures / outcomes.length;
}

/** Numeric value of a status for the Prometheus gauge: 0 down (or model missing), 1 degraded, 2 healthy, -1 unknown. */
export function healthGaugeValue(status: HealthStatus | undefined): number {
  switch (status) {
    case 'down':
    case 'model_missing':
      return 0;
    case 'degraded':
      return 1;
    case 'healthy':
      return 2;
    default:
      return -1;
  }
}

/**
 * A live failure described without the upstream's own text (which may echo the prompt): for a call
 * whose content is not logged (no-log, turn_off_message_logging), on the health record every
 * replica shares and in the outage alert quoting it.
 */
function withoutUpstreamText(error: GatewayError): string {
  return `${error.code}${error.upstreamStatus !== undefined ? ` (upstream HTTP ${error.upstreamStatus})` : ''}; the upstream's message is not kept: the call's content is not logged`;
}
