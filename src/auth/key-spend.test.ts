import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { LocalLimitsState } from '../state/local-limits-state.js';
import { Admission, budgetSubjectName } from './admission.js';
import { KeySpendTally } from './key-spend.js';
import type { KeyRecord } from './principals.js';

const logger = pino({ level: 'silent' });
const created = Date.UTC(2026, 0, 1);

function key(overrides: Partial<KeyRecord> = {}): KeyRecord {
  return {
    id: 'key_1', hash: 'h'.repeat(64), prefix: 'sk-...abcd', alias: null, userId: null, teamId: null, aliases: {}, expiresAt: null, models: [],
    maxBudgetMicros: null, softBudgetMicros: null, budgetDuration: null, budgetPeriodStart: null, spendMicros: 0, rpmLimit: null, tpmLimit: null,
    maxParallelRequests: null, metadata: {}, blocked: false, createdAt: created, updatedAt: created, ...overrides,
  };
}

describe('KeySpendTally', () => {
  it('adds each settled call to the spend its cached record shows, and takes a newer record only when it says more', () => {
    const tally = new KeySpendTally();
    const cached = key({ spendMicros: 500 });
    expect(tally.spendOf(cached)).toBe(500);
    expect(tally.settled(cached, 120, undefined)).toBe(620);
    expect(tally.settled(cached, 80, undefined)).toBe(700);
    expect(tally.spendOf(cached)).toBe(700);
    // The record read again holds only the first call so far (the writer's queue): the tally stays.
    expect(tally.spendOf(key({ spendMicros: 620 }))).toBe(700);
    // Another replica's calls made the record larger: it wins.
    expect(tally.spendOf(key({ spendMicros: 900 }))).toBe(900);
    expect(tally.settled(key({ spendMicros: 900 }), 10, undefined)).toBe(910);
  });

  it('a live counter larger than what is known here is the floor the cost is added to, never added on top', () => {
    const tally = new KeySpendTally();
    const cached = key({ spendMicros: 100 });
    tally.settled(cached, 50, undefined);
    expect(tally.settled(cached, 25, 400)).toBe(425);
    expect(tally.settled(cached, 25, 200)).toBe(450);
    tally.observed(cached, 300);
    expect(tally.spendOf(cached)).toBe(450);
    tally.observed(cached, 1000);
    expect(tally.spendOf(cached)).toBe(1000);
  });

  it('starts again from the record after an administrator changed the key (a spend reset), and in a new budget period', () => {
    const tally = new KeySpendTally();
    tally.settled(key({ spendMicros: 5000 }), 100, undefined);
    const reset = key({ spendMicros: 0, updatedAt: created + 1 });
    expect(tally.spendOf(reset)).toBe(0);
    expect(tally.settled(reset, 7, undefined)).toBe(7);
    // A call admitted before the reset settles after it: the old record's spend no longer counts.
    expect(tally.settled(key({ spendMicros: 5000 }), 3, 5000)).toBe(10);

    const daily = key({ id: 'key_2', budgetDuration: '1d', budgetPeriodStart: created, spendMicros: 40 });
    const firstDay = created + 3_600_000;
    expect(tally.settled(daily, 10, undefined, firstDay)).toBe(50);
    expect(tally.spendOf(daily, firstDay + 86_400_000)).toBe(0);
  });

  it('forgets the least recently settled keys past its bound', () => {
    const tally = new KeySpendTally(2);
    for (const id of ['a', 'b', 'c']) tally.settled(key({ id }), 10, undefined);
    expect(tally.spendOf(key({ id: 'a' }))).toBe(0);
    expect(tally.spendOf(key({ id: 'c' }))).toBe(10);
  });
});

describe('Admission and the key spend tally', () => {
  it('a settled ticket adds its cost at once; a key with a budget counter starts from the counter admission read', async () => {
    const state = new LocalLimitsState();
    const admission = new Admission(state, logger);
    const plain = key();
    await (await admission.admit({ key: plain }, 'c1', 10)).settle(4, 0);
    expect(admission.keySpend.spendOf(plain)).toBe(4);

    const budgeted = key({ id: 'key_b', maxBudgetMicros: 10_000 });
    // Another replica's spend, counted in the shared counter, not yet in the cached record.
    await state.settle([{ subject: budgetSubjectName({ kind: 'key', id: budgeted.id, limits: budgeted }), period: 0, maxMicros: 10_000, baselineMicros: 0 }], 0, 300);
    const ticket = await admission.admit({ key: budgeted }, 'c2', 10);
    ticket.settle(6, 0);
    expect(admission.keySpend.spendOf(budgeted)).toBe(306);
    // A BYOK call (no billed cost) adds nothing.
    (await admission.admit({ key: budgeted }, 'c3', 10)).settle(undefined, 0);
    expect(admission.keySpend.spendOf(budgeted)).toBe(306);
  });
});
