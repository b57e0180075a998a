import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { UserRecord } from '../auth/principals.js';
import type { CreditGrantRepository } from '../storage/repositories/credit-grants.js';
import { allowanceDue, Allowances, monthOf, pendingAllowance } from './allowances.js';
import { platformSchema, platformSettingsFrom } from './settings.js';
import { stripeSchema } from './stripe-settings.js';

const settings = platformSettingsFrom(platformSchema.parse({ tiers: { starter: { markup: 0.4, monthly_credits: 100 }, pro: { markup: 0.6, monthly_credits: 500, rollover: true } } }))!;
const starter = settings.tiers.get('starter')!;
const pro = settings.tiers.get('pro')!;
const DEC = Date.UTC(2026, 11, 15);

function user(fields: Partial<UserRecord>): UserRecord {
  return { userId: 'u1', tier: 'starter', creditBalanceMillicredits: 0, creditsUsedMillicredits: 0, allowancePeriod: null, allowanceMillicredits: 0, allowanceUsageBase: 0, ...fields } as UserRecord;
}

describe('monthly allowance settings', () => {
  it('reads monthly_credits and rollover per tier (default: none, expiring)', () => {
    expect(starter).toMatchObject({ monthlyMillicredits: 100_000, rollover: false });
    expect(pro).toMatchObject({ monthlyMillicredits: 500_000, rollover: true });
    expect(settings.tiers.get('free')).toMatchObject({ monthlyMillicredits: 0, rollover: false });
    expect(() => platformSchema.parse({ tiers: { starter: { markup: 0, monthly_credits: -1 } } })).toThrow(/zero or more/);
    expect(() => platformSchema.parse({ tiers: { starter: { markup: 0, rollover: 'yes' } } })).toThrow();
  });

  it('refuses a Stripe section with unknown keys or a missing secret, and prices packages in minor units', () => {
    const base = { secret_key: 'sk_test_x', webhook_secret: 'whsec_x', success_url: 'https://app.example/ok', cancel_url: 'https://app.example/no', packages: { small: { credits: 1000, price: 10 } } };
    expect(() => stripeSchema.parse({ ...base, publishable_key: 'pk' })).toThrow(/publishable_key/);
    expect(() => stripeSchema.parse({ ...base, secret_key: undefined })).toThrow(/secret_key|Required|required/);
    const jpy = platformSettingsFrom(platformSchema.parse({ stripe: { ...base, currency: 'JPY', packages: { small: { credits: 1000, price: 1500 } } } }))!.stripe!;
    expect(jpy.packages.get('small')).toMatchObject({ millicredits: 1_000_000, unitAmount: 1500 });
    const usd = platformSettingsFrom(platformSchema.parse({ stripe: base }))!.stripe!;
    expect(usd.packages.get('small')).toMatchObject({ unitAmount: 1000 });
    expect(usd.apiBase.origin).toBe('https://api.stripe.com');
  });
});

describe('when an allowance is due and what admission counts meanwhile', () => {
  it('is due once per calendar month (UTC), by the month the record names', () => {
    expect(monthOf(Date.UTC(2026, 11, 31, 23, 59, 59))).toBe('2026-12');
    expect(monthOf(Date.UTC(2027, 0, 1))).toBe('2027-01');
    expect(allowanceDue(user({}), starter, DEC)).toBe(true);
    expect(allowanceDue(user({ allowancePeriod: '2026-12' }), starter, DEC)).toBe(false);
    expect(allowanceDue(user({ allowancePeriod: '2026-11' }), starter, DEC)).toBe(true);
    // A tier without allowance: due only to expire an earlier one.
    expect(allowanceDue(user({ tier: 'free' }), settings.tiers.get('free')!, DEC)).toBe(false);
    expect(allowanceDue(user({ tier: 'free', allowancePeriod: '2026-11', allowanceMillicredits: 100_000 }), settings.tiers.get('free')!, DEC)).toBe(true);
  });

  it('counts the new allowance minus the most that can expire', () => {
    expect(pendingAllowance(user({}), starter, DEC)).toBe(100_000);
    // 100 granted in November, 30 used since, balance 90: 70 of it is left and will expire.
    expect(pendingAllowance(user({ allowancePeriod: '2026-11', allowanceMillicredits: 100_000, allowanceUsageBase: 10_000, creditsUsedMillicredits: 40_000, creditBalanceMillicredits: 90_000 }), starter, DEC)).toBe(30_000);
    // Never more than the balance expires.
    expect(pendingAllowance(user({ allowancePeriod: '2026-11', allowanceMillicredits: 100_000, creditBalanceMillicredits: 20_000 }), starter, DEC)).toBe(80_000);
    // Rollover: nothing expires.
    expect(pendingAllowance(user({ tier: 'pro', allowancePeriod: '2026-11', allowanceMillicredits: 500_000, creditBalanceMillicredits: 500_000 }), pro, DEC)).toBe(500_000);
    expect(pendingAllowance(user({ allowancePeriod: '2026-12' }), starter, DEC)).toBe(0);
  });
});

