/**
 * LiteLLM compatibility of the key routes, through the real server: each test names the pydantic
 * model of LiteLLM's litellm/proxy/_types.py whose fields and types it checks (GenerateKeyRequest,
 * GenerateKeyResponse, RegenerateKeyRequest, UpdateKeyRequest, KeyRequest, …), and the rules of who
 * may manage which keys (an internal user never gets a key with more access than it has).
 * On SQLite and PostgreSQL.
 */
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { dialectsUnderTest, type TestDatabase } from '../support/databases.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { chatStatus, clientFor, Management, pricedConfig, sha256, type ErrorBody, type GeneratedKey, type KeyView } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

for (const { dialect, create } of await dialectsUnderTest()) {
  describe(`key routes (${dialect})`, () => {
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

    const ask = (key: string, model = 'cheap') => chatStatus(clientFor(gateway.url, key), { model });
    const isoOrNull = (value: unknown) => value === null || (typeof value === 'string' && !Number.isNaN(Date.parse(value)));

    describe('GenerateKeyResponse', () => {
      it('has LiteLLM\'s fields with LiteLLM\'s types', async () => {
        const generated = await api.generateKey({ key_alias: 'compat-shape', tags: ['billing', 'batch'], metadata: { team: 'x' } });
        const types: Record<string, string> = {
          key: 'string',
          key_name: 'string',
          key_alias: 'string',
          token: 'string',
          token_id: 'string',
          tags: 'array',
          models: 'array',
          aliases: 'object',
          metadata: 'object',
          model_max_budget: 'object',
          allowed_routes: 'array',
          guardrails: 'array',
          key_type: 'string',
          spend: 'number',
          blocked: 'boolean',
          created_by: 'string',
        };
        for (const [field, type] of Object.entries(types)) {
          const value = (generated as unknown as Record<string, unknown>)[field];
          expect(Array.isArray(value) ? 'array' : typeof value, field).toBe(type);
        }
        for (const field of ['budget_id', 'litellm_budget_table', 'user_id', 'team_id', 'max_budget', 'budget_duration', 'rpm_limit', 'tpm_limit', 'max_parallel_requests', 'expires']) {
          expect(generated, field).toHaveProperty(field);
        }
        expect(generated.budget_id).toBeNull();
        expect(generated.litellm_budget_table).toBeNull();
        expect(generated.token_id).toBe(sha256(generated.key));
        expect(generated.tags).toEqual(['billing', 'batch']);
        expect(generated.created_by).toBe('master');
        expect(generated.key_type).toBe('default');
        expect(isoOrNull((generated as unknown as Record<string, unknown>).created_at)).toBe(true);
        // Stored: the same fields come back from /key/info and /key/list.
        const info = await api.keyInfo(generated.key);
        expect(info).toMatchObject({ tags: ['billing', 'batch'], created_by: 'master', key_type: 'default', token_id: generated.token });
      });
    });

    describe('GenerateKeyRequest', () => {
      it('key: an imported secret is kept and authenticates with its original value', async () => {
        const secret = `sk-imported-${'a1b2c3d4'.repeat(3)}`;
        const generated = await api.generateKey({ key: secret, key_alias: 'imported', max_budget: 5 });
        expect(generated.key).toBe(secret);
        expect(generated.token).toBe(sha256(secret));
        expect(generated.key_name).toBe(`sk-...${secret.slice(-4)}`);
        expect((await ask(secret)).status).toBe(200);
      });

      it('key: refused unless it starts with sk-, has at least 20 characters and is new', async () => {
        for (const key of ['pk-0123456789abcdefghij', 'sk-short', `sk-with space-${'x'.repeat(20)}`]) {
          const refused = await api.call<ErrorBody>('POST', '/key/generate', { key });
          expect(refused.status, key).toBe(400);
          expect(refused.body.error.param).toBe('key');
        }
        const secret = `sk-duplicate-${'z'.repeat(20)}`;
        await api.generateKey({ key: secret });
        const duplicate = await api.call<ErrorBody>('POST', '/key/generate', { key: secret });
        expect(duplicate.status).toBe(409);
        expect(duplicate.body.error.message).toContain('already exists');
      });

      it('max_budget "" and models null mean unset; duration "1w" and LiteLLM\'s other units set the expiry', async () => {
        const before = Date.now();
        const generated = await api.generateKey({ max_budget: '', soft_budget: '', models: null, duration: '1w' });
        expect(generated.max_budget).toBeNull();
        expect(generated.soft_budget).toBeNull();
        expect(generated.models).toEqual([]);
        const expires = Date.parse(generated.expires!);
        expect(expires).toBeGreaterThanOrEqual(before + 7 * 86_400_000);
        expect(expires).toBeLessThan(before + 8 * 86_400_000);
        for (const duration of ['30s', '10m', '2h', '3d', '2w', '1mo']) expect((await api.call('POST', '/key/generate', { duration })).status, duration).toBe(200);
        expect((await api.call<KeyView>('POST', '/key/generate', { budget_duration: 'weekly' })).body.budget_duration).toBe('weekly');
        expect((await api.call<ErrorBody>('POST', '/key/generate', { duration: '1y' })).status).toBe(400);
      });

      it("model_max_budget: both of LiteLLM's shapes are kept and returned in its current one, a malformed value is refused naming the field; guardrails are kept on the key", async () => {
        expect((await api.call('POST', '/key/generate', { model_max_budget: {}, guardrails: [] })).status).toBe(200);
        const shapes = await api.ok<{ model_max_budget: unknown; model_spend: unknown }>('POST', '/key/generate', { model_max_budget: { cheap: 1, premium: { budget_limit: 0.5, time_period: '1d' } } });
        expect(shapes.model_max_budget).toEqual({ cheap: { budget_limit: 1, time_period: null }, premium: { budget_limit: 0.5, time_period: '1d' } });
        expect(shapes.model_spend).toEqual({ cheap: 0, premium: 0 });
        const budgets = await api.call<ErrorBody>('POST', '/key/generate', { model_max_budget: { cheap: { budget_limit: 1, time_period: 'every now and then' } } });
        expect(budgets.status).toBe(400);
        expect(budgets.body.error.param).toBe('model_max_budget');
        expect(budgets.body.error.message).toMatch(/^model_max_budget\.cheap\.time_period: expected a duration/);
        // LiteLLM keeps a key's guardrails in its metadata, where the guardrail stage reads them.
        const guarded = await api.ok<{ guardrails: string[]; metadata: Record<string, unknown> }>('POST', '/key/generate', { guardrails: ['pii-mask'] });
        expect(guarded.guardrails).toEqual(['pii-mask']);
        expect(guarded.metadata).toMatchObject({ guardrails: ['pii-mask'] });
      });

      it('LiteLLM fields the gateway does not implement: their empty defaults pass, a value is refused naming the field', async () => {
        expect((await api.call('POST', '/key/generate', { tag_rpm_limit: {}, model_rpm_limit: {}, enforced_params: [], permissions: {}, config: {}, budget_id: null, send_invite_email: false, auto_rotate: false })).status).toBe(200);
        for (const [field, value] of [['tag_rpm_limit', { cheap: 5 }], ['enforced_params', ['user']], ['auto_rotate', true]] as const) {
          const refused = await api.call<ErrorBody>('POST', '/key/generate', { [field]: value });
          expect(refused.status, field).toBe(400);
          expect(refused.body.error.param).toBe(field);
        }
      });

      it('allowed_routes: a key may call only the routes listed; key_type expands to LiteLLM\'s route groups', async () => {
        const infoOnly = await api.generateKey({ allowed_routes: ['/key/info'] });
        expect(infoOnly.allowed_routes).toEqual(['/key/info']);
        expect((await api.call('GET', '/key/info', undefined, infoOnly.key)).status).toBe(200);
        const refused = await api.call<ErrorBody>('POST', '/v1/chat/completions', { model: 'cheap', messages: [{ role: 'user', content: 'hi' }] }, infoOnly.key);
        expect(refused.status).toBe(403);
        expect(refused.body.error.message).toContain('allowed_routes');

        const llmOnly = await api.generateKey({ key_type: 'llm_api' });
        expect(llmOnly).toMatchObject({ key_type: 'llm_api', allowed_routes: ['llm_api_routes'] });
        expect((await ask(llmOnly.key)).status).toBe(200);
        expect((await api.call('GET', '/key/info', undefined, llmOnly.key)).status).toBe(403);

        const readOnly = await api.generateKey({ key_type: 'read_only' });
        expect(readOnly.allowed_routes).toEqual(['info_routes']);
        expect((await ask(readOnly.key)).status).toBe(403);
        expect((await api.call('GET', '/key/info', undefined, readOnly.key)).status).toBe(200);

        // Through the official Anthropic SDK too: /v1/messages is an llm_api route; the refusal is Anthropic's envelope.
        const anthropic = (key: string) => new Anthropic({ apiKey: key, baseURL: gateway.url, maxRetries: 0 });
        const message = await anthropic(llmOnly.key).messages.create({ model: 'cheap', max_tokens: 10, messages: [{ role: 'user', content: 'Hi' }] });
        expect(message.type).toBe('message');
        const denied = await anthropic(readOnly.key).messages.create({ model: 'cheap', max_tokens: 10, messages: [{ role: 'user', content: 'Hi' }] }).catch((caught: unknown) => caught);
        expect(denied).toBeInstanceOf(Anthropic.PermissionDeniedError);
        expect((denied as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({ type: 'error', error: { type: 'permission_error', message: expect.stringContaining('allowed_routes') } });

        // allowed_routes only narrows: a non-admin key listing management routes still cannot manage others.
        const bad = await api.call<ErrorBody>('POST', '/key/generate', { allowed_routes: ['everything'] });
        expect(bad.status).toBe(400);
        expect(bad.body.error.param).toContain('allowed_routes');
      });

      it('a team key cannot name models outside its team\'s models, even for an admin', async () => {
        await api.newTeam({ team_id: 'compat-cheap-team', models: ['cheap'] });
        const refused = await api.call<ErrorBody>('POST', '/key/generate', { team_id: 'compat-cheap-team', models: ['premium'] });
        expect(refused.status).toBe(400);
        expect(refused.body.error.message).toContain('compat-cheap-team');
        expect((await api.call('POST', '/key/generate', { team_id: 'compat-cheap-team', models: ['cheap'] })).status).toBe(200);
        const key = await api.generateKey({ models: ['premium'] });
        expect((await api.call<ErrorBody>('POST', '/key/update', { key: key.token, team_id: 'compat-cheap-team' })).status).toBe(400);
      });
    });

    describe('RegenerateKeyRequest', () => {
      it('new_key: the key gets the chosen secret; the old one stops working; spend and settings stay', async () => {
        const original = await api.generateKey({ key_alias: 'to-regenerate', rpm_limit: 50 });
        expect((await ask(original.key)).status).toBe(200);
        // Spend reaches the database with the usage rows (batched): wait for it.
        await expect.poll(async () => (await api.keyInfo(original.token)).spend, { timeout: 15_000 }).toBeGreaterThan(0);
        const spent = (await api.keyInfo(original.token)).spend;
        const newKey = `sk-regenerated-${'q'.repeat(20)}`;
        const regenerated = await api.ok<GeneratedKey>('POST', '/key/regenerate', { key: original.key, new_key: newKey });
        expect(regenerated.key).toBe(newKey);
        expect(regenerated.token).toBe(sha256(newKey));
        expect(regenerated).toMatchObject({ key_alias: 'to-regenerate', rpm_limit: 50 });
        expect(regenerated.spend).toBeCloseTo(spent, 9);
        expect((await ask(newKey)).status).toBe(200);
        expect((await ask(original.key)).status).toBe(401);
        const bad = await api.call<ErrorBody>('POST', `/key/${regenerated.token}/regenerate`, { new_key: 'sk-short' });
        expect(bad.status).toBe(400);
        expect(bad.body.error.param).toBe('new_key');
      });
    });

    describe('UpdateKeyRequest, KeyRequest, DeleteKeyRequest, ResetSpendRequest', () => {
      it('/key/update spend: setting it takes effect on the budget at once (a spend-reset script works)', async () => {
        const key = await api.generateKey({ max_budget: 0.01 });
        expect((await ask(key.key)).status).toBe(200);
        // Spend of calls still being recorded when it is set is added on top: let the call's row land first.
        await gateway.flushUsage();
        await api.updateKey(key.token, { spend: 0.01 });
        expect((await api.keyInfo(key.token)).spend).toBe(0.01);
        const refused = await api.call<ErrorBody>('POST', '/v1/chat/completions', { model: 'cheap', messages: [{ role: 'user', content: 'hi' }] }, key.key);
        expect(refused.status).toBe(400);
        expect(refused.body.error.type).toBe('budget_exceeded');
        await api.updateKey(key.token, { spend: 0 });
        expect((await api.keyInfo(key.token)).spend).toBe(0);
        expect((await ask(key.key)).status).toBe(200);
      });

      it('/key/{key}/reset_spend lowers the spend (never raises it) and answers the previous spend', async () => {
        const key = await api.generateKey({ max_budget: 1 });
        expect((await ask(key.key)).status).toBe(200);
        // The call's charge lands when it settles (asynchronously with Redis): wait for it before resetting.
        await expect.poll(async () => (await api.keyInfo(key.token)).spend, { timeout: 5_000 }).toBeGreaterThan(0);
        // As with /key/update: a call's row that lands after the reset adds its spend on top, so let it land first.
        await gateway.flushUsage();
        const before = (await api.keyInfo(key.token)).spend;
        const reset = await api.ok<{ key_hash: string; spend: number; previous_spend: number; max_budget: number }>('POST', `/key/${key.token}/reset_spend`, { reset_to: 0 });
        expect(reset).toMatchObject({ key_hash: key.token, spend: 0, max_budget: 1 });
        expect(reset.previous_spend).toBeCloseTo(before, 9);
        expect((await api.call<ErrorBody>('POST', `/key/${key.token}/reset_spend`, { reset_to: 5 })).status).toBe(400);
      });

      it('/key/list?key_hash= finds the one key; /key/info without ?key= reads the caller', async () => {
        const key = await api.generateKey({ key_alias: 'by-hash' });
        const list = await api.ok<{ keys: string[]; total_count: number }>('GET', `/key/list?key_hash=${key.token}`);
        expect(list).toMatchObject({ keys: [key.token], total_count: 1 });
        const self = await api.ok<{ key: string; info: Record<string, unknown> }>('GET', '/key/info', undefined, key.key);
        expect(self.key).toBe(key.token);
        expect(self.info).not.toHaveProperty('token');
        expect(self.info.key_alias).toBe('by-hash');
      });

      it('/key/bulk_update changes every key listed, or none when one is refused', async () => {
        const [a, b] = [await api.generateKey(), await api.generateKey()];
        const result = await api.ok<{ total_requested: number; successful_updates: KeyView[]; failed_updates: unknown[] }>('POST', '/key/bulk_update', { keys: [{ key: a.token, tags: ['one'] }, { key: b.token, rpm_limit: 7 }] });
        expect(result.total_requested).toBe(2);
        expect(result.successful_updates.map((key) => key.token)).toEqual([a.token, b.token]);
        expect((await api.keyInfo(a.token)).tags).toEqual(['one']);
        expect((await api.keyInfo(b.token)).rpm_limit).toBe(7);
        const refused = await api.call<ErrorBody>('POST', '/key/bulk_update', { keys: [{ key: a.token, tags: ['two'] }, { key: 'sk-missing-key-000000000000', rpm_limit: 1 }] });
        expect(refused.status).toBe(404);
        expect((await api.keyInfo(a.token)).tags).toEqual(['one']);
      });
    });

    describe('who manages which keys (LitellmUserRoles internal_user / internal_user_viewer, LiteLLMTeamRoles admin)', () => {
      let self: { key: string; userId: string };
      let viewer: string;
      let otherKey: GeneratedKey;

      beforeAll(async () => {
        const user = await api.newUser({ user_id: 'self-service', user_role: 'internal_user', models: ['cheap'], max_budget: 2 });
        self = { key: user.key!, userId: 'self-service' };
        viewer = (await api.newUser({ user_id: 'viewer-user', user_role: 'internal_user_viewer' })).key!;
        await api.newUser({ user_id: 'bystander', auto_create_key: false });
        otherKey = await api.generateKey({ user_id: 'bystander', key_alias: 'bystander-key' });
      });

      it('an internal user generates, lists, reads, updates, regenerates and deletes its own keys', async () => {
        const own = await api.ok<GeneratedKey>('POST', '/key/generate', { key_alias: 'my-own', models: ['cheap'], max_budget: 1 }, self.key);
        expect(own.user_id).toBe(self.userId);
        expect(own.created_by).toBe(self.userId);
        expect((await ask(own.key)).status).toBe(200);
        const list = await api.ok<{ keys: string[] }>('GET', '/key/list', undefined, self.key);
        expect(list.keys).toContain(own.token);
        expect(list.keys).not.toContain(otherKey.token);
        expect((await api.call('GET', `/key/info?key=${own.token}`, undefined, self.key)).status).toBe(200);
        expect((await api.ok<KeyView>('POST', '/key/update', { key: own.token, rpm_limit: 9 }, self.key)).rpm_limit).toBe(9);
        const regenerated = await api.ok<GeneratedKey>('POST', '/key/regenerate', { key: own.token }, self.key);
        expect((await api.ok<{ deleted_keys: string[] }>('POST', '/key/delete', { keys: [regenerated.key] }, self.key)).deleted_keys).toEqual([regenerated.key]);
        const me = await api.ok<{ user_id: string }>('GET', '/user/info', undefined, self.key);
        expect(me.user_id).toBe(self.userId);
      });

      it('invariant: an internal user never gets a key with more access than it has, nor touches another user\'s keys', async () => {
        const attempts: Array<[string, Record<string, unknown>]> = [
          ['/key/generate', { user_id: 'bystander' }],
          ['/key/generate', { models: ['premium'] }],
          ['/key/generate', { models: ['all-proxy-models'] }],
          ['/key/generate', { max_budget: 3 }],
          ['/key/generate', { team_id: 'compat-cheap-team' }],
          ['/key/generate', { key: `sk-chosen-by-user-${'k'.repeat(20)}` }],
          ['/key/generate', { spend: 0 }],
          ['/key/update', { key: otherKey.token, rpm_limit: 1 }],
          ['/key/update', { key: otherKey.token, user_id: self.userId }],
          ['/key/delete', { keys: [otherKey.token] }],
          ['/key/regenerate', { key: otherKey.token }],
          ['/key/block', { key: otherKey.token }],
          ['/key/bulk_update', { keys: [{ key: otherKey.token, tags: ['x'] }] }],
          [`/key/${otherKey.token}/reset_spend`, { reset_to: 0 }],
        ];
        for (const [path, body] of attempts) {
          const response = await api.call<ErrorBody>('POST', path, body, self.key);
          expect(response.status, `${path} ${JSON.stringify(body)}`).toBe(403);
        }
        const own = await api.ok<GeneratedKey>('POST', '/key/generate', {}, self.key);
        for (const change of [{ models: ['premium'] }, { max_budget: 5 }, { spend: 0 }, { blocked: false }, { user_id: 'bystander' }, { team_id: 'compat-cheap-team' }]) {
          expect((await api.call('POST', '/key/update', { key: own.token, ...change }, self.key)).status, JSON.stringify(change)).toBe(403);
        }
        expect((await api.call('GET', `/key/info?key=${otherKey.token}`, undefined, self.key)).status).toBe(403);
        expect((await api.call('GET', '/key/list?user_id=bystander', undefined, self.key)).status).toBe(403);
        expect((await api.call('GET', '/user/info?user_id=bystander', undefined, self.key)).status).toBe(403);
        // Nothing about the bystander's key changed.
        expect(await api.keyInfo(otherKey.token)).toMatchObject({ user_id: 'bystander', rpm_limit: null, tags: [], blocked: false });
        // The key it may create is still held to its own models at request time.
        expect((await ask(own.key, 'premium')).status).toBe(403);
      });

      it('an internal_user_viewer only reads its own keys', async () => {
        expect((await api.call('POST', '/key/generate', {}, viewer)).status).toBe(403);
        const list = await api.ok<{ keys: string[]; total_count: number }>('GET', '/key/list', undefined, viewer);
        expect(list.total_count).toBe(1);
        const own = list.keys[0];
        expect((await api.call('POST', '/key/update', { key: own, rpm_limit: 1 }, viewer)).status).toBe(403);
        expect((await api.call('POST', '/key/delete', { keys: [own] }, viewer)).status).toBe(403);
        expect((await api.call('GET', '/user/info', undefined, viewer)).status).toBe(200);
      });

      it('a team admin manages its team\'s keys and members, and nothing outside the team', async () => {
        await api.newTeam({ team_id: 'admin-team', models: ['cheap'], max_budget: 3 });
        await api.newTeam({ team_id: 'foreign-team' });
        const lead = await api.newUser({ user_id: 'team-lead', teams: [{ team_id: 'admin-team', user_role: 'admin' }] });
        const mate = await api.newUser({ user_id: 'team-mate', teams: ['admin-team'], auto_create_key: false });
        expect(mate.user_id).toBe('team-mate');
        // A key without a user (held to no user's models, tier, budget or credits) is an admin's to make.
        expect((await api.call('POST', '/key/generate', { team_id: 'admin-team', user_id: null, models: ['cheap'] }, lead.key)).status).toBe(403);
        const teamKey = await api.generateKey({ team_id: 'admin-team', user_id: null, models: ['cheap'] });
        expect(teamKey).toMatchObject({ team_id: 'admin-team', user_id: null, created_by: 'master' });
        // A key it made for itself, and one an admin made for a member: both the team admin's to manage.
        expect((await api.ok<GeneratedKey>('POST', '/key/generate', { team_id: 'admin-team' }, lead.key)).user_id).toBe('team-lead');
        const mateKey = await api.generateKey({ team_id: 'admin-team', user_id: 'team-mate' });
        expect((await api.call('POST', '/key/update', { key: mateKey.token, rpm_limit: 3 }, lead.key)).status).toBe(200);
        // Never a key on another member's user: it would spend that user's own budget.
        expect((await api.call('POST', '/key/generate', { team_id: 'admin-team', user_id: 'team-mate' }, lead.key)).status).toBe(403);
        expect((await ask(teamKey.key)).status).toBe(200);
        expect((await api.ok<{ keys: string[] }>('GET', '/key/list?team_id=admin-team', undefined, lead.key)).keys).toContain(teamKey.token);
        await api.ok('POST', '/key/block', { key: teamKey.token }, lead.key);
        expect((await ask(teamKey.key)).status).toBe(401);
        await api.ok('POST', '/key/unblock', { key: teamKey.token }, lead.key);
        await api.ok('POST', '/team/member_update', { team_id: 'admin-team', user_id: 'team-mate', role: 'admin' }, lead.key);
        await api.ok('POST', '/team/member_delete', { team_id: 'admin-team', user_id: 'team-mate' }, lead.key);
        // Outside the team: refused.
        for (const [path, body] of [
          ['/key/generate', { team_id: 'admin-team', models: ['premium'] }],
          ['/key/generate', { team_id: 'admin-team', max_budget: 4 }],
          ['/key/generate', { team_id: 'admin-team', user_id: 'bystander' }],
          ['/key/generate', { team_id: 'foreign-team' }],
          ['/team/member_add', { team_id: 'foreign-team', member: { user_id: 'team-lead', role: 'admin' } }],
          ['/team/update', { team_id: 'admin-team', max_budget: 100 }],
          ['/team/block', { team_id: 'admin-team' }],
          ['/key/update', { key: otherKey.token, team_id: 'admin-team' }],
        ] as Array<[string, Record<string, unknown>]>) {
          const response = await api.call('POST', path, body, lead.key);
          expect([400, 403], `${path} ${JSON.stringify(body)}`).toContain(response.status);
        }
      });
    });
  });
}
