/**
 * `switchboard start --workers 2` as a user runs it (the built bin/switchboard.js), without Redis:
 * the primary process owns limits and budgets, so an rpm limit and a budget hold to the request
 * across both workers; requests land on both (x-switchboard-worker); every usage row reaches the
 * SQLite file once; SIGHUP reaches both workers, and SIGTERM stops them all cleanly.
 */
import SQLite from 'better-sqlite3';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGatewayProcess, type GatewayProcess } from '../support/gateway-process.js';
import { chatStatus, clientFor, Management, maxCostMicros, pricedConfig, promptBound } from '../support/management.js';
import { MockOpenAI, sleep } from '../support/mock-openai.js';

const MAX_TOKENS = 10;
const CALL_MICROS = maxCostMicros('hi', MAX_TOKENS);
const usd = (micros: number) => micros / 1_000_000;

const upstream = new MockOpenAI({ promptTokens: promptBound('hi'), completionTokens: MAX_TOKENS });
const directory = mkdtempSync(join(tmpdir(), 'switchboard-workers-'));
const databaseFile = join(directory, 'gateway.db');
let gateway: GatewayProcess;
let api: Management;

beforeAll(async () => {
  await upstream.start();
  // Without Redis even where CI sets REDIS_URL: the primary owns the limits (the path under test).
  gateway = await startGatewayProcess(pricedConfig(upstream.url), { DATABASE_URL: `sqlite:${databaseFile}`, REDIS_URL: '' }, ['--workers', '2']);
  api = new Management(gateway.url);
}, 45_000);

afterAll(async () => {
  await gateway?.stop();
  await upstream.close();
  rmSync(directory, { recursive: true, force: true });
});

const call = (key: string) => chatStatus(clientFor(gateway.url, key), { model: 'cheap', max_tokens: MAX_TOKENS });

/** Until both workers answered the key (each loads it from the database once). */
async function bothWorkersKnow(key: string): Promise<void> {
  const seen = new Set<string>();
  // Requests at once open connections of their own, which the primary hands to the workers in turn.
  for (let tries = 0; tries < 10 && seen.size < 2; tries++) {
    const responses = await Promise.all(Array.from({ length: 4 }, () => fetch(`${gateway.url}/v1/models`, { headers: { authorization: `Bearer ${key}` } })));
    for (const response of responses) {
      expect(response.status).toBe(200);
      seen.add(response.headers.get('x-switchboard-worker') ?? '');
      await response.arrayBuffer();
    }
  }
  expect([...seen].sort()).toEqual(['1', '2']);
}

