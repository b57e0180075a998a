/**
 * Monthly allowances: each user of a tier with `monthly_credits` receives them once per calendar
 * month (UTC), as an "allowance" ledger row. The grant happens lazily, started by the user's first
 * request of the month, or by the background sweep, whichever comes first; the database makes it
 * happen once per user and month however many replicas try (CreditGrantRepository.grantAllowance).
 *
 * The request path never waits for it: while a grant is due (the cached user record names an older
 * month), admission counts the allowance as if granted — minus what the grant will expire — and
 * starts the grant in the background; once stored, the refreshed record carries it instead.
 *
 * With `rollover: false` (the default) the unused part of last month's allowance expires when the
 * new one is granted, as an "expiry" ledger row: usage is spent from the allowance first, so what
 * expires is that allowance minus the credits used since it was granted, never more than the
 * balance. Purchased and granted credits never expire.
 *
 * Changing a user's tier mid-month grants no difference: a month's allowance is the one of the
 * tier the user is in when it is granted, and the new tier's allowance applies from the next month
 * (a user whose month was not granted yet — say, moved from a tier without allowance — receives
 * the new tier's full allowance on their next request).
 */
import type { Logger } from 'pino';
import type { UserRecord } from '../auth/principals.js';
import type { CreditGrantRepository } from '../storage/repositories/credit-grants.js';
import type { PlatformSettings, Tier } from './settings.js';

/** The calendar month (UTC) of a time: "2026-12". */
export function monthOf(now: number): string {
  return new Date(now).toISOString().slice(0, 7);
}

/** True when the user's allowance for the month of `now` is still to be granted (or to expire). */
export function allowanceDue(user: Pick<UserRecord, 'allowancePeriod' | 'allowanceMillicredits'>, tier: Tier, now: number): boolean {
  if ((user.allowancePeriod ?? '') >= monthOf(now)) return false;
  return tier.monthlyMillicredits > 0 || (!tier.rollover && (user.allowanceMillicredits ?? 0) > 0);
}

/**
 * What a due grant will change the balance by, as admission counts it before the grant is stored:
 * the new allowance minus the most that can expire (never more than the stored grant will do).
 */
export function pendingAllowance(user: Pick<UserRecord, 'allowancePeriod' | 'allowanceMillicredits' | 'allowanceUsageBase' | 'creditBalanceMillicredits' | 'creditsUsedMillicredits'>, tier: Tier, now: number): number {
  if (!allowanceDue(user, tier, now)) return 0;
  // Usage not in this record yet only makes the real expiry smaller: this bound never over-admits.
  const usedSince = (user.creditsUsedMillicredits ?? 0) - (user.allowanceUsageBase ?? 0);
  const expiring = tier.rollover || !user.allowancePeriod ? 0 : Math.min(Math.max(user.creditBalanceMillicredits ?? 0, 0), Math.max(0, (user.allowanceMillicredits ?? 0) - usedSince));
  return tier.monthlyMillicredits - expiring;
}

export interface AllowanceOptions {
  settings: PlatformSettings;
  /** The ledger, once the database is ready (undefined before). */
  store: () => CreditGrantRepository | undefined;
  /** Drops cached user records everywhere after grants (their balances moved). */
  invalidate: () => Promise<void>;
  logger: Logger;
  now?: () => number;
}

const RETRY_AFTER_MS = 5_000;
const SWEEP_PAGE = 200;

export class Allowances {
  /**
   * Grants started or done by this process, by "user@created:month" (done ones stay, so a stale
   * record does not start another); the creation time keeps a user created again under a deleted
   * user's id from finding the previous account's grant and getting none of its own.
   */
  private readonly started = new Map<string, Promise<void>>();
  private readonly failedAt = new Map<string, number>();
  private timer: NodeJS.Timeout | undefined;
  private readonly now: () => number;

  /** True when some tier grants a monthly allowance (else nothing here ever runs). */
  readonly enabled: boolean;

  constructor(private readonly options: AllowanceOptions) {
    this.now = options.now ?? Date.now;
    this.enabled = [...options.settings.tiers.values()].some((tier) => tier.monthlyMillicredits > 0);
  }

