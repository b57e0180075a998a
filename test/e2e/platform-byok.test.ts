/**
 * Bring-your-own-key through the real server: keys stored encrypted (the raw row holds no
 * plaintext), listed masked, used for the user's calls to that provider (no credits, never billed,
 * logged as BYOK), a rejected own key answered 401 without falling back to the shared key, and a
 * malformed SWITCHBOARD_ENCRYPTION_KEY refused at start-up. The plaintext key never appears in the
 * database, the log or any response.
 */
import { Writable } from 'node:stream';
import OpenAI from 'openai';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { createRuntime } from '../../src/runtime/gateway-runtime.js';
import { SecretBox } from '../../src/security/secret-box.js';
import { createSqliteDatabase } from '../support/databases.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { Management, pricedConfig, type ErrorBody } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';
import { deleteKeys, REDIS_URL, redisAvailableForTests, uniquePrefix } from '../support/redis.js';

const ENCRYPTION_KEY = SecretBox.generateKey();
const OWN_KEY = 'sk-users-own-openai-key-9f3a';

/** The mock upstream runs on this machine, not on OpenAI's public API: its deployments opt in to BYOK. */
function config(apiBase: string): string {
  return pricedConfig(apiBase, 'platform:\n  tiers:\n    starter: {markup: 0.4, initial_credits: 5}\n  default_tier: starter\n').replace(/model_info: \{id: (dep-[a-z]+),/g, 'model_info: {id: $1, byok: true,');
}

describe('bring your own key', () => {
  const upstream = new MockOpenAI({ promptTokens: 12, completionTokens: 5 });
  const logLines: string[] = [];
  let gateway: TestGateway;
  let api: Management;
  let userKey: string;

  beforeAll(async () => {
    await upstream.start();
    const sink = new Writable({
      write(chunk, _encoding, done) {
        logLines.push(String(chunk));
        done();
      },
    });
    gateway = await startGateway(config(upstream.url), { env: { SWITCHBOARD_ENCRYPTION_KEY: `k2:${ENCRYPTION_KEY}` }, logger: pino({ level: 'debug' }, sink) });
    api = new Management(gateway.url);
    userKey = (await api.newUser({ user_id: 'byok-user' })).key!;
  });

  afterAll(async () => {
    await gateway?.close();
    await upstream.close();
  });

  const chat = (key = userKey) => new OpenAI({ apiKey: key, baseURL: `${gateway.url}/v1`, maxRetries: 0 }).chat.completions.create({ model: 'cheap', messages: [{ role: 'user', content: 'hi' }], max_tokens: 10 }).withResponse();

  it('stores a key encrypted at rest and lists it masked', async () => {
    const stored = await api.ok<Record<string, unknown>>('POST', '/api/v1/llm/byok/keys', { provider: 'openai', api_key: OWN_KEY }, userKey);
    expect(stored).toMatchObject({ provider: 'openai', api_key: '***…9f3a', encryption_key_id: 'k2' });

    const raw = await gateway.runtime.principals()!.db.selectFrom('byok_keys').selectAll().where('user_id', '=', 'byok-user').executeTakeFirstOrThrow();
    expect(raw.sealed_key).not.toContain(OWN_KEY);
    expect(raw.sealed_key).not.toContain('9f3a');
    expect(raw.sealed_key.startsWith('v1.k2.')).toBe(true);
    expect(SecretBox.parse(`k2:${ENCRYPTION_KEY}`).open(raw.sealed_key)).toBe(OWN_KEY);
    expect(JSON.stringify(raw)).not.toContain(OWN_KEY);

    const listed = await api.ok<{ keys: Array<Record<string, unknown>> }>('GET', '/api/v1/llm/byok/keys', undefined, userKey);
    expect(listed.keys).toEqual([expect.objectContaining({ provider: 'openai', api_key: '***…9f3a' })]);
    expect(JSON.stringify(listed)).not.toContain(OWN_KEY);
    expect(await api.ok('GET', '/api/v1/llm/byok/keys/openai', undefined, userKey)).toMatchObject({ provider: 'openai', api_key: '***…9f3a' });
  });

  it("the user's calls to that provider run on their key, cost no credits and are logged as BYOK, not billed", async () => {
    // The cache takes the new key at once on this replica.
    const before = upstream.requests.length;
    const { data, response } = await chat();
    expect(upstream.requests.length).toBe(before + 1);
    expect(upstream.requests.at(-1)!.headers.authorization).toBe(`Bearer ${OWN_KEY}`);
    expect(response.headers.get('x-switchboard-byok')).toBe('true');
    expect((data as unknown as { _metadata: Record<string, unknown> })._metadata).toMatchObject({ byok: true, cost_incurred: 0, credits_remaining: 5 });
    const record = await gateway.recordOf(response.headers.get('x-switchboard-call-id')!);
    expect(record).toMatchObject({ byok: 1, credits_millicredits: 0, status: 'success' });
    const credits = gateway.runtime.credits()!;
    expect(await credits.balance('byok-user')).toEqual({ balance: 5_000, used: 0 });
    expect((await credits.list('byok-user', 10, 0)).items.map((row) => row.kind)).toEqual(['grant']);
    const user = await gateway.runtime.principals()!.findUser('byok-user');
    expect(user!.spendMicros).toBe(0);
  });

  it('a key the provider rejects → 401 saying the user’s own key failed, not retried on the shared key', async () => {
    upstream.faults.push({ kind: 'error', status: 401, body: { error: { message: 'Incorrect API key provided', type: 'invalid_request_error', param: null, code: 'invalid_api_key' } } });
    const before = upstream.requests.length;
    const error = (await chat().catch((caught: unknown) => caught)) as InstanceType<typeof OpenAI.APIError>;
    expect(error).toBeInstanceOf(OpenAI.APIError);
    expect(error.status).toBe(401);
    expect(error.code).toBe('byok_key_rejected');
    expect(error.message).toContain('rejected your own openai API key (bring-your-own-key)');
    expect(upstream.requests.length).toBe(before + 1);
    expect(error.message).not.toContain(OWN_KEY);
  });

  it('other users and the shared key are untouched; deleting the key moves the user back to credits', async () => {
    const other = await api.newUser({ user_id: 'other-user' });
    await chat(other.key!);
    expect(upstream.requests.at(-1)!.headers.authorization).toBe('Bearer sk-upstream-test');

    expect(await api.ok('DELETE', '/api/v1/llm/byok/keys/openai', undefined, userKey)).toEqual({ user_id: 'byok-user', deleted: 'openai' });
    const { response } = await chat();
    expect(upstream.requests.at(-1)!.headers.authorization).toBe('Bearer sk-upstream-test');
    expect(response.headers.get('x-switchboard-byok')).toBeNull();
    expect(Number(response.headers.get('x-switchboard-credits-cost'))).toBeGreaterThan(0);
    expect((await api.call<ErrorBody>('GET', '/api/v1/llm/byok/keys/openai', undefined, userKey)).status).toBe(404);
  });

  it('bad input gets a 4xx that says what to fix', async () => {
    const unknown = await api.call<ErrorBody>('POST', '/api/v1/llm/byok/keys', { provider: 'nope', api_key: 'sk-123456789' }, userKey);
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.message).toContain('unknown provider "nope"');
    const missing = await api.call<ErrorBody>('POST', '/api/v1/llm/byok/keys', { provider: 'openai' }, userKey);
    expect(missing.status).toBe(400);
    expect(missing.body.error.message).toContain('api_key');
    const masterWithoutUser = await api.call<ErrorBody>('GET', '/api/v1/llm/byok/keys');
    expect(masterWithoutUser.status).toBe(400);
    expect(masterWithoutUser.body.error.message).toContain('user_id');
    // An admin acts for a user by naming them; a user may not act for another.
    await api.ok('POST', '/api/v1/llm/byok/keys', { provider: 'anthropic', api_key: 'sk-ant-admin-set-0000', user_id: 'other-user' });
    const denied = await api.call<ErrorBody>('GET', '/api/v1/llm/byok/keys?user_id=other-user', undefined, userKey);
    expect(denied.status).toBe(403);
    expect(denied.body.error.message).toContain('llm.configure');
  });

  it('no plaintext key in the log', () => {
    const log = logLines.join('');
    expect(log.length).toBeGreaterThan(0);
    expect(log).not.toContain(OWN_KEY);
    expect(log).not.toContain('sk-ant-admin-set-0000');
  });
});

