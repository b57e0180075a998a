import { describe, expect, it } from 'vitest';
import { requestRefund, TOKEN_HOLD_TTL_MS, WINDOW_MS } from './limits-state.js';
import { LocalLimitsState } from './local-limits-state.js';

/** A LocalLimitsState on a clock the test moves. */
function onClock(start = 1_000_000) {
  const clock = { now: start };
  return { clock, state: new LocalLimitsState(() => clock.now) };
}

describe('LocalLimitsState request window', () => {
  it('holds a bounded number of entries at any rate: 300 000 requests in a minute, a huge limit', async () => {
    const { clock, state } = onClock();
    const limits = [{ subject: 'key:busy', limit: 10_000_000 }];
    let admitted = 0;
    for (let index = 0; index < 300_000; index++) {
      clock.now += 0.2; // 5 000 requests a second
      if ((await state.acquireRequest(limits, `r${index}`)).ok) admitted++;
    }
    expect(admitted).toBe(300_000);
    // Every take still counts (none is a minute old yet)...
    expect(await state.acquireRequest(limits, 'probe')).toMatchObject({ ok: true, windows: [{ remaining: 10_000_000 - 300_001 }] });
    // ...in at most EXACT_ENTRIES + WINDOW_MS / MERGE_SPAN_MS + 1 entries.
    expect(state.requestWindowEntries('key:busy')).toBeLessThanOrEqual(1_024 + WINDOW_MS / 100 + 1);
    // A minute after the last take, nothing counts any more and the window is empty.
    clock.now += WINDOW_MS;
    expect(await state.acquireRequest(limits, 'later')).toMatchObject({ ok: true, windows: [{ remaining: 10_000_000 - 1 }] });
    expect(state.requestWindowEntries('key:busy')).toBe(1);
  });

  it('never admits more than the limit in any minute, merged or not (generated arrivals, checked against every admitted time)', async () => {
    let seed = 11;
    const random = () => (seed = (seed * 1_103_515_245 + 12_345) % 2 ** 31) / 2 ** 31;
    for (const limit of [3, 700, 5_000]) {
      const { clock, state } = onClock();
      const limits = [{ subject: 'key:k', limit }];
      const admittedAt: number[] = [];
      const refusedAt: number[] = [];
      for (let index = 0; index < 40_000; index++) {
        // Bursts and lulls: mostly sub-millisecond gaps, sometimes seconds.
        clock.now += random() < 0.995 ? random() * 2 : random() * 5_000;
        const outcome = await state.acquireRequest(limits, `r${index}`);
        if (outcome.ok) {
          admittedAt.push(clock.now);
          // Now and then a call is refused later in admission and gives its request back.
          if (random() < 0.05) {
            await state.refundRequest(['key:k'], `r${index}`, outcome.takenAt);
            admittedAt.pop();
          }
        } else refusedAt.push(clock.now);
      }
      // A take counts while it is less than a minute old: no minute may hold more than the limit.
      for (let last = 0, first = 0; last < admittedAt.length; last++) {
        while (admittedAt[first] <= admittedAt[last] - WINDOW_MS) first++;
        expect(last - first + 1).toBeLessThanOrEqual(limit);
      }
      // And a refusal is never for nothing: the minute before it holds the limit, up to takes merged within 100 ms.
      for (const at of refusedAt.slice(0, 2_000)) {
        const inMinute = admittedAt.filter((taken) => taken > at - WINDOW_MS - 100 && taken <= at).length;
        expect(inMinute).toBeGreaterThanOrEqual(limit);
      }
      expect(admittedAt.length).toBeGreaterThan(0);
    }
  });

  it('keeps each take apart while the window is small: a take leaves exactly a minute after it was made', async () => {
    const { clock, state } = onClock();
    const limits = [{ subject: 'key:small', limit: 2 }];
    expect((await state.acquireRequest(limits, 'a')).ok).toBe(true);
    clock.now += 50;
    expect((await state.acquireRequest(limits, 'b')).ok).toBe(true);
    expect(await state.acquireRequest(limits, 'c')).toMatchObject({ ok: false, retryAfterMs: WINDOW_MS - 50 });
    clock.now += WINDOW_MS - 50; // a is a minute old
    expect(await state.acquireRequest(limits, 'd')).toMatchObject({ ok: true, windows: [{ remaining: 0 }] });
  });

  it('gives a refunded request back, found by when it was taken, also inside a merged entry', async () => {
    const { clock, state } = onClock();
    const limits = [{ subject: 'key:r', limit: 3_000 }];
    let last;
    for (let index = 0; index < 3_000; index++) {
      clock.now += 0.5;
      last = await state.acquireRequest(limits, `r${index}`);
    }
    expect(last).toMatchObject({ ok: true, windows: [{ remaining: 0 }] });
    expect((await state.acquireRequest(limits, 'full')).ok).toBe(false);
    await state.refundRequest(['key:r'], 'r2999', last!.ok ? last!.takenAt : undefined);
    expect(await state.acquireRequest(limits, 'again')).toMatchObject({ ok: true, windows: [{ remaining: 0 }] });
    // A take that left the window long ago is nothing to give back.
    await state.refundRequest(['key:r'], 'r0', 0);
    expect((await state.acquireRequest(limits, 'still full')).ok).toBe(false);
    await expect(state.refundRequest(['key:r'], 'x', undefined)).rejects.toThrow(/takenAt/);
  });
});

