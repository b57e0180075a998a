/**
 * Where deployment health is shared by replicas. With Redis: a hash (`<prefix>health`, one field
 * per deployment) read at start, and a pub/sub channel that pushes each change to every replica.
 * Without Redis: the `deployment_health` table, polled every second for rows changed since the
 * last poll.
 */
import type { Logger } from 'pino';
import { PolledTable } from './polled-table.js';
import { RedisSharedHash } from './redis-shared-hash.js';
import type { DeploymentHealth, HealthStatus, HealthStore } from '../routing/health-monitor.js';
import type { ModelRepository, StoredHealthRow } from '../storage/repositories/models.js';

const STATUSES = new Set<HealthStatus>(['healthy', 'degraded', 'down', 'model_missing', 'unknown']);

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
  private readonly hash: RedisSharedHash<DeploymentHealth>;

  constructor(url: string, prefix: string, logger: Logger) {
    this.hash = new RedisSharedHash(url, `${prefix}health`, 'deployment health', logger, (text) => parseHealthRecord(parseJson(text)));
  }

  start(onRemote: (record: DeploymentHealth) => void): Promise<void> {
    return this.hash.start(onRemote);
  }

  save(record: DeploymentHealth): Promise<void> {
    return this.hash.save(record.deploymentId, record);
  }

  claim(name: 'round' | 'probe', ttlMs: number): Promise<boolean> {
    return this.hash.claim(name, ttlMs);
  }

  close(): Promise<void> {
    return this.hash.close();
  }
}

export class DatabaseHealthStore implements HealthStore {
  private readonly table: PolledTable<StoredHealthRow, DeploymentHealth>;
  /** Set on the workers of `--workers N` other than worker 1: they run no rounds of their own. */
  claim?: (name: 'round' | 'probe', ttlMs: number) => Promise<boolean>;

  /** `repository` is undefined until the database is ready; statuses stay local meanwhile. */
  constructor(
    private readonly repository: () => ModelRepository | undefined,
    logger: Logger,
    pollIntervalMs = 1_000,
  ) {
    this.table = new PolledTable((since) => this.repository()?.healthSince(since), fromRow, logger, 'deployment health', pollIntervalMs);
  }

  async start(onRemote: (record: DeploymentHealth) => void): Promise<void> {
    this.table.start(onRemote);
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
    this.table.close();
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
