/**
 * With an SQLite file (the default set-up) usage rows are written by a worker thread with its own
 * connection; the records, and the spend they carry, must arrive exactly as on the main thread.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockOpenAI } from '../support/mock-openai.js';
import { MASTER_KEY, openAIConfig, startGateway, type TestGateway } from '../support/gateway.js';

const directory = mkdtempSync(join(tmpdir(), 'switchboard-writer-'));
const upstream = new MockOpenAI({ promptTokens: 100, completionTokens: 50 });
let gateway: TestGateway;

beforeAll(async () => {
  await upstream.start();
  gateway = await startGateway(openAIConfig(upstream.url), { databaseUrl: `sqlite:${join(directory, 'gateway.db')}` });
});

afterAll(async () => {
  await gateway.close();
  await upstream.close();
  rmSync(directory, { recursive: true, force: true });
});

describe('usage writer thread (SQLite file)', () => {
  it('writes every record, with the spend of the key that made it', async () => {
    const admin = { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' };
    const generated = (await (await fetch(`${gateway.url}/key/generate`, { method: 'POST', headers: admin, body: JSON.stringify({ key_alias: 'writer-test' }) })).json()) as { key: string; token: string };
    const client = new OpenAI({ apiKey: generated.key, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
    await Promise.all(Array.from({ length: 40 }, () => client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] })));
    await gateway.flushUsage();
    expect(await gateway.runtime.usageLogs()!.count()).toBe(40);
    // gpt-4o-mini: 100 × $0.15/M + 50 × $0.60/M = 45 micro-dollars per call.
    const info = (await (await fetch(`${gateway.url}/key/info?key=${generated.token}`, { headers: admin })).json()) as { info: { spend: number } };
    expect(info.info.spend).toBeCloseTo((40 * 45) / 1_000_000, 9);
    const key = await gateway.runtime.principals()!.findKey(generated.token);
    expect(key!.spendMicros).toBe(40 * 45);
  });
});