describe('start --workers 2 without Redis', () => {
  it('says how many workers serve, and the primary migrated the database once', () => {
    const output = gateway.output();
    expect(output).toMatch(/listening on http:\/\/127\.0\.0\.1:\d+ with 2 workers/);
    expect(output).toContain('worker 1 of 2 ready');
    expect(output).toContain('worker 2 of 2 ready');
    expect(output.match(/database migrated/g) ?? []).toHaveLength(1);
  });

  it.skipIf(process.platform !== 'linux')('runs its workers with two glibc malloc arenas unless the environment names a number', () => {
    const workers = readdirSync('/proc').filter((entry) => {
      if (!/^\d+$/.test(entry)) return false;
      try {
        return new RegExp(`^PPid:\\s+${gateway.process.pid}$`, 'm').test(readFileSync(`/proc/${entry}/status`, 'utf8')) && readFileSync(`/proc/${entry}/environ`, 'utf8').includes('SWITCHBOARD_WORKER_INDEX=');
      } catch {
        return false;
      }
    });
    expect(workers).toHaveLength(2);
    for (const pid of workers) expect(readFileSync(`/proc/${pid}/environ`, 'utf8').split('\0')).toContain(`MALLOC_ARENA_MAX=${process.env.MALLOC_ARENA_MAX ?? '2'}`);
  });

  it('an rpm limit of 10 lets exactly 10 of 30 requests through, the requests landing on both workers', async () => {
    const key = await api.generateKey({ rpm_limit: 10, max_parallel_requests: 1_000 });
    await bothWorkersKnow(key.key);
    const outcomes = await Promise.all(Array.from({ length: 30 }, () => call(key.key)));
    expect(outcomes.filter((outcome) => outcome.status === 200)).toHaveLength(10);
    expect(outcomes.filter((outcome) => outcome.status === 429)).toHaveLength(20);
    // The calls were served by both workers (which of them took the 10 admitted ones is a race
    // between the workers: a worker that is a few milliseconds slower can find every slot taken).
    const workers = new Set(outcomes.map((outcome) => outcome.headers.get('x-switchboard-worker')));
    expect([...workers].sort()).toEqual(['1', '2']);
  });

  it('a budget is never passed by parallel requests split over both workers', async () => {
    const budget = 20 * CALL_MICROS;
    const key = await api.generateKey({ max_budget: usd(budget), max_parallel_requests: 1_000 });
    await bothWorkersKnow(key.key);
    upstream.alwaysFault = { kind: 'delay', ms: 50 };
    const outcomes = await Promise.all(Array.from({ length: 60 }, () => call(key.key)));
    upstream.alwaysFault = undefined;
    expect(outcomes.filter((outcome) => outcome.status === 200)).toHaveLength(20);
    expect(outcomes.filter((outcome) => outcome.status === 400 && outcome.error?.type === 'budget_exceeded')).toHaveLength(40);
    const workers = new Set(outcomes.map((outcome) => outcome.headers.get('x-switchboard-worker')));
    expect([...workers].sort()).toEqual(['1', '2']);
    // Spent to the micro-dollar: either worker refuses the next call.
    for (let index = 0; index < 4; index++) expect((await call(key.key)).status).toBe(400);
  });

  it('SIGHUP to the primary reloads the config in both workers', async () => {
    const before = gateway.output().length;
    gateway.process.kill('SIGHUP');
    const deadline = Date.now() + 5_000;
    while (Date.now() < deadline && (gateway.output().slice(before).match(/SIGHUP: config reloaded/g) ?? []).length < 2) await sleep(50);
    expect(gateway.output().slice(before).match(/SIGHUP: config reloaded/g) ?? []).toHaveLength(2);
  });

  it('SIGTERM stops every worker cleanly, and each usage row is in the database once', async () => {
    const upstreamCalls = upstream.requests.length;
    await gateway.stop();
    expect(gateway.process.exitCode).toBe(0);
    expect(gateway.output()).toContain('every worker stopped');
    expect(gateway.output().match(/"msg":"gateway stopped"|gateway stopped/g) ?? []).toHaveLength(2);
    const db = new SQLite(databaseFile, { readonly: true });
    try {
      const rows = db.prepare("SELECT count(*) AS rows, count(DISTINCT call_id) AS calls, sum(CASE WHEN status = 'success' THEN 1 ELSE 0 END) AS successes FROM usage_logs WHERE endpoint = 'chat/completions'").get() as { rows: number; calls: number; successes: number };
      if (rows.rows !== 94) console.log(gateway.output().split('\n').filter((line) => /stopped|stopping|spill|usage/.test(line)).join('\n'));
      // 30 + 60 + 4 chat calls were made; 10 + 20 reached the upstream.
      expect(rows.rows).toBe(94);
      expect(rows.calls).toBe(94);
      expect(rows.successes).toBe(30);
      expect(upstreamCalls).toBe(30);
    } finally {
      db.close();
    }
  });
});

