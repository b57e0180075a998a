/**
 * Deleting a team (or a user) takes its keys with it: no key keeps working without the model list,
 * budget or block of the owner it was created under — on this replica, and on another replica that
 * had the key cached. A key whose team or user record is gone some other way is refused with 401.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresDatabase, postgresAvailableForTests, type TestDatabase } from '../support/databases.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { chatError, chatStatus, clientFor, Management, pricedConfig, type ErrorBody } from '../support/management.js';
import { MockOpenAI, sleep } from '../support/mock-openai.js';
import { deleteKeys, REDIS_URL, redisAvailableForTests, uniquePrefix } from '../support/redis.js';

const upstream = new MockOpenAI();
const ask = (url: string, key: string, model = 'cheap') => chatStatus(clientFor(url, key), { model, max_tokens: 10 });

beforeAll(async () => {
  await upstream.start();
});
afterAll(async () => {
  await upstream.close();
});

describe('one gateway', () => {
  let gateway: TestGateway;
  let api: Management;
  beforeAll(async () => {
    gateway = await startGateway(pricedConfig(upstream.url));
    api = new Management(gateway.url);
  });
  afterAll(() => gateway?.close());

  it('deleting a team deletes its keys: the key that was limited to the team’s models is refused, not set free', async () => {
    await api.newTeam({ team_id: 'limited', models: ['cheap'], max_budget: 1 });
    const key = await api.generateKey({ team_id: 'limited' });
    const other = await api.generateKey();
    expect((await ask(gateway.url, key.key)).status).toBe(200);
    expect((await ask(gateway.url, key.key, 'premium')).status).toBe(403);

    const deleted = await api.ok<{ deleted: number; deleted_keys: string[] }>('POST', '/team/delete', { team_ids: ['limited'] });
    expect(deleted).toEqual({ deleted: 1, deleted_keys: [key.token] });
    for (const model of ['cheap', 'premium']) expect((await ask(gateway.url, key.key, model)).status).toBe(401);
    expect((await api.call<ErrorBody>('GET', `/key/info?key=${key.token}`)).status).toBe(404);
    // Keys of other owners are untouched.
    expect((await ask(gateway.url, other.key)).status).toBe(200);
  });

  it('deleting a user deletes their keys', async () => {
    await api.newUser({ user_id: 'leaving', models: ['cheap'], auto_create_key: false });
    const key = await api.generateKey({ user_id: 'leaving' });
    expect((await ask(gateway.url, key.key)).status).toBe(200);
    expect(await api.ok('POST', '/user/delete', { user_ids: ['leaving'] })).toEqual({ deleted: 1 });
    expect((await ask(gateway.url, key.key, 'premium')).status).toBe(401);
  });

  it('a key whose team or user record is gone (deleted behind the service’s back, or in a race) is refused with 401 naming the owner', async () => {
    await api.newTeam({ team_id: 'vanishing-team', models: ['cheap'] });
    await api.newUser({ user_id: 'vanishing-user', models: ['cheap'], auto_create_key: false });
    const teamKey = await api.generateKey({ team_id: 'vanishing-team' });
    const userKey = await api.generateKey({ user_id: 'vanishing-user' });
    const db = gateway.runtime.principals()!.db;
    await db.deleteFrom('teams').where('team_id', '=', 'vanishing-team').execute();
    await db.deleteFrom('users').where('user_id', '=', 'vanishing-user').execute();
    await gateway.runtime.keyDirectory.changed('all');

    const teamError = await chatError(clientFor(gateway.url, teamKey.key), { model: 'premium' });
    expect(teamError.status).toBe(401);
    expect(teamError.message).toContain('team');
    expect(teamError.message).toContain('"vanishing-team"');
    expect(teamError.message).toContain('no longer exists');
    const userError = await chatError(clientFor(gateway.url, userKey.key), { model: 'premium' });
    expect(userError.status).toBe(401);
    expect(userError.message).toContain('"vanishing-user"');
    // Moving the key to no team makes it usable again, under its own limits only.
    await api.updateKey(teamKey.token, { team_id: null });
    expect((await ask(gateway.url, teamKey.key)).status).toBe(200);
  });
});

const postgres = await postgresAvailableForTests();
const redis = await redisAvailableForTests();

describe.runIf(postgres && redis)('two replicas sharing PostgreSQL and Redis', () => {
  const prefix = uniquePrefix('team-deletion');
  let database: TestDatabase;
  let replicaA: TestGateway;
  let replicaB: TestGateway;

  beforeAll(async () => {
    database = await createPostgresDatabase();
    const config = pricedConfig(upstream.url);
    replicaA = await startGateway(config, { databaseUrl: database.url, redisUrl: REDIS_URL, redisPrefix: prefix });
    replicaB = await startGateway(config, { databaseUrl: database.url, redisUrl: REDIS_URL, redisPrefix: prefix });
  });
  afterAll(async () => {
    await replicaA?.close();
    await replicaB?.close();
    await database?.drop();
    await deleteKeys(prefix);
  });

  it('a team deleted through one replica stops its keys on the other, which had them cached, within a second', async () => {
    const api = new Management(replicaA.url);
    await api.newTeam({ team_id: 'shared-team', models: ['cheap'] });
    const key = await api.generateKey({ team_id: 'shared-team' });
    expect((await ask(replicaB.url, key.key)).status).toBe(200);
    expect((await ask(replicaB.url, key.key, 'premium')).status).toBe(403);

    await api.ok('POST', '/team/delete', { team_ids: ['shared-team'] });
    const started = Date.now();
    let status = 0;
    while (Date.now() - started < 1_000) {
      status = (await ask(replicaB.url, key.key, 'premium')).status;
      if (status === 401) break;
      expect(status).toBe(403);
      await sleep(10);
    }
    expect(status).toBe(401);
  });
});
