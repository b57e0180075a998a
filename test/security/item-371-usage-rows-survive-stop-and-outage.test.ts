/**
 * Item 371: answered, billed calls keep their usage rows through a stop and an outage.
 *
 * - A database that hangs (answers nothing) no longer makes SIGTERM hang forever: the writer gives
 *   the hanging write up at its deadline and spills every queued row; the process stops within
 *   shutdown_timeout + 10 s whatever else hangs.
 * - A second signal spills the queue synchronously (and the rows of the calls it cuts) before exiting.
 * - While the database is down, rows go to disk after a few failed flushes / seconds instead of at
 *   50,000 queued: a SIGKILL loses at most those last seconds.
 * - One row the database refuses inside a spill file is set aside; the replay goes on and the
 *   virtual keys a restart holds until then are served.
 * Each spilled row is written back once, and its spend charged once (the key's spend equals the
 * sum of its stored rows, a row stored by a hanging write and also spilled included).
 */
import Database from 'better-sqlite3';
import { appendFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresDatabase, postgresAvailableForTests, type TestDatabase } from '../support/databases.js';
import { exitOf, spilledLines, startGatewayProcess, type GatewayProcess } from '../support/gateway-process.js';
import { MockOpenAI } from '../support/mock-openai.js';
import { TcpProxy } from '../support/tcp-proxy.js';
import { databaseIdentity, databaseTag } from '../../src/storage/database-identity.js';

const MASTER_KEY = 'sk-item-371-master-key';
const upstream = new MockOpenAI({ promptTokens: 10, completionTokens: 5 });
const slow = new MockOpenAI({ reply: Array.from({ length: 40 }, (_, index) => `w${index}`).join(' '), chunkDelayMs: 150 });
const postgres = await postgresAvailableForTests();
const directories: string[] = [];

beforeAll(async () => {
  await upstream.start();
  await slow.start();
});
afterAll(async () => {
  await upstream.close();
  await slow.close();
  for (const directory of directories) rmSync(directory, { recursive: true, force: true });
});

const config = () => `
model_list:
  - model_name: gpt-4o-mini
    litellm_params: {model: openai/gpt-4o-mini, api_base: "${upstream.url}", api_key: sk-upstream}
    model_info: {input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}
  - model_name: slow
    litellm_params: {model: openai/gpt-4o-mini, api_base: "${slow.url}", api_key: sk-upstream}
    model_info: {input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}
general_settings:
  master_key: ${MASTER_KEY}
  shutdown_timeout: 2
`;

function dataDirectory(): string {
  const directory = mkdtempSync(join(tmpdir(), 'item-371-'));
  directories.push(directory);
  return directory;
}

async function generateKey(gateway: GatewayProcess): Promise<string> {
  const response = await fetch(`${gateway.url}/key/generate`, { method: 'POST', headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' }, body: '{}' });
  expect(response.status).toBe(200);
  return ((await response.json()) as { key: string }).key;
}

function chat(gateway: GatewayProcess, key: string, content: string): Promise<Response> {
  return fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content }] }),
  });
}

async function answered(gateway: GatewayProcess, key: string, prefix: string, count: number): Promise<void> {
  for (let index = 0; index < count; index++) {
    const response = await chat(gateway, key, `${prefix}${index}`);
    const body = await response.text();
    expect(response.status, body).toBe(200);
  }
}

interface Ledger {
  rows: number;
  distinct: number;
  cost: number;
  keySpend: number;
}

async function ledger(url: string): Promise<Ledger> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    const rows = await client.query('select count(*)::int as rows, count(distinct call_id)::int as distinct, coalesce(sum(cost_micros), 0)::bigint as cost from usage_logs where key_id is not null');
    const keys = await client.query('select coalesce(sum(spend_micros), 0)::bigint as spend from api_keys');
    return { rows: rows.rows[0].rows, distinct: rows.rows[0].distinct, cost: Number(rows.rows[0].cost), keySpend: Number(keys.rows[0].spend) };
  } finally {
    await client.end();
  }
}