describe('start --workers 2 without Redis: a worker that dies mid-call', () => {
  const stalled = new MockOpenAI({ promptTokens: promptBound('hi'), completionTokens: MAX_TOKENS });
  const crashDirectory = mkdtempSync(join(tmpdir(), 'switchboard-workers-crash-'));
  let crashGateway: GatewayProcess;

  beforeAll(async () => {
    await stalled.start();
    // The primary owns the limits (REDIS_URL, which CI sets, is left out: with Redis the per-replica holds free them instead).
    crashGateway = await startGatewayProcess(pricedConfig(stalled.url), { DATABASE_URL: `sqlite:${join(crashDirectory, 'gateway.db')}`, REDIS_URL: '' }, ['--workers', '2']);
  }, 45_000);

  afterAll(async () => {
    await crashGateway?.stop();
    await stalled.close();
    rmSync(crashDirectory, { recursive: true, force: true });
  });

  /** The pid of worker `index` (a child of the primary started with SWITCHBOARD_WORKER_INDEX=index). */
  function workerPid(index: string): number {
    for (const entry of readdirSync('/proc')) {
      if (!/^\d+$/.test(entry)) continue;
      try {
        const status = readFileSync(`/proc/${entry}/status`, 'utf8');
        if (!new RegExp(`^PPid:\\s+${crashGateway.process.pid}$`, 'm').test(status)) continue;
        if (readFileSync(`/proc/${entry}/environ`, 'utf8').split('\0').includes(`SWITCHBOARD_WORKER_INDEX=${index}`)) return Number(entry);
      } catch {
        // gone meanwhile
      }
    }
    throw new Error(`no worker ${index} found`);
  }

  it.skipIf(process.platform !== 'linux')('gives back the slot and the budget reservation its call held, so the key can be used in full again', async () => {
    const crashApi = new Management(crashGateway.url);
    const call = (key: string) => chatStatus(clientFor(crashGateway.url, key), { model: 'cheap', max_tokens: MAX_TOKENS });
    // One call at a time, and a budget with room for one reservation only.
    const key = await crashApi.generateKey({ max_parallel_requests: 1, max_budget: usd(CALL_MICROS * 1.5) });
    stalled.faults.push({ kind: 'stall-mid-stream', afterChunks: 2 });
    const streaming = await fetch(`${crashGateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { 'content-type': 'application/json', authorization: `Bearer ${key.key}` },
      body: JSON.stringify({ model: 'cheap', max_tokens: MAX_TOKENS, stream: true, messages: [{ role: 'user', content: 'hi' }] }),
    });
    expect(streaming.status).toBe(200);
    const index = streaming.headers.get('x-switchboard-worker')!;
    // While the stream is open, its slot is taken on both workers.
    expect((await call(key.key)).status).toBe(429);
    process.kill(workerPid(index), 'SIGKILL');
    await streaming.body?.cancel().catch(() => undefined);
    const deadline = Date.now() + 15_000;
    // The primary gives back what the worker held, and starts a new worker in its place (after a second).
    const readyLines = () => crashGateway.output().split(`worker ${index} of 2 ready`).length - 1;
    while ((readyLines() < 2 || !crashGateway.output().includes('exited holding limits')) && Date.now() < deadline) await sleep(50);
    expect(readyLines()).toBe(2);
    // A connection the primary handed over as the worker died can be lost (node:cluster): the
    // gateway answers again before the key is tried.
    for (let probe = 0; probe < 5; probe++) {
      const answered = await fetch(`${crashGateway.url}/v1/models`, { headers: { authorization: `Bearer ${key.key}` }, signal: AbortSignal.timeout(2_000) }).then((response) => response.status, () => 0);
      if (answered === 200) break;
    }
    // The slot and the reservation are free again: the next call passes, on whichever worker serves it.
    expect((await call(key.key)).status).toBe(200);
    expect(crashGateway.output()).toContain(`worker ${index} exited holding limits of calls in flight: given back`);
  }, 40_000);
});

describe('start --workers refuses what it cannot honour', () => {
  const start = async (args: string[], env: Record<string, string>) => {
    try {
      await promisify(execFile)(process.execPath, ['bin/switchboard.js', 'start', '--config', join(directory, 'refused.yaml'), '--port', '0', ...args], { env: { ...process.env, ...env } });
      return { code: 0, stderr: '' };
    } catch (error) {
      return error as { code: number; stderr: string };
    }
  };

  it('an in-memory database (one per worker) and a worker count that is not a whole number from 1', async () => {
    writeFileSync(join(directory, 'refused.yaml'), 'model_list: []\n');
    const memory = await start(['--workers', '2'], { DATABASE_URL: 'sqlite::memory:' });
    expect(memory.code).toBe(1);
    expect(memory.stderr).toContain('--workers above 1 needs a database every worker can open');
    const zero = await start(['--workers', '0'], { DATABASE_URL: 'sqlite::memory:' });
    expect(zero.code).toBe(1);
    expect(zero.stderr).toContain('--workers must be a whole number from 1, or auto');
  }, 60_000);
});
