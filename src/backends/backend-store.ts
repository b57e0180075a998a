/**
 * Where backend inventories and pulls are shared by replicas, like deployment health
 * (state/health-store.ts): with Redis a hash (`<prefix>backends`) read at start plus a pub/sub
 * channel; without Redis the `backend_state` table, polled every second.
 */
import type { Redis } from 'ioredis';
import { redisClient, whenReady } from '../state/redis-client.js';
import type { Logger } from 'pino';
import type { BackendStateRepository } from '../storage/repositories/backend-state.js';
import type { BackendInventory, PullProgress } from './backend-types.js';

export type BackendRecord = { type: 'inventory'; inventory: BackendInventory } | { type: 'pull'; pull: PullProgress };

export interface BackendStore {
  start(onRemote: (record: BackendRecord) => void): Promise<void>;
  save(record: BackendRecord): Promise<void>;
  /** Claims `name` for `ttlMs` across replicas (true: this replica holds it). Stores without it: always true. */
  claim?(name: string, ttlMs: number): Promise<boolean>;
  /** Extends this replica's claim (a long pull keeps its claim while it runs). */
  renew?(name: string, ttlMs: number): Promise<void>;
  release?(name: string): Promise<void>;
  close(): Promise<void>;
}

export function recordKey(record: BackendRecord): string {
  return record.type === 'inventory' ? `inventory:${record.inventory.backendId}` : `pull:${record.pull.backendId}:${record.pull.model}`;
}

function updatedAtOf(record: BackendRecord): number {
  return record.type === 'inventory' ? record.inventory.updatedAt : record.pull.updatedAt;
}

/** A record read from another replica, or undefined when it is not one. */
export function parseBackendRecord(text: string): BackendRecord | undefined {
  try {
    const value = JSON.parse(text) as Partial<BackendRecord> & { inventory?: BackendInventory; pull?: PullProgress };
    if (value.type === 'inventory' && typeof value.inventory?.backendId === 'string' && Array.isArray(value.inventory.models) && typeof value.inventory.updatedAt === 'number') return value as BackendRecord;
    if (value.type === 'pull' && typeof value.pull?.backendId === 'string' && typeof value.pull.model === 'string' && typeof value.pull.updatedAt === 'number') return value as BackendRecord;
  } catch {
    // not a record
  }
  return undefined;
}

export class RedisBackendStore implements BackendStore {
  private readonly redis: Redis;
  private readonly subscriber: Redis;
  private readonly key: string;
  private readonly origin = Math.random().toString(36).slice(2);

  constructor(url: string, prefix: string, logger: Logger) {
    this.key = `${prefix}backends`;
    // Connects in the background (redis-client.ts): a gateway starts without Redis.
    this.redis = redisClient(url, { role: 'backends', logger });
    this.subscriber = redisClient(url, { role: 'backends (subscriber)', logger, queueWhileDisconnected: true });
  }

  async start(onRemote: (record: BackendRecord) => void): Promise<void> {
    this.subscriber.on('message', (_channel: string, message: string) => {
      const separator = message.indexOf('\n');
      if (message.slice(0, separator) === this.origin) return;
      const record = parseBackendRecord(message.slice(separator + 1));
      if (record) onRemote(record);
    });
    void this.subscriber.subscribe(this.key).catch(() => undefined);
    const load = async () => {
      for (const value of Object.values(await this.redis.hgetall(this.key))) {
        const record = parseBackendRecord(value);
        if (record) onRemote(record);
      }
    };
    this.redis.on('ready', () => void load().catch(() => undefined));
    // A normal start has the shared records before it serves; an unreachable Redis delays it at most 2 s.
    const [connected] = await Promise.all([whenReady(this.redis, 2_000).then(() => true, () => false), whenReady(this.subscriber, 2_000).catch(() => undefined)]);
    if (connected) await load().catch(() => undefined);
  }

  async save(record: BackendRecord): Promise<void> {
    const text = JSON.stringify(record);
    await this.redis.multi().hset(this.key, recordKey(record), text).publish(this.key, `${this.origin}\n${text}`).exec();
  }

  async claim(name: string, ttlMs: number): Promise<boolean> {
    return (await this.redis.set(`${this.key}:${name}`, this.origin, 'PX', ttlMs, 'NX')) === 'OK';
  }

  async renew(name: string, ttlMs: number): Promise<void> {
    await this.redis.eval("if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0", 1, `${this.key}:${name}`, this.origin, String(ttlMs));
  }

  async release(name: string): Promise<void> {
    // Only this replica's own claim is removed.
    await this.redis.eval("if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0", 1, `${this.key}:${name}`, this.origin);
  }

  async close(): Promise<void> {
    this.subscriber.disconnect();
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

const CLOCK_SKEW_MS = 5_000;

export class DatabaseBackendStore implements BackendStore {
  private poller: NodeJS.Timeout | undefined;
  private seenUntil = 0;
  private onRemote: ((record: BackendRecord) => void) | undefined;

  constructor(
    private readonly repository: () => BackendStateRepository | undefined,
    private readonly logger: Logger,
    private readonly pollIntervalMs = 1_000,
  ) {}

  async start(onRemote: (record: BackendRecord) => void): Promise<void> {
    this.onRemote = onRemote;
    this.poller = setInterval(() => void this.poll(), this.pollIntervalMs);
    this.poller.unref();
  }

  private async poll(): Promise<void> {
    const repository = this.repository();
    if (!repository || !this.onRemote) return;
    try {
      for (const row of await repository.since(this.seenUntil - CLOCK_SKEW_MS)) {
        this.seenUntil = Math.max(this.seenUntil, Number(row.updated_at));
        const record = parseBackendRecord(row.value);
        if (record) this.onRemote(record);
      }
    } catch (error) {
      this.logger.debug({ err: (error as Error).message }, 'could not read shared backend state');
    }
  }

  async save(record: BackendRecord): Promise<void> {
    await this.repository()?.save({ key: recordKey(record), value: JSON.stringify(record), updated_at: updatedAtOf(record) });
  }

  async close(): Promise<void> {
    clearInterval(this.poller);
  }
}
