/**
 * The database as the rest of the process sees it: opened and migrated in the background, so the
 * gateway serves traffic while the database is slow or absent (usage rows wait in the writer).
 */
import type { Logger } from 'pino';
import { openDatabase, type DatabaseHandle } from '../storage/db.js';
import { migrateToLatest } from '../storage/migrate.js';

export class DatabaseState {
  status: 'connecting' | 'connected' | 'failed' = 'connecting';
  error: string | undefined;
  handle: DatabaseHandle | undefined;
  private stopped = false;
  private retryTimer: NodeJS.Timeout | undefined;

  constructor(
    private readonly url: string | undefined,
    private readonly logger: Logger,
    private readonly onReady: (handle: DatabaseHandle) => void,
  ) {}

  /** Opens and migrates; on failure keeps retrying with backoff until stopped. Resolves on the first outcome. */
  async start(): Promise<void> {
    await this.attempt(1);
  }

  private async attempt(tryNumber: number): Promise<void> {
    if (this.stopped) return;
    try {
      this.handle ??= openDatabase(this.url);
      const { applied } = await migrateToLatest(this.handle);
      this.status = 'connected';
      this.error = undefined;
      this.logger.info({ database: this.handle.description, applied }, applied.length > 0 ? 'database migrated' : 'database ready');
      this.onReady(this.handle);
    } catch (error) {
      this.status = 'failed';
      this.error = (error as Error).message;
      const delay = Math.min(30_000, 500 * 2 ** Math.min(tryNumber, 6));
      this.logger.error({ err: this.error, retryInMs: delay, database: this.handle?.description }, 'database not ready; serving traffic and retrying');
      this.retryTimer = setTimeout(() => void this.attempt(tryNumber + 1), delay);
      this.retryTimer.unref();
    }
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.retryTimer);
    await this.handle?.close();
  }
}
