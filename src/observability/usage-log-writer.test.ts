import { mkdtempSync, readdirSync, readFileSync, existsSync, rmSync, writeFileSync } from 'node:fs';
import { Writable } from 'node:stream';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterEach, describe, expect, it } from 'vitest';
import type { UsageLogRow } from '../storage/schema.js';
import { databaseIdentity } from '../storage/database-identity.js';
import { cannotWriteNow, UsageLogWriter, type UsageSink } from './usage-log-writer.js';

const logger = pino({ level: 'silent' });
const directories: string[] = [];

function spillDir(): string {
  const directory = mkdtempSync(join(tmpdir(), 'usage-writer-'));
  directories.push(directory);
  return directory;
}

afterEach(() => {
  for (const directory of directories.splice(0)) rmSync(directory, { recursive: true, force: true });
});

function row(index: number): UsageLogRow {
  return { call_id: `call-${index}`, created_at: index, endpoint: 'chat/completions', latency_ms: 1, status: 'success', http_status: 200 } as UsageLogRow;
}

/** A database that can be switched off and on, keeping rows by call_id like the real table. */
class FlakySink implements UsageSink {
  up = true;
  readonly rows = new Map<string, UsageLogRow>();
  calls = 0;
  async insertMany(rows: UsageLogRow[]): Promise<void> {
    this.calls++;
    if (!this.up) throw new Error('connection refused');
    for (const item of rows) if (!this.rows.has(item.call_id)) this.rows.set(item.call_id, item);
  }
}

