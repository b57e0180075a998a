/**
 * Where deployment health is shared by replicas. With Redis: a hash (`<prefix>health`, one field
 * per deployment) read at start, and a pub/sub channel that pushes each change to every replica.
 * Without Redis: the `deployment_health` table, polled every second for rows changed since the
 * last poll.
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { redisClient, whenReady } from './redis-client.js';
import type { DeploymentHealth, HealthStatus, HealthStore } from '../routing/health-monitor.js';
import type { ModelRepository, StoredHealthRow } from '../storage/repositories/models.js';

const STATUSES = new Set<HealthStatus>(['healthy', 'degraded', 'down', 'model_missing', 'unknown']);
const CLOCK_SKEW_MS = 5_000;

/** A record read from another replica, or undefined when it is not one. */
export function parseHealthRecord(value: unknown): DeploymentHealth | undefined {
  if (typeof value !== 'object' || value === null) return undefined;
  const record = value as Record<string, unknown>;
  if (typeof record.deploymentId !== 'string' || !STATUSES.has(record.status as HealthStatus) || typeof record.updatedAt !== 'number') return undefined;
  return {
    deploymentId: record.deploymentId,
    status: record.status as HealthStatus,
    responseTimeMs: typeof record.responseTimeMs === 'number' ? record.responseTimeMs : undefined,
    lastCheckedAt: typeof record.lastCheckedAt === 'number' ? record.lastCheckedAt : undefined,
    lastError: typeof record.lastError === 'string' ? record.lastError : undefined,
    consecutiveFailures: typeof record.consecutiveFailures === 'number' ? record.consecutiveFailures : 0,
    updatedAt: record.updatedAt,
  };
}

function parseJson(text: string): unknown {
  try {
    return JSON.parse(text);
  } catch {
    return undefined;
  }
}

export class RedisHealthStore implements HealthStore {
  private readonly redis: Redis;
  private readonly subscriber: Redis;
  private readonly key: string;
  /** Each replica tags what it publishes, so it ignores its own messages. */
  private readonly origin = Math.random().toString(36).slice(2);

  constructor(url: string, prefix: string, private readonly logger: Logger) {
    this.key = `${prefix}health`;
    // Connects in the background: a gateway starts (and monitors health on its own) without Redis.
    this.redis = redisClient(url, { role: 'deployment health', logger });
    this.subscriber = redisClient(url, { role: 'deployment health (subscriber)', logger, queueWhileDisconnected: true });
  }

  async start(onRemote: (record: DeploymentHealth) => void): Promise<void> {
    this.subscriber.on('message', (_channel: string, message: string) => {
      const separator = message.indexOf('\n');
      if (message.slice(0, separator) === this.origin) return;
      const record = parseHealthRecord(parseJson(message.slice(separator + 1)));
      if (record) onRemote(record);
    });
    void this.subscriber.subscribe(this.key).catch(() => undefined);
    // What other replicas saved, loaded at each (re)connection.
    const load = async () => {
      const stored = await this.redis.hgetall(this.key);
      for (const value of Object.values(stored)) {
        const record = parseHealthRecord(parseJson(value));
        if (record) onRemote(record);
      }
    };
    this.redis.on('ready', () => void load().catch((error: Error) => this.logger.debug({ err: error.message }, 'could not load shared deployment health')));
    // A normal start has the statuses before it serves; an unreachable Redis delays it at most 2 s.
    const [connected] = await Promise.all([whenReady(this.redis, 2_000).then(() => true, () => false), whenReady(this.subscriber, 2_000).catch(() => undefined)]);
    if (connected) await load().catch(() => undefined);
  }

  async save(record: DeploymentHealth): Promise<void> {
    const text = JSON.stringify(record);
    await this.redis.multi().hset(this.key, record.deploymentId, text).publish(this.key, `${this.origin}\n${text}`).exec();
  }

  async claim(name: 'round' | 'probe', ttlMs: number): Promise<boolean> {
    try {
      return (await this.redis.set(`${this.key}:${name}`, this.origin, 'PX', ttlMs, 'NX')) === 'OK';
    } catch {
      return true; // Redis does not answer: every replica checks for itself meanwhile
    }
  }

  async close(): Promise<void> {
    this.subscriber.disconnect();
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

export class DatabaseHealthStore implements HealthStore {
  private poller: NodeJS.Timeout | undefined;
  private seenUntil = 0;
  private onRemote: ((record: DeploymentHealth) => void) | undefined;

  /** `repository` is undefined until the database is ready; statuses stay local meanwhile. */
  constructor(
    private readonly repository: () => ModelRepository | undefined,
    private readonly logger: Logger,
    private readonly pollIntervalMs = 1_000,
  ) {}

  async start(onRemote: (record: DeploymentHealth) => void): Promise<void> {
    this.onRemote = onRemote;
    this.poller = setInterval(() => void this.poll(), this.pollIntervalMs);
    this.poller.unref();
  }

  private async poll(): Promise<void> {
    const repository = this.repository();
    if (!repository || !this.onRemote) return;
    try {
      // Rows are stamped with the saving replica's clock: reading a few seconds back catches rows
      // from a replica whose clock runs behind (the monitor ignores what it already has).
      const rows = await repository.healthSince(this.seenUntil - CLOCK_SKEW_MS);
      for (const row of rows) {
        this.seenUntil = Math.max(this.seenUntil, Number(row.updated_at));
        const record = fromRow(row);
        if (record) this.onRemote(record);
      }
    } catch (error) {
      this.logger.debug({ err: (error as Error).message }, 'could not read shared deployment health');
    }
  }

  async save(record: DeploymentHealth): Promise<void> {
    const repository = this.repository();
    if (!repository) return;
    await repository.saveHealth({
      deployment_id: record.deploymentId,
      status: record.status,
      response_time_ms: record.responseTimeMs ?? null,
      last_checked_at: record.lastCheckedAt ?? null,
      last_error: record.lastError ?? null,
      consecutive_failures: record.consecutiveFailures,
      updated_at: record.updatedAt,
    });
  }

  async close(): Promise<void> {
    clearInterval(this.poller);
  }
}

function fromRow(row: StoredHealthRow): DeploymentHealth | undefined {
  return parseHealthRecord({
    deploymentId: row.deployment_id,
    status: row.status,
    responseTimeMs: row.response_time_ms ?? undefined,
    lastCheckedAt: row.last_checked_at === null ? undefined : Number(row.last_checked_at),
    lastError: row.last_error ?? undefined,
    consecutiveFailures: Number(row.consecutive_failures),
    updatedAt: Number(row.updated_at),
  });
}
