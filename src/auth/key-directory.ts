/**
 * Virtual keys looked up on the request path: an in-memory cache by SHA-256 hash (with the key's
 * user and team), the database only on a miss. Changes made anywhere reach every replica's cache
 * within a second: through Redis pub/sub when there is Redis, and by polling a version row in the
 * database (every 500 ms) in any case.
 */
import type { Logger } from 'pino';
import { databaseNotReady, GatewayError } from '../errors.js';
import { ChangeFeed } from '../state/change-feed.js';
import type { PrincipalRepository } from '../storage/repositories/principals.js';
import type { KeyRecord, TeamRecord, UserRecord } from './principals.js';
import { withDefaultParallelLimit } from './default-limits.js';
import { withBudget, type BudgetRecord } from './budgets.js';
import { effectiveModelBudgets } from './model-budgets.js';

export interface ResolvedKey {
  key: KeyRecord;
  user?: UserRecord;
  team?: TeamRecord;
}

const VERSION_NAME = 'principals';

export interface KeyDirectoryOptions {
  logger: Logger;
  /** Safety net: entries are reloaded after this long even without an invalidation. */
  ttlMs?: number;
  /** How long an unknown hash is remembered (bounds database lookups for bad keys). */
  negativeTtlMs?: number;
  pollIntervalMs?: number;
  redisUrl?: string;
  redisPrefix?: string;
  /** max_parallel_requests for keys that set none (general_settings.default_key_max_parallel_requests; 0: none). */
  defaultMaxParallelRequests?: number;
  /** Budget objects, read with the key on a cache miss (absent before the database is ready). */
  budgets?: () => { findBudget(budgetId: string): Promise<BudgetRecord | undefined> } | undefined;
}

/** Most unknown key hashes remembered (each for negativeTtlMs); beyond it the oldest is forgotten. */
export const MAX_UNKNOWN_KEYS = 10_000;

export class KeyDirectory {
  private readonly cache = new Map<string, { value: ResolvedKey; expires: number }>();
  /**
   * Hashes known not to be keys → until when, oldest first and at most MAX_UNKNOWN_KEYS of them:
   * a client presenting random keys must not grow the gateway's memory.
   */
  private readonly unknown = new Map<string, number>();
  private readonly loading = new Map<string, Promise<ResolvedKey | null>>();
  private repository: PrincipalRepository | undefined;
  /** Counts invalidations, so that a load overtaken by one is not cached. */
  private generation = 0;
  private readonly feed: ChangeFeed;
  private readonly ttlMs: number;
  private readonly negativeTtlMs: number;

  constructor(private readonly options: KeyDirectoryOptions) {
    this.ttlMs = options.ttlMs ?? 60_000;
    this.negativeTtlMs = options.negativeTtlMs ?? 2_000;
    // Messages name the key hashes that changed ("keys:h1,h2") or say "all"; a moved version means all.
    this.feed = new ChangeFeed({ name: 'principals', logger: options.logger, reload: (message) => this.apply(message ?? 'all'), redisUrl: options.redisUrl, redisPrefix: options.redisPrefix, pollIntervalMs: options.pollIntervalMs });
  }

  /** Starts the Redis subscription (if any). */
  start(): Promise<void> {
    return this.feed.start();
  }

  /** Called once the database is ready; starts the version poll. */
  attach(repository: PrincipalRepository): void {
    this.repository = repository;
    void this.feed.attach({ version: () => repository.version(VERSION_NAME) });
  }

  /** The cached answer for a key hash (null: known not to exist), or undefined when it must be loaded. */
  cached(hash: string): ResolvedKey | null | undefined {
    const now = Date.now();
    const hit = this.cache.get(hash);
    if (hit && hit.expires > now) return hit.value;
    const unknownUntil = this.unknown.get(hash);
    return unknownUntil !== undefined && unknownUntil > now ? null : undefined;
  }

  async resolve(hash: string): Promise<ResolvedKey | null> {
    const known = this.cached(hash);
    if (known !== undefined) return known;
    const pending = this.loading.get(hash);
    if (pending) return pending;
    const repository = this.repository;
    if (!repository) throw databaseNotReady('virtual keys cannot be checked yet (the master key works)');
    // A database that fails the lookup (a failover, a lost connection) cannot say whether the key is
    // valid: 503 to retry, never a 500 that echoes the driver's message.
    const load = this.load(repository, hash)
      .catch((error: unknown) => {
        if (error instanceof GatewayError) throw error;
        this.options.logger.warn({ err: (error as Error).message }, 'a virtual key could not be looked up in the database');
        throw new GatewayError('not_ready', 'the gateway cannot read its database to check this key right now; retry shortly (the master key works)', { retryAfterSeconds: 1, headers: { 'retry-after': '1' } });
      })
      .finally(() => this.loading.delete(hash));
    this.loading.set(hash, load);
    return load;
  }

  private async load(repository: PrincipalRepository, hash: string): Promise<ResolvedKey | null> {
    const generationBefore = this.generation;
    const key = await repository.findKey(hash);
    let value: ResolvedKey | null = null;
    if (key) {
      const [user, team] = await Promise.all([key.userId ? repository.findUser(key.userId) : undefined, key.teamId ? repository.findTeam(key.teamId) : undefined]);
      // A linked budget object fills the limits the key or team leaves unset (auth/budgets.ts).
      const [keyBudget, teamBudget] = await Promise.all([this.budgetOf(key.budgetId), this.budgetOf(team?.budgetId)]);
      value = { key: withDefaultParallelLimit({ ...withBudget(key, keyBudget), modelMaxBudget: effectiveModelBudgets(key.modelMaxBudget, keyBudget) }, this.options.defaultMaxParallelRequests ?? 0), user, team: team ? withBudget(team, teamBudget) : undefined };
    }
    // An invalidation that arrived while loading makes this result stale: do not cache it.
    if (this.generation === generationBefore) {
      if (value) this.cache.set(hash, { value, expires: Date.now() + this.ttlMs });
      else {
        this.unknown.delete(hash);
        this.unknown.set(hash, Date.now() + this.negativeTtlMs);
        if (this.unknown.size > MAX_UNKNOWN_KEYS) this.unknown.delete(this.unknown.keys().next().value!);
      }
    }
    return value;
  }

  private async budgetOf(budgetId: string | null | undefined): Promise<BudgetRecord | undefined> {
    const budgets = budgetId ? this.options.budgets?.() : undefined;
    return budgets ? budgets.findBudget(budgetId!) : undefined;
  }

  /** After a change: drop it here at once, and tell every other replica. */
  async changed(hashes: string[] | 'all'): Promise<void> {
    const message = hashes === 'all' ? 'all' : `keys:${hashes.join(',')}`;
    this.apply(message);
    // The version is not noted as seen here: the row holds only the latest version, so a change
    // another replica stored since this one's last poll would be taken as seen with this one and
    // never dropped here (only these hashes were). The next poll drops everything, once.
    await this.repository?.bumpVersion(VERSION_NAME).catch((error: Error) => this.options.logger.warn({ err: error.message }, 'could not bump the principals version'));
    await this.feed.publish(message);
  }

  private apply(message: string): void {
    this.generation++;
    if (message === 'all' || !message.startsWith('keys:')) {
      this.cache.clear();
      this.unknown.clear();
      return;
    }
    for (const hash of message.slice('keys:'.length).split(',')) {
      this.cache.delete(hash);
      this.unknown.delete(hash);
    }
  }

  close(): Promise<void> {
    return this.feed.close();
  }
}
