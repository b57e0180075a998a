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
import { noLimits, type EndUserRecord } from './principals.js';

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
  private readonly creating = new Map<string, Promise<EndUserRecord | null>>();
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
   * gateway only records). Before the database is attached nothing is known: null. `create`: a
   * missing row is created (loadCreating).
   */
  async resolve(id: string, create = false): Promise<EndUserRecord | null> {
    // Usage rows store an id's U+0000 as U+FFFD (storage/usage-ingest.ts, withoutNul), and the spend
    // they carry lands on the row of that id: the row is looked up (and created) under the same one.
    const userId = id.includes('\u0000') ? id.replaceAll('\u0000', '\uFFFD') : id;
    const hit = this.cache.get(userId);
    // A creating look-up passes over a remembered absence: the row may exist by now (another replica made it).
    if (hit && hit.expires > Date.now() && (hit.value !== null || !create)) {
      // Refresh its place in the LRU order.
      this.cache.delete(userId);
      this.cache.set(userId, hit);
      return hit.value;
    }
    const repository = this.repository;
    if (create && repository) {
      const creating = this.creating.get(userId);
      if (creating) return creating;
      const load = this.loadCreating(repository, userId).finally(() => this.creating.delete(userId));
      this.creating.set(userId, load);
      return load;
    }
    const pending = this.loading.get(userId);
    if (pending) return pending;
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

  /**
   * The end user's record, its row created first when there is none (litellm_settings.max_end_user_budget:
   * a default budget needs a row to keep the spend on). The row is created without a budget of its
   * own; insert-or-keep, so concurrent first calls on any replica all read the one row.
   */
  private async loadCreating(repository: CustomerBudgetRepository, userId: string): Promise<EndUserRecord | null> {
    const found = await this.load(repository, userId);
    if (found) return found;
    const now = Date.now();
    await repository.ensureEndUser({ ...noLimits(now), userId, alias: null, allowedModelRegion: null, defaultModel: null, budgetId: null });
    return this.load(repository, userId);
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
