/**
 * Usage rows the database could not take (a SQLite file held by another writer, a PostgreSQL primary
 * turned read-only by a failover) wait in memory and, at shutdown, are spilled to data/spill; they are
 * written back once the database writes again. Before, a restarted gateway read each key's spend
 * from the database at once, without the spilled rows: a key of a 100 µ$ budget that had spent 90 µ$
 * (a 4th call refused) before the restart was admitted again afterwards and spent 90 µ$ more in the
 * same period — and the local counter, seeded from that stale spend, stayed low even after the
 * spilled rows landed. Now virtual keys are served only once this database's spill is written back
 * (until then they are refused with 503, as while the database is not ready; the master key works);
 * the spilled rows are written exactly once and count toward the key's spend.
 */
import Database from 'better-sqlite3';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { createRuntime, type GatewayRuntime } from '../../src/runtime/gateway-runtime.js';
import { chatStatus, clientFor, Management, pricedConfig } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

/** Every call: 10 prompt and 10 completion tokens at the cheap prices, 30 µ$; it reserves 38 µ$ (max_tokens 10). */
const CALL_MICROS = 30;
const MAX_TOKENS = 10;
/** Three calls (90 µ$) leave too little for a fourth's reservation. */
const BUDGET_MICROS = 100;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe('spilled usage rows count toward the budget after a restart', () => {
  const upstream = new MockOpenAI({ promptTokens: 10, completionTokens: 10 });
  const directory = mkdtempSync(join(tmpdir(), 'item-286-'));
  const dataDir = join(directory, 'data');
  const file = join(directory, 'gateway.db');
  let runtime: GatewayRuntime | undefined;
  let blocker: Database.Database | undefined;

  /** One gateway process as `switchboard start` builds it, on the same data directory and SQLite file each time. */
  async function start(): Promise<{ runtime: GatewayRuntime; url: string }> {
    const loaded = parseConfig(pricedConfig(upstream.url), {}, 'item-286.yaml');
    const started = await createRuntime(loaded, { logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }), databaseUrl: `sqlite:${file}`, dataDir, usageFlushIntervalMs: 20 });
    const url = await started.listen(0, '127.0.0.1');
    const deadline = Date.now() + 10_000;
    while (started.database.status === 'connecting' && Date.now() < deadline) await sleep(10);
    return { runtime: started, url };
  }

  /** Another connection holds the file's write lock: the gateway still reads (WAL), its writes wait out busy_timeout and fail. */
  function lockDatabase(): void {
    blocker = new Database(file);
    blocker.pragma('busy_timeout = 5000');
    blocker.exec('begin immediate');
  }

  function unlockDatabase(): void {
    blocker?.exec('rollback');
    blocker?.close();
    blocker = undefined;
  }

  beforeAll(async () => {
    await upstream.start();
  });

  afterAll(async () => {
    unlockDatabase();
    await runtime?.close({ timeoutMs: 5_000 });
    await upstream.close();
    rmSync(directory, { recursive: true, force: true });
  });

  it('a key cannot spend its budget again after a restart while its calls wait in the spill file', async () => {
    let gateway = await start();
    runtime = gateway.runtime;
    const key = await new Management(gateway.url).generateKey({ max_budget: BUDGET_MICROS / 1_000_000 });

    lockDatabase();
    const before = clientFor(gateway.url, key.key);
    for (let index = 0; index < 3; index++) expect((await chatStatus(before, { model: 'cheap', max_tokens: MAX_TOKENS })).status).toBe(200);
    expect((await chatStatus(before, { model: 'cheap', max_tokens: MAX_TOKENS })).status).toBe(400);

    // Shutdown with the database still locked: the three rows go to the spill file.
    await runtime.close({ timeoutMs: 5_000 });
    runtime = undefined;
    expect(readdirSync(join(dataDir, 'spill')).some((name) => name.startsWith('usage-spill'))).toBe(true);

    // Restart, the lock still held: the stored spend reads 0 µ$.
    gateway = await start();
    runtime = gateway.runtime;
    const after = clientFor(gateway.url, key.key);
    const admitted: number[] = [];
    for (let index = 0; index < 3; index++) admitted.push((await chatStatus(after, { model: 'cheap', max_tokens: MAX_TOKENS })).status);
    // Refused as while the database is not ready (503), not admitted on a spend that lacks the spilled rows.
    expect.soft(admitted, 'statuses after the restart').toEqual([503, 503, 503]);
    // And readiness says so, so a load balancer sends the calls to a replica that can serve them.
    const waiting = await fetch(`${gateway.url}/health/readiness`);
    expect.soft({ status: waiting.status, db: ((await waiting.json()) as { db: string }).db }).toEqual({ status: 503, db: expect.stringContaining('still spilled') });

    // The database writes again: the spill is written back, once, and the budget holds.
    unlockDatabase();
    const deadline = Date.now() + 15_000;
    let spend = 0;
    while (Date.now() < deadline) {
      spend = Math.round((await new Management(gateway.url).keyInfo(key.key)).spend * 1_000_000);
      if (spend >= 3 * CALL_MICROS && readdirSync(join(dataDir, 'spill')).every((name) => !name.startsWith('usage-spill'))) break;
      await sleep(100);
    }
    await sleep(300);
    expect((await fetch(`${gateway.url}/health/readiness`)).status, 'ready once the spill is written back').toBe(200);
    const outcome = await chatStatus(after, { model: 'cheap', max_tokens: MAX_TOKENS });
    expect.soft({ status: outcome.status, type: outcome.error?.type }).toEqual({ status: 400, type: 'budget_exceeded' });
    const stored = Math.round((await new Management(gateway.url).keyInfo(key.key)).spend * 1_000_000);
    expect(stored, 'every answered call stored once').toBe(3 * CALL_MICROS + admitted.filter((status) => status === 200).length * CALL_MICROS);
    expect.soft(stored).toBeLessThanOrEqual(BUDGET_MICROS);
  }, 90_000);
});
