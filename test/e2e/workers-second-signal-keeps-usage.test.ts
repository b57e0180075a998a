/**
 * `start --workers 2`: a second SIGTERM (the operator wants out now) while the database cannot take
 * the usage rows keeps every answered call's row. The primary passes the second signal on to its
 * workers, each spills its queued rows to disk synchronously and exits; only a worker still running
 * after 5 s is killed. Before, the primary SIGKILLed the workers at once and their queued rows were
 * lost. The signal sent to the whole process group as well (a terminal's Ctrl-C reaches the workers
 * directly and through the primary) counts once per round: the first round drains, the second spills.
 *
 * The SQLite file is held write-locked by this test (BEGIN IMMEDIATE) while the calls are answered,
 * so the workers' batched writes wait on it (busy_timeout) and the rows stay queued in memory.
 */
import Database from 'better-sqlite3';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { exitOf, spilledLines, startGatewayProcess, type GatewayProcess } from '../support/gateway-process.js';
import { MockOpenAI } from '../support/mock-openai.js';

const MASTER_KEY = 'sk-workers-second-signal-master-key';
const CALLS = 24;
const upstream = new MockOpenAI({ promptTokens: 10, completionTokens: 5 });
const directories: string[] = [];

beforeAll(async () => {
  await upstream.start();
});
afterAll(async () => {
  await upstream.close();
  for (const directory of directories) rmSync(directory, { recursive: true, force: true });
});

const config = () => `
model_list:
  - model_name: gpt-4o-mini
    litellm_params: {model: openai/gpt-4o-mini, api_base: "${upstream.url}", api_key: sk-upstream}
    model_info: {input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}
general_settings:
  master_key: ${MASTER_KEY}
  shutdown_timeout: 2
`;


function stored(file: string): { rows: number; distinct: number; cost: number } {
  const database = new Database(file, { readonly: true });
  try {
    return database.prepare('SELECT COUNT(*) AS rows, COUNT(DISTINCT call_id) AS "distinct", COALESCE(SUM(cost_micros), 0) AS cost FROM usage_logs').get() as { rows: number; distinct: number; cost: number };
  } finally {
    database.close();
  }
}

describe.skipIf(process.platform !== 'linux').each([
  { route: 'to the primary only (an orchestrator, kill)', group: false },
  { route: 'to the primary and each worker (a terminal\'s Ctrl-C reaches the process group)', group: true },
])('start --workers 2, a second SIGTERM $route while the database cannot write', ({ group }) => {
  let gateway: GatewayProcess | undefined;
  let lock: Database.Database | undefined;
  afterAll(async () => {
    lock?.close();
    if (gateway && gateway.process.exitCode === null && gateway.process.signalCode === null) gateway.process.kill('SIGKILL');
    await gateway?.stop();
  });

  it('spills every worker\'s queued usage rows before exiting; the next start writes them back, each once', async () => {
    const dataDir = mkdtempSync(join(tmpdir(), 'switchboard-workers-second-signal-'));
    directories.push(dataDir);
    const file = join(dataDir, 'gateway.db');
    const env = { DATABASE_URL: `sqlite:${file}`, REDIS_URL: '' };
    gateway = await startGatewayProcess(config(), env, ['--workers', '2', '--data-dir', dataDir]);
    const primary = gateway.process.pid!;
    const workers = readFileSync(`/proc/${primary}/task/${primary}/children`, 'utf8').trim().split(/\s+/).map(Number);
    expect(workers).toHaveLength(2);

    lock = new Database(file);
    lock.exec('BEGIN IMMEDIATE');
    // Calls at once open connections of their own, which the primary hands to both workers.
    const responses = await Promise.all(
      Array.from({ length: CALLS }, (_, index) =>
        fetch(`${gateway!.url}/v1/chat/completions`, {
          method: 'POST',
          headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' },
          body: JSON.stringify({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: `call ${index}` }] }),
        }),
      ),
    );
    const servedBy = new Set<string>();
    for (const response of responses) {
      expect(response.status, await response.clone().text()).toBe(200);
      servedBy.add(response.headers.get('x-switchboard-worker') ?? '');
      await response.arrayBuffer();
    }
    expect([...servedBy].sort()).toEqual(['1', '2']);

    const exited = exitOf(gateway);
    const signal = () => {
      gateway!.process.kill('SIGTERM');
      if (group) for (const pid of workers) process.kill(pid, 'SIGTERM');
    };
    signal();
    await new Promise((resolve) => setTimeout(resolve, 400));
    // One signal by two routes is one stop request: the workers drain, none has stopped at once.
    expect(gateway.output()).not.toMatch(/stopped at once/);
    const secondAt = Date.now();
    signal();
    const code = await Promise.race([exited, new Promise((resolve) => setTimeout(() => resolve('still running'), 15_000))]);
    const spilled = spilledLines(dataDir);
    console.log(`[workers second signal${group ? ', process group' : ''}] exit ${String(code)} ${Date.now() - secondAt} ms after the second signal; ${spilled} of ${CALLS} rows spilled`);
    expect(code).toBe(1);
    expect(spilled).toBeGreaterThanOrEqual(CALLS);
    expect(gateway.output()).toMatch(/second signal: every worker stops at once/);
    // Each worker spilled its own rows (a worker's exit can then wait for its SQLite writer thread's busy_timeout).
    expect(gateway.output().match(/stopped at once: queued usage rows spilled to disk/g)).toHaveLength(2);

    lock.exec('ROLLBACK');
    lock.close();
    lock = undefined;
    gateway = await startGatewayProcess(config(), env, ['--data-dir', dataDir]);
    const deadline = Date.now() + 15_000;
    while (stored(file).rows < CALLS && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 200));
    await gateway.stop();
    gateway = undefined;
    expect(stored(file)).toEqual({ rows: CALLS, distinct: CALLS, cost: CALLS * 20 });
  }, 90_000);
});
