/**
 * Stored responses (POST /v1/responses with `store: true`) without a database await on the request
 * path: `save` keeps the row in memory and queues its write; reads look at the queued rows first, so
 * a GET (or a `previous_response_id`) right after a create on the same replica finds the response
 * before its row lands. A write that fails is retried with backoff; while the database is not
 * ready, rows wait. The queue is bounded in rows and in bytes: past either bound the oldest
 * unwritten rows are given up, in the log. Writes go in batches bounded in bytes too (a stored
 * conversation may be megabytes). A delete that races a write in flight is applied again after it.
 */
import type { Logger } from 'pino';
import { databaseNotReady } from '../errors.js';
import type { StoredResponseRepository, StoredResponseRow } from '../storage/repositories/stored-responses.js';
import { ownsResponse, type ResponseOwner } from './owner-scope.js';

export interface ResponseStoreOptions {
  repository: () => StoredResponseRepository | undefined;
  logger: Logger;
  /** Rows kept in memory awaiting their write (default 5,000). */
  maxPending?: number;
  /** Bytes of rows kept in memory awaiting their write (default 256 MiB). */
  maxPendingBytes?: number;
}

/** Bytes of one insert statement's rows (at least one row goes, whatever its size). */
const BATCH_BYTES = 8 * 1024 * 1024;

function sizeOf(row: StoredResponseRow): number {
  // Characters, not UTF-8 bytes: a cheap bound of the same order, counted once per row.
  return row.response.length + row.input_items.length + row.conversation.length + row.id.length + row.owner.length + row.model.length;
}

export class ResponseStore {
  private readonly pending = new Map<string, StoredResponseRow>();
  private pendingBytes = 0;
  private readonly deletedDuringFlush = new Set<string>();
  private flushing: Promise<void> | undefined;
  private timer: NodeJS.Timeout | undefined;
  private failures = 0;
  private closed = false;

  constructor(private readonly options: ResponseStoreOptions) {}

  save(row: StoredResponseRow): void {
    const maxRows = this.options.maxPending ?? 5_000;
    const maxBytes = this.options.maxPendingBytes ?? 256 * 1024 * 1024;
    const bytes = sizeOf(row);
    while (this.pending.size > 0 && (this.pending.size >= maxRows || this.pendingBytes + bytes > maxBytes)) {
      const oldest = this.pending.keys().next().value as string;
      this.remove(oldest);
      this.options.logger.error({ responseId: oldest, pending: this.pending.size }, 'stored responses: the write queue is full (database down?); the oldest unwritten response was not stored');
    }
    this.remove(row.id);
    this.pending.set(row.id, row);
    this.pendingBytes += bytes;
    this.schedule(0);
  }

  private remove(id: string): void {
    const row = this.pending.get(id);
    if (!row) return;
    this.pending.delete(id);
    this.pendingBytes -= sizeOf(row);
  }

  /** The response of that owner (owner-scope.ts ownsResponse), or undefined (another owner's response is not found either). */
  async find(id: string, owner: ResponseOwner | string): Promise<StoredResponseRow | undefined> {
    const queued = this.pending.get(id);
    if (queued) return ownsResponse(owner, queued) ? queued : undefined;
    const repository = this.options.repository();
    if (!repository) throw databaseNotReady('stored responses are read from it');
    return repository.find(id, owner);
  }

  async delete(id: string, owner: ResponseOwner | string): Promise<boolean> {
    const queued = this.pending.get(id);
    if (queued && !ownsResponse(owner, queued)) return false;
    if (queued) {
      this.remove(id);
      // The row's own scope: a write in flight lands under it.
      if (this.flushing) this.deletedDuringFlush.add(`${id}\u0000${queued.owner}`);
    }
    const repository = this.options.repository();
    if (!repository) {
      if (queued) return true;
      throw databaseNotReady('stored responses are deleted from it');
    }
    return (await repository.delete(id, owner)) || queued !== undefined;
  }

  /** Writes what is queued (used by shutdown and tests). */
  async flush(): Promise<void> {
    while (this.flushing) await this.flushing;
    if (this.pending.size === 0) return;
    this.flushing = this.write().finally(() => {
      this.flushing = undefined;
    });
    await this.flushing;
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.flush().catch(() => undefined);
    if (this.pending.size > 0) this.options.logger.error({ unwritten: this.pending.size }, 'stored responses: rows not written at shutdown (database unavailable)');
  }

  get queued(): number {
    return this.pending.size;
  }

  get queuedBytes(): number {
    return this.pendingBytes;
  }

  private schedule(delayMs: number): void {
    if (this.timer || this.closed) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.flush().catch(() => undefined);
    }, delayMs);
    this.timer.unref();
  }

  private async write(): Promise<void> {
    const repository = this.options.repository();
    if (!repository) {
      this.schedule(1_000);
      return;
    }
    const batch: StoredResponseRow[] = [];
    let batchBytes = 0;
    for (const row of this.pending.values()) {
      if (batch.length > 0 && (batch.length >= 200 || batchBytes + sizeOf(row) > BATCH_BYTES)) break;
      batch.push(row);
      batchBytes += sizeOf(row);
    }
    try {
      await repository.insert(batch);
      this.failures = 0;
      for (const row of batch) if (this.pending.get(row.id) === row) this.remove(row.id);
    } catch (error) {
      this.failures += 1;
      const delay = Math.min(30_000, 250 * 2 ** Math.min(this.failures, 7));
      this.options.logger.warn({ err: (error as Error).message, queued: this.pending.size, retryInMs: delay }, 'stored responses: write failed; retrying');
      this.schedule(delay);
      return;
    } finally {
      await this.applyRacedDeletes(repository);
    }
    if (this.pending.size > 0) this.schedule(0);
  }

  private async applyRacedDeletes(repository: StoredResponseRepository): Promise<void> {
    for (const entry of [...this.deletedDuringFlush]) {
      const [id, owner] = entry.split('\u0000');
      this.deletedDuringFlush.delete(entry);
      await repository.delete(id, owner).catch(() => undefined);
    }
  }
}
