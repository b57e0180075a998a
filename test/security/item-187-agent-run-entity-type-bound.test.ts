/**
 * The attack (on storage): nothing a client invents is stored at length (item 10) — model names,
 * `user`, metadata and tags are bounded. A run's `entity_type` label (`POST /agents/{name}/run`) was
 * not: any key with llm.execute sent a 10 MB `entity_type`, the run made its one cheap model call
 * (the label is not part of the prompt unless the template names it: 30 micro-dollars), and the
 * label was stored on the run's outcome row whatever the prompt settings — three runs grew the
 * database by about 42 MB. Now `entity_type` is held to 256 characters (400 naming the field,
 * before any model call), like the other labels the gateway stores.
 */
import { statSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqliteDatabase, type TestDatabase } from '../support/databases.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { type ErrorBody, Management, pricedConfig } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

const upstream = new MockOpenAI({ reply: '{"category": "fasteners"}', promptTokens: 10, completionTokens: 10 });
let database: TestDatabase;
let gateway: TestGateway;
let api: Management;
let key: string;

beforeAll(async () => {
  await upstream.start();
  database = await createSqliteDatabase();
  gateway = await startGateway(pricedConfig(upstream.url, "agents:\n  - name: triage\n    model: cheap\n    prompt_template: 'Part: {{input_data.part}}'\n"), { databaseUrl: database.url });
  api = new Management(gateway.url);
  key = (await api.generateKey()).key;
});

afterAll(async () => {
  await gateway?.close();
  await database?.drop();
  await upstream.close();
});

/** Bytes of the SQLite database with its write-ahead log. */
function databaseBytes(): number {
  const file = database.url.slice('sqlite:'.length);
  let total = 0;
  for (const suffix of ['', '-wal']) {
    try {
      total += statSync(file + suffix).size;
    } catch {
      // no WAL file yet
    }
  }
  return total;
}

describe('a run\'s entity_type', () => {
  it('over 256 characters is refused with 400 naming it; nothing is called and the database does not grow', async () => {
    await gateway.flushUsage();
    const before = databaseBytes();
    const calls = upstream.requests.length;
    for (let attempt = 0; attempt < 3; attempt++) {
      const response = await api.call<ErrorBody>('POST', '/agents/triage/run', { entity_type: 'e'.repeat(10 * 1024 * 1024), input_data: { part: 'bolt' } }, key);
      expect(response.status).toBe(400);
      expect(response.body.error.param).toBe('entity_type');
      expect(response.body.error.message).toContain('256');
    }
    expect(upstream.requests.length).toBe(calls);
    await gateway.flushUsage();
    await new Promise((resolve) => setTimeout(resolve, 200));
    expect(databaseBytes() - before).toBeLessThan(1024 * 1024);
  });

  it('of 256 characters is a run as usual, stored and listed', async () => {
    const label = 'r'.repeat(256);
    const run = await api.ok<{ status: string; entity_type: string }>('POST', '/agents/triage/run', { entity_type: label, input_data: { part: 'bolt' } }, key);
    expect(run).toMatchObject({ status: 'success', entity_type: label });
  });
});
