/**
 * LiteLLM compatibility of the user routes, through the real server: NewUserRequest (teams as
 * NewUserRequestTeam objects), NewUserResponse, UpdateUserRequest (addressed by user_email), and
 * /user/info defaulting to the caller (internal users read themselves, never others).
 * On SQLite and PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialectsUnderTest, type TestDatabase } from '../support/databases.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { Management, pricedConfig, sha256, type ErrorBody, type TeamView, type UserView } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

for (const { dialect, create } of await dialectsUnderTest()) {
  describe(`user routes (${dialect})`, () => {
    let upstream: MockOpenAI;
    let database: TestDatabase;
    let gateway: TestGateway;
    let api: Management;

    beforeAll(async () => {
      upstream = new MockOpenAI();
      await upstream.start();
      database = await create();
      gateway = await startGateway(pricedConfig(upstream.url), { databaseUrl: database.url });
      api = new Management(gateway.url);
    });

    afterAll(async () => {
      await gateway?.close();
      await upstream?.close();
      await database?.drop();
    });

    describe('NewUserRequest / NewUserResponse', () => {
      it('teams: [{team_id, user_role}] joins each team in that role; the answer has the user and its key', async () => {
        await api.newTeam({ team_id: 'users-compat-a' });
        await api.newTeam({ team_id: 'users-compat-b' });
        const created = await api.ok<UserView & { key: string; token: string }>('POST', '/user/new', {
          user_id: 'compat-user',
          user_email: 'compat@example.com',
          user_role: 'internal_user',
          max_budget: '',
          models: null,
          teams: [{ team_id: 'users-compat-a', user_role: 'admin' }, { team_id: 'users-compat-b' }],
        });
        expect(created).toMatchObject({ user_id: 'compat-user', user_email: 'compat@example.com', user_role: 'internal_user', max_budget: null, models: [], teams: ['users-compat-a', 'users-compat-b'] });
        expect(typeof created.key).toBe('string');
        expect(created.token).toBe(sha256(created.key));
        const a = await api.teamInfo('users-compat-a');
        expect(a.team_info.members_with_roles).toContainEqual({ user_id: 'compat-user', role: 'admin' });
        const b = await api.teamInfo('users-compat-b');
        expect(b.team_info.members_with_roles).toContainEqual({ user_id: 'compat-user', role: 'user' });
        // Plain team ids (LiteLLM's other form) still work.
        await api.ok('POST', '/user/new', { user_id: 'compat-user-2', teams: ['users-compat-a'], auto_create_key: false });
        const refused = await api.call<ErrorBody>('POST', '/user/new', { user_id: 'compat-user-3', teams: [{ team_id: 'users-compat-a', max_budget_in_team: 5 }] });
        expect(refused.status).toBe(400);
        expect(refused.body.error.message).toContain('not supported yet');
      });
    });

    describe('UpdateUserRequest', () => {
      it('names the user by user_email when user_id is absent', async () => {
        await api.newUser({ user_id: 'email-addressed', user_email: 'addressed@example.com', auto_create_key: false });
        const updated = await api.ok<UserView>('POST', '/user/update', { user_email: 'addressed@example.com', max_budget: 7 });
        expect(updated).toMatchObject({ user_id: 'email-addressed', user_email: 'addressed@example.com', max_budget: 7 });
        const missing = await api.call<ErrorBody>('POST', '/user/update', { user_email: 'nobody@example.com', max_budget: 1 });
        expect(missing.status).toBe(404);
        expect((await api.call<ErrorBody>('POST', '/user/update', { max_budget: 1 })).status).toBe(400);
      });
    });

    describe('/user/info (UserInfoResponse: user_id, user_info, keys, teams)', () => {
      it('defaults to the caller: an internal user reads itself without ?user_id=, and never another user', async () => {
        await api.newTeam({ team_id: 'info-team' });
        const me = await api.newUser({ user_id: 'reads-itself', teams: ['info-team'] });
        await api.newUser({ user_id: 'someone-else', auto_create_key: false });
        const self = await api.ok<{ user_id: string; user_info: UserView; keys: Array<{ token: string }>; teams: TeamView[] }>('GET', '/user/info', undefined, me.key);
        expect(self.user_id).toBe('reads-itself');
        expect(self.user_info.user_role).toBe('internal_user');
        expect(self.keys.map((key) => key.token)).toEqual([me.token]);
        expect(self.teams.map((team) => team.team_id)).toEqual(['info-team']);
        expect((await api.call('GET', '/user/info?user_id=reads-itself', undefined, me.key)).status).toBe(200);
        const other = await api.call<ErrorBody>('GET', '/user/info?user_id=someone-else', undefined, me.key);
        expect(other.status).toBe(403);
        // A proxy_admin_viewer reads anyone; the master key must name the user.
        const viewer = await api.newUser({ user_id: 'admin-viewer', user_role: 'proxy_admin_viewer' });
        expect((await api.call('GET', '/user/info?user_id=someone-else', undefined, viewer.key)).status).toBe(200);
        expect((await api.call('POST', '/user/update', { user_id: 'someone-else', max_budget: 1 }, viewer.key)).status).toBe(403);
        expect((await api.call<ErrorBody>('GET', '/user/info')).status).toBe(400);
      });
    });
  });
}