describe('LocalLimitsState idle subjects', () => {
  it('drops the windows of subjects that took nothing for a minute', async () => {
    const { clock, state } = onClock();
    for (let index = 0; index < 1_000; index++) {
      await state.acquireRequest([{ subject: `key:short-lived-${index}`, limit: 5 }], `r${index}`);
      await state.reserveTokens([{ subject: `key:short-lived-${index}`, limit: 500 }], `r${index}`, 10);
      await state.settleTokens([`key:short-lived-${index}`], `r${index}`, 10, 8);
    }
    expect(state.windowCount).toBe(2_000);
    clock.now += WINDOW_MS + 1;
    expect((await state.acquireRequest([{ subject: 'key:active', limit: 5 }], 'now')).ok).toBe(true);
    expect(state.windowCount).toBe(1);
    // A dropped subject starts afresh: its old takes no longer counted anyway.
    expect(await state.acquireRequest([{ subject: 'key:short-lived-0', limit: 5 }], 'again')).toMatchObject({ ok: true, windows: [{ remaining: 4 }] });
  });
});

describe('LocalLimitsState token window', () => {
  it('counts the tokens of a minute in bounded memory', async () => {
    const { clock, state } = onClock();
    const tpm = [{ subject: 'key:t', limit: 1_000_000_000 }];
    for (let index = 0; index < 100_000; index++) {
      clock.now += 0.3;
      const plan = { requestId: `r${index}`, rpm: [], tpm, tokens: 10, parallel: [], holds: [], budgetMicros: 0, readSpent: false };
      expect((await state.admit(plan)).ok).toBe(true);
      await state.settleAdmission({ requestId: `r${index}`, holds: [], reservedMicros: 0, actualMicros: 0, tpmSubjects: ['key:t'], heldTokens: 10, usedTokens: 7, parallelSubjects: [], readSpent: false });
    }
    const probe = await state.reserveTokens(tpm, 'probe', 0);
    expect(probe).toMatchObject({ ok: true, windows: [{ remaining: 1_000_000_000 - 700_000 }] });
  });
});

