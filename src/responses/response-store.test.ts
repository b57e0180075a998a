import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { StoredResponseRepository, StoredResponseRow } from '../storage/repositories/stored-responses.js';
import { ResponseStore } from './response-store.js';

function row(id: string, owner = 'key:1'): StoredResponseRow {
  return { id, owner, created_at: 1, model: 'm', previous_response_id: null, response: '{}', input_items: '[]', conversation: '[]' };
}

/** An in-memory repository whose inserts can be failed or held. */
class FakeRepository {
  readonly rows = new Map<string, StoredResponseRow>();
  failInserts = 0;
  hold: Promise<void> | undefined;
  async insert(rows: StoredResponseRow[]): Promise<void> {
    await this.hold;
    if (this.failInserts > 0) {
      this.failInserts -= 1;
      throw new Error('database is down');
    }
    for (const value of rows) if (!this.rows.has(value.id)) this.rows.set(value.id, value);
  }
  async find(id: string, owner: string) {
    const value = this.rows.get(id);
    return value?.owner === owner ? value : undefined;
  }
  async delete(id: string, owner: string) {
    const value = this.rows.get(id);
    if (value?.owner !== owner) return false;
    this.rows.delete(id);
    return true;
  }
}

const logger = pino({ level: 'silent' });

describe('ResponseStore', () => {
  it('keeps a row queued while the database is not ready, refuses reads it cannot answer, and writes once it is', async () => {
    let repository: FakeRepository | undefined;
    const store = new ResponseStore({ repository: () => repository as unknown as StoredResponseRepository, logger });
    store.save(row('resp_1'));
    await store.flush();
    expect(store.queued).toBe(1);
    expect(await store.find('resp_1', 'key:1')).toMatchObject({ id: 'resp_1' });
    await expect(store.find('resp_other', 'key:1')).rejects.toMatchObject({ code: 'not_ready' });
    repository = new FakeRepository();
    await store.flush();
    expect(store.queued).toBe(0);
    expect(repository.rows.has('resp_1')).toBe(true);
    await store.close();
  });

  it('retries a failed write and keeps serving the row meanwhile', async () => {
    const repository = new FakeRepository();
    repository.failInserts = 1;
    const store = new ResponseStore({ repository: () => repository as unknown as StoredResponseRepository, logger });
    store.save(row('resp_2'));
    await store.flush();
    expect(repository.rows.size).toBe(0);
    expect(await store.find('resp_2', 'key:1')).toMatchObject({ id: 'resp_2' });
    await store.flush();
    expect(repository.rows.has('resp_2')).toBe(true);
    await store.close();
  });

  it('gives up the oldest unwritten row past the bound', async () => {
    const store = new ResponseStore({ repository: () => undefined, logger, maxPending: 2 });
    store.save(row('resp_a'));
    store.save(row('resp_b'));
    store.save(row('resp_c'));
    expect(store.queued).toBe(2);
    await expect(store.find('resp_a', 'key:1')).rejects.toMatchObject({ code: 'not_ready' });
    expect(await store.find('resp_c', 'key:1')).toMatchObject({ id: 'resp_c' });
    await store.close();
  });

  it('bounds the queue in bytes and writes large rows in batches bounded in bytes', async () => {
    const big = (id: string) => ({ ...row(id), conversation: 'x'.repeat(5 * 1024 * 1024) });
    const offline = new ResponseStore({ repository: () => undefined, logger, maxPendingBytes: 12 * 1024 * 1024 });
    for (const id of ['resp_1', 'resp_2', 'resp_3']) offline.save(big(id));
    expect(offline.queued).toBe(2);
    expect(offline.queuedBytes).toBeLessThanOrEqual(12 * 1024 * 1024);
    await offline.close();

    const repository = new FakeRepository();
    const batches: number[] = [];
    const insert = repository.insert.bind(repository);
    repository.insert = async (rows) => {
      batches.push(rows.length);
      await insert(rows);
    };
    const store = new ResponseStore({ repository: () => repository as unknown as StoredResponseRepository, logger });
    for (const id of ['resp_a', 'resp_b', 'resp_c']) store.save(big(id));
    await store.flush();
    while (store.queued > 0) await store.flush();
    expect(batches).toEqual([1, 1, 1]);
    expect(repository.rows.size).toBe(3);
    expect(store.queuedBytes).toBe(0);
    await store.close();
  });

  it('applies a delete that raced the write of the same row', async () => {
    const repository = new FakeRepository();
    let release!: () => void;
    repository.hold = new Promise((resolve) => {
      release = resolve;
    });
    const store = new ResponseStore({ repository: () => repository as unknown as StoredResponseRepository, logger });
    store.save(row('resp_race'));
    const writing = store.flush();
    expect(await store.delete('resp_race', 'key:1')).toBe(true);
    release();
    await writing;
    expect(repository.rows.has('resp_race')).toBe(false);
    expect(await store.find('resp_race', 'key:1')).toBeUndefined();
    await store.close();
  });
});
