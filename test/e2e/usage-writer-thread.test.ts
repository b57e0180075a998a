/**
 * With an SQLite file (the default set-up) usage rows are written by a worker thread with its own
 * connection; the records, and the spend they carry, must arrive exactly as on the main thread.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import OpenAI from 'openai';
import pino from 'pino';
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

describe('shutdown with an SQLite file', () => {
  it('ends the writer thread cleanly (no error logged) and logs "gateway stopped" last, with the rows written', async () => {
    const lines: Array<{ level: number; msg: string; usageRows?: { written: number; spilled: number; dropped: number } }> = [];
    const destination = new Writable({
      write(chunk: Buffer, _encoding, done) {
        for (const line of chunk.toString().split('\n').filter(Boolean)) lines.push(JSON.parse(line));
        done();
      },
    });
    const own = await startGateway(openAIConfig(upstream.url), { databaseUrl: `sqlite:${join(directory, 'shutdown.db')}`, logger: pino({ level: 'info' }, destination) });
    const client = own.openai();
    for (let index = 0; index < 3; index++) await client.chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'hi' }] });
    await own.flushUsage();
    await own.close();
    // The thread's exit is reported asynchronously: give a late error line the chance to appear.
    await new Promise((resolve) => setTimeout(resolve, 100));
    expect(lines.filter((line) => line.level >= 50)).toEqual([]);
    const last = lines.at(-1)!;
    expect(last.msg).toBe('gateway stopped');
    expect(last.level).toBe(30);
    expect(last.usageRows).toEqual({ written: 3, spilled: 0, dropped: 0, rejected: 0 });
  });
});
