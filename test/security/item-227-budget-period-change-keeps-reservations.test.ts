/**
 * A new budget period started by a change of `budget_duration` (a key's by its own non-admin
 * holder; a user's or a team's by an admin) carries what the old period's live counter holds:
 * the reservations of calls still in flight, not only the spend the database recorded. Before, the
 * new period started with the database's spend and no reservation, so a key whose budget covered 3
 * calls, with 3 in flight (a 4th refused), switched "30d" to "720h" (the same length) and had 3
 * more admitted while the first 3 still ran: spend could reach twice the budget. The calls admitted
 * in the old period release their reservations from the period that now holds them when they
 * settle (none left held for good: the budget is usable again once they end). On one process
 * (SQLite, limits in memory) and on replicas sharing PostgreSQL and Redis.
 */
import OpenAI from 'openai';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { BudgetHold, LimitsState } from '../../src/state/limits-state.js';
import { LocalLimitsState } from '../../src/state/local-limits-state.js';
import { RedisLimitsState } from '../../src/state/redis-limits-state.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { clientFor, Management, pricedConfig } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';
import { deleteKeys, REDIS_URL, redisAvailableForTests, uniquePrefix } from '../support/redis.js';
import { PERIOD_BUDGET_USD, periodChangeScenario } from '../support/period-change.js';
import { stateSetups } from '../support/shared-state-setups.js';

const setups = await stateSetups();

const BUDGET_USD = PERIOD_BUDGET_USD;

describe.each(setups)('a budget period change keeps the reservations in flight: $name', (setup) => {
  const upstream = new MockOpenAI({ promptTokens: 1, completionTokens: 1 });
  let gateway: TestGateway;
  let api: Management;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    await upstream.start();
    const prepared = await setup.prepare();
    cleanup = prepared.cleanup;
    gateway = await startGateway(pricedConfig(upstream.url), prepared.options);
    api = new Management(gateway.url);
  });

  afterAll(async () => {
    upstream.alwaysFault = undefined;
    await gateway?.close();
    await upstream.close();
    await cleanup?.();
  });

  const scenario = (client: OpenAI, change: () => Promise<unknown>) => periodChangeScenario(upstream, client, change);

  it("a key's own non-admin holder switches budget_duration 30d → 720h with 3 calls in flight: nothing more is admitted", async () => {
    const user = await api.newUser({ user_role: 'internal_user' });
    const holderKey = await api.generateKey({ user_id: user.user_id });
    // Made by the holder itself: on a key an admin made, only an admin changes budget_duration (item 247).
    const key = await api.ok<{ key: string }>('POST', '/key/generate', { max_budget: BUDGET_USD, budget_duration: '30d' }, holderKey.key);
    const client = clientFor(gateway.url, key.key);
    await scenario(client, async () => {
      const updated = await api.ok<{ budget_duration: string }>('POST', '/key/update', { key: key.key, budget_duration: '720h' }, holderKey.key);
      expect(updated.budget_duration).toBe('720h');
    });
  });

  it("an admin switches a user's budget_duration with 3 calls of its key in flight: nothing more is admitted", async () => {
    const user = await api.newUser({ user_role: 'internal_user', max_budget: BUDGET_USD, budget_duration: '30d' });
    const key = await api.generateKey({ user_id: user.user_id });
    await scenario(clientFor(gateway.url, key.key), () => api.ok('POST', '/user/update', { user_id: user.user_id, budget_duration: '720h' }));
  });

  it("an admin switches a team's budget_duration with 3 calls of its key in flight: nothing more is admitted", async () => {
    const team = await api.newTeam({ max_budget: BUDGET_USD, budget_duration: '30d' });
    const key = await api.generateKey({ team_id: team.team_id });
    await scenario(clientFor(gateway.url, key.key), () => api.ok('POST', '/team/update', { team_id: team.team_id, budget_duration: '720h' }));
  });

  it('a key without a period given one (never resets → "1d") keeps its calls in flight counted too', async () => {
    const key = await api.generateKey({ max_budget: BUDGET_USD });
    await scenario(clientFor(gateway.url, key.key), () => api.updateKey(key.key, { budget_duration: '1d' }));
  });
});

/** The limits stores themselves: what a period move carries, and where a call admitted before it settles. */
const stores: Array<{ name: string; open(): Promise<{ state: LimitsState; close(): Promise<void> }> }> = [
  { name: 'embedded', open: async () => ({ state: new LocalLimitsState(), close: async () => undefined }) },
];
if (await redisAvailableForTests()) {
  stores.push({
    name: 'Redis',
    async open() {
      const prefix = uniquePrefix('item-227');
      const state = await RedisLimitsState.connect({ url: REDIS_URL, prefix, logger: pino({ level: 'silent' }) });
      return {
        state,
        async close() {
          await state.close();
          await deleteKeys(prefix);
        },
      };
    },
  });
}

