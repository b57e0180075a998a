/**
 * Tier model access and routing rules through the real server with the official OpenAI SDK: a
 * free-tier user reaches only the tier's models (403 model_not_in_tier otherwise, listings
 * filtered, no own keys), a rule routes `task: code` to its model and the usage row names the rule,
 * explain answers what the real call then does, rules are managed through the API, and the
 * Testing Lab runs a call as a user and reports the rule, model and credits.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretBox } from '../../src/security/secret-box.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management, type ErrorBody } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

function config(apiBase: string): string {
  const model = (name: string, price: number, info = '') =>
    `  - model_name: ${name}\n    litellm_params: {model: openai/${name}-upstream, api_base: "${apiBase}", api_key: sk-upstream-test}\n    model_info: {id: dep-${name}, input_cost_per_token: ${price}, output_cost_per_token: ${price * 2}${info}}\n`;
  return `
model_list:
${model('local-small', 0.0000001, ', quality_score: 40, byok: true')}${model('local-large', 0.0000002, ', quality_score: 60')}${model('premium', 0.00001, ', quality_score: 95')}${model('coder', 0.000002, ', quality_score: 85')}
router_settings:
  num_retries: 0
  disable_cooldowns: true
general_settings:
  master_key: ${MASTER_KEY}
platform:
  default_tier: free
  tiers:
    free: {markup: 0, initial_credits: 10, models: ["local-*"], power_levels: [eco, precision]}
    enterprise: {markup: 0.5, initial_credits: 100000}
  routing_rules:
    - name: code-to-coder
      priority: 10
      match: {task: code, tiers: [enterprise]}
      action: {route_to: [coder, premium], max_tokens_cap: 64}
`;
}

describe('tier model access and routing rules', () => {
  const upstream = new MockOpenAI({ promptTokens: 10, completionTokens: 5 });
  let gateway: TestGateway;
  let api: Management;
  let freeKey: string;
  let entKey: string;
  const client = (key: string) => new OpenAI({ apiKey: key, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
  const hi = [{ role: 'user' as const, content: 'hi' }];

  beforeAll(async () => {
    await upstream.start();
    gateway = await startGateway(config(upstream.url), { env: { SWITCHBOARD_ENCRYPTION_KEY: SecretBox.generateKey() } });
    api = new Management(gateway.url);
    freeKey = (await api.newUser({ user_id: 'free-user' })).key!;
    entKey = (await api.newUser({ user_id: 'ent-user', tier: 'enterprise' })).key!;
  });

  afterAll(async () => {
    await gateway?.close();
    await upstream.close();
  });

  it('a free-tier user sees only the tier’s models in both listings', async () => {
    const listed = (await client(freeKey).models.list()).data.map((model) => model.id).sort();
    expect(listed).toEqual(['local-large', 'local-small']);
    const platformList = await api.ok<{ data: Array<{ id: string }>; power_levels: Array<{ level: string }> }>('GET', '/api/v1/llm/models', undefined, freeKey);
    expect(platformList.data.map((model) => model.id).sort()).toEqual(['local-large', 'local-small']);
    expect(platformList.power_levels.map((level) => level.level)).toEqual(['eco', 'precision']);
    const everything = (await client(entKey).models.list()).data.map((model) => model.id);
    expect(everything).toHaveLength(4);
  });

  it('a free-tier user calling a model outside the tier gets 403 model_not_in_tier; nothing reaches the upstream', async () => {
    const before = upstream.requests.length;
    const error = (await client(freeKey).chat.completions.create({ model: 'premium', messages: hi }).catch((caught: unknown) => caught)) as InstanceType<typeof OpenAI.APIError>;
    expect(error).toBeInstanceOf(OpenAI.PermissionDeniedError);
    expect(error.status).toBe(403);
    expect(error.code).toBe('model_not_in_tier');
    expect(error.message).toContain('tier "free"');
    expect(error.message).toContain('local-*');
    expect(upstream.requests.length).toBe(before);
    const fallback = (await client(freeKey).chat.completions.create({ model: 'local-small', messages: hi, fallbacks: ['premium'] } as never).catch((caught: unknown) => caught)) as InstanceType<typeof OpenAI.APIError>;
    expect(fallback.code).toBe('model_not_in_tier');
  });

  it('a free-tier user reaches the tier’s models, and auto chooses among them only', async () => {
    const { data, response } = await client(freeKey).chat.completions.create({ model: 'local-small', messages: hi }).withResponse();
    expect(data.choices[0].message.content).toBe('Hello from the mock!');
    expect(response.headers.get('x-switchboard-model-group')).toBe('local-small');
    const auto = await client(freeKey).chat.completions.create({ model: 'auto', messages: hi, power_level: 'precision' } as never).withResponse();
    expect(auto.response.headers.get('x-switchboard-model-group')).toBe('local-large');
  });

  it('a power level outside the tier is refused with 403 power_level_not_in_tier', async () => {
    const error = (await client(freeKey).chat.completions.create({ model: 'local-small', messages: hi }, { headers: { 'x-power-level': 'balanced' } }).catch((caught: unknown) => caught)) as InstanceType<typeof OpenAI.APIError>;
    expect(error.status).toBe(403);
    expect(error.code).toBe('power_level_not_in_tier');
    expect(error.message).toContain('eco, precision');
  });

  it('a free-tier user may not store an own provider key (byok: false by default for free)', async () => {
    const refused = await api.call<ErrorBody>('POST', '/api/v1/llm/byok/keys', { provider: 'openai', api_key: 'sk-own-key-123456' }, freeKey);
    expect(refused.status).toBe(403);
    expect(refused.body.error.code).toBe('byok_not_in_tier');
    expect((await api.call('POST', '/api/v1/llm/byok/keys', { provider: 'openai', api_key: 'sk-own-key-123456' }, entKey)).status).toBe(200);
    await api.ok('DELETE', '/api/v1/llm/byok/keys', undefined, entKey);
  });

  it('a stored own key is not used once its user moves to a tier without BYOK: the call runs on credits', async () => {
    const key = (await api.newUser({ user_id: 'mover', tier: 'enterprise' })).key!;
    await api.ok('POST', '/api/v1/llm/byok/keys', { provider: 'openai', api_key: 'sk-movers-own-key-77' }, key);
    const own = await client(key).chat.completions.create({ model: 'local-small', messages: hi }).withResponse();
    expect(own.response.headers.get('x-switchboard-byok')).toBe('true');
    expect(upstream.requests.at(-1)!.headers.authorization).toBe('Bearer sk-movers-own-key-77');

    await api.ok('POST', '/user/update', { user_id: 'mover', tier: 'free' });
    const shared = await client(key).chat.completions.create({ model: 'local-small', messages: hi }).withResponse();
    expect(shared.response.headers.get('x-switchboard-byok')).toBeNull();
    expect(upstream.requests.at(-1)!.headers.authorization).toBe('Bearer sk-upstream-test');
    expect(Number(shared.response.headers.get('x-switchboard-credits-cost'))).toBeGreaterThan(0);
    expect(await gateway.recordOf(shared.response.headers.get('x-switchboard-call-id')!)).toMatchObject({ byok: 0, status: 'success' });
  });

  it('task "code" follows the rule to its model; the response and the usage row name the rule; explain said so first', async () => {
    const explained = await api.ok<Record<string, unknown>>('POST', '/api/v1/llm/routing/explain', { user_id: 'ent-user', task: 'code', request: { model: 'premium', messages: hi, max_tokens: 500 } });
    expect(explained).toMatchObject({ user_id: 'ent-user', tier: 'enterprise', rule: 'code-to-coder', model: 'coder', requested_model: 'premium', fallbacks: ['premium'], max_tokens: 64, refused: null });

    const before = upstream.requests.length;
    const { data, response } = await client(entKey).chat.completions.create({ model: 'premium', messages: hi, max_tokens: 500 }, { headers: { 'x-switchboard-task': 'code' } }).withResponse();
    expect(data.choices[0].message.content).toBe('Hello from the mock!');
    expect(response.headers.get('x-switchboard-rule')).toBe(explained.rule);
    expect(response.headers.get('x-switchboard-model-group')).toBe(explained.model);
    expect(upstream.requests.slice(before).map((request) => request.body.model)).toEqual(['coder-upstream']);
    expect(upstream.requests.at(-1)!.body.max_tokens).toBe(64);
    const record = await gateway.recordOf(response.headers.get('x-switchboard-call-id')!);
    expect(record).toMatchObject({ routing_rule: 'code-to-coder', model_group: 'coder', status: 'success' });
    const logs = await api.ok<{ data: Array<{ routing_rule: string | null }> }>('GET', `/switchboard/spend/logs?request_id=${record!.call_id}`);
    expect(logs.data[0].routing_rule).toBe('code-to-coder');

    // Without the task, no rule: the requested model, no header, no rule on the row.
    const plain = await client(entKey).chat.completions.create({ model: 'premium', messages: hi }).withResponse();
    expect(plain.response.headers.get('x-switchboard-rule')).toBeNull();
    expect((await gateway.recordOf(plain.response.headers.get('x-switchboard-call-id')!))!.routing_rule).toBeNull();
  });

  it('the Messages API (Anthropic SDK) is held to the same tier and follows the same rules', async () => {
    const anthropic = (key: string) => new Anthropic({ apiKey: key, baseURL: gateway.url, maxRetries: 0 });
    const refused = (await anthropic(freeKey).messages.create({ model: 'premium', max_tokens: 20, messages: hi }).catch((caught: unknown) => caught)) as InstanceType<typeof Anthropic.APIError>;
    expect(refused).toBeInstanceOf(Anthropic.PermissionDeniedError);
    expect(refused.error).toMatchObject({ type: 'error', error: { type: 'permission_error', message: expect.stringContaining('tier "free"') } });
    const { data, response } = await anthropic(entKey).messages.create({ model: 'premium', max_tokens: 200, messages: hi }, { headers: { 'x-switchboard-task': 'code' } }).withResponse();
    expect(data.content[0]).toMatchObject({ type: 'text', text: 'Hello from the mock!' });
    expect(response.headers.get('x-switchboard-rule')).toBe('code-to-coder');
    expect(upstream.requests.at(-1)!.body).toMatchObject({ model: 'coder-upstream', max_tokens: 64 });
  });

  it('explain tells a refusal as the real call gets it', async () => {
    const explained = await api.ok<{ refused: { status: number; code: string } }>('POST', '/api/v1/llm/routing/explain', { user_id: 'free-user', request: { model: 'premium', messages: hi } });
    expect(explained.refused).toMatchObject({ status: 403, code: 'model_not_in_tier' });
  });

  it('rules are added, changed and removed through the API and apply at once; config.yaml’s are read-only', async () => {
    const created = await api.ok<Record<string, unknown>>('POST', '/api/v1/llm/routing/rules', { name: 'ent-to-local', priority: 5, match: { users: ['ent-user'], model: 'prem*' }, action: { route_to: 'local-large' } });
    expect(created).toMatchObject({ name: 'ent-to-local', priority: 5, enabled: true, source: 'api' });
    const listed = await api.ok<{ rules: Array<{ name: string; source: string }> }>('GET', '/api/v1/llm/routing/rules');
    expect(listed.rules.map((rule) => rule.name)).toEqual(['ent-to-local', 'code-to-coder']);

    const routed = await client(entKey).chat.completions.create({ model: 'premium', messages: hi }).withResponse();
    expect(routed.response.headers.get('x-switchboard-rule')).toBe('ent-to-local');
    expect(routed.response.headers.get('x-switchboard-model-group')).toBe('local-large');

    expect(await api.ok('PATCH', '/api/v1/llm/routing/rules/ent-to-local', { enabled: false })).toMatchObject({ name: 'ent-to-local', enabled: false });
    const unrouted = await client(entKey).chat.completions.create({ model: 'premium', messages: hi }).withResponse();
    expect(unrouted.response.headers.get('x-switchboard-model-group')).toBe('premium');

    const duplicate = await api.call<ErrorBody>('POST', '/api/v1/llm/routing/rules', { name: 'code-to-coder', action: { max_tokens_cap: 5 } });
    expect(duplicate.status).toBe(409);
    const unknownModel = await api.call<ErrorBody>('POST', '/api/v1/llm/routing/rules', { name: 'bad', action: { route_to: 'nope' } });
    expect(unknownModel.status).toBe(400);
    expect(unknownModel.body.error.message).toContain('unknown model group "nope"');
    const unknownKey = await api.call<ErrorBody>('POST', '/api/v1/llm/routing/rules', { name: 'bad', match: { tier: ['free'] }, action: { max_tokens_cap: 5 } });
    expect(unknownKey.status).toBe(400);
    const fromConfig = await api.call<ErrorBody>('PATCH', '/api/v1/llm/routing/rules/code-to-coder', { enabled: false });
    expect(fromConfig.status).toBe(400);
    expect(fromConfig.body.error.message).toContain('config.yaml');
    const notAdmin = await api.call<ErrorBody>('POST', '/api/v1/llm/routing/rules', { name: 'mine', action: { max_tokens_cap: 5 } }, entKey);
    expect(notAdmin.status).toBe(403);

    expect(await api.ok('DELETE', '/api/v1/llm/routing/rules/ent-to-local')).toEqual({ deleted: 'ent-to-local' });
    expect((await api.call('DELETE', '/api/v1/llm/routing/rules/ent-to-local')).status).toBe(404);
  });

  it('the Testing Lab runs a real call as a user: rule, model, tokens, credits charged and the balance after', async () => {
    const answer = await api.ok<Record<string, unknown>>('POST', '/api/v1/llm/routing/test', { user_id: 'ent-user', task: 'code', request: { model: 'auto', messages: hi } });
    expect(answer).toMatchObject({ user_id: 'ent-user', tier: 'enterprise', rule: 'code-to-coder', model: 'coder', content: 'Hello from the mock!', usage: expect.objectContaining({ prompt_tokens: 10, completion_tokens: 5 }) });
    expect(answer.credits_cost as number).toBeGreaterThan(0);
    const balance = await api.ok<{ balance: number }>('GET', '/api/v1/llm/credits/balance?user_id=ent-user');
    expect(answer.credits_remaining).toBe(balance.balance);
    const record = await gateway.recordOf(answer.call_id as string);
    expect(record).toMatchObject({ user_id: 'ent-user', routing_rule: 'code-to-coder', model_group: 'coder' });
    // Acting for another user needs llm.configure.
    expect((await api.call('POST', '/api/v1/llm/routing/test', { user_id: 'free-user', request: { model: 'local-small', messages: hi } }, entKey)).status).toBe(403);
  });

  it('the tiers view counts users per tier', async () => {
    const tiers = await api.ok<{ tiers: Array<Record<string, unknown>> }>('GET', '/api/v1/llm/tiers');
    expect(tiers.tiers.find((tier) => tier.name === 'free')).toMatchObject({ markup: 0, models: ['local-*'], byok: false, monthly_credits: 0, rollover: false, users: 2 });
    expect(tiers.tiers.find((tier) => tier.name === 'enterprise')).toMatchObject({ markup: 0.5, models: null, byok: true, users: 1 });
  });
});
