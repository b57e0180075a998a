/**
 * End users (customers) looked up on the request path, as keys are (key-directory.ts): an
 * in-memory cache by end-user id, with the linked budget object already applied (auth/budgets.ts),
 * the database only on a miss. The cache is bounded (LRU, `maxEntries`), and so is what unknown
 * ids cost: an id without a row is remembered as unknown for a short while, in the same bounded map.
 * Changes reach every replica within a second: Redis pub/sub when there is Redis, and a polled
 * version row in any case.
 */
import type { Logger } from 'pino';
import { ChangeFeed } from '../state/change-feed.js';
import type { CustomerBudgetRepository } from '../storage/repositories/customers-budgets.js';
import { withBudget } from './budgets.js';
import type { EndUserRecord } from './principals.js';

const VERSION_NAME = 'customers';

export interface CustomerDirectoryOptions {
  logger: Logger;
  redisUrl?: string;
  redisPrefix?: string;
  pollIntervalMs?: number;
  ttlMs?: number;
  negativeTtlMs?: number;
  maxEntries?: number;
}

export class CustomerDirectory {
  private readonly cache = new Map<string, { value: EndUserRecord | null; expires: number }>();
  private readonly loading = new Map<string, Promise<EndUserRecord | null>>();
  private repository: CustomerBudgetRepository | undefined;
  private generation = 0;
  private readonly feed: ChangeFeed;
  private readonly ttlMs: number;
  private readonly negativeTtlMs: number;
  private readonly maxEntries: number;

  constructor(private readonly options: CustomerDirectoryOptions) {
    this.ttlMs = options.ttlMs ?? 60_000;
    this.negativeTtlMs = options.negativeTtlMs ?? 5_000;
    this.maxEntries = options.maxEntries ?? 10_000;
    this.feed = new ChangeFeed({ name: 'customers', logger: options.logger, reload: (message) => this.apply(message ?? 'all'), redisUrl: options.redisUrl, redisPrefix: options.redisPrefix, pollIntervalMs: options.pollIntervalMs });
  }

  start(): Promise<void> {
    return this.feed.start();
  }

  attach(repository: CustomerBudgetRepository): void {
    this.repository = repository;
    void this.feed.attach({ version: () => repository.version(VERSION_NAME) });
  }

  /**
   * The end user's record with its budget applied, or null when no row exists (an end user the
   * gateway only records). Before the database is attached nothing is known: null.
   */
  async resolve(userId: string): Promise<EndUserRecord | null> {
    const hit = this.cache.get(userId);
    if (hit && hit.expires > Date.now()) {
      // Refresh its place in the LRU order.
      this.cache.delete(userId);
      this.cache.set(userId, hit);
      return hit.value;
    }
    const pending = this.loading.get(userId);
    if (pending) return pending;
    const repository = this.repository;
    if (!repository) return null;
    const load = this.load(repository, userId).finally(() => this.loading.delete(userId));
    this.loading.set(userId, load);
    return load;
  }

  private async load(repository: CustomerBudgetRepository, userId: string): Promise<EndUserRecord | null> {
    const generationBefore = this.generation;
    const row = await repository.findEndUser(userId);
    const value = row ? withBudget(row, row.budgetId ? await repository.findBudget(row.budgetId) : undefined) : null;
    if (this.generation === generationBefore) {
      this.cache.delete(userId);
      this.cache.set(userId, { value, expires: Date.now() + (value ? this.ttlMs : this.negativeTtlMs) });
      while (this.cache.size > this.maxEntries) this.cache.delete(this.cache.keys().next().value as string);
    }
    return value;
  }

  /** After a change: drop it here at once, and tell every other replica. */
  async changed(userIds: string[] | 'all'): Promise<void> {
    const message = userIds === 'all' || userIds.some((id) => id.includes(',')) ? 'all' : `end_users:${userIds.join(',')}`;
    this.apply(message);
    // Not noted as seen: another replica's change stored since the last poll would be seen with it (key-directory.ts).
    await this.repository?.bumpVersion(VERSION_NAME).catch((error: Error) => this.options.logger.warn({ err: error.message }, 'could not bump the customers version'));
    await this.feed.publish(message);
  }

  private apply(message: string): void {
    this.generation++;
    if (message === 'all' || !message.startsWith('end_users:')) {
      this.cache.clear();
      return;
    }
    for (const id of message.slice('end_users:'.length).split(',')) this.cache.delete(id);
  }

  close(): Promise<void> {
    return this.feed.close();
  }
}