describe.each(stores)('movePeriod on the $name limits store', (store) => {
  const SUBJECT = 'key:k1@1000';
  const OLD = 1_000;
  const NEW = 5_000;
  const hold = (period: number): BudgetHold => ({ subject: SUBJECT, period, maxMicros: 300, baselineMicros: 0 });
  const plan = (requestId: string, period: number, budgetMicros: number) => ({ requestId, rpm: [], tpm: [], tokens: 0, parallel: [], holds: [hold(period)], budgetMicros, readSpent: true });
  const settlement = (requestId: string, period: number, reservedMicros: number, actualMicros: number) => ({ requestId, holds: [hold(period)], reservedMicros, actualMicros, tpmSubjects: [], heldTokens: 0, usedTokens: 0, parallelSubjects: [], readSpent: true });

  it('carries the live spend not yet stored and the reservations in flight; calls admitted before settle into the new period, once', async () => {
    const { state, close } = await store.open();
    try {
      expect((await state.admit(plan('a', OLD, 100))).ok).toBe(true);
      expect((await state.admit(plan('b', OLD, 100))).ok).toBe(true);
      expect((await state.admit(plan('c', OLD, 50))).ok).toBe(true);
      // 'c' settles for 50 counted live (its usage row not written yet: the database still says 0).
      await state.settleAdmission(settlement('c', OLD, 50, 50));
      await state.movePeriod(SUBJECT, OLD, NEW, 0);
      // 50 spent + 200 held by 'a' and 'b': 50 left in the new period, not 300.
      expect(await state.spent(SUBJECT, NEW)).toBe(50);
      expect(await state.admit(plan('d', NEW, 51))).toMatchObject({ ok: false, refused: 'budget', outcome: { spentMicros: 50, reservedMicros: 200 } });
      // A replica still reading the old record (before its cache is told) reaches the same counter.
      expect(await state.admit(plan('e', OLD, 51))).toMatchObject({ ok: false, refused: 'budget' });
      // 'a', admitted in the old period, settles: its 100 leave the new period's reservations, its 30 count there.
      expect(await state.settleAdmission(settlement('a', OLD, 100, 30))).toEqual([80]);
      expect(await state.spent(SUBJECT, NEW)).toBe(80);
      // 80 spent + 100 held by 'b': 120 left.
      expect(await state.admit(plan('f', NEW, 121))).toMatchObject({ ok: false, refused: 'budget', outcome: { spentMicros: 80, reservedMicros: 100 } });
      expect((await state.admit(plan('f', NEW, 120))).ok).toBe(true);
      await state.settleAdmission(settlement('b', OLD, 100, 0));
      await state.settleAdmission(settlement('f', NEW, 120, 0));
      // Nothing left held: 220 of the 300 are free again, not one micro-dollar more.
      expect(await state.admit(plan('g', NEW, 221))).toMatchObject({ ok: false, refused: 'budget', outcome: { spentMicros: 80, reservedMicros: 0 } });
      expect((await state.admit(plan('g', NEW, 220))).ok).toBe(true);
    } finally {
      await close();
    }
  });

  // Only on Redis: the move runs before the change is stored, so the new period has no counter yet,
  // unless two updates of one holder ran at once (a shared store meets them from several replicas).
  it.runIf(store.name === 'Redis')('merges into a counter the new period already has, from the spend the database carried over', async () => {
    const { state, close } = await store.open();
    try {
      expect((await state.admit(plan('a', OLD, 100))).ok).toBe(true);
      await state.settleAdmission(settlement('x', OLD, 0, 40));
      // A call admitted on the new period (its record loaded from the database, 40 carried) before the move ran.
      const carried: BudgetHold = { ...hold(NEW), baselineMicros: 40 };
      expect((await state.admit({ ...plan('b', NEW, 60), holds: [carried] })).ok).toBe(true);
      await state.movePeriod(SUBJECT, OLD, NEW, 40);
      expect(await state.spent(SUBJECT, NEW)).toBe(40);
      // 40 spent + 160 held.
      expect(await state.admit({ ...plan('c', NEW, 101), holds: [carried] })).toMatchObject({ ok: false, refused: 'budget', outcome: { spentMicros: 40, reservedMicros: 160 } });
    } finally {
      await close();
    }
  });
});
