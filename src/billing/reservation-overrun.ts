/**
 * A reservation is what admission proved a budget or a credit balance can pay before the upstream
 * call. The real cost is charged in full even when it exceeds it — capping the charge at the
 * reservation would let a request the bound underestimates run for free — and every such overrun
 * is logged and counted, because it means the bound (billing/max-cost.ts) missed something.
 */
import type { Logger } from 'pino';

export type OverrunLedger = 'budget' | 'credits';

/** Told of each overrun (the gateway counts them in switchboard_reservation_overrun_total). */
export type OverrunListener = (ledger: OverrunLedger) => void;

export interface Overrun {
  ledger: OverrunLedger;
  /** Micro-dollars for budgets, millicredits for credits. */
  reserved: number;
  charged: number;
  /** Who pays: the budget subjects or the user. */
  holder: string;
}

/** True (and logged, and counted) when the charge exceeds the reservation. */
export function noteOverrun(overrun: Overrun, logger: Logger, listener: OverrunListener | undefined): boolean {
  if (overrun.charged <= overrun.reserved) return false;
  logger.warn(
    { event: 'reservation.overrun', ledger: overrun.ledger, holder: overrun.holder, reserved: overrun.reserved, charged: overrun.charged, unit: overrun.ledger === 'credits' ? 'millicredits' : 'micro-dollars' },
    'a call cost more than its reservation; the full cost is charged',
  );
  listener?.(overrun.ledger);
  return true;
}
