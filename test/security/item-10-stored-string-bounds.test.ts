/**
 * Nothing a client invents is stored at length: a 25 MB model name is refused with 400 and the
 * database does not grow; an unknown model name is recorded as a short prefix; over-long `user`,
 * `metadata`, tags and `fallbacks` are refused; the management and platform APIs bound the ids,
 * aliases, model lists and metadata they store.
 */
import { statSync } from 'node:fs';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createSqliteDatabase, type TestDatabase } from '../support/databases.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management, pricedConfig, type ErrorBody } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

const upstream = new MockOpenAI();
let database: TestDatabase;
let gateway: TestGateway;
let api: Management;
let key: string;

beforeAll(async () => {
  await upstream.start();
  database = await createSqliteDatabase();
  gateway = await startGateway(pricedConfig(upstream.url), { databaseUrl: database.url });
  api = new Management(gateway.url);
  key = (await api.generateKey()).key;
});
afterAll(async () => {
  await gateway?.close();
  await database?.drop();
  await upstream.close();
});

async function post(path: string, body: unknown, apiKey = key): Promise<{ status: number; callId: string | null; body: ErrorBody }> {
  const response = await fetch(`${gateway.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: response.status, callId: response.headers.get('x-switchboard-call-id'), body: (await response.json()) as ErrorBody };
}

const chat = (extra: Record<string, unknown>) => post('/v1/chat/completions', { model: 'cheap', messages: [{ role: 'user', content: 'hi' }], ...extra });

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

describe('model names', () => {
  it('refuses a 25 MB model name with 400 naming the limit, five times over, and the database does not grow', async () => {
    const huge = 'x'.repeat(25 * 1024 * 1024);
    await gateway.flushUsage();
    const before = databaseBytes();
    const callIds: string[] = [];
    for (let attempt = 0; attempt < 5; attempt++) {
      const answer = await chat({ model: huge });
      expect(answer.status).toBe(400);
      expect(answer.body.error.param).toBe('model');
      expect(answer.body.error.message).toContain('at most 256');
      expect(answer.body.error.message.length).toBeLessThan(200);
      callIds.push(answer.callId!);
    }
    for (const callId of callIds) {
      const record = await gateway.recordOf(callId);
      expect(record?.http_status).toBe(400);
      expect(record!.model_group!.length).toBeLessThanOrEqual(65);
    }
    expect(databaseBytes() - before).toBeLessThan(1024 * 1024);
    expect(upstream.requests).toHaveLength(0);
  });

  it('the Anthropic endpoint refuses it too', async () => {
    const answer = await post('/v1/messages', { model: 'y'.repeat(100_000), max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] });
    expect(answer.status).toBe(400);
    expect(JSON.stringify(answer.body)).toContain('at most 256');
  });

  it('an unknown model name within the limit is recorded as a short prefix only', async () => {
    const name = `unknown-${'z'.repeat(240)}`;
    const answer = await chat({ model: name });
    expect(answer.status).toBe(404);
    const record = await gateway.recordOf(answer.callId!);
    expect(record?.model_group).toBe(`${name.slice(0, 64)}…`);
    // A configured name is kept whole.
    const known = await chat({ model: 'cheap' });
    expect(known.status).toBe(200);
    expect((await gateway.recordOf(known.callId!))?.model_group).toBe('cheap');
  });
});

describe('other request strings', () => {
  it.each([
    ['user', { user: 'u'.repeat(257) }, 'user'],
    ['metadata', { metadata: { note: 'm'.repeat(9_000) } }, 'metadata'],
    ['metadata.user_id', { metadata: { user_id: 'u'.repeat(300) } }, 'metadata.user_id'],
    ['tag count', { tags: Array.from({ length: 33 }, (_, index) => `t${index}`) }, 'tags'],
    ['tag length', { tags: ['t'.repeat(129)] }, 'tags[0]'],
    ['fallback name', { fallbacks: ['f'.repeat(300)] }, 'fallbacks[0]'],
    ['fallback count', { fallbacks: Array.from({ length: 17 }, () => 'cheap') }, 'fallbacks'],
  ])('refuses an over-long %s with 400 on that field', async (_label, extra, param) => {
    const answer = await chat(extra);
    expect(answer.status).toBe(400);
    expect(answer.body.error.param).toBe(param);
  });

  it('accepts the same fields within the limits', async () => {
    const answer = await chat({ user: 'u'.repeat(256), metadata: { note: 'm'.repeat(1_000) }, tags: ['a', 'b'] });
    expect(answer.status).toBe(200);
  });
});

describe('management and platform API', () => {
  const long = 'a'.repeat(300);
  it.each([
    ['/key/generate', { key_alias: long }, 'key_alias'],
    ['/key/generate', { models: [long] }, 'models.0'],
    ['/key/generate', { models: Array.from({ length: 257 }, (_, index) => `m${index}`) }, 'models'],
    ['/key/generate', { aliases: { [long]: 'cheap' } }, 'aliases'],
    ['/key/generate', { aliases: { short: long } }, 'aliases.short'],
    ['/key/generate', { metadata: { blob: 'b'.repeat(17_000) } }, 'metadata'],
    ['/key/generate', { duration: '1'.repeat(100) }, 'duration'],
    ['/user/new', { user_id: long }, 'user_id'],
    ['/user/new', { user_id: 'fine', user_email: long }, 'user_email'],
    ['/team/new', { team_id: long }, 'team_id'],
    ['/team/new', { team_alias: long }, 'team_alias'],
    ['/team/new', { members_with_roles: [{ user_id: long }] }, 'members_with_roles.0.user_id'],
    // Limits fit PostgreSQL's integer column: larger ones are a 400, not a database error.
    ['/key/generate', { tpm_limit: 2 ** 31 }, 'tpm_limit'],
    ['/key/generate', { rpm_limit: 1e12 }, 'rpm_limit'],
    ['/user/new', { user_id: 'limits', max_parallel_requests: 2 ** 31 }, 'max_parallel_requests'],
    ['/team/new', { tpm_limit: 2 ** 40 }, 'tpm_limit'],
  ])('%s refuses %j with 400 on the field', async (path, body, param) => {
    const answer = await post(path, body, MASTER_KEY);
    expect(answer.status).toBe(400);
    expect(answer.body.error.param).toBe(param);
  });

  it('accepts the largest limit PostgreSQL stores', async () => {
    expect((await post('/key/generate', { tpm_limit: 2 ** 31 - 1 }, MASTER_KEY)).status).toBe(200);
  });

  it('/model/new refuses an over-long model_name', async () => {
    const answer = await post('/model/new', { model_name: long, litellm_params: { model: 'openai/x', api_base: upstream.url, api_key: 'sk-x' } }, MASTER_KEY);
    expect(answer.status).toBe(400);
    expect(answer.body.error.param).toBe('model_name');
  });
});
