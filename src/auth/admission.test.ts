import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { LocalLimitsState } from '../state/local-limits-state.js';
import type { LimitsState } from '../state/limits-state.js';
import { Admission, type SettledSpend } from './admission.js';
import type { ResolvedKey } from './key-directory.js';

const logger = pino({ level: 'silent' });

function resolvedKey(overrides: Partial<ResolvedKey['key']> = {}): ResolvedKey {
  const now = Date.now();
  return {
    key: {
      id: 'key_1',
      hash: 'h'.repeat(64),
      prefix: 'sk-...abcd',
      alias: 'svc',
      userId: null,
      teamId: null,
      aliases: {},
      expiresAt: null,
      models: [],
      maxBudgetMicros: 100,
      softBudgetMicros: null,
      budgetDuration: null,
      budgetPeriodStart: now,
      spendMicros: 0,
      rpmLimit: 5,
      tpmLimit: null,
      maxParallelRequests: null,
      metadata: {},
      blocked: false,
      createdAt: now,
      updatedAt: now,
      ...overrides,
    },
  };
}

describe('Admission', () => {
  it('reserves the maximum cost and settles the exact one, so the budget holds', async () => {
    const admission = new Admission(new LocalLimitsState(), logger);
    const key = resolvedKey();
    const first = await admission.admit(key, 'c1', 60);
    await expect(admission.admit(key, 'c2', 60)).rejects.toMatchObject({ code: 'budget_exceeded', status: 400 });
    first.settle(10, 0);
    await new Promise((resolve) => setImmediate(resolve));
    const second = await admission.admit(key, 'c3', 60);
    expect(second.headers['x-ratelimit-remaining-requests']).toBe('3');
  });

  it('extends a reservation only within the budget, and settles what was extended', async () => {
    const admission = new Admission(new LocalLimitsState(), logger);
    const key = resolvedKey();
    const ticket = await admission.admit(key, 'c1', 60);
    // 60 of 100 reserved: 40 more fit, 41 do not.
    expect(await ticket.extend(41)).toBe(false);
    expect(await ticket.extend(40)).toBe(true);
    await expect(admission.admit(key, 'c2', 1)).rejects.toMatchObject({ code: 'budget_exceeded' });
    // Charged 100 (a read and an answer): within what was reserved, no overrun; the budget is spent.
    ticket.settle(100, 0);
    await new Promise((resolve) => setImmediate(resolve));
    await expect(admission.admit(key, 'c3', 1)).rejects.toMatchObject({ code: 'budget_exceeded' });
    // A settled ticket takes no extension.
    expect(await ticket.extend(1)).toBe(false);
  });

  it('a settle after a partial extension gives everything back', async () => {
    const admission = new Admission(new LocalLimitsState(), logger);
    const key = resolvedKey();
    const ticket = await admission.admit(key, 'c1', 50);
    expect(await ticket.extend(30)).toBe(true);
    ticket.settle(20, 0);
    await new Promise((resolve) => setImmediate(resolve));
    // 20 spent, nothing held: 80 fit.
    (await admission.admit(key, 'c2', 80)).settle(0, 0);
  });

  it('refuses with 503 when the limits store cannot be reached (fails closed)', async () => {
    const broken = new Proxy(new LocalLimitsState(), {
      get: (target, property) => (property === 'acquireRequest' || property === 'admit' ? async () => Promise.reject(new Error('Connection is closed.')) : Reflect.get(target, property)),
    }) as LimitsState;
    const admission = new Admission(broken, logger);
    await expect(admission.admit(resolvedKey(), 'c1', 1)).rejects.toMatchObject({ code: 'limits_unavailable', status: 503 });
  });

  it('a cost past the reservation is charged in full and reported as a budget overrun', async () => {
    const overruns: string[] = [];
    const state = new LocalLimitsState();
    const admission = new Admission(state, logger, (ledger) => overruns.push(ledger));
    const key = resolvedKey({ rpmLimit: null });
    (await admission.admit(key, 'c1', 30)).settle(30, 0);
    await new Promise((resolve) => setImmediate(resolve));
    expect(overruns).toEqual([]);
    (await admission.admit(key, 'c2', 30)).settle(90, 0);
    await new Promise((resolve) => setImmediate(resolve));
    expect(overruns).toEqual(['budget']);
    await expect(admission.admit(key, 'c3', 1)).rejects.toMatchObject({ code: 'budget_exceeded' });
  });

  it('tells the spend listener each holder\'s counted spend after a billed settle, and of a refusal that leaves no room (budget alerts)', async () => {
    const told: SettledSpend[] = [];
    const admission = new Admission(new LocalLimitsState(), logger, undefined, (spend) => told.push(spend));
    const key = resolvedKey({ rpmLimit: null, softBudgetMicros: 50 });
    (await admission.admit(key, 'c1', 30)).settle(0, 0);
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(told).toEqual([]);
    (await admission.admit(key, 'c2', 30)).settle(25, 0);
    (await admission.admit(key, 'c3', 30)).settle(70, 0);
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(told.map((spend) => spend.spentMicros)).toEqual([25, 95]);
    expect(told[0]).toMatchObject({ kind: 'key', id: 'key_1', name: 'key "svc"', maxBudgetMicros: 100, softBudgetMicros: 50, exhausted: false });
    await expect(admission.admit(key, 'c4', 30)).rejects.toMatchObject({ code: 'budget_exceeded' });
    expect(told[2]).toMatchObject({ spentMicros: 95, exhausted: true });
  });

  it('holds each request\'s estimated tokens against tpm_limit, and settles the real count', async () => {
    const admission = new Admission(new LocalLimitsState(), logger);
    const key = resolvedKey({ rpmLimit: null, maxBudgetMicros: null, tpmLimit: 50 });
    const first = await admission.admit(key, 'c1', 0, 20);
    expect(first.headers['x-ratelimit-remaining-tokens']).toBe('30');
    await admission.admit(key, 'c2', 0, 20);
    await expect(admission.admit(key, 'c3', 0, 20)).rejects.toMatchObject({ code: 'rate_limit_exceeded', status: 429, message: expect.stringContaining('40 held by requests in flight') });
    first.settle(0, 5);
    await new Promise((resolve) => setImmediate(resolve));
    const third = await admission.admit(key, 'c4', 0, 20);
    expect(third.headers['x-ratelimit-remaining-tokens']).toBe('5');
  });

  it('a request whose estimate alone is over tpm_limit is refused saying so, and gives back its rpm slot', async () => {
    const admission = new Admission(new LocalLimitsState(), logger);
    const key = resolvedKey({ rpmLimit: 1, maxBudgetMicros: null, tpmLimit: 50 });
    await expect(admission.admit(key, 'c1', 0, 51)).rejects.toMatchObject({ status: 429, message: expect.stringContaining('this request alone may use about 51 tokens') });
    expect((await admission.admit(key, 'c2', 0, 50)).headers['x-ratelimit-remaining-tokens']).toBe('0');
  });

  it('a request refused later in admission (budget) releases its token hold', async () => {
    const admission = new Admission(new LocalLimitsState(), logger);
    const key = resolvedKey({ rpmLimit: null, maxBudgetMicros: 10, tpmLimit: 50 });
    await expect(admission.admit(key, 'c1', 11, 40)).rejects.toMatchObject({ code: 'budget_exceeded' });
    expect((await admission.admit(key, 'c2', 10, 40)).headers['x-ratelimit-remaining-tokens']).toBe('10');
  });
});

