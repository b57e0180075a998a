/**
 * LiteLLM compatibility of the team routes, through the real server: TeamAddMemberResponse
 * (updated_users, updated_team_memberships), TeamInfoResponseObject (team_memberships), Member
 * addressed by user_email, TeamMemberUpdateRequest / TeamMemberUpdateResponse, BlockTeamRequest.
 * On SQLite and PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialectsUnderTest, type TestDatabase } from '../support/databases.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { chatStatus, clientFor, Management, pricedConfig, type ErrorBody, type TeamView, type UserView } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

for (const { dialect, create } of await dialectsUnderTest()) {
  describe(`team routes (${dialect})`, () => {
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

    interface Membership {
      user_id: string;
      team_id: string;
      budget_id: null;
      spend: number;
      litellm_budget_table: null;
    }

    describe('TeamAddMemberResponse', () => {
      it('answers the team with updated_users and updated_team_memberships; members may be named by user_email', async () => {
        await api.newTeam({ team_id: 'members-team' });
        await api.newUser({ user_id: 'by-id', auto_create_key: false });
        await api.newUser({ user_id: 'by-email', user_email: 'member@example.com', auto_create_key: false });
        const added = await api.ok<TeamView & { updated_users: UserView[]; updated_team_memberships: Membership[] }>('POST', '/team/member_add', {
          team_id: 'members-team',
          member: [{ user_id: 'by-id', role: 'admin' }, { user_email: 'member@example.com', role: 'user' }],
        });
        expect(added.team_id).toBe('members-team');
        const byUser = (a: { user_id: string }, b: { user_id: string }) => a.user_id.localeCompare(b.user_id);
        expect([...added.members_with_roles].sort(byUser)).toEqual([
          { user_id: 'by-email', role: 'user' },
          { user_id: 'by-id', role: 'admin' },
        ]);
        expect(added.updated_users.map((user) => user.user_id)).toEqual(['by-id', 'by-email']);
        expect(added.updated_users[1].user_email).toBe('member@example.com');
        expect([...added.updated_team_memberships].sort(byUser)).toEqual([
          { user_id: 'by-email', team_id: 'members-team', budget_id: null, spend: 0, litellm_budget_table: null },
          { user_id: 'by-id', team_id: 'members-team', budget_id: null, spend: 0, litellm_budget_table: null },
        ]);
        const unknown = await api.call<ErrorBody>('POST', '/team/member_add', { team_id: 'members-team', member: { user_email: 'ghost@example.com' } });
        expect(unknown.status).toBe(404);
      });
    });

    describe('NewTeamRequest (members_with_roles: Member) / TeamMemberDeleteRequest', () => {
      it('members may be named by user_email on /team/new and /team/member_delete', async () => {
        await api.newUser({ user_id: 'new-team-by-email', user_email: 'new-team@example.com', auto_create_key: false });
        await api.newUser({ user_id: 'new-team-by-id', auto_create_key: false });
        const team = await api.ok<TeamView>('POST', '/team/new', {
          team_id: 'emails-team',
          members_with_roles: [{ user_email: 'new-team@example.com', role: 'admin' }, { user_id: 'new-team-by-id', role: 'user' }],
        });
        expect(team.members_with_roles).toEqual([
          { user_id: 'new-team-by-email', role: 'admin' },
          { user_id: 'new-team-by-id', role: 'user' },
        ]);
        expect((await api.call<ErrorBody>('POST', '/team/new', { team_id: 'ghost-team', members_with_roles: [{ user_email: 'ghost@example.com', role: 'user' }] })).status).toBe(404);
        const removed = await api.ok<TeamView>('POST', '/team/member_delete', { team_id: 'emails-team', user_email: 'new-team@example.com' });
        expect(removed.members_with_roles).toEqual([{ user_id: 'new-team-by-id', role: 'user' }]);
        expect((await api.teamInfo('emails-team')).team_info.members_with_roles).toEqual([{ user_id: 'new-team-by-id', role: 'user' }]);
      });
    });

    describe('TeamInfoResponseObject', () => {
      it('has team_id, team_info, keys and team_memberships; a member reads its own team, an outsider gets 403', async () => {
        await api.newTeam({ team_id: 'info-members' });
        const member = await api.newUser({ user_id: 'info-member', teams: ['info-members'] });
        const outsider = await api.newUser({ user_id: 'info-outsider' });
        const info = await api.ok<{ team_id: string; team_info: TeamView; keys: unknown[]; team_memberships: Membership[] }>('GET', '/team/info?team_id=info-members');
        expect(Object.keys(info).sort()).toEqual(['keys', 'team_id', 'team_info', 'team_memberships']);
        expect(info.team_memberships).toEqual([{ user_id: 'info-member', team_id: 'info-members', budget_id: null, spend: 0, litellm_budget_table: null }]);
        expect((await api.call('GET', '/team/info?team_id=info-members', undefined, member.key)).status).toBe(200);
        // spend: what the member spent through the team's keys.
        const teamKey = await api.generateKey({ team_id: 'info-members', user_id: 'info-member' });
        expect((await chatStatus(clientFor(gateway.url, teamKey.key), { model: 'cheap' })).status).toBe(200);
        await expect
          .poll(async () => (await api.ok<{ team_memberships: Membership[] }>('GET', '/team/info?team_id=info-members')).team_memberships[0].spend, { timeout: 15_000 })
          .toBeGreaterThan(0);
        expect((await api.call('GET', '/team/info?team_id=info-members', undefined, outsider.key)).status).toBe(403);
        // /team/list: a member lists its own teams only.
        expect((await api.ok<TeamView[]>('GET', '/team/list', undefined, member.key)).map((team) => team.team_id)).toEqual(['info-members']);
        expect(await api.ok<TeamView[]>('GET', '/team/list', undefined, outsider.key)).toEqual([]);
        expect((await api.call('GET', '/team/list?user_id=info-member', undefined, outsider.key)).status).toBe(403);
      });
    });

    describe('TeamMemberUpdateRequest / TeamMemberUpdateResponse', () => {
      it('changes a member\'s role (by user_id or user_email); refuses a non-member and per-member budgets', async () => {
        await api.newTeam({ team_id: 'update-team' });
        await api.newUser({ user_id: 'promoted', user_email: 'promoted@example.com', teams: ['update-team'], auto_create_key: false });
        const updated = await api.ok<Record<string, unknown>>('POST', '/team/member_update', { team_id: 'update-team', user_email: 'promoted@example.com', role: 'admin' });
        expect(updated).toEqual({ team_id: 'update-team', user_id: 'promoted', user_email: 'promoted@example.com', role: 'admin', max_budget_in_team: null });
        expect((await api.teamInfo('update-team')).team_info.members_with_roles).toEqual([{ user_id: 'promoted', role: 'admin' }]);
        await api.newUser({ user_id: 'not-a-member', auto_create_key: false });
        expect((await api.call<ErrorBody>('POST', '/team/member_update', { team_id: 'update-team', user_id: 'not-a-member', role: 'admin' })).status).toBe(404);
        const budget = await api.call<ErrorBody>('POST', '/team/member_update', { team_id: 'update-team', user_id: 'promoted', max_budget_in_team: 10 });
        expect(budget.status).toBe(400);
        expect(budget.body.error.message).toContain('not supported yet');
      });
    });

    describe('BlockTeamRequest', () => {
      it('/team/block refuses the team\'s keys on the next request; /team/unblock lets them through again', async () => {
        await api.newTeam({ team_id: 'blockable' });
        const key = await api.generateKey({ team_id: 'blockable' });
        const client = clientFor(gateway.url, key.key);
        expect((await chatStatus(client, { model: 'cheap' })).status).toBe(200);
        expect((await api.ok<TeamView>('POST', '/team/block', { team_id: 'blockable' })).blocked).toBe(true);
        expect((await chatStatus(client, { model: 'cheap' })).status).toBe(401);
        expect((await api.ok<TeamView>('POST', '/team/unblock', { team_id: 'blockable' })).blocked).toBe(false);
        expect((await chatStatus(client, { model: 'cheap' })).status).toBe(200);
        expect((await api.call<ErrorBody>('POST', '/team/block', { team_id: 'no-such-team' })).status).toBe(404);
      });
    });
  });
}