describe('granting', () => {
  function fakeStore() {
    const calls: Array<{ userId: string; period: string; amount: number; rollover: boolean }> = [];
    let release: () => void = () => undefined;
    const gate = new Promise<void>((resolve) => (release = resolve));
    const store = {
      async grantAllowance(userId: string, period: string, amount: number, rollover: boolean) {
        calls.push({ userId, period, amount, rollover });
        await gate;
        return { rows: [], balanceAfter: amount };
      },
      async usersWithoutAllowance() {
        return [{ userId: 'swept', tier: 'pro', allowancePeriod: null, allowanceMillicredits: 0 }];
      },
    } as unknown as CreditGrantRepository;
    return { store, calls, release };
  }

  it('a burst of first requests starts one grant per user and month, never awaited by the request', async () => {
    const { store, calls, release } = fakeStore();
    let invalidations = 0;
    let now = DEC;
    const allowances = new Allowances({ settings, store: () => store, invalidate: async () => void invalidations++, logger: pino({ level: 'silent' }), now: () => now });
    for (let index = 0; index < 50; index++) allowances.touch(user({}));
    expect(calls).toEqual([{ userId: 'u1', period: '2026-12', amount: 100_000, rollover: false }]);
    release();
    await allowances.grant('u1', 'starter');
    expect(invalidations).toBe(1);
    // A stale record (still naming November) starts nothing more this month.
    allowances.touch(user({}));
    expect(calls).toHaveLength(1);
    // Next month: one more.
    now = Date.UTC(2027, 0, 1, 0, 0, 1);
    allowances.touch(user({ allowancePeriod: '2026-12' }));
    expect(calls.at(-1)).toEqual({ userId: 'u1', period: '2027-01', amount: 100_000, rollover: false });
  });

  it('a tier change mid-month grants no difference: the month is granted at the tier of the grant, the new one from next month', async () => {
    const { store, calls, release } = fakeStore();
    release();
    let now = DEC;
    const allowances = new Allowances({ settings, store: () => store, invalidate: async () => undefined, logger: pino({ level: 'silent' }), now: () => now });
    await allowances.grant('u1', 'starter');
    // Moved to pro on the 20th: the record says December is granted, so nothing is due or pending.
    const upgraded = user({ tier: 'pro', allowancePeriod: '2026-12', allowanceMillicredits: 100_000 });
    now = Date.UTC(2026, 11, 20);
    allowances.touch(upgraded);
    expect(allowances.pending(upgraded)).toBe(0);
    expect(calls).toHaveLength(1);
    now = Date.UTC(2027, 0, 2);
    expect(allowances.pending(upgraded)).toBe(500_000);
    allowances.touch(upgraded);
    expect(calls.at(-1)).toEqual({ userId: 'u1', period: '2027-01', amount: 500_000, rollover: true });
  });

  it('the sweep grants every due user with one invalidation; a failed grant is retried later, not lost', async () => {
    const { store, calls, release } = fakeStore();
    release();
    let invalidations = 0;
    const allowances = new Allowances({ settings, store: () => store, invalidate: async () => void invalidations++, logger: pino({ level: 'silent' }), now: () => DEC });
    expect(await allowances.sweep()).toBe(1);
    expect(calls).toEqual([{ userId: 'swept', period: '2026-12', amount: 500_000, rollover: true }]);
    expect(invalidations).toBe(1);

    let attempts = 0;
    const failing = { grantAllowance: async () => { attempts++; throw new Error('database down'); } } as unknown as CreditGrantRepository;
    let now = DEC;
    const retrying = new Allowances({ settings, store: () => failing, invalidate: async () => undefined, logger: pino({ level: 'silent' }), now: () => now });
    await retrying.grant('u1', 'starter');
    await retrying.grant('u1', 'starter');
    expect(attempts).toBe(1);
    now += 6_000;
    await retrying.grant('u1', 'starter');
    expect(attempts).toBe(2);
  });
});