describe('LocalLimitsState held tokens', () => {
  const tpm = [{ subject: 'key:h', limit: 1_000_000 }];
  const plan = (requestId: string, tokens: number) => ({ requestId, rpm: [], tpm, tokens, parallel: [], holds: [], budgetMicros: 0, readSpent: false });
  const settlement = (requestId: string, usedTokens: number) => ({ requestId, holds: [], reservedMicros: 0, actualMicros: 0, tpmSubjects: ['key:h'], heldTokens: 0, usedTokens, parallelSubjects: [], readSpent: false });

  it('counts what calls in flight hold, gives it back when each settles, and lets a hold expire after its TTL', async () => {
    const { clock, state } = onClock();
    expect((await state.admit(plan('a', 300))).ok).toBe(true);
    clock.now += 1_000;
    expect(await state.admit(plan('b', 200))).toMatchObject({ ok: true, tokens: [{ remaining: 1_000_000 - 500 }] });
    expect(state.heldTokenEntries('key:h').total).toBe(500);
    await state.settleAdmission(settlement('b', 150));
    // b's 200 held become its 150 counted; a still holds 300.
    expect(await state.reserveTokens(tpm, 'c', 0)).toMatchObject({ ok: true, windows: [{ remaining: 1_000_000 - 150 - 300 }] });
    await state.settleTokens(['key:h'], 'c', 0, 0);
    // a never settles (its replica died): ten minutes after it was taken its hold no longer counts.
    clock.now += TOKEN_HOLD_TTL_MS - 1_000;
    expect(await state.reserveTokens(tpm, 'd', 0)).toMatchObject({ ok: true, windows: [{ remaining: 1_000_000 }] });
    expect(state.heldTokenEntries('key:h').total).toBe(0);
  });

  it('refuses on what is held as on what was counted, exactly at the limit', async () => {
    const { state } = onClock();
    const tight = [{ subject: 'key:tight', limit: 1_000 }];
    const take = (requestId: string, tokens: number) => state.admit({ ...plan(requestId, tokens), tpm: tight });
    expect((await take('a', 600)).ok).toBe(true);
    expect((await take('b', 400)).ok).toBe(true);
    expect(await take('c', 1)).toMatchObject({ ok: false, refused: 'tokens', outcome: { heldTokens: 1_000 } });
    await state.settleAdmission({ ...settlement('a', 100), tpmSubjects: ['key:tight'] });
    // 100 counted + 400 held: 500 more fit, 501 do not.
    expect((await take('d', 501)).ok).toBe(false);
    expect((await take('e', 500)).ok).toBe(true);
  });

  it('keeps its queue bounded behind a call that holds for minutes while thousands settle', async () => {
    const { clock, state } = onClock();
    expect((await state.admit(plan('long', 50))).ok).toBe(true);
    for (let index = 0; index < 50_000; index++) {
      clock.now += 1;
      expect((await state.admit(plan(`r${index}`, 10))).ok).toBe(true);
      await state.settleAdmission(settlement(`r${index}`, 10));
    }
    // The long call still holds its 50, and the 50 000 settled holds behind it are not kept.
    expect(state.heldTokenEntries('key:h')).toMatchObject({ total: 50 });
    expect(state.heldTokenEntries('key:h').queued).toBeLessThanOrEqual(2 * 1_024 + 2);
  });

  it('gives the same request\'s earlier hold back when it holds again', async () => {
    const { state } = onClock();
    await state.reserveTokens(tpm, 'same', 300);
    await state.reserveTokens(tpm, 'same', 100);
    expect(state.heldTokenEntries('key:h').total).toBe(100);
    await state.settleTokens(['key:h'], 'same', 100, 0);
    expect(state.heldTokenEntries('key:h')).toEqual({ total: 0, queued: 0 });
  });
});

describe('requestRefund', () => {
  it('gives a request back once, however often it is called (a take is found by time, not by id)', async () => {
    const { state } = onClock();
    const limits = [{ subject: 'key:once', limit: 2 }];
    const first = await state.acquireRequest(limits, 'a');
    await state.acquireRequest(limits, 'b'); // same millisecond as a
    expect((await state.acquireRequest(limits, 'c')).ok).toBe(false);
    const refund = requestRefund(state, ['key:once'], 'a', first.ok ? first.takenAt : undefined);
    await Promise.all([refund(), refund()]);
    await refund();
    // One slot back, not three: b still counts.
    expect(await state.acquireRequest(limits, 'd')).toMatchObject({ ok: true, windows: [{ remaining: 0 }] });
    expect((await state.acquireRequest(limits, 'e')).ok).toBe(false);
  });
});