describe('SWITCHBOARD_ENCRYPTION_KEY at start-up', () => {
  it('a malformed key stops the gateway with a clear message', async () => {
    const loaded = parseConfig(pricedConfig('http://127.0.0.1:9', 'platform: {}\n'), { SWITCHBOARD_ENCRYPTION_KEY: 'too-short' }, 'test.yaml');
    await expect(createRuntime(loaded, { logger: pino({ level: 'silent' }), databaseUrl: 'sqlite::memory:' })).rejects.toThrow(/SWITCHBOARD_ENCRYPTION_KEY: key "k1" must be 32 bytes, written as 64 hex characters or base64/);
  });

  it('without a key, storing a BYOK key says what to set', async () => {
    const upstream = new MockOpenAI();
    await upstream.start();
    const gateway = await startGateway(config(upstream.url));
    try {
      const api = new Management(gateway.url);
      const user = await api.newUser({ user_id: 'no-box' });
      const refused = await api.call<ErrorBody>('POST', '/api/v1/llm/byok/keys', { provider: 'openai', api_key: 'sk-1234567890' }, user.key);
      expect(refused.status).toBe(503);
      expect(refused.body.error.message).toContain('SWITCHBOARD_ENCRYPTION_KEY');
    } finally {
      await gateway.close();
      await upstream.close();
    }
  });
});