async function ledgerReaching(url: string, rows: number, timeoutMs = 15_000): Promise<Ledger> {
  const deadline = Date.now() + timeoutMs;
  let last = await ledger(url);
  while (last.rows < rows && Date.now() < deadline) {
    await new Promise((resolve) => setTimeout(resolve, 200));
    last = await ledger(url);
  }
  return last;
}


describe.skipIf(!postgres)('item 371: usage rows of answered calls survive a stop while PostgreSQL is down or hangs', () => {
  let database: TestDatabase;
  let proxy: TcpProxy;
  let gateway: GatewayProcess | undefined;
  let dataDir: string;
  let viaProxy: string;

  async function setUp(): Promise<string> {
    database = await createPostgresDatabase();
    proxy = new TcpProxy('127.0.0.1', Number(new URL(database.url).port || 5432));
    await proxy.start();
    const url = new URL(database.url);
    url.host = `127.0.0.1:${proxy.port}`;
    viaProxy = url.toString();
    dataDir = dataDirectory();
    gateway = await startGatewayProcess(config(), { DATABASE_URL: viaProxy }, ['--data-dir', dataDir]);
    const key = await generateKey(gateway);
    // The new key's invalidation (through Redis when configured) lands a moment later and empties the
    // key cache; the key must be cached once it settled, as calls made while the database is down need it.
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    await answered(gateway, key, 'before', 5);
    expect((await ledgerReaching(database.url, 5)).rows).toBe(5);
    return key;
  }

  async function tearDown(): Promise<void> {
    if (gateway && gateway.process.exitCode === null && gateway.process.signalCode === null) gateway.process.kill('SIGKILL');
    await gateway?.stop();
    gateway = undefined;
    await proxy.close();
    await database.drop();
  }

  /** The database back, a new gateway on the same data directory: every row, each once, its spend charged once. */
  async function restartAndCount(expected: number): Promise<Ledger> {
    await proxy.restore();
    gateway = await startGatewayProcess(config(), { DATABASE_URL: viaProxy }, ['--data-dir', dataDir]);
    const result = await ledgerReaching(database.url, expected);
    await gateway.stop();
    gateway = undefined;
    return result;
  }

  it('SIGTERM with a database that answers nothing: the process stops within shutdown_timeout + 10 s and every row is kept', async () => {
    try {
      const key = await setUp();
      proxy.loseReplies();
      await answered(gateway!, key, 'hung', 10);
      await new Promise((resolve) => setTimeout(resolve, 800));
      const exited = exitOf(gateway!);
      const startedAt = Date.now();
      gateway!.process.kill('SIGTERM');
      const outcome = await Promise.race([exited.then(() => 'exited'), new Promise((resolve) => setTimeout(() => resolve('still running'), 20_000))]);
      console.log(`[item 371] hanging database: ${outcome} ${Date.now() - startedAt} ms after SIGTERM; ${spilledLines(dataDir)} rows spilled`);
      expect(outcome).toBe('exited');
      await proxy.cut(); // the hung connections go
      const after = await restartAndCount(15);
      console.log('[item 371] hanging database, after restart:', after);
      expect(after).toMatchObject({ rows: 15, distinct: 15 });
      expect(after.keySpend).toBe(after.cost);
    } finally {
      await tearDown();
    }
  }, 90_000);

  it('a second SIGTERM while the database is down spills the queued rows, and the stream it cuts, before exiting', async () => {
    try {
      const key = await setUp();
      await proxy.cut();
      await answered(gateway!, key, 'down', 10);
      const stream = await fetch(`${gateway!.url}/v1/chat/completions`, {
        method: 'POST',
        headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'slow', stream: true, messages: [{ role: 'user', content: 'count' }] }),
      });
      const reader = stream.body!.getReader();
      await reader.read();
      const exited = exitOf(gateway!);
      gateway!.process.kill('SIGTERM');
      await new Promise((resolve) => setTimeout(resolve, 300));
      gateway!.process.kill('SIGTERM');
      void (async () => {
        try {
          for (;;) if ((await reader.read()).done) break;
        } catch {
          // cut
        }
      })();
      const code = await Promise.race([exited, new Promise((resolve) => setTimeout(() => resolve('still running'), 10_000))]);
      console.log(`[item 371] second signal: exit ${String(code)}; ${spilledLines(dataDir)} rows spilled`);
      expect(code).toBe(1);
      expect(spilledLines(dataDir)).toBeGreaterThanOrEqual(11);
      const after = await restartAndCount(16);
      console.log('[item 371] second signal, after restart:', after);
      expect(after).toMatchObject({ rows: 16, distinct: 16 });
      expect(after.keySpend).toBe(after.cost);
    } finally {
      await tearDown();
    }
  }, 90_000);

  it('SIGKILL while the database is down loses no row answered more than a few seconds before', async () => {
    try {
      const key = await setUp();
      await proxy.cut();
      await answered(gateway!, key, 'down', 10);
      await new Promise((resolve) => setTimeout(resolve, 4_000));
      const spilled = spilledLines(dataDir);
      const exited = exitOf(gateway!);
      gateway!.process.kill('SIGKILL');
      await exited;
      console.log(`[item 371] SIGKILL 4 s into the outage: ${spilled} of 10 rows were on disk`);
      expect(spilled).toBe(10);
      const after = await restartAndCount(15);
      console.log('[item 371] SIGKILL, after restart:', after);
      expect(after).toMatchObject({ rows: 15, distinct: 15 });
      expect(after.keySpend).toBe(after.cost);
    } finally {
      await tearDown();
    }
  }, 90_000);
});

