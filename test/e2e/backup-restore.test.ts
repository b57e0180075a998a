/**
 * `switchboard backup` / `switchboard restore` as an operator runs them: the built CLI in a child
 * process, against a database another process is writing (a row-writing loop, and the real gateway
 * under traffic).
 */
import { execFile, spawn } from 'node:child_process';
import { existsSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createRequire } from 'node:module';
import { promisify } from 'node:util';
import SQLite from 'better-sqlite3';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGatewayProcess } from '../support/gateway-process.js';
import { MASTER_KEY, openAIConfig } from '../support/gateway.js';
import { MockOpenAI } from '../support/mock-openai.js';

const run = promisify(execFile);
const directory = mkdtempSync(join(tmpdir(), 'switchboard-backup-'));
const upstream = new MockOpenAI({ promptTokens: 10, completionTokens: 5 });

beforeAll(async () => {
  if (!existsSync('dist/switchboard.js')) throw new Error('dist/switchboard.js is missing: run `npm run build` before this suite');
  await upstream.start();
});
afterAll(async () => {
  await upstream.close();
  rmSync(directory, { recursive: true, force: true });
});

async function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['bin/switchboard.js', ...args], { env: { ...process.env, DATABASE_URL: '', ...env } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

function query<T>(file: string, sql: string): T[] {
  const database = new SQLite(file, { readonly: true, fileMustExist: true });
  try {
    return database.prepare(sql).all() as T[];
  } finally {
    database.close();
  }
}

/** Inserts usage rows in transactions of BATCH until stopped; prints the committed count after each. */
const WRITER = `
const SQLite = require(process.argv[1]);
const db = new SQLite(process.argv[2]);
db.pragma('journal_mode = WAL');
db.pragma('busy_timeout = 5000');
const insert = db.prepare("insert into usage_logs (call_id, created_at, endpoint, stream, tokens_estimated, latency_ms, status, http_status, retries, fallbacks, metadata) values (?, ?, 'chat', 0, 0, 1, 'success', 200, 0, 0, ?)");
const batch = db.transaction((start) => { for (let i = 0; i < 10; i++) insert.run('call-' + (start + i), Date.now(), 'x'.repeat(400)); });
let written = 0;
let stopping = false;
process.on('SIGTERM', () => { stopping = true; });
function loop() {
  for (let i = 0; i < 20 && !stopping; i++) { batch(written); written += 10; }
  process.stdout.write(written + '\\n');
  if (stopping) { db.close(); process.exit(0); }
  setImmediate(loop);
}
loop();
`;

describe('switchboard backup', () => {
  it('takes a consistent copy while another process keeps writing rows', async () => {
    const dataDir = join(directory, 'busy');
    expect((await cli(['migrate', '--data-dir', dataDir])).code).toBe(0);
    const live = join(dataDir, 'switchboard.db');

    const writer = spawn(process.execPath, ['-e', WRITER, createRequire(import.meta.url).resolve('better-sqlite3'), live], { stdio: ['ignore', 'pipe', 'inherit'] });
    let committed = 0;
    writer.stdout.on('data', (chunk: Buffer) => (committed = Number(chunk.toString().trim().split('\n').pop())));
    const exited = new Promise((resolve) => writer.once('exit', resolve));
    // Enough rows that the copy takes a while: the writer commits throughout it.
    while (committed < 30_000) await new Promise((resolve) => setTimeout(resolve, 20));
    const before = committed;
    const out = join(directory, 'busy-backup.db');
    const result = await cli(['backup', '--data-dir', dataDir, '--out', out]);
    const after = committed;
    writer.kill('SIGTERM');
    await exited;

    expect(result.stderr).toBe('');
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(`backed up ${live} to ${out}`);
    expect(result.stdout).toContain('integrity ok');
    expect(after).toBeGreaterThan(before); // the writer did write during the backup
    expect(query<{ integrity_check: string }>(out, 'pragma integrity_check')).toEqual([{ integrity_check: 'ok' }]);
    expect(query<{ journal_mode: string }>(out, 'pragma journal_mode')).toEqual([{ journal_mode: 'delete' }]);
    expect(statSync(out).mode & 0o777).toBe(0o600);
    expect(readdirSync(directory).filter((name) => name.includes('.partial-'))).toEqual([]);

    // A consistent prefix: whole transactions only, ids 1..n without a gap, the same rows as the live file.
    const [{ n, maxId }] = query<{ n: number; maxId: number }>(out, 'select count(*) as n, max(id) as maxId from usage_logs');
    expect(n).toBeGreaterThanOrEqual(before);
    expect(n % 10).toBe(0);
    expect(maxId).toBe(n);
    const backedUp = query<{ call_id: string }>(out, 'select call_id from usage_logs order by id').map((row) => row.call_id);
    const original = query<{ call_id: string }>(live, `select call_id from usage_logs where id <= ${n} order by id`).map((row) => row.call_id);
    expect(backedUp).toEqual(original);
    expect(query<{ n: number }>(live, 'select count(*) as n from usage_logs')[0].n).toBeGreaterThan(n);
    expect(result.stdout).toContain(`${n} usage rows`);
  });

  it('names a timestamped file in a directory, and replaces an existing file only with --force', async () => {
    const dataDir = join(directory, 'small');
    expect((await cli(['migrate', '--data-dir', dataDir])).code).toBe(0);
    const backups = join(directory, 'backups');
    mkdirSync(backups);
    const first = await cli(['backup', '--data-dir', dataDir, '--out', backups]);
    expect(first.code).toBe(0);
    const [name] = readdirSync(backups);
    expect(name).toMatch(/^switchboard-\d{8}T\d{6}Z\.db$/);

    const target = join(backups, name);
    const again = await cli(['backup', '--data-dir', dataDir, '--out', target]);
    expect(again.code).toBe(1);
    expect(again.stderr).toContain(`${target} exists: pass --force to replace it`);
    expect((await cli(['backup', '--data-dir', dataDir, '--out', target, '--force'])).code).toBe(0);
  });

  it('refuses PostgreSQL with a pointer to pg_dump, and a missing database or --out in words', async () => {
    const postgres = await cli(['backup', '--out', join(directory, 'x.db')], { DATABASE_URL: 'postgres://user:secret@db.example:5432/switchboard' });
    expect(postgres.code).toBe(1);
    expect(postgres.stderr).toContain('pg_dump');
    expect(postgres.stderr).toContain('postgres://user:***@db.example:5432/switchboard');
    expect(postgres.stderr).not.toContain('secret');

    const missing = await cli(['backup', '--data-dir', join(directory, 'nothing-here'), '--out', join(directory, 'y.db')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toContain('no database at');

    const usage = await cli(['backup']);
    expect(usage.code).toBe(2);
    expect(usage.stderr).toContain('usage: switchboard backup --out');
  });
});

describe('switchboard restore', () => {
  it('refuses while the gateway serves from the database, then restores once it is stopped, keeping the old file', async () => {
    const dataDir = join(directory, 'served');
    mkdirSync(dataDir);
    const live = join(dataDir, 'switchboard.db');
    const env = { DATABASE_URL: `sqlite:${live}`, SWITCHBOARD_DATA_DIR: dataDir };
    const gateway = await startGatewayProcess(openAIConfig(upstream.url), env);
    const client = new OpenAI({ apiKey: MASTER_KEY, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
    const out = join(directory, 'served-backup.db');
    let stopped = false;
    try {
      for (let index = 0; index < 5; index++) await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
      await waitForRows(live, 5);

      // Backup during traffic.
      const traffic = (async () => {
        let sent = 0;
        while (!stopped && sent < 40) {
          await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `more ${sent}` }] });
          sent++;
        }
        return sent;
      })();
      const backup = await cli(['backup', '--out', out], env);
      expect(backup.code).toBe(0);
      stopped = true;
      await traffic;
      const backedUp = query<{ n: number }>(out, 'select count(*) as n from usage_logs')[0].n;
      expect(backedUp).toBeGreaterThanOrEqual(5);

      const refused = await cli(['restore', '--from', out], env);
      expect(refused.code).toBe(1);
      expect(refused.stderr).toContain(`${live} is open in another process (a running gateway, or a backup in progress): stop the gateway first`);
      // Nothing was touched, and the gateway still serves and records.
      expect(readdirSync(dataDir).filter((name) => name.includes('before-restore') || name.includes('.restore-'))).toEqual([]);
      await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'still here' }] });
    } finally {
      stopped = true;
      await gateway.stop();
    }
    const liveRows = query<{ n: number }>(live, 'select count(*) as n from usage_logs')[0].n;
    const backedUp = query<{ n: number }>(out, 'select count(*) as n from usage_logs')[0].n;
    expect(liveRows).toBeGreaterThan(backedUp);

    const restored = await cli(['restore', '--from', out], env);
    expect(restored.stderr).toBe('');
    expect(restored.code).toBe(0);
    const kept = readdirSync(dataDir).filter((name) => /^switchboard\.db\.before-restore-\d{8}T\d{6}Z$/.test(name));
    expect(kept).toHaveLength(1);
    expect(restored.stdout).toContain(`the database it replaced is kept as ${join(dataDir, kept[0])}`);
    expect(query<{ n: number }>(live, 'select count(*) as n from usage_logs')[0].n).toBe(backedUp);
    expect(query<{ n: number }>(join(dataDir, kept[0]), 'select count(*) as n from usage_logs')[0].n).toBe(liveRows);
    expect(statSync(live).mode & 0o777).toBe(0o600);

    // The gateway starts on the restored database and appends to it.
    const again = await startGatewayProcess(openAIConfig(upstream.url), env);
    try {
      const client2 = new OpenAI({ apiKey: MASTER_KEY, baseURL: `${again.url}/v1`, maxRetries: 0 });
      await client2.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'after restore' }] });
      await waitForRows(live, backedUp + 1);
    } finally {
      await again.stop();
    }
  });

  it('checks the file is a Switchboard database before replacing anything', async () => {
    const dataDir = join(directory, 'checked');
    expect((await cli(['migrate', '--data-dir', dataDir])).code).toBe(0);
    const before = readdirSync(dataDir).sort();

    const text = join(directory, 'notes.txt');
    writeFileSync(text, 'not a database at all, just some words that are long enough to fill a header');
    const notSqlite = await cli(['restore', '--data-dir', dataDir, '--from', text]);
    expect(notSqlite.code).toBe(1);
    expect(notSqlite.stderr).toContain('is not a SQLite database');

    const other = join(directory, 'other.db');
    const database = new SQLite(other);
    database.exec('create table things (id integer primary key)');
    database.close();
    const notOurs = await cli(['restore', '--data-dir', dataDir, '--from', other]);
    expect(notOurs.code).toBe(1);
    expect(notOurs.stderr).toContain('is a SQLite database but not a Switchboard one (it has no switchboard_migrations table)');

    const newer = join(directory, 'newer.db');
    expect((await cli(['backup', '--data-dir', dataDir, '--out', newer])).code).toBe(0);
    const writable = new SQLite(newer);
    writable.prepare('insert into switchboard_migrations (name, timestamp) values (?, ?)').run('2099-01-01-0001-future', new Date().toISOString());
    writable.close();
    const fromTheFuture = await cli(['restore', '--data-dir', dataDir, '--from', newer]);
    expect(fromTheFuture.code).toBe(1);
    expect(fromTheFuture.stderr).toContain('written by a newer Switchboard (migrations this version does not know: 2099-01-01-0001-future)');

    expect(readdirSync(dataDir).sort()).toEqual(before);
  });

  it('restores a database file in WAL mode with the rows still in its -wal file', async () => {
    const source = join(directory, 'wal-source');
    expect((await cli(['migrate', '--data-dir', source])).code).toBe(0);
    const file = join(source, 'switchboard.db');
    const writer = new SQLite(file);
    writer.pragma('journal_mode = WAL');
    writer.pragma('wal_autocheckpoint = 0');
    const insert = writer.prepare("insert into usage_logs (call_id, created_at, endpoint, stream, tokens_estimated, latency_ms, status, http_status, retries, fallbacks) values (?, 0, 'chat', 0, 0, 1, 'success', 200, 0, 0)");
    for (let index = 0; index < 25; index++) insert.run(`wal-${index}`);
    try {
      expect(statSync(`${file}-wal`).size).toBeGreaterThan(0); // the rows are in the WAL, not yet in the file
      const target = join(directory, 'wal-target');
      const result = await cli(['restore', '--data-dir', target, '--from', file]);
      expect(result.code).toBe(0);
      expect(result.stdout).toContain('(25 usage rows');
      expect(query<{ n: number }>(join(target, 'switchboard.db'), 'select count(*) as n from usage_logs')[0].n).toBe(25);
      expect(readdirSync(target)).toEqual(['switchboard.db']);
    } finally {
      writer.close();
    }
  });

  it('puts the backup in place where there is no database yet', async () => {
    const source = join(directory, 'source');
    expect((await cli(['migrate', '--data-dir', source])).code).toBe(0);
    const backup = join(directory, 'fresh-backup.db');
    expect((await cli(['backup', '--data-dir', source, '--out', backup])).code).toBe(0);
    const fresh = join(directory, 'fresh', 'data');
    const result = await cli(['restore', '--data-dir', fresh, '--from', backup]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('there was no database there before');
    expect(readdirSync(fresh)).toEqual(['switchboard.db']);
    expect(query<{ n: number }>(join(fresh, 'switchboard.db'), 'select count(*) as n from switchboard_migrations')[0].n).toBeGreaterThan(0);
  });
});

async function waitForRows(file: string, expected: number): Promise<void> {
  const deadline = Date.now() + 10_000;
  let count = 0;
  while (Date.now() < deadline) {
    count = existsSync(file) ? (query<{ n: number }>(file, "select count(*) as n from sqlite_master where name = 'usage_logs'")[0].n > 0 ? query<{ n: number }>(file, 'select count(*) as n from usage_logs')[0].n : 0) : 0;
    if (count >= expected) return;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  throw new Error(`expected ${expected} usage rows in ${file}, found ${count}`);
}
