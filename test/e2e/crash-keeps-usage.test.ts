/**
 * A gateway that fails as a bug would — an error thrown outside any request, or a promise rejected
 * with no handler — stops as on SIGTERM without the grace: it logs the error, finishes or cuts what
 * is in flight, writes the usage rows still queued and exits with code 1. Before, Node's default
 * ended the process at once and the rows of calls already answered (and billed upstream) that were
 * still waiting for their batch were lost. A second failure while it closes ends the process at
 * once, the queued rows spilled to disk first (written back by the next start).
 */
import Database from 'better-sqlite3';
import { existsSync, mkdtempSync, readdirSync, readFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockOpenAI } from '../support/mock-openai.js';
import { startGatewayProcess, type GatewayProcess } from '../support/gateway-process.js';

const MASTER_KEY = 'sk-crash-test-master-key';
const CALLS = 40;
const upstream = new MockOpenAI({ promptTokens: 10, completionTokens: 5 });
const hook = resolve('test/support/crash-on-signal.mjs');

beforeAll(async () => {
  await upstream.start();
});
afterAll(async () => {
  await upstream.close();
});

const config = () => `
model_list:
  - model_name: gpt-4o-mini
    litellm_params: {model: openai/gpt-4o-mini, api_base: "${upstream.url}", api_key: sk-upstream}
    model_info: {input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}
general_settings:
  master_key: ${MASTER_KEY}
  drain_grace_seconds: 30
`;

describe.each(['throw', 'rejection'])('an uncaught failure (%s)', (kind) => {
  let gateway: GatewayProcess | undefined;
  afterAll(async () => gateway?.stop());

  it('writes the queued usage rows of the calls it answered, logs the error and exits 1 without the drain grace', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'switchboard-crash-'));
    const file = join(directory, 'db.sqlite');
    gateway = await startGatewayProcess(config(), { DATABASE_URL: `sqlite:${file}`, NODE_OPTIONS: `--import ${hook}`, CRASH_KIND: kind });
    const client = new OpenAI({ apiKey: MASTER_KEY, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
    const answers = await Promise.all(Array.from({ length: CALLS }, (_, index) => client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `call ${index}` }] })));
    expect(answers).toHaveLength(CALLS);
    const exited = new Promise<number | null>((done) => gateway!.process.once('exit', done));
    const startedAt = Date.now();
    gateway.process.kill('SIGUSR2');
    expect(await exited).toBe(1);
    // The 30 s drain grace is for an orchestrator's stop, not for a failure.
    expect(Date.now() - startedAt).toBeLessThan(15_000);
    const output = gateway.output();
    expect(output).toContain(kind === 'throw' ? 'injected crash' : 'injected rejection');
    expect(output).toMatch(/uncaught error: stopping/);
    expect(output).toMatch(/gateway stopped \{"usageRows":\{"written":\d+/);
    const database = new Database(file, { readonly: true });
    try {
      const { rows, cost } = database.prepare('SELECT COUNT(*) AS rows, SUM(cost_micros) AS cost FROM usage_logs').get() as { rows: number; cost: number };
      expect(rows).toBe(CALLS);
      expect(cost).toBe(CALLS * 20);
    } finally {
      database.close();
    }
  });
});

describe('a worker of --workers 2 that fails', () => {
  let gateway: GatewayProcess | undefined;
  afterAll(async () => gateway?.stop());

  it('writes its queued usage rows and exits 1; the primary starts a new worker and serves on', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'switchboard-crash-workers-'));
    const file = join(directory, 'db.sqlite');
    gateway = await startGatewayProcess(config(), { DATABASE_URL: `sqlite:${file}`, NODE_OPTIONS: `--import ${hook}` }, ['--workers', '2']);
    const client = new OpenAI({ apiKey: MASTER_KEY, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
    // Concurrent calls open as many connections, which the primary hands to both workers.
    await Promise.all(Array.from({ length: CALLS }, (_, index) => client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `call ${index}` }] })));
    // The workers are the primary's child processes.
    const primary = gateway.process.pid!;
    const workers = readFileSync(`/proc/${primary}/task/${primary}/children`, 'utf8').trim().split(/\s+/).map(Number);
    expect(workers).toHaveLength(2);
    process.kill(workers[0], 'SIGUSR2');
    const deadline = Date.now() + 20_000;
    while (!/worker \d exited unexpectedly: starting a new one/.test(gateway.output()) && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    expect(gateway.output()).toContain('injected crash');
    expect(gateway.output()).toMatch(/uncaught error: stopping/);
    expect(gateway.output()).toMatch(/worker \d exited unexpectedly: starting a new one/);
    // The new worker is ready before the next call needs it (the other serves meanwhile).
    await new Promise((resolve) => setTimeout(resolve, 1_500));
    const after = await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'after' }] });
    expect(after.choices[0].message.content).toBeTruthy();
    await gateway.stop();
    const database = new Database(file, { readonly: true });
    try {
      expect((database.prepare('SELECT COUNT(*) AS rows FROM usage_logs').get() as { rows: number }).rows).toBe(CALLS + 1);
    } finally {
      database.close();
    }
  });
});

describe('a second uncaught failure while closing, the database unable to write', () => {
  let gateway: GatewayProcess | undefined;
  afterAll(async () => gateway?.stop());

  it('spills the queued usage rows before exiting; the next start writes them back', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'switchboard-crash-twice-'));
    const file = join(directory, 'db.sqlite');
    const env = { DATABASE_URL: `sqlite:${file}` };
    gateway = await startGatewayProcess(config(), { ...env, NODE_OPTIONS: `--import ${hook}` }, ['--data-dir', directory]);
    // Held write-locked: the batched writes wait on it (busy_timeout), the rows stay queued in memory.
    const lock = new Database(file);
    lock.exec('BEGIN IMMEDIATE');
    try {
      const client = new OpenAI({ apiKey: MASTER_KEY, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
      await Promise.all(Array.from({ length: CALLS }, (_, index) => client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `call ${index}` }] })));
      const exited = new Promise((done) => gateway!.process.once('exit', done));
      gateway.process.kill('SIGUSR2');
      await new Promise((resolve) => setTimeout(resolve, 300));
      gateway.process.kill('SIGUSR2');
      await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 15_000))]);
      expect(gateway.output()).toMatch(/uncaught error while stopping after another: exiting at once/);
      const spill = join(directory, 'spill');
      const spilled = existsSync(spill)
        ? readdirSync(spill)
            .filter((name) => name.startsWith('usage-spill'))
            .reduce((sum, name) => sum + readFileSync(join(spill, name), 'utf8').split('\n').filter(Boolean).length, 0)
        : 0;
      expect(spilled).toBe(CALLS);
    } finally {
      lock.exec('ROLLBACK');
      lock.close();
    }
    gateway = await startGatewayProcess(config(), env, ['--data-dir', directory]);
    const count = () => {
      const database = new Database(file, { readonly: true });
      try {
        return (database.prepare('SELECT COUNT(*) AS rows FROM usage_logs').get() as { rows: number }).rows;
      } finally {
        database.close();
      }
    };
    const deadline = Date.now() + 15_000;
    while (count() < CALLS && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
    await gateway.stop();
    gateway = undefined;
    expect(count()).toBe(CALLS);
  }, 60_000);
});