  tierOf(user: UserRecord): Tier {
    const { tiers, defaultTier } = this.options.settings;
    return tiers.get(user.tier ?? defaultTier) ?? tiers.get(defaultTier)!;
  }

  /** What admission adds to the user's credits until a due grant is stored (millicredits). */
  pending(user: UserRecord): number {
    return this.enabled ? pendingAllowance(user, this.tierOf(user), this.now()) : 0;
  }

  /** Starts the user's grant in the background when it is due; never waits for it. */
  touch(user: UserRecord): void {
    if (!this.enabled || !allowanceDue(user, this.tierOf(user), this.now())) return;
    void this.grant(user.userId, user.tier ?? null, true, user.createdAt);
  }

  /** Grants the user's allowance for this month if due (once per process; the database decides across replicas). */
  grant(userId: string, tierName: string | null, invalidate = true, createdAt = 0): Promise<void> {
    const period = monthOf(this.now());
    const key = `${userId}@${createdAt}:${period}`;
    const running = this.started.get(key);
    if (running) return running;
    const failed = this.failedAt.get(key);
    if (failed !== undefined && this.now() - failed < RETRY_AFTER_MS) return Promise.resolve();
    const store = this.options.store();
    if (!store) return Promise.resolve();
    const tier = this.tierOf({ tier: tierName } as UserRecord);
    const work = store
      .grantAllowance(userId, period, tier.monthlyMillicredits, tier.rollover, `monthly allowance of tier "${tier.name}" for ${period}`, this.now())
      .then(async (result) => {
        this.failedAt.delete(key);
        if (result && result !== 'already') {
          this.options.logger.info({ event: 'credits.allowance', user: userId, period, tier: tier.name, entries: result.rows.map((row) => ({ kind: row.kind, millicredits: row.amount_millicredits })) }, 'monthly allowance granted');
        }
        // Granted here or elsewhere: either way the cached record is behind.
        if (invalidate && result) await this.options.invalidate();
      })
      .catch((error: Error) => {
        this.started.delete(key);
        this.failedAt.set(key, this.now());
        this.options.logger.error({ err: error.message, user: userId, period }, 'could not grant a monthly allowance; retried on a later request or sweep');
      });
    this.started.set(key, work);
    this.forgetOldMonths(period);
    return work;
  }

  /** Grants every due allowance (users in tiers with one), a page at a time; one invalidation at the end. */
  async sweep(): Promise<number> {
    const store = this.options.store();
    if (!store || !this.enabled) return 0;
    const { settings } = this.options;
    const period = monthOf(this.now());
    const tiers = [...settings.tiers.values()].filter((tier) => tier.monthlyMillicredits > 0).map((tier) => tier.name);
    const untiered = tiers.includes(settings.defaultTier);
    let after = '';
    let granted = 0;
    for (;;) {
      const page = await store.usersWithoutAllowance(period, tiers, untiered, after, SWEEP_PAGE);
      for (const user of page) {
        if (!allowanceDue(user, this.tierOf(user as UserRecord), this.now())) continue;
        await this.grant(user.userId, user.tier, false, user.createdAt);
        granted++;
      }
      if (page.length < SWEEP_PAGE) break;
      after = page[page.length - 1].userId;
    }
    if (granted > 0) await this.options.invalidate();
    return granted;
  }

  /** Sweeps now and then every `intervalMs` (unreferenced: never keeps the process alive). */
  startSweeping(intervalMs: number): void {
    if (!this.enabled || this.timer) return;
    const run = () => void this.sweep().catch((error: Error) => this.options.logger.warn({ err: error.message }, 'the monthly allowance sweep failed; it runs again later'));
    this.timer = setInterval(run, intervalMs);
    this.timer.unref();
  }

  stop(): void {
    if (this.timer) clearInterval(this.timer);
    this.timer = undefined;
  }

  /** Once per new month: the earlier months' grants and failures are forgotten (checking on every grant would be quadratic). */
  private forgetOldMonths(period: string): void {
    if (this.currentPeriod === period) return;
    this.currentPeriod = period;
    for (const entries of [this.started, this.failedAt]) for (const key of entries.keys()) if (!key.endsWith(`:${period}`)) entries.delete(key);
  }

  private currentPeriod: string | undefined;
}
