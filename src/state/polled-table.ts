/**
 * Records replicas share through a database table when there is no Redis: each replica polls the
 * rows changed since it last looked (every second) and hands on what another replica saved.
 * Deployment health and local-backend inventories use it (their Redis counterpart is
 * redis-shared-hash.ts).
 */
import type { Logger } from 'pino';

/**
 * Rows are stamped with the saving replica's clock: reading a few seconds back catches rows from a
 * replica whose clock runs behind (the owner ignores what it already has).
 */
const CLOCK_SKEW_MS = 5_000;

export class PolledTable<Row extends { updated_at: number | string }, T> {
  private poller: NodeJS.Timeout | undefined;
  private seenUntil = 0;

  constructor(
    /** The rows changed since a time (epoch ms); undefined until the database is ready. */
    private readonly since: (time: number) => Promise<Row[]> | undefined,
    private readonly parse: (row: Row) => T | undefined,
    private readonly logger: Logger,
    /** What is shared, in the debug line of a failed read. */
    private readonly label: string,
    private readonly pollIntervalMs = 1_000,
  ) {}

  start(onRemote: (record: T) => void): void {
    this.poller = setInterval(() => void this.poll(onRemote), this.pollIntervalMs);
    this.poller.unref();
  }

  private async poll(onRemote: (record: T) => void): Promise<void> {
    try {
      const rows = await this.since(this.seenUntil - CLOCK_SKEW_MS);
      for (const row of rows ?? []) {
        this.seenUntil = Math.max(this.seenUntil, Number(row.updated_at));
        const record = this.parse(row);
        if (record) onRemote(record);
      }
    } catch (error) {
      this.logger.debug({ err: (error as Error).message }, `could not read shared ${this.label}`);
    }
  }

  close(): void {
    clearInterval(this.poller);
  }
}
