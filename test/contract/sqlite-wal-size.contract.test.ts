/**
 * The SQLite WAL file does not keep the size of the largest transaction it ever held: once a
 * checkpoint has emptied it, the next write truncates it to WAL_SIZE_LIMIT_BYTES. The usage writer's
 * connection keeps a smaller page cache than better-sqlite3's default.
 */
import { readFileSync, statSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, WAL_SIZE_LIMIT_BYTES, WRITER_CACHE_KIB, type DatabaseHandle } from '../../src/storage/db.js';
import { createSqliteDatabase, type TestDatabase } from '../support/databases.js';

describe('SQLite WAL size', () => {
  let database: TestDatabase;
  let handle: DatabaseHandle;
  let walFile: string;

  beforeAll(async () => {
    database = await createSqliteDatabase();
    handle = openDatabase(database.url);
    walFile = `${handle.description.replace(/^sqlite:/, '')}-wal`;
  });

  afterAll(async () => {
    await handle.close();
    await database.drop();
  });

  it('sets the limit on every connection', () => {
    expect(handle.sqlite!.pragma('journal_size_limit', { simple: true })).toBe(WAL_SIZE_LIMIT_BYTES);
  });

  it('shrinks the WAL back after one transaction larger than the limit', () => {
    const sqlite = handle.sqlite!;
    sqlite.exec('create table filler (id integer primary key, body blob not null)');
    // ~96 MiB in one transaction: the WAL must hold all of it until the commit.
    sqlite.prepare('with recursive n(i) as (select 1 union all select i + 1 from n where i < 24576) insert into filler (body) select randomblob(4096) from n').run();
    expect(statSync(walFile).size).toBeGreaterThan(WAL_SIZE_LIMIT_BYTES);
    sqlite.pragma('wal_checkpoint(PASSIVE)');
    // The next write starts the WAL over and truncates the file to the limit.
    sqlite.prepare('insert into filler (body) values (x\'00\')').run();
    expect(statSync(walFile).size).toBeLessThanOrEqual(WAL_SIZE_LIMIT_BYTES);
  });
});

describe('SQLite page cache', () => {
  it('is 16,000 KiB by default (better-sqlite3\'s build) and WRITER_CACHE_KIB on the usage writer\'s connection', async () => {
    const database = await createSqliteDatabase();
    const plain = openDatabase(database.url);
    const writer = openDatabase(database.url, { sqliteCacheKib: WRITER_CACHE_KIB });
    try {
      expect(plain.sqlite!.pragma('cache_size', { simple: true })).toBe(-16_000);
      expect(writer.sqlite!.pragma('cache_size', { simple: true })).toBe(-WRITER_CACHE_KIB);
      expect(readFileSync(new URL('../../src/storage/sqlite-writer-worker.ts', import.meta.url), 'utf8')).toContain('openDatabase(url, { sqliteCacheKib: WRITER_CACHE_KIB })');
    } finally {
      await writer.close();
      await plain.close();
      await database.drop();
    }
  });
});