describe('UsageLogWriter', () => {
  it('writes queued rows in batches', async () => {
    const sink = new FlakySink();
    const writer = new UsageLogWriter({ logger, batchSize: 10 });
    writer.attach(sink);
    for (let index = 0; index < 25; index++) writer.enqueue(row(index));
    await writer.flush(true);
    expect(sink.rows.size).toBe(25);
    expect(sink.calls).toBe(3);
    expect(writer.snapshot()).toMatchObject({ queued: 0, written: 25, dropped: 0 });
  });

  it('writes only what was queued when the flush began: rows arriving meanwhile wait for the next one', async () => {
    // Under load rows keep arriving while a batch is written; chasing them would turn one flush
    // into a stream of tiny batches (one commit each).
    let arriving = 100;
    const writer = new UsageLogWriter({ logger, batchSize: 10 });
    const batches: number[] = [];
    writer.attach({
      async insertMany(rows) {
        batches.push(rows.length);
        // Three new calls finish during each batch's write.
        for (let index = 0; index < 3; index++) writer.enqueue(row(arriving++));
      },
    });
    for (let index = 0; index < 25; index++) writer.enqueue(row(index));
    await writer.flush(true);
    expect(batches).toEqual([10, 10, 5]);
    expect(writer.snapshot()).toMatchObject({ queued: 9, written: 25 });
    await writer.flush(true);
    expect(batches).toEqual([10, 10, 5, 9]);
  });

  it('holds rows until a database is attached', async () => {
    const writer = new UsageLogWriter({ logger });
    writer.enqueue(row(1));
    await writer.flush(true);
    expect(writer.snapshot().queued).toBe(1);
    const sink = new FlakySink();
    writer.attach(sink);
    await writer.flush(true);
    expect(sink.rows.has('call-1')).toBe(true);
  });

  it('keeps rows while the database fails and writes them all once it recovers', async () => {
    const sink = new FlakySink();
    sink.up = false;
    const writer = new UsageLogWriter({ logger, spillDir: spillDir() });
    writer.attach(sink);
    for (let index = 0; index < 100; index++) writer.enqueue(row(index));
    await writer.flush(true);
    expect(writer.snapshot()).toMatchObject({ queued: 100, written: 0, failedFlushes: 1, dropped: 0 });
    sink.up = true;
    await writer.flush(true);
    expect(sink.rows.size).toBe(100);
    expect(writer.snapshot()).toMatchObject({ queued: 0, written: 100, dropped: 0 });
  });

  it('backs off after a failure instead of hammering the database', async () => {
    const sink = new FlakySink();
    sink.up = false;
    const writer = new UsageLogWriter({ logger, flushIntervalMs: 1000 });
    writer.attach(sink);
    writer.enqueue(row(1));
    await writer.flush(true);
    await writer.flush();
    await writer.flush();
    expect(sink.calls).toBe(1);
  });

  it('spills the overflow to disk past maxQueued and replays it on recovery, losing nothing', async () => {
    const directory = spillDir();
    const sink = new FlakySink();
    sink.up = false;
    const writer = new UsageLogWriter({ logger, spillDir: directory, maxQueued: 10 });
    writer.attach(sink);
    for (let index = 0; index < 35; index++) writer.enqueue(row(index));
    await writer.flush(true);
    expect(writer.snapshot()).toMatchObject({ queued: 10, spilled: 25, dropped: 0 });
    const spilled = readFileSync(join(directory, 'usage-spill.jsonl'), 'utf8').trim().split('\n');
    expect(spilled).toHaveLength(25);
    expect(JSON.parse(spilled[0]).call_id).toBe('call-0');

    sink.up = true;
    await writer.flush(true);
    expect(sink.rows.size).toBe(35);
    expect(existsSync(join(directory, 'usage-spill.jsonl'))).toBe(false);
    expect(existsSync(join(directory, 'usage-spill.jsonl.replaying'))).toBe(false);
    expect(writer.snapshot()).toMatchObject({ queued: 0, written: 35, dropped: 0 });
  });

  it('keeps the queue bounded while a write hangs: the newest rows past maxQueued spill, and nothing is lost', async () => {
    const directory = spillDir();
    const stored = new Map<string, UsageLogRow>();
    let release: () => void = () => undefined;
    let hang = true;
    const sink: UsageSink = {
      async insertMany(rows) {
        if (hang) await new Promise<void>((resolve) => (release = resolve));
        for (const item of rows) stored.set(item.call_id, item);
      },
    };
    const writer = new UsageLogWriter({ logger, spillDir: directory, maxQueued: 10, batchSize: 5 });
    writer.attach(sink);
    for (let index = 0; index < 8; index++) writer.enqueue(row(index));
    const running = writer.flush(true); // its first batch hangs
    for (let index = 8; index < 600; index++) {
      writer.enqueue(row(index));
      // The timer's ticks: each finds the write still running (its promise is that write's).
      if (index % 50 === 0) void writer.flush();
    }
    void writer.flush();
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(writer.snapshot().queued).toBeLessThanOrEqual(10);
    hang = false;
    release();
    await running;
    await writer.flush(true);
    await writer.flush(true);
    expect(stored.size).toBe(600);
    expect(writer.snapshot()).toMatchObject({ queued: 0, dropped: 0 });
  });

  it('replays a large spill batch by batch, and sets aside a line a crash cut', async () => {
    const directory = spillDir();
    const lines = Array.from({ length: 2_500 }, (_, index) => JSON.stringify(row(index)));
    writeFileSync(join(directory, 'usage-spill.jsonl'), `${lines.join('\n')}\n{"call_id":"call-cut","created_`);
    const batches: number[] = [];
    const sink = new FlakySink();
    const writer = new UsageLogWriter({ logger, spillDir: directory, batchSize: 100 });
    writer.attach({ insertMany: (rows) => (batches.push(rows.length), sink.insertMany(rows)) });
    await new Promise((resolve) => setTimeout(resolve, 20));
    await writer.flush(true);
    expect(sink.rows.size).toBe(2_500);
    expect(Math.max(...batches)).toBe(100);
    expect(writer.snapshot()).toMatchObject({ written: 2_500, rejected: 1 });
    expect(existsSync(join(directory, 'usage-spill.jsonl'))).toBe(false);
    expect(existsSync(join(directory, 'usage-spill.jsonl.replaying'))).toBe(false);
    const rejected = readdirSync(directory).filter((name) => name.includes('rejected'));
    expect(rejected).toHaveLength(1);
    expect(readFileSync(join(directory, rejected[0]), 'utf8')).toContain('call-cut');
  });

  it('replays a spill file left by an earlier process when a database is attached', async () => {
    const directory = spillDir();
    const first = new UsageLogWriter({ logger, spillDir: directory });
    for (let index = 0; index < 5; index++) first.enqueue(row(index));
    await first.close(10); // no database: everything spills
    expect(first.snapshot()).toMatchObject({ spilled: 5, dropped: 0 });

    const sink = new FlakySink();
    const second = new UsageLogWriter({ logger, spillDir: directory });
    second.attach(sink);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await second.flush(true);
    expect(sink.rows.size).toBe(5);
  });

  it('sets a row the database refuses aside instead of stalling the queue', async () => {
    const directory = spillDir();
    const rows = new Map<string, UsageLogRow>();
    const picky: UsageSink = {
      async insertMany(batch) {
        if (batch.some((item) => item.call_id === 'call-3')) throw new Error('null value in column "http_status"');
        for (const item of batch) rows.set(item.call_id, item);
      },
      ping: async () => true,
    };
    const writer = new UsageLogWriter({ logger, spillDir: directory });
    writer.attach(picky);
    for (let index = 0; index < 6; index++) writer.enqueue(row(index));
    await writer.flush(true);
    expect(rows.size).toBe(5);
    expect(writer.snapshot()).toMatchObject({ queued: 0, written: 5, rejected: 1, dropped: 0 });
    expect(JSON.parse(readFileSync(join(directory, 'usage-rejected.jsonl'), 'utf8').trim()).call_id).toBe('call-3');
  });

  it('keeps rows queued, not set aside, when the database says it cannot write now (locked, full, read-only)', async () => {
    const directory = spillDir();
    const rows = new Map<string, UsageLogRow>();
    let locked = true;
    const lockTimeout = Object.assign(new Error('canceling statement due to lock timeout'), { code: '55P03' });
    const sink: UsageSink = {
      async insertMany(batch) {
        if (batch.some((item) => item.call_id === 'call-1')) throw Object.assign(new Error('null value in column "http_status"'), { code: '23502' });
        // The lock arrives after call-2 was written alone.
        if (locked && batch.some((item) => item.call_id === 'call-3')) throw lockTimeout;
        for (const item of batch) rows.set(item.call_id, item);
      },
      ping: async () => true,
    };
    const writer = new UsageLogWriter({ logger, spillDir: directory });
    writer.attach(sink);
    for (let index = 0; index < 6; index++) writer.enqueue(row(index));
    await writer.flush(true);
    // One by one (the batch held a bad row): call-0 and call-2 written, call-1 set aside, call-3 on kept.
    expect([...rows.keys()].sort()).toEqual(['call-0', 'call-2']);
    expect(writer.snapshot()).toMatchObject({ queued: 3, written: 2, rejected: 1 });
    // A whole batch refused for the lock is not split and set aside either.
    await writer.flush(true);
    expect(writer.snapshot()).toMatchObject({ queued: 3, rejected: 1 });
    locked = false;
    await writer.flush(true);
    expect([...rows.keys()].sort()).toEqual(['call-0', 'call-2', 'call-3', 'call-4', 'call-5']);
    expect(writer.snapshot()).toMatchObject({ queued: 0, written: 5, rejected: 1 });
  });

  it('tells a database that cannot write now from a refused row', () => {
    const coded = (code: string) => Object.assign(new Error('x'), { code });
    for (const code of ['55P03', '57014', '53100', '25006', '40P01', '08006', 'SQLITE_BUSY', 'SQLITE_FULL', 'SQLITE_READONLY_DBMOVED', 'ECONNRESET']) expect(cannotWriteNow(coded(code)), code).toBe(true);
    for (const code of ['22021', '23505', '23502', '54000', 'SQLITE_CONSTRAINT_UNIQUE', 'SQLITE_TOOBIG']) expect(cannotWriteNow(coded(code)), code).toBe(false);
    // The SQLite writer thread passes the message only.
    expect(cannotWriteNow(new Error('database is locked'))).toBe(true);
    expect(cannotWriteNow(new Error('database or disk is full'))).toBe(true);
    expect(cannotWriteNow(new Error('NOT NULL constraint failed: usage_logs.http_status'))).toBe(false);
  });

  it('counts rows as dropped only when there is nowhere to keep them', async () => {
    const sink = new FlakySink();
    sink.up = false;
    const writer = new UsageLogWriter({ logger, maxQueued: 2 });
    writer.attach(sink);
    for (let index = 0; index < 5; index++) writer.enqueue(row(index));
    await writer.flush(true);
    expect(writer.snapshot()).toMatchObject({ queued: 2, dropped: 3 });
  });
});

