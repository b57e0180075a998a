import { describe, expect, it } from 'vitest';
import type { AdmissionPlan } from './limits-state.js';
import { LocalLimitsState } from './local-limits-state.js';
import { WorkerHeldLimits } from './worker-held-limits.js';

const hold = { subject: 'key:w', period: 0, maxMicros: 1_000, baselineMicros: 0 };
const plan = (requestId: string, overrides: Partial<AdmissionPlan> = {}): AdmissionPlan => ({
  requestId,
  rpm: [],
  tpm: [{ subject: 'key:w', limit: 100 }],
  tokens: 60,
  parallel: [{ subject: 'key:w', limit: 1 }],
  holds: [hold],
  budgetMicros: 600,
  readSpent: false,
  ...overrides,
});

describe('WorkerHeldLimits (the primary\'s limits as one worker reaches them)', () => {
  it('gives back everything a dead worker held: admissions, reservations, slots and token holds', async () => {
    const shared = new LocalLimitsState();
    const crashed = new WorkerHeldLimits(shared);
    const other = new WorkerHeldLimits(shared);
    expect(await crashed.admit(plan('a'))).toMatchObject({ ok: true });
    expect(await crashed.reserve([hold], 300)).toEqual({ ok: true });
    expect(await crashed.acquireParallel([{ subject: 'key:p', limit: 1 }])).toEqual({ ok: true });
    expect(await crashed.reserveTokens([{ subject: 'key:t', limit: 100 }], 't', 80)).toMatchObject({ ok: true });
    // Everything is taken: the other worker is refused on each limit.
    expect(await other.admit(plan('b'))).toMatchObject({ ok: false, refused: 'tokens' });
    expect(await other.admit(plan('b', { tpm: [] }))).toMatchObject({ ok: false, refused: 'parallel' });
    expect(await other.admit(plan('b', { tpm: [], parallel: [] }))).toMatchObject({ ok: false, refused: 'budget' });
    expect(await other.acquireParallel([{ subject: 'key:p', limit: 1 }])).toMatchObject({ ok: false });
    expect(await other.reserveTokens([{ subject: 'key:t', limit: 100 }], 'u', 80)).toMatchObject({ ok: false });

    expect(await crashed.releaseAll()).toBe(4);
    expect(crashed.held).toBe(0);
    expect(await other.admit(plan('b'))).toMatchObject({ ok: true });
    expect(await other.acquireParallel([{ subject: 'key:p', limit: 1 }])).toEqual({ ok: true });
    expect(await other.reserveTokens([{ subject: 'key:t', limit: 100 }], 'u', 80)).toMatchObject({ ok: true });
    // Nothing of the dead worker's calls was charged.
    expect(await shared.spent('key:w', 0)).toBe(0);
  });

  it('what was given back is not given back again, and equal reservations are matched one by one', async () => {
    const shared = new LocalLimitsState();
    const worker = new WorkerHeldLimits(shared);
    expect(await worker.admit(plan('a'))).toMatchObject({ ok: true });
    await worker.settleAdmission({ requestId: 'a', holds: [hold], reservedMicros: 600, actualMicros: 250, tpmSubjects: ['key:w'], heldTokens: 60, usedTokens: 40, parallelSubjects: ['key:w'], readSpent: false });
    expect(await worker.reserve([hold], 100)).toEqual({ ok: true });
    expect(await worker.reserve([hold], 100)).toEqual({ ok: true });
    await worker.settle([hold], 100, 30);
    expect(worker.held).toBe(1);
    expect(await worker.releaseAll()).toBe(1);
    // 250 + 30 spent, nothing reserved: 720 of 1 000 can be reserved again.
    expect(await shared.spent('key:w', 0)).toBe(280);
    expect(await worker.reserve([hold], 720)).toEqual({ ok: true });
    expect(await worker.reserve([hold], 1)).toMatchObject({ ok: false });
  });
});
