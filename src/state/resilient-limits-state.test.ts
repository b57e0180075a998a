/**
 * The outage journal without a real Redis: a fake shared state that fails like a closed connection,
 * then answers again.
 */
import { EventEmitter } from 'node:events';
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { BudgetHold } from './limits-state.js';
import type { RedisLimitsState } from './redis-limits-state.js';
import { ResilientLimitsState, SharedStateUnavailable } from './resilient-limits-state.js';
import { SharedStateStatus } from './shared-state-status.js';

const logger = pino({ level: 'silent' });
const hold = (baselineMicros = 0): BudgetHold => ({ subject: 'key:k', period: 0, maxMicros: 1_000, baselineMicros });

function fakeShared() {
  const redis = Object.assign(new EventEmitter(), { status: 'ready' });
  const calls: string[] = [];
  let up = true;
  /** Every call with its first `shown` arguments (the operation numbers of redis-once.ts are checked in their own tests). */
  const op =
    <T>(name: string, value: T, shown: number) =>
    async (...args: unknown[]): Promise<T> => {
      if (!up) throw new Error('Connection is closed.');
      calls.push(`${name}(${args.slice(0, shown).map((arg) => (Array.isArray(arg) ? arg.length : JSON.stringify(arg))).join(',')})`);
      return value;
    };
  const shared = {
    redis,
    reserve: op('reserve', { ok: true as const }, 2),
    unreserve: op('unreserve', undefined, 2),
    settle: op('settle', undefined, 3),
    spent: op('spent', 0, 2),
    acquireRequest: op('acquireRequest', { ok: true as const, windows: [] }, 2),
    refundRequest: op('refundRequest', undefined, 2),
    reserveTokens: op('reserveTokens', { ok: true as const, windows: [] }, 3),
    settleTokens: op('settleTokens', undefined, 4),
    acquireParallel: op('acquireParallel', { ok: true as const }, 1),
    releaseParallel: op('releaseParallel', undefined, 1),
    admit: async (plan: { requestId: string }) => {
      if (!up) throw new Error('Connection is closed.');
      calls.push(`admit(${plan.requestId})`);
      return { ok: true as const, requests: [], tokens: [], spent: [] };
    },
    undoAdmit: async (plan: { requestId: string }) => {
      if (!up) throw new Error('Connection is closed.');
      calls.push(`undoAdmit(${plan.requestId})`);
    },
    settleAdmission: async (settlement: { requestId: string; readSpent: boolean }) => {
      if (!up) throw new Error('Connection is closed.');
      calls.push(`settleAdmission(${settlement.requestId})`);
      return settlement.readSpent ? [7] : [];
    },
    close: async () => undefined,
  };
  return {
    shared: shared as unknown as RedisLimitsState,
    calls,
    down: () => {
      up = false;
    },
    back: () => {
      up = true;
      redis.emit('ready');
    },
  };
}

async function started(policy: 'local' | 'refuse' = 'local') {
  const fake = fakeShared();
  const status = new SharedStateStatus(logger, policy);
  const state = new ResilientLimitsState(fake.shared, status, logger);
  fake.shared.redis.emit('ready');
  await state.connected(100);
  return { ...fake, status, state };
}

