/**
 * Whether the shared state (Redis) answers. While it does not, limits, budget and credit
 * reservations and cooldowns run on this replica's memory (general_settings.shared_state_outage:
 * local, the default) or calls with limits are refused (refuse). Each transition is logged once,
 * never per request; readiness says "degraded" (still 200) and /metrics has a gauge.
 */
import type { Logger } from 'pino';

export type SharedStateOutagePolicy = 'local' | 'refuse';

export class SharedStateStatus {
  /** Until the first connection, calls run locally without a word: an outage is logged only once one is seen. */
  private phase: 'connecting' | 'up' | 'down' = 'connecting';
  private downSince: number | undefined = Date.now();
  private readonly listeners: Array<(degraded: boolean) => void> = [];

  constructor(
    private readonly logger: Logger,
    readonly policy: SharedStateOutagePolicy = 'local',
  ) {}

  get degraded(): boolean {
    return this.phase !== 'up';
  }

  onChange(listener: (degraded: boolean) => void): void {
    this.listeners.push(listener);
  }

  markDown(reason: string): void {
    if (this.phase === 'down') return;
    if (this.phase === 'up') this.downSince = Date.now();
    this.phase = 'down';
    this.logger.warn(
      { reason, policy: this.policy },
      this.policy === 'local'
        ? "shared state (Redis) unreachable: limits, budgets, credits and cooldowns now run on this replica's memory until it answers again"
        : 'shared state (Redis) unreachable: calls with limits, budgets or credits are refused until it answers again (shared_state_outage: refuse)',
    );
    for (const listener of this.listeners) listener(true);
  }

  markUp(details: Record<string, unknown> = {}): void {
    if (this.phase === 'up') return;
    const seconds = Math.round((Date.now() - (this.downSince ?? Date.now())) / 100) / 10;
    const first = this.phase === 'connecting';
    this.phase = 'up';
    this.downSince = undefined;
    if (first) this.logger.info({ ...details }, 'shared state (Redis) connected');
    else this.logger.info({ outageSeconds: seconds, ...details }, 'shared state (Redis) is back: limits are shared again');
    for (const listener of this.listeners) listener(false);
  }
}
