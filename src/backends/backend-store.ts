/**
 * Where backend inventories and pulls are shared by replicas, like deployment health
 * (state/health-store.ts): with Redis a hash (`<prefix>backends`) read at start plus a pub/sub
 * channel; without Redis the `backend_state` table, polled every second.
 */
import { PolledTable } from '../state/polled-table.js';
import { RedisSharedHash } from '../state/redis-shared-hash.js';
import type { Logger } from 'pino';
import type { BackendStateRepository } from '../storage/repositories/backend-state.js';
import type { BackendStateTable } from '../storage/schema.js';
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
  private readonly hash: RedisSharedHash<BackendRecord>;

  constructor(url: string, prefix: string, logger: Logger) {
    this.hash = new RedisSharedHash(url, `${prefix}backends`, 'backends', logger, parseBackendRecord);
  }

  start(onRemote: (record: BackendRecord) => void): Promise<void> {
    return this.hash.start(onRemote);
  }

  save(record: BackendRecord): Promise<void> {
    return this.hash.save(recordKey(record), record);
  }

  claim(name: string, ttlMs: number): Promise<boolean> {
    return this.hash.claim(name, ttlMs);
  }

  renew(name: string, ttlMs: number): Promise<void> {
    return this.hash.renew(name, ttlMs);
  }

  release(name: string): Promise<void> {
    return this.hash.release(name);
  }

  close(): Promise<void> {
    return this.hash.close();
  }
}

export class DatabaseBackendStore implements BackendStore {
  private readonly table: PolledTable<BackendStateTable, BackendRecord>;

  constructor(
    private readonly repository: () => BackendStateRepository | undefined,
    logger: Logger,
    pollIntervalMs = 1_000,
  ) {
    this.table = new PolledTable((since) => this.repository()?.since(since), (row) => parseBackendRecord(row.value), logger, 'backend state', pollIntervalMs);
  }

  async start(onRemote: (record: BackendRecord) => void): Promise<void> {
    this.table.start(onRemote);
  }

  async save(record: BackendRecord): Promise<void> {
    await this.repository()?.save({ key: recordKey(record), value: JSON.stringify(record), updated_at: updatedAtOf(record) });
  }

  async close(): Promise<void> {
    this.table.close();
  }
}