describe('item 371: one row the database refuses in a spill file does not block the replay', () => {
  it('sets the row aside, writes the others, and serves virtual keys again', async () => {
    const dataDir = dataDirectory();
    const file = join(dataDir, 'db.sqlite');
    const url = `sqlite:${file}`;
    let gateway = await startGatewayProcess(config(), { DATABASE_URL: url }, ['--data-dir', dataDir]);
    const key = await generateKey(gateway);
    try {
      await answered(gateway, key, 'before', 1);
      await gateway.stop();
      const db = new Database(file);
      const stored = db.prepare('select * from usage_logs limit 1').get() as Record<string, unknown>;
      db.close();
      delete stored.id;
      const lines = [
        { ...stored, call_id: 'spilled-good-1' },
        { ...stored, call_id: 'spilled-bad', latency_ms: null },
        { ...stored, call_id: 'spilled-good-2' },
      ];
      mkdirSync(join(dataDir, 'spill'), { recursive: true });
      appendFileSync(join(dataDir, 'spill', `usage-spill.${databaseTag(databaseIdentity(url))}.jsonl`), lines.map((line) => JSON.stringify(line)).join('\n') + '\n');

      gateway = await startGatewayProcess(config(), { DATABASE_URL: url }, ['--data-dir', dataDir]);
      const deadline = Date.now() + 8_000;
      let readiness = 0;
      while (Date.now() < deadline) {
        readiness = (await fetch(`${gateway.url}/health/readiness`)).status;
        if (readiness === 200) break;
        await new Promise((resolve) => setTimeout(resolve, 200));
      }
      const call = await chat(gateway, key, 'after');
      console.log(`[item 371] bad spilled row: readiness ${readiness}, virtual key call ${call.status}`);
      expect(readiness).toBe(200);
      expect(call.status).toBe(200);
      const spillFiles = readdirSync(join(dataDir, 'spill'));
      expect(spillFiles.filter((name) => name.startsWith('usage-spill'))).toEqual([]);
      const rejected = spillFiles.filter((name) => name.startsWith('usage-rejected'));
      expect(rejected).toHaveLength(1);
      expect(readFileSync(join(dataDir, 'spill', rejected[0]), 'utf8')).toContain('spilled-bad');
      const check = new Database(file, { readonly: true });
      const ids = (check.prepare("select call_id from usage_logs where call_id like 'spilled-%' order by call_id").all() as { call_id: string }[]).map((row) => row.call_id);
      check.close();
      expect(ids).toEqual(['spilled-good-1', 'spilled-good-2']);
    } finally {
      await gateway.stop();
    }
  }, 60_000);
});
