/**
 * LiteLLM compatibility of the spend routes, through the real server: /spend/logs answers a plain
 * list of LiteLLM_SpendLogs rows (or, with start_date and end_date, LiteLLM's per-day summary),
 * finds a raw `sk-…` api_key by its hash, and names call types as LiteLLM does; /spend/keys,
 * /spend/users, /global/spend/logs, /global/spend/keys|models|teams|end_users answer LiteLLM's
 * shapes. The admin UI's paginated logs moved to /switchboard/spend/logs. On SQLite and PostgreSQL.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialectsUnderTest, type TestDatabase } from '../support/databases.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { clientFor, Management, pricedConfig } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

for (const { dialect, create } of await dialectsUnderTest()) {
  describe(`spend routes (${dialect})`, () => {
    let upstream: MockOpenAI;
    let database: TestDatabase;
    let gateway: TestGateway;
    let api: Management;
    let userKey: { key: string; token: string };
    let teamKey: { key: string; token: string };
    const today = new Date().toISOString().slice(0, 10);

    beforeAll(async () => {
      upstream = new MockOpenAI();
      await upstream.start();
      database = await create();
      gateway = await startGateway(pricedConfig(upstream.url), { databaseUrl: database.url });
      api = new Management(gateway.url);
      const user = await api.newUser({ user_id: 'spender' });
      userKey = { key: user.key!, token: user.token! };
      await api.newTeam({ team_id: 'spend-team' });
      const team = await api.generateKey({ team_id: 'spend-team' });
      teamKey = { key: team.key, token: team.token };
      await clientFor(gateway.url, userKey.key).chat.completions.create({ model: 'cheap', messages: [{ role: 'user', content: 'hello' }] });
      await clientFor(gateway.url, teamKey.key).chat.completions.create({ model: 'premium', messages: [{ role: 'user', content: 'hello' }] });
      await clientFor(gateway.url, teamKey.key).embeddings.create({ model: 'cheap', input: 'embed me' }).catch(() => undefined);
      await gateway.flushUsage();
    });

    afterAll(async () => {
      await gateway?.close();
      await upstream?.close();
      await database?.drop();
    });

    type Row = Record<string, unknown>;

    describe('LiteLLM_SpendLogs (/spend/logs)', () => {
      it('answers a plain list of rows with LiteLLM\'s fields and types', async () => {
        const rows = await api.ok<Row[]>('GET', '/spend/logs');
        expect(Array.isArray(rows)).toBe(true);
        const chat = rows.find((row) => row.api_key === userKey.token)!;
        expect(chat).toBeDefined();
        const types: Record<string, string> = {
          request_id: 'string', api_key: 'string', model: 'string', api_base: 'string', call_type: 'string', spend: 'number', total_tokens: 'number', prompt_tokens: 'number',
          completion_tokens: 'number', startTime: 'string', endTime: 'string', completionStartTime: 'string', user: 'string', metadata: 'object', cache_hit: 'string', request_tags: 'object', end_user: 'string',
        };
        for (const [field, type] of Object.entries(types)) expect(typeof chat[field], field).toBe(type);
        expect(chat).toHaveProperty('requester_ip_address');
        expect(chat).toHaveProperty('messages');
        expect(chat).toHaveProperty('response');
        expect(chat).toMatchObject({ call_type: 'acompletion', cache_hit: 'False', request_tags: [], user: 'spender', model: 'cheap', api_base: upstream.url });
        expect(Date.parse(chat.completionStartTime as string)).toBeGreaterThanOrEqual(Date.parse(chat.startTime as string));
      });

      it('api_key=sk-… is hashed before the lookup; a token works too', async () => {
        const byKey = await api.ok<Row[]>('GET', `/spend/logs?api_key=${userKey.key}`);
        expect(byKey.length).toBe(1);
        expect(byKey[0].api_key).toBe(userKey.token);
        expect(await api.ok<Row[]>('GET', `/spend/logs?api_key=${userKey.token}`)).toEqual(byKey);
        expect(await api.ok<Row[]>('GET', '/spend/logs?api_key=sk-nobody-has-this-key-000')).toEqual([]);
      });

      it('names call types as LiteLLM does (aembedding for embeddings)', async () => {
        const rows = await api.ok<Row[]>('GET', `/spend/logs?api_key=${teamKey.token}`);
        expect(rows.map((row) => row.call_type).sort()).toEqual(['acompletion', 'aembedding']);
      });

      it('with start_date and end_date: the per-day summary (spend, users, models, spend per key)', async () => {
        const summary = await api.ok<Row[]>('GET', `/spend/logs?start_date=${today}&end_date=${today}`);
        expect(summary).toHaveLength(1);
        const [entry] = summary;
        expect(entry.startTime).toBe(today);
        expect(typeof entry.spend).toBe('number');
        expect(Object.keys(entry.models as Row).sort()).toEqual(['cheap', 'premium']);
        expect((entry.users as Row).spender).toBeGreaterThan(0);
        expect(entry[userKey.token]).toBeGreaterThan(0);
        expect(entry.spend as number).toBeCloseTo(Object.values(entry.models as Record<string, number>).reduce((a, b) => a + b, 0), 9);
        // summarize=false: the rows themselves, within the range.
        const rows = await api.ok<Row[]>('GET', `/spend/logs?start_date=${today}&end_date=${today}&summarize=false`);
        expect(rows.length).toBeGreaterThanOrEqual(2);
        expect(rows[0]).toHaveProperty('request_id');
      });

      it('an internal user reads only its own user\'s rows, without the upstream address', async () => {
        const own = await api.ok<Row[]>('GET', '/spend/logs', undefined, userKey.key);
        expect(own.length).toBe(1);
        expect(own[0].user).toBe('spender');
        expect(own[0].api_base).toBeNull();
        expect(await api.ok<Row[]>('GET', `/spend/logs?api_key=${teamKey.token}`, undefined, userKey.key)).toEqual([]);
      });

      it('the admin UI\'s paginated logs are /switchboard/spend/logs', async () => {
        const page = await api.ok<{ data: Row[]; page: number; page_size: number; has_more: boolean }>('GET', '/switchboard/spend/logs?page_size=1');
        expect(page).toMatchObject({ page: 1, page_size: 1, has_more: true });
        expect(page.data).toHaveLength(1);
      });
    });

    describe('/spend/keys (LiteLLM_VerificationToken rows), /spend/users (LiteLLM_UserTable rows), /global/spend/*', () => {
      it('/spend/keys lists keys with their spend; /spend/users users (or one by user_id)', async () => {
        const keys = await api.ok<Array<{ token: string; spend: number }>>('GET', '/spend/keys');
        expect(keys.find((key) => key.token === userKey.token)!.spend).toBeGreaterThan(0);
        const users = await api.ok<Array<{ user_id: string; spend: number }>>('GET', '/spend/users?user_id=spender');
        expect(users).toHaveLength(1);
        expect(users[0].user_id).toBe('spender');
        expect(users[0].spend).toBeGreaterThan(0);
        expect((await api.call('GET', '/spend/keys', undefined, userKey.key)).status).toBe(403);
      });

      it('/global/spend/logs: spend per day; /global/spend/keys and /models: the top spenders', async () => {
        const days = await api.ok<Array<{ date: string; spend: number }>>('GET', '/global/spend/logs');
        expect(days).toEqual([{ date: today, spend: expect.any(Number) }]);
        const keys = await api.ok<Array<{ api_key: string; total_spend: number; key_alias: string | null }>>('GET', '/global/spend/keys?limit=1');
        expect(keys).toHaveLength(1);
        expect(keys[0].api_key).toBe(teamKey.token);
        const models = await api.ok<Array<{ model: string; total_spend: number }>>('GET', '/global/spend/models?limit=5');
        expect(models[0].model).toBe('premium');
        expect(models.reduce((sum, row) => sum + row.total_spend, 0)).toBeCloseTo(days[0].spend, 9);
      });

      it('/global/spend/teams: daily spend per team, the teams, and each team\'s total', async () => {
        const teams = await api.ok<{ daily_spend: Row[]; teams: string[]; total_spend_per_team: Array<{ team_id: string; total_spend: number }> }>('GET', '/global/spend/teams');
        expect(teams.teams).toEqual(['spend-team']);
        expect(teams.daily_spend).toEqual([{ date: today, 'spend-team': expect.any(Number) }]);
        expect(teams.total_spend_per_team[0].team_id).toBe('spend-team');
        expect(teams.total_spend_per_team[0].total_spend).toBeGreaterThan(0);
      });

      it('/global/spend/end_users: spend per end user (the request\'s user); calls without one are left out', async () => {
        expect(await api.ok<Row[]>('POST', '/global/spend/end_users', { startTime: today, endTime: today })).toEqual([]);
        // Two calls for an end user (the body's `user`), through the internal user's key.
        for (let call = 0; call < 2; call++) await clientFor(gateway.url, userKey.key).chat.completions.create({ model: 'cheap', messages: [{ role: 'user', content: 'hello' }], user: 'end-customer-1' });
        await gateway.flushUsage();
        const rows = await api.ok<Row[]>('POST', '/global/spend/end_users', { startTime: today, endTime: today });
        expect(rows).toEqual([{ end_user: 'end-customer-1', total_count: 2, total_spend: expect.any(Number) }]);
        expect(rows[0].total_spend as number).toBeGreaterThan(0);
        expect(await api.ok<Row[]>('GET', `/global/spend/end_users?api_key=${userKey.key}`)).toEqual(rows);
        expect(await api.ok<Row[]>('GET', `/global/spend/end_users?api_key=${teamKey.token}`)).toEqual([]);
        // The LiteLLM_SpendLogs rows name the end user beside the internal user.
        const logged = (await api.ok<Row[]>('GET', `/spend/logs?api_key=${userKey.token}`)).filter((row) => row.end_user === 'end-customer-1');
        expect(logged).toHaveLength(2);
        expect(logged.every((row) => row.user === 'spender')).toBe(true);
      });
    });

    describe('/global/spend/report (LiteLLM\'s grouping)', () => {
      it('group_by=team (the default): per day, the teams with their spend per model', async () => {
        const report = await api.ok<Array<{ group_by_day: string; teams: Array<{ team_name: string; total_spend: number; metadata: Array<{ model: string; spend: number; total_tokens: number }> }> }>>('GET', `/global/spend/report?start_date=${today}&end_date=${today}`);
        expect(report).toHaveLength(1);
        expect(report[0].group_by_day).toBe(today);
        expect(report[0].teams.map((team) => team.team_name)).toEqual(['spend-team']);
        const [team] = report[0].teams;
        expect(team.metadata.map((row) => row.model).sort()).toEqual(['cheap', 'premium']);
        expect(team.total_spend).toBeCloseTo(team.metadata.reduce((sum, row) => sum + row.spend, 0), 9);
        expect(await api.ok('GET', `/global/spend/report?group_by=team&start_date=${today}&end_date=${today}`)).toEqual(report);
      });

      it('group_by=api_key: per key, its cost and tokens per model', async () => {
        const report = await api.ok<Array<{ api_key: string; total_cost: number; total_input_tokens: number; total_output_tokens: number; model_details: Array<{ model: string; total_cost: number }> }>>('GET', `/global/spend/report?group_by=api_key&api_key=${userKey.key}`);
        expect(report).toHaveLength(1);
        expect(report[0].api_key).toBe(userKey.token);
        expect(report[0].total_input_tokens).toBeGreaterThan(0);
        expect(report[0].model_details.map((row) => row.model)).toEqual(['cheap']);
      });

      it('group_by=customer means end users (the request\'s user), not internal users', async () => {
        const report = await api.ok<Array<{ group_by_day: string; customers: Array<{ customer: string; total_spend: number; metadata: Array<{ model: string; spend: number }> }> }>>('GET', '/global/spend/report?group_by=customer');
        // Only the calls made for end-customer-1 (above) are a customer's; the internal user "spender" is not one.
        expect(report.map((day) => day.group_by_day)).toEqual([today]);
        expect(report[0].customers.map((customer) => customer.customer)).toEqual(['end-customer-1']);
        const [customer] = report[0].customers;
        expect(customer.metadata.map((row) => row.model)).toEqual(['cheap']);
        expect(customer.total_spend).toBeGreaterThan(0);
        expect(customer.total_spend).toBeCloseTo(customer.metadata.reduce((sum, row) => sum + row.spend, 0), 9);
        const ends = await api.ok<Array<{ end_user: string; total_spend: number }>>('GET', '/global/spend/end_users');
        expect(customer.total_spend).toBeCloseTo(ends[0].total_spend, 9);
        expect(await api.ok('GET', '/global/spend/report?group_by=customer&customer_id=end-customer-1')).toEqual(report);
        expect(await api.ok('GET', '/global/spend/report?group_by=customer&customer_id=spender')).toEqual([]);
        expect((await api.call('GET', '/global/spend/report?group_by=team&customer_id=someone')).status).toBe(400);
        const other = await api.call<{ error: { message: string } }>('GET', '/global/spend/report?group_by=model');
        expect(other.status).toBe(400);
        expect(other.body.error.message).toContain('/switchboard/spend/report');
      });
    });
  });
}
