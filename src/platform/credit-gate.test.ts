import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { UserRecord } from '../auth/principals.js';
import { GatewayError } from '../errors.js';
import { LocalLimitsState } from '../state/local-limits-state.js';
import { CreditGate } from './credit-gate.js';
import { platformSchema, platformSettingsFrom } from './settings.js';

const settings = platformSettingsFrom(platformSchema.parse({ low_balance_threshold: 1 }))!;

function user(balance: number, used = 0): UserRecord {
  return {
    userId: 'u', email: null, alias: null, role: 'internal_user', tier: 'starter', creditBalanceMillicredits: balance, creditsUsedMillicredits: used,
    models: [], maxBudgetMicros: null, softBudgetMicros: null, budgetDuration: null, budgetPeriodStart: 0, spendMicros: 0, rpmLimit: null, tpmLimit: null,
    maxParallelRequests: null, metadata: {}, blocked: false, createdAt: 1, updatedAt: 1,
  };
}

describe('credit reservations', () => {
  it('reserves the maximum, charges the exact cost, and the balance follows', async () => {
    const gate = new CreditGate(new LocalLimitsState(), settings, pino({ level: 'silent' }));
    const record = user(2_000);
    // 1000 µ$ max at starter (1.4) and precision (1.0): 1400 millicredits reserved.
    const ticket = await gate.reserve(record, 'precision', 1_000);
    expect(ticket.reservedMillicredits).toBe(1_400);
    // A second call of the same size no longer fits next to the first one's reservation.
    await expect(gate.reserve(record, 'precision', 1_000)).rejects.toThrow(/has 0\.6 credits left \(1\.4 more held by requests in flight\) and this request may cost up to 1\.4 credits/);
    const { charged, remaining } = ticket.settle(500); // 500 µ$ × 1.4 = 700
    expect(charged).toBe(700);
    expect(await remaining).toBe(1_300);
    expect(await gate.balance(record)).toBe(1_300);
  });

  it('extends a reservation by reads at their own levels, only within the balance; charges within it are no overrun', async () => {
    const overruns: string[] = [];
    const gate = new CreditGate(new LocalLimitsState(), settings, pino({ level: 'silent' }), undefined, (ledger) => overruns.push(ledger));
    const record = user(2_000);
    const ticket = await gate.reserve(record, 'precision', 1_000); // 1,400 held, 600 free
    // 500 µ$ at precision (1.4) = 700: more than is free.
    expect(await ticket.extend([{ costMicros: 500, level: 'precision' }])).toBe(false);
    expect(ticket.reservedMillicredits).toBe(1_400);
    // 400 µ$ at precision = 560 fits.
    expect(await ticket.extend([{ costMicros: 400, level: 'precision' }])).toBe(true);
    expect(ticket.reservedMillicredits).toBe(1_960);
    const { charged, remaining } = ticket.settle(1_000, { level: 'precision', reads: [{ costMicros: 400, level: 'precision' }] });
    expect(charged).toBe(1_960);
    expect(await remaining).toBe(40);
    expect(overruns).toEqual([]);
    expect(await ticket.extend([{ costMicros: 1, level: 'precision' }])).toBe(false);
  });

  it('a cost above the reservation is charged in full and counted as an overrun; the balance goes below zero and the next call is refused', async () => {
    const overruns: string[] = [];
    const gate = new CreditGate(new LocalLimitsState(), settings, pino({ level: 'silent' }), undefined, (ledger) => overruns.push(ledger));
    const record = user(2_000);
    const ticket = await gate.reserve(record, 'eco', 1_000); // 1000 × 1.4 × 0.1 = 140
    expect(ticket.reservedMillicredits).toBe(140);
    expect(overruns).toEqual([]);
    const outcome = ticket.settle(100_000); // 100000 × 1.4 × 0.1 = 14000
    expect(outcome.charged).toBe(14_000);
    expect(await outcome.remaining).toBe(-12_000);
    expect(overruns).toEqual(['credits']);
    const refused = await gate.reserve(record, 'eco', 1).catch((error: unknown) => error);
    expect((refused as GatewayError).status).toBe(402);
    expect((refused as GatewayError).message).toContain('has no credits left');
  });

  it('charges at the level given at settlement, not the one reserved at', async () => {
    const gate = new CreditGate(new LocalLimitsState(), settings, pino({ level: 'silent' }));
    const ticket = await gate.reserve(user(10_000), 'precision', 1_000); // 1400 reserved at 1.0
    const outcome = ticket.settle(1_000, { level: 'eco' });
    expect(outcome).toMatchObject({ charged: 140, level: 'eco' });
    const full = await gate.reserve(user(10_000), 'eco', 1_000);
    expect(full.settle(1_000, { level: undefined })).toMatchObject({ charged: 1_400, level: undefined });
  });

  it('a cached record the usage writer has not caught up with still gives the right balance', async () => {
    const state = new LocalLimitsState();
    const gate = new CreditGate(state, settings, pino({ level: 'silent' }));
    const ticket = await gate.reserve(user(1_000), undefined, 100); // 140 reserved
    await ticket.settle(100).remaining;
    // The writer stored the charge: the fresh record has balance 860, used 140. Same live balance either way.
    expect(await gate.balance(user(1_000))).toBe(860);
    expect(await gate.balance(user(860, 140))).toBe(860);
  });

  it('no credits: 402; a free call reserves nothing and is never refused', async () => {
    const gate = new CreditGate(new LocalLimitsState(), settings, pino({ level: 'silent' }));
    const refused = await gate.reserve(user(0), 'balanced', 10).catch((error: unknown) => error);
    expect(refused).toBeInstanceOf(GatewayError);
    expect((refused as GatewayError).status).toBe(402);
    expect((refused as GatewayError).message).toContain('has no credits left');
    const free = await gate.reserve(user(0), 'balanced', 0);
    expect(free.reservedMillicredits).toBe(0);
    expect(free.settle(0).charged).toBe(0);
    expect(gate.isLow(999)).toBe(true);
    expect(gate.isLow(1_000)).toBe(false);
  });
});
