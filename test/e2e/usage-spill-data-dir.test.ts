/**
 * Usage rows spilled while a database was down belong to that database: a gateway started on the
 * same data directory with another database leaves them alone, and the gateway on the right
 * database writes them back.
 */
import { existsSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { createRuntime, type GatewayRuntime } from '../../src/runtime/gateway-runtime.js';
import { MASTER_KEY, openAIConfig } from '../support/gateway.js';
import { MockOpenAI } from '../support/mock-openai.js';

const directory = mkdtempSync(join(tmpdir(), 'switchboard-spill-'));
const dataDir = join(directory, 'data');
const spillDir = join(dataDir, 'spill');
const upstream = new MockOpenAI({ promptTokens: 10, completionTokens: 5 });

beforeAll(() => upstream.start());
afterAll(async () => {
  await upstream.close();
  rmSync(directory, { recursive: true, force: true });
});

async function startRuntime(databaseUrl: string): Promise<{ runtime: GatewayRuntime; url: string }> {
  const runtime = await createRuntime(parseConfig(openAIConfig(upstream.url), {}, 'spill-test.yaml'), {
    logger: pino({ level: process.env.TEST_LOG_LEVEL ?? 'silent' }),
    databaseUrl,
    dataDir,
    usageFlushIntervalMs: 20,
  });
  const url = await runtime.listen(0, '127.0.0.1');
  const deadline = Date.now() + 10_000;
  while (runtime.database.status === 'connecting' && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
  return { runtime, url };
}

async function storedRows(runtime: GatewayRuntime, expected: number): Promise<number> {
  const deadline = Date.now() + 5_000;
  let count = 0;
  while (Date.now() < deadline) {
    await runtime.usageWriter.flush(true);
    count = await runtime.usageLogs()!.count();
    if (count >= expected) break;
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
  return count;
}

describe('usage spill files in a shared data directory', () => {
  it('are replayed only into the database they were written for', async () => {
    // Gateway A's database cannot be opened yet: its directory is blocked by a plain file.
    const blocked = join(directory, 'a-databases');
    writeFileSync(blocked, '');
    const databaseA = `sqlite:${join(blocked, 'a.db')}`;
    const first = await startRuntime(databaseA);
    expect(first.runtime.database.status).toBe('failed');
    const client = new OpenAI({ apiKey: MASTER_KEY, baseURL: `${first.url}/v1`, maxRetries: 0 });
    for (let index = 0; index < 2; index++) await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    await first.runtime.close();
    const spillFiles = readdirSync(spillDir);
    expect(spillFiles).toEqual([expect.stringMatching(/^usage-spill\.[0-9a-f]{12}\.jsonl$/)]);

    // Gateway B, another database on the same data directory, does not take A's rows.
    const second = await startRuntime(`sqlite:${join(directory, 'b.db')}`);
    expect(second.runtime.database.status).toBe('connected');
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(await storedRows(second.runtime, 1)).toBe(0);
    await second.runtime.close();
    expect(readdirSync(spillDir)).toEqual(spillFiles);

    // A again, its database reachable now: the rows are written and the spill file is gone.
    rmSync(blocked);
    const third = await startRuntime(databaseA);
    expect(third.runtime.database.status).toBe('connected');
    expect(await storedRows(third.runtime, 2)).toBe(2);
    await third.runtime.close();
    expect(existsSync(join(spillDir, spillFiles[0]))).toBe(false);
  });
});