describe('UsageLogWriter spill files belong to their database', () => {
  const databaseA = databaseIdentity('postgres://gateway:secret-a@db.internal:5432/alpha');
  const databaseB = databaseIdentity('postgres://gateway:secret-b@db.internal:5432/beta');

  async function spillFor(directory: string, database: string, count: number): Promise<string> {
    const writer = new UsageLogWriter({ logger, spillDir: directory, database });
    for (let index = 0; index < count; index++) writer.enqueue(row(index));
    await writer.close(10); // no database attached: everything spills
    return writer.spillFileName;
  }

  async function attachAndFlush(writer: UsageLogWriter, sink: UsageSink): Promise<void> {
    writer.attach(sink);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await writer.flush(true);
  }

  it('names the spill file for the database, without its credentials', async () => {
    const directory = spillDir();
    const name = await spillFor(directory, databaseA, 3);
    expect(name).toMatch(/^usage-spill\.[0-9a-f]{12}\.jsonl$/);
    expect(readdirSync(directory)).toEqual([name]);
    expect(name).not.toContain('secret');
    // A rotated password is the same database; another database name is not.
    expect(databaseIdentity('postgres://other:rotated@db.internal/alpha')).toBe(databaseA);
    expect(databaseB).not.toBe(databaseA);
  });

  it('a writer on another database leaves the spill in place and says so once; the right database replays it', async () => {
    const directory = spillDir();
    const name = await spillFor(directory, databaseA, 4);

    const lines: string[] = [];
    const capture = pino({ level: 'info' }, new Writable({ write: (chunk: Buffer, _encoding, done) => (lines.push(...chunk.toString().split('\n').filter(Boolean)), done()) }));
    const other = new FlakySink();
    const writerB = new UsageLogWriter({ logger: capture, spillDir: directory, database: databaseB });
    await attachAndFlush(writerB, other);
    writerB.enqueue(row(100));
    await writerB.flush(true);
    await attachAndFlush(writerB, other);
    expect([...other.rows.keys()]).toEqual(['call-100']);
    expect(readFileSync(join(directory, name), 'utf8').trim().split('\n')).toHaveLength(4);
    const warnings = lines.map((line) => JSON.parse(line) as { level: number; msg: string; files?: string[] }).filter((line) => line.msg.startsWith('usage spill files of another database'));
    expect(warnings).toHaveLength(1);
    expect(warnings[0].files).toEqual([name]);

    const own = new FlakySink();
    await attachAndFlush(new UsageLogWriter({ logger, spillDir: directory, database: databaseA }), own);
    expect([...own.rows.keys()].sort()).toEqual(['call-0', 'call-1', 'call-2', 'call-3']);
    expect(readdirSync(directory)).toEqual([]);
  });

  it('an untagged spill file from an older version is not replayed into a tagged database', async () => {
    const directory = spillDir();
    const legacy = new UsageLogWriter({ logger, spillDir: directory });
    legacy.enqueue(row(1));
    await legacy.close(10);
    const sink = new FlakySink();
    await attachAndFlush(new UsageLogWriter({ logger, spillDir: directory, database: databaseA }), sink);
    expect(sink.rows.size).toBe(0);
    expect(existsSync(join(directory, 'usage-spill.jsonl'))).toBe(true);
  });
});