describe('ResilientLimitsState', () => {
  it('settles each reservation where it was taken and replays, in order, what Redis must learn', async () => {
    const { state, status, calls, down, back } = await started();
    expect(await state.reserve([hold()], 100)).toEqual({ ok: true }); // in Redis
    down();
    expect(await state.reserve([hold()], 100)).toEqual({ ok: true }); // Redis fails: on this replica's memory
    expect(status.degraded).toBe(true);
    await state.settle([hold()], 100, 40); // the Redis reservation: journaled
    await state.settle([hold()], 100, 30); // the local one: settled here, its spend journaled
    // And the undo of the reservation whose call failed (it may have run in Redis: its reply lost).
    expect(state.pending).toBe(3);
    back();
    await state.recover();
    expect(status.degraded).toBe(false);
    expect(state.pending).toBe(0);
    // Redis learns the release of its own reservation once and both spends once (two reservations of
    // one size on one counter may settle on either side: the totals are what count).
    expect(calls.slice(0, 2)).toEqual(['reserve(1,100)', 'unreserve(1,100)']);
    const settles = calls.slice(2).map((call) => /settle\(1,(\d+),(\d+)\)/.exec(call)!.slice(1).map(Number));
    expect(settles).toHaveLength(2);
    expect(settles.reduce((sum, [released]) => sum + released, 0)).toBe(100);
    expect(settles.reduce((sum, [, spent]) => sum + spent, 0)).toBe(70);
  });

  it('enforces the budget on its own memory during the outage, counting spend settled meanwhile', async () => {
    const { state, down } = await started();
    down();
    await state.reserve([hold(500)], 0).catch(() => undefined); // trips the outage
    expect(await state.reserve([hold(500)], 400)).toEqual({ ok: true });
    await state.settle([hold(500)], 400, 400);
    expect(await state.reserve([hold(500)], 200)).toMatchObject({ ok: false, spentMicros: 900 });
    // The recorded spend reported by the database moves up: the counter follows it.
    expect(await state.reserve([hold(950)], 100)).toMatchObject({ ok: false, spentMicros: 950 });
  });

  it('rpm ids, token holds and parallel slots taken locally are released locally, the others later in Redis', async () => {
    const { state, calls, down, back } = await started();
    await state.acquireParallel([{ subject: 'key:k', limit: 2 }]); // in Redis
    down();
    const r1 = await state.acquireRequest([{ subject: 'key:k', limit: 1 }], 'r1');
    expect(r1).toMatchObject({ ok: true, takenAt: expect.any(Number) });
    expect(await state.acquireRequest([{ subject: 'key:k', limit: 1 }], 'r2')).toMatchObject({ ok: false }); // r1 took the one slot here
    await state.refundRequest(['key:k'], 'r1', r1.ok ? r1.takenAt : undefined);
    expect(await state.acquireRequest([{ subject: 'key:k', limit: 1 }], 'r3')).toMatchObject({ ok: true });
    await state.releaseParallel(['key:k']); // the Redis slot: journaled
    back();
    await state.recover();
    // r1's id is removed from Redis's window too (its acquire failed there: it may have run).
    expect(calls).toEqual(['acquireParallel(1)', 'refundRequest(1,"r1")', 'releaseParallel(1)']);
  });

  it('admit and settleAdmission go to Redis as one call each while it answers; on memory step by step in an outage, each settled where taken', async () => {
    const { state, calls, down, back } = await started();
    const plan = (requestId: string) => ({ requestId, rpm: [{ subject: 'key:k', limit: 1 }], tpm: [{ subject: 'key:k', limit: 100 }], tokens: 5, parallel: [{ subject: 'key:k', limit: 1 }], holds: [hold()], budgetMicros: 100, readSpent: false });
    const settlement = (requestId: string) => ({ requestId, holds: [hold()], reservedMicros: 100, actualMicros: 40, tpmSubjects: ['key:k'], heldTokens: 5, usedTokens: 3, parallelSubjects: ['key:k'], readSpent: false });
    expect(await state.admit(plan('r1'))).toMatchObject({ ok: true }); // in Redis, one call
    expect(calls).toEqual(['admit(r1)']);
    down();
    await state.reserve([hold()], 0).catch(() => undefined); // trips the outage
    expect(await state.admit(plan('r2'))).toMatchObject({ ok: true }); // on memory
    expect(await state.admit(plan('r3'))).toMatchObject({ ok: false, refused: 'requests' }); // r2 holds the local rpm slot
    await state.settleAdmission(settlement('r1')); // taken in Redis: journaled
    await state.settleAdmission(settlement('r2')); // taken here: settled here, its spend journaled
    expect(state.pending).toBe(5); // and the undo of the reserve that tripped the outage
    back();
    await state.recover();
    expect(state.pending).toBe(0);
    expect(calls.slice(1).sort()).toEqual(['releaseParallel(1)', 'settle(1,0,40)', 'settle(1,100,40)', 'settleTokens(1,"r1",5,3)', 'unreserve(1,0)']);
    // Back up: one call each again.
    expect(await state.admit(plan('r4'))).toMatchObject({ ok: true });
    expect(await state.settleAdmission({ ...settlement('r4'), readSpent: true })).toEqual([7]);
    expect(calls.slice(6)).toEqual(['admit(r4)', 'settleAdmission(r4)']);
  });

  it('a combined admit that fails for want of Redis runs on memory; its settle stays there, the spend journaled once', async () => {
    const { state, calls, down, back, status } = await started();
    const plan = { requestId: 'f1', rpm: [{ subject: 'key:f', limit: 1 }], tpm: [{ subject: 'key:f', limit: 100 }], tokens: 5, parallel: [{ subject: 'key:f', limit: 1 }], holds: [hold()], budgetMicros: 100, readSpent: false };
    down(); // not yet known: the combined call itself fails
    expect(await state.admit(plan)).toMatchObject({ ok: true });
    expect(status.degraded).toBe(true);
    // Redis answers again before the call ends: what was taken here is still settled here.
    back();
    await state.recover();
    await state.settleAdmission({ requestId: 'f1', holds: [hold()], reservedMicros: 100, actualMicros: 40, tpmSubjects: ['key:f'], heldTokens: 5, usedTokens: 3, parallelSubjects: ['key:f'], readSpent: false });
    await state.recover();
    expect(state.pending).toBe(0);
    // The undo of the combined call (it may have run in Redis, its reply lost: then what it took is
    // given back), and the spend (reserved 0 there), once; no settleAdmission, release or token
    // settle for what Redis did not hold.
    expect(calls).toEqual(['undoAdmit(f1)', 'settle(1,0,40)']);
    // A new call goes to Redis as one again.
    expect(await state.admit({ ...plan, requestId: 'f2' })).toMatchObject({ ok: true });
    expect(calls.at(-1)).toBe('admit(f2)');
  });

  it('under shared_state_outage: refuse, calls with limits fail instead of running locally', async () => {
    const { state, down } = await started('refuse');
    down();
    await expect(state.reserve([hold()], 10)).rejects.toBeInstanceOf(SharedStateUnavailable);
    await expect(state.acquireRequest([{ subject: 'key:k', limit: 5 }], 'r')).rejects.toBeInstanceOf(SharedStateUnavailable);
  });
});
