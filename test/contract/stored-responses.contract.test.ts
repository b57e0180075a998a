/** Stored responses (/v1/responses) on SQLite and PostgreSQL: owner-scoped reads and deletes, retention. */
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { UsageRetention } from '../../src/analytics/usage-retention.js';
import { ResponseStore } from '../../src/responses/response-store.js';
import { openDatabase, type DatabaseHandle } from '../../src/storage/db.js';
import { migrateToLatest } from '../../src/storage/migrate.js';
import { StoredResponseRepository, type StoredResponseRow } from '../../src/storage/repositories/stored-responses.js';
import { UsageLogRepository } from '../../src/storage/repositories/usage-logs.js';
import { dialectsUnderTest, type TestDatabase } from '../support/databases.js';

const dialects = await dialectsUnderTest();

function row(id: string, owner: string, createdAt: number): StoredResponseRow {
  return { id, owner, created_at: createdAt, model: 'm', previous_response_id: null, response: JSON.stringify({ id, object: 'response' }), input_items: '[]', conversation: '[{"role":"user","content":"hi"}]' };
}

describe.each(dialects)('stored responses repository ($dialect)', ({ create }) => {
  let database: TestDatabase;
  let handle: DatabaseHandle;
  let repository: StoredResponseRepository;

  beforeAll(async () => {
    database = await create();
    handle = openDatabase(database.url);
    await migrateToLatest(handle);
    repository = new StoredResponseRepository(handle.db);
  });
  afterAll(async () => {
    await handle?.close();
    await database?.drop();
  });

  it('reads and deletes a response only for its owner; a repeated insert is harmless', async () => {
    const now = 1_795_000_000_000;
    await repository.insert([row('resp_a', 'team:1', now), row('resp_b', 'key:2', now)]);
    await repository.insert([row('resp_a', 'team:1', now)]);
    expect(await repository.find('resp_a', 'team:1')).toEqual(row('resp_a', 'team:1', now));
    expect(await repository.find('resp_a', 'key:2')).toBeUndefined();
    expect(await repository.delete('resp_a', 'key:2')).toBe(false);
    expect(await repository.delete('resp_a', 'team:1')).toBe(true);
    expect(await repository.find('resp_a', 'team:1')).toBeUndefined();
    expect(await repository.find('resp_b', 'key:2')).toBeDefined();
  });

  it('deletes responses past the retention period in batches, with the usage rows', async () => {
    const now = 1_796_000_000_000;
    const day = 86_400_000;
    await repository.insert(Array.from({ length: 5 }, (_unused, index) => row(`resp_old${index}`, 'team:1', now - 40 * day)));
    await repository.insert([row('resp_new', 'team:1', now - day)]);
    const retention = new UsageRetention({ periodMs: 30 * day, intervalMs: day, logger: pino({ level: 'silent' }), now: () => now });
    retention.attach({ usageLogs: new UsageLogRepository(handle.db, handle.sqlite), db: handle.db, storedResponses: repository, batchSize: 2 });
    await retention.runOnce();
    await retention.close();
    for (let index = 0; index < 5; index++) expect(await repository.find(`resp_old${index}`, 'team:1')).toBeUndefined();
    expect(await repository.find('resp_new', 'team:1')).toBeDefined();
  });

  it('serves a saved response before its row is written, then from the database', async () => {
    const store = new ResponseStore({ repository: () => repository, logger: pino({ level: 'silent' }) });
    store.save(row('resp_queued', 'key:9', 1_795_000_000_000));
    expect(await store.find('resp_queued', 'key:9')).toMatchObject({ id: 'resp_queued' });
    expect(await store.find('resp_queued', 'key:8')).toBeUndefined();
    await store.flush();
    expect(store.queued).toBe(0);
    expect(await repository.find('resp_queued', 'key:9')).toMatchObject({ id: 'resp_queued' });
    expect(await store.delete('resp_queued', 'key:8')).toBe(false);
    expect(await store.delete('resp_queued', 'key:9')).toBe(true);
    expect(await store.find('resp_queued', 'key:9')).toBeUndefined();
    await store.close();
  });
});