describe('UsageLogWriter keeps answered calls through a stop and an outage (item 371)', () => {
  /** Like the real table: a call_id is stored once; `fresh` counts the rows stored (charged) per call_id. */
  class CountingSink implements UsageSink {
    mode: 'up' | 'down' | 'hang' = 'up';
    readonly fresh = new Map<string, number>();
    private readonly held: (() => void)[] = [];
    async insertMany(rows: UsageLogRow[]): Promise<void> {
      if (this.mode === 'down') throw Object.assign(new Error('connect ECONNREFUSED 127.0.0.1:5432'), { code: 'ECONNREFUSED' });
      if (this.mode === 'hang') await new Promise<void>((resolve) => this.held.push(resolve));
      for (const item of rows) if (!this.fresh.has(item.call_id)) this.fresh.set(item.call_id, 1);
    }
    release(): void {
      this.mode = 'up';
      for (const resolve of this.held.splice(0)) resolve();
    }
  }

  const spilledIds = (directory: string): string[] =>
    readdirSync(directory)
      .filter((name) => name.startsWith('usage-spill'))
      .flatMap((name) => readFileSync(join(directory, name), 'utf8').split('\n').filter(Boolean))
      .map((line) => (JSON.parse(line) as UsageLogRow).call_id);

  const within = <T>(work: Promise<T>, ms: number) => Promise.race([work.then(() => 'settled'), new Promise((resolve) => setTimeout(() => resolve('still waiting'), ms))]);

  it('close() gives up on a write that hangs at its deadline and spills every queued row, the hanging write\'s included', async () => {
    const directory = spillDir();
    const sink = new CountingSink();
    sink.mode = 'hang';
    const writer = new UsageLogWriter({ logger, spillDir: directory, batchSize: 5 });
    writer.attach(sink);
    for (let index = 0; index < 8; index++) writer.enqueue(row(index));
    void writer.flush(true); // its first batch hangs
    for (let index = 8; index < 10; index++) writer.enqueue(row(index));
    expect(await within(writer.close(300), 3_000)).toBe('settled');
    expect(spilledIds(directory).sort()).toEqual(Array.from({ length: 10 }, (_, index) => `call-${index}`).sort());
    expect(writer.snapshot()).toMatchObject({ queued: 0, spilled: 10, dropped: 0 });
    // The hanging write going through after all changes nothing: the writer gave it up.
    sink.release();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(writer.snapshot()).toMatchObject({ queued: 0, spilled: 10 });
  });

  it('spillNow() appends every queued row synchronously, a running write\'s and a spill under way\'s included', async () => {
    const directory = spillDir();
    const sink = new CountingSink();
    sink.mode = 'hang';
    const writer = new UsageLogWriter({ logger, spillDir: directory, batchSize: 5 });
    writer.attach(sink);
    for (let index = 0; index < 7; index++) writer.enqueue(row(index));
    void writer.flush(true);
    expect(writer.spillNow()).toBe(7);
    expect(spilledIds(directory).sort()).toEqual(Array.from({ length: 7 }, (_, index) => `call-${index}`).sort());
    // A later call (a call settled meanwhile) spills what came since.
    writer.enqueue(row(7));
    expect(writer.spillNow()).toBe(1);
    expect(spilledIds(directory)).toHaveLength(8);
  });

  it('spills the queue early while the database is down, so a kill loses nothing older than a few ticks; replays it once when it is back', async () => {
    const directory = spillDir();
    const sink = new CountingSink();
    const writer = new UsageLogWriter({ logger, spillDir: directory, spillAfterFailures: 2, spillAfterMs: 60_000 });
    writer.attach(sink);
    // Healthy: no disk write at all.
    for (let index = 0; index < 20; index++) writer.enqueue(row(index));
    await writer.flush(true);
    await writer.flush(true);
    expect(readdirSync(directory)).toEqual([]);
    sink.mode = 'down';
    for (let index = 20; index < 30; index++) writer.enqueue(row(index));
    await writer.flush(true);
    expect(writer.snapshot()).toMatchObject({ queued: 10, spilled: 0 }); // one failure: kept in memory
    await writer.flush(true);
    expect(writer.snapshot()).toMatchObject({ queued: 0, spilled: 10 }); // the second: on disk
    // Rows answered while it stays down go to disk at the next tick (within the backoff).
    for (let index = 30; index < 35; index++) writer.enqueue(row(index));
    await writer.flush();
    expect(writer.snapshot()).toMatchObject({ queued: 0, spilled: 15, dropped: 0 });
    expect(spilledIds(directory)).toHaveLength(15); // each row once
    sink.mode = 'up';
    writer.enqueue(row(35));
    await writer.flush(true);
    expect(sink.fresh.size).toBe(36);
    expect([...sink.fresh.values()].every((count) => count === 1)).toBe(true);
    expect(readdirSync(directory)).toEqual([]);
    // Healthy again: no disk writes.
    writer.enqueue(row(36));
    await writer.flush(true);
    expect(readdirSync(directory)).toEqual([]);
    expect(writer.snapshot()).toMatchObject({ queued: 0, spilled: 15, dropped: 0 });
  });

  it('spills rows held in memory after spillAfterMs when the database is not there yet', async () => {
    const directory = spillDir();
    const writer = new UsageLogWriter({ logger, spillDir: directory, spillAfterMs: 30 });
    for (let index = 0; index < 3; index++) writer.enqueue(row(index));
    await writer.flush(true);
    expect(writer.snapshot().queued).toBe(3);
    await new Promise((resolve) => setTimeout(resolve, 40));
    await writer.flush(true);
    expect(writer.snapshot()).toMatchObject({ queued: 0, spilled: 3 });
  });

  it('a write that hangs past spillAfterMs: the rows behind it spill and its own are copied to disk once; nothing is stored twice', async () => {
    const directory = spillDir();
    const sink = new CountingSink();
    sink.mode = 'hang';
    const writer = new UsageLogWriter({ logger, spillDir: directory, spillAfterMs: 30, batchSize: 5 });
    writer.attach(sink);
    for (let index = 0; index < 4; index++) writer.enqueue(row(index));
    const running = writer.flush(true);
    for (let index = 4; index < 10; index++) writer.enqueue(row(index));
    await new Promise((resolve) => setTimeout(resolve, 40));
    void writer.flush(); // a tick finds the write hanging (its promise is that write's)
    void writer.flush();
    await new Promise((resolve) => setTimeout(resolve, 20));
    expect(spilledIds(directory).sort()).toEqual(Array.from({ length: 10 }, (_, index) => `call-${index}`).sort());
    expect(writer.snapshot().queued).toBe(4); // the hanging write's rows, still its own
    sink.release();
    await running;
    await writer.flush(true);
    expect(sink.fresh.size).toBe(10);
    expect([...sink.fresh.values()].every((count) => count === 1)).toBe(true);
    expect(readdirSync(directory)).toEqual([]);
  });

  it('one row the database refuses in a spill file is set aside; the rest of the replay goes through', async () => {
    const directory = spillDir();
    const lines = [row(1), { ...row(2), latency_ms: null }, row(3)].map((item) => JSON.stringify(item));
    writeFileSync(join(directory, 'usage-spill.jsonl'), `${lines.join('\n')}\n`);
    const stored = new Map<string, UsageLogRow>();
    const picky: UsageSink = {
      async insertMany(batch) {
        if (batch.some((item) => item.latency_ms === null)) throw new Error('NOT NULL constraint failed: usage_logs.latency_ms');
        for (const item of batch) stored.set(item.call_id, item);
      },
      ping: async () => true,
    };
    const writer = new UsageLogWriter({ logger, spillDir: directory });
    writer.attach(picky);
    expect(await within(writer.spillWrittenBack()!, 2_000)).toBe('settled');
    expect(await writer.spillWrittenBack()).toBeUndefined(); // no spill left
    expect([...stored.keys()].sort()).toEqual(['call-1', 'call-3']);
    expect(writer.snapshot()).toMatchObject({ rejected: 1, written: 2 });
    expect(readdirSync(directory)).toEqual(['usage-rejected.jsonl']);
    expect(JSON.parse(readFileSync(join(directory, 'usage-rejected.jsonl'), 'utf8').trim()).call_id).toBe('call-2');
    await writer.close(10);
  });

  it('a spilled batch refused because the database cannot write now stays spilled (nothing set aside)', async () => {
    const directory = spillDir();
    writeFileSync(join(directory, 'usage-spill.jsonl'), `${[row(1), row(2)].map((item) => JSON.stringify(item)).join('\n')}\n`);
    let locked = true;
    const stored = new Map<string, UsageLogRow>();
    const sink: UsageSink = {
      async insertMany(batch) {
        if (locked) throw Object.assign(new Error('canceling statement due to lock timeout'), { code: '55P03' });
        for (const item of batch) stored.set(item.call_id, item);
      },
      ping: async () => true,
    };
    const writer = new UsageLogWriter({ logger, spillDir: directory });
    writer.attach(sink);
    await new Promise((resolve) => setTimeout(resolve, 20));
    await writer.flush(true);
    expect(writer.snapshot()).toMatchObject({ rejected: 0 });
    expect(readdirSync(directory)).toEqual(['usage-spill.jsonl.replaying']);
    locked = false;
    await writer.flush(true);
    expect(stored.size).toBe(2);
    expect(readdirSync(directory)).toEqual([]);
  });
});
