/**
 * Removing a user from a team (/team/member_delete) deletes that user's keys of the team, as
 * LiteLLM does: before, they kept working — spending the team's budget and reading what the team
 * may read — for someone no longer in it. Keys without a user (the team's service keys), the
 * user's keys outside the team and the other members' keys stay. The change reaches another
 * replica that had the key cached, as any key deletion does.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresDatabase, postgresAvailableForTests, type TestDatabase } from '../support/databases.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { chatStatus, clientFor, Management, pricedConfig, type ErrorBody } from '../support/management.js';
import { MockOpenAI, sleep } from '../support/mock-openai.js';
import { deleteKeys, REDIS_URL, redisAvailableForTests, uniquePrefix } from '../support/redis.js';

const upstream = new MockOpenAI();
const ask = (url: string, key: string) => chatStatus(clientFor(url, key), { model: 'cheap', max_tokens: 10 });

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

  it('a removed member\'s team keys stop working and spend nothing more of the team\'s budget; other keys stay', async () => {
    await api.newUser({ user_id: 'leaver', user_role: 'internal_user', auto_create_key: false });
    await api.newUser({ user_id: 'stayer', user_role: 'internal_user', auto_create_key: false });
    await api.newTeam({ team_id: 'team-a', max_budget: 5, members_with_roles: [{ user_id: 'leaver', role: 'user' }, { user_id: 'stayer', role: 'user' }] });
    await api.newTeam({ team_id: 'team-b', members_with_roles: [{ user_id: 'leaver', role: 'user' }] });
    const teamKey = await api.generateKey({ user_id: 'leaver', team_id: 'team-a' });
    const ownKey = await api.generateKey({ user_id: 'leaver' });
    const otherTeamKey = await api.generateKey({ user_id: 'leaver', team_id: 'team-b' });
    const stayerKey = await api.generateKey({ user_id: 'stayer', team_id: 'team-a' });
    const serviceKey = await api.generateKey({ user_id: null, team_id: 'team-a' });
    expect((await ask(gateway.url, teamKey.key)).status).toBe(200);

    await api.ok('POST', '/team/member_delete', { team_id: 'team-a', user_id: 'leaver' });
    await gateway.flushUsage();
    const spendAfterRemoval = (await api.teamInfo('team-a')).team_info.spend;

    const refused = await chatStatus(clientFor(gateway.url, teamKey.key), { model: 'cheap', max_tokens: 10 });
    expect(refused.status).toBe(401);
    // Nor does it read anything as a member of the team.
    expect((await api.call<ErrorBody>('GET', '/key/info', undefined, teamKey.key)).status).toBe(401);
    expect((await api.call<ErrorBody>('GET', '/team/info?team_id=team-a', undefined, teamKey.key)).status).toBe(401);
    expect((await api.call<ErrorBody>('GET', `/key/info?key=${teamKey.token}`)).status).toBe(404);
    await gateway.flushUsage();
    expect((await api.teamInfo('team-a')).team_info.spend).toBe(spendAfterRemoval);

    for (const key of [ownKey, otherTeamKey, stayerKey, serviceKey]) expect((await ask(gateway.url, key.key)).status).toBe(200);
    // Added back, the member gets new keys: the old one stays gone.
    await api.ok('POST', '/team/member_add', { team_id: 'team-a', member: { user_id: 'leaver', role: 'user' } });
    expect((await ask(gateway.url, teamKey.key)).status).toBe(401);
  });

  it('a team admin removing a member takes the member\'s team keys with it', async () => {
    const lead = (await api.newUser({ user_id: 'lead', user_role: 'internal_user' })).key!;
    await api.newUser({ user_id: 'member', user_role: 'internal_user', auto_create_key: false });
    await api.newTeam({ team_id: 'team-c', members_with_roles: [{ user_id: 'lead', role: 'admin' }, { user_id: 'member', role: 'user' }] });
    const memberKey = await api.generateKey({ user_id: 'member', team_id: 'team-c' });
    expect((await ask(gateway.url, memberKey.key)).status).toBe(200);
    await api.ok('POST', '/team/member_delete', { team_id: 'team-c', user_id: 'member' }, lead);
    expect((await ask(gateway.url, memberKey.key)).status).toBe(401);
  });
});

const postgres = await postgresAvailableForTests();
const redis = await redisAvailableForTests();

describe.runIf(postgres && redis)('two replicas sharing PostgreSQL and Redis', () => {
  const prefix = uniquePrefix('member-removal');
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

  it('a member removed through one replica loses its team key on the other, which had it cached, within a second', async () => {
    const api = new Management(replicaA.url);
    await api.newUser({ user_id: 'leaver', user_role: 'internal_user', auto_create_key: false });
    await api.newTeam({ team_id: 'shared-team', members_with_roles: [{ user_id: 'leaver', role: 'user' }] });
    const key = await api.generateKey({ user_id: 'leaver', team_id: 'shared-team' });
    expect((await ask(replicaB.url, key.key)).status).toBe(200);

    await api.ok('POST', '/team/member_delete', { team_id: 'shared-team', user_id: 'leaver' });
    const started = Date.now();
    let status = 0;
    while (Date.now() - started < 1_000) {
      status = (await ask(replicaB.url, key.key)).status;
      if (status === 401) break;
      expect(status).toBe(200);
      await sleep(10);
    }
    expect(status).toBe(401);
  });
});