describe('Admission: per-model budgets (model_max_budget)', () => {
  const served = (group: string) => ({ group, provider: 'openai', upstreamModel: `${group}-upstream` });
  const scope = (...groups: string[]) => ({ reachable: groups.map(served), aliasTarget: () => undefined });
  const settled = () => new Promise((resolve) => setImmediate(resolve));
  const perModel = (timePeriod: string | null = null) => resolvedKey({ maxBudgetMicros: null, rpmLimit: null, modelMaxBudget: { big: { budgetMicros: 1_000, timePeriod } } });

  it('reserves on the entry of every model the call may reach, charges the one that served it and releases the others', async () => {
    const state = new LocalLimitsState();
    const admission = new Admission(state, logger);
    const key = perModel();
    // Two calls that may reach "big" (one as a fallback) cannot both hold 600 of its 1000.
    const first = await admission.admit(key, 'c1', 600, 0, undefined, scope('small', 'big'));
    await expect(admission.admit(key, 'c2', 600, 0, undefined, scope('big'))).rejects.toMatchObject({ code: 'budget_exceeded', message: expect.stringContaining('key "svc" on model "big" (model_max_budget)') });
    // Served by "small": nothing is charged to "big", and its hold is released.
    expect(first.settle(500, 0, served('small'))).toEqual([]);
    await settled();
    expect(await state.spent('key:key_1@' + key.key.createdAt + '|model:big', 0)).toBe(0);
    const second = await admission.admit(key, 'c3', 600, 0, undefined, scope('big'));
    expect(second.settle(700, 0, served('big'))).toEqual(['big']);
    await settled();
    await expect(admission.admit(key, 'c4', 400, 0, undefined, scope('big'))).rejects.toMatchObject({ message: expect.stringMatching(/on model "big" \(model_max_budget\): \$0\.0003 of its \$0\.001 budget is left after \$0\.0007 spent/) });
    // A model without an entry is not held to it; a call reaching no budgeted model reserves nothing on it.
    (await admission.admit(key, 'c5', 5_000, 0, undefined, scope('small'))).settle(5_000, 0, served('small'));
  });

  it('starts from the recorded spend of the current period and resets with time_period', async () => {
    const day = 86_400_000;
    const createdAt = Date.now() - 10.5 * day;
    const periodStart = createdAt + 10 * day;
    const key = resolvedKey({ maxBudgetMicros: null, rpmLimit: null, createdAt, modelMaxBudget: { big: { budgetMicros: 1_000, timePeriod: '1d' } }, modelSpend: { big: { period: periodStart, spendMicros: 1_000 } } });
    const admission = new Admission(new LocalLimitsState(), logger);
    await expect(admission.admit(key, 'c1', 10, 0, undefined, scope('big'))).rejects.toMatchObject({ message: expect.stringContaining('spent $0.001 of its $0.001 budget; nothing is left (raise model_max_budget["big"].budget_limit, or wait for the budget to reset)') });
    // The same spend recorded for the previous day no longer counts.
    const yesterday = resolvedKey({ ...key.key, modelSpend: { big: { period: periodStart - day, spendMicros: 1_000 } } });
    await expect(new Admission(new LocalLimitsState(), logger).admit(yesterday, 'c2', 10, 0, undefined, scope('big'))).resolves.toBeDefined();
  });
});