const redis = await redisAvailableForTests();

describe('BYOK keys across replicas', () => {
  /** Stores a key through one replica; returns how long until the other one calls with it. */
  async function roam(shared: { redisUrl: string; redisPrefix: string } | undefined): Promise<number> {
    const upstream = new MockOpenAI();
    await upstream.start();
    const database = await createSqliteDatabase();
    const env = { SWITCHBOARD_ENCRYPTION_KEY: ENCRYPTION_KEY };
    const first = await startGateway(config(upstream.url), { env, databaseUrl: database.url, ...shared });
    const second = await startGateway(config(upstream.url), { env, databaseUrl: database.url, ...shared });
    try {
      const user = await new Management(first.url).newUser({ user_id: 'roaming' });
      const viaSecond = () => new OpenAI({ apiKey: user.key!, baseURL: `${second.url}/v1`, maxRetries: 0 }).chat.completions.create({ model: 'cheap', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 });
      await viaSecond();
      expect(upstream.requests.at(-1)!.headers.authorization).toBe('Bearer sk-upstream-test');
      await new Management(first.url).ok('POST', '/api/v1/llm/byok/keys', { provider: 'openai', api_key: 'sk-roaming-own-key-7777' }, user.key);
      const stored = Date.now();
      const deadline = stored + 3_000;
      let authorization: string | undefined;
      while (Date.now() < deadline) {
        await viaSecond();
        authorization = upstream.requests.at(-1)!.headers.authorization;
        if (authorization === 'Bearer sk-roaming-own-key-7777') break;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect(authorization).toBe('Bearer sk-roaming-own-key-7777');
      return Date.now() - stored;
    } finally {
      await first.close();
      await second.close();
      await database.drop();
      await upstream.close();
    }
  }

  it('a key stored on one replica is used by another within a second (version poll)', async () => {
    expect(await roam(undefined)).toBeLessThan(1_500);
  });

  it.runIf(redis)('with Redis, the other replica has it faster than the 500 ms poll could bring it', async () => {
    const redisPrefix = uniquePrefix('byok');
    try {
      expect(await roam({ redisUrl: REDIS_URL, redisPrefix })).toBeLessThan(400);
    } finally {
      await deleteKeys(redisPrefix);
    }
  });
});
