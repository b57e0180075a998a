/**
 * End users (customers) and budget objects through the real server with the official openai SDK,
 * in one process (SQLite, limits in memory) and across PostgreSQL + Redis: LiteLLM's route shapes
 * (NewCustomerRequest / LiteLLM_EndUserTable, BudgetNewRequest / LiteLLM_BudgetTable), a customer's
 * budget enforced by reservation and its spend reported, the block flag (403), the end user named by
 * the body's `user`, `x-litellm-end-user-id` or general_settings.user_header_name, and budget_id on
 * customers and keys (the budget fills the limits the holder leaves unset).
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management, maxCostMicros, pricedConfig, promptBound } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';
import { stateSetups } from '../support/shared-state-setups.js';

const setups = await stateSetups();
const MESSAGE = 'hi';
const MAX_TOKENS = 10;
const CALL_MICROS = maxCostMicros(MESSAGE, MAX_TOKENS);
const upstream = new MockOpenAI({ promptTokens: promptBound(MESSAGE), completionTokens: MAX_TOKENS });

beforeAll(async () => {
  await upstream.start();
});

afterAll(async () => {
  await upstream.close();
});

type Outcome = { status: number; type?: unknown; message?: string };

async function ask(client: OpenAI, user?: string, headers?: Record<string, string>): Promise<Outcome> {
  try {
    await client.chat.completions.create({ model: 'cheap', messages: [{ role: 'user', content: MESSAGE }], max_tokens: MAX_TOKENS, ...(user ? { user } : {}) }, headers ? { headers } : undefined);
    return { status: 200 };
  } catch (error) {
    if (error instanceof OpenAI.APIError) return { status: error.status ?? 0, type: (error.error as { type?: unknown } | undefined)?.type, message: error.message };
    throw error;
  }
}

describe.each(setups)('customers and budgets: $name', (setup) => {
  let gateway: TestGateway;
  let api: Management;
  let cleanup: () => Promise<void>;
  let admin: OpenAI;

  beforeAll(async () => {
    const prepared = await setup.prepare();
    cleanup = prepared.cleanup;
    gateway = await startGateway(pricedConfig(upstream.url, '  user_header_name: x-customer-id\n'), prepared.options);
    api = new Management(gateway.url);
    admin = new OpenAI({ apiKey: MASTER_KEY, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
  });

  afterAll(async () => {
    await gateway?.close();
    await cleanup?.();
  });

  it('LiteLLM_BudgetTable: /budget/new, /budget/info, /budget/list, /budget/update, /budget/delete', async () => {
    const created = await api.ok<Record<string, unknown>>('POST', '/budget/new', { budget_id: 'starter', max_budget: 1.5, rpm_limit: 3, budget_duration: '30d' });
    expect(created).toMatchObject({ budget_id: 'starter', max_budget: 1.5, soft_budget: null, max_parallel_requests: null, tpm_limit: null, rpm_limit: 3, model_max_budget: null, budget_duration: '30d', created_by: 'litellm_proxy_admin_name' });
    expect(typeof created.created_at).toBe('string');
    expect(await api.ok('POST', '/budget/info', { budgets: ['starter'] })).toEqual([created]);
    expect(await api.ok('GET', '/budget/info?budgets=starter')).toEqual([created]);
    expect((await api.ok<Array<{ budget_id: string }>>('GET', '/budget/list')).map((budget) => budget.budget_id)).toContain('starter');
    const updated = await api.ok<Record<string, unknown>>('POST', '/budget/update', { budget_id: 'starter', tpm_limit: 1000 });
    expect(updated).toMatchObject({ budget_id: 'starter', max_budget: 1.5, tpm_limit: 1000 });
    expect((await api.call('POST', '/budget/new', { budget_id: 'starter' })).status).toBe(409);
    expect((await api.call('POST', '/budget/new', { budget_id: 'x', unknown_field: 1 })).status).toBe(400);
    await api.ok('POST', '/budget/new', { budget_id: 'doomed', max_budget: 1 });
    expect(await api.ok('POST', '/budget/delete', { id: 'doomed' })).toMatchObject({ budget_id: 'doomed' });
    expect(await api.ok('POST', '/budget/info', { budgets: ['doomed'] })).toEqual([]);
  });

  it('NewCustomerRequest / LiteLLM_EndUserTable: a customer\'s budget holds by reservation and its spend is reported', async () => {
    const budget = 3 * CALL_MICROS;
    const created = await api.ok<Record<string, unknown>>('POST', '/customer/new', { user_id: 'acme', alias: 'Acme Corp', max_budget: budget / 1_000_000 });
    expect(created).toMatchObject({ user_id: 'acme', alias: 'Acme Corp', spend: 0, blocked: false, allowed_model_region: null, default_model: null, budget_id: null, litellm_budget_table: { max_budget: budget / 1_000_000 } });
    // 200 at once, each held upstream a while so they overlap: the reservation lets exactly 3 through.
    upstream.alwaysFault = { kind: 'delay', ms: 50 };
    let outcomes: Outcome[];
    try {
      outcomes = await Promise.all(Array.from({ length: 200 }, () => ask(admin, 'acme')));
    } finally {
      upstream.alwaysFault = undefined;
    }
    expect(outcomes.filter((outcome) => outcome.status === 200)).toHaveLength(3);
    const refused = outcomes.filter((outcome) => outcome.status !== 200);
    expect(refused.every((outcome) => outcome.status === 400 && outcome.type === 'budget_exceeded' && /end user "acme"/.test(outcome.message ?? ''))).toBe(true);
    await gateway.flushUsage();
    const info = await api.ok<{ spend: number; max_budget: number }>('GET', '/customer/info?end_user_id=acme');
    expect(Math.round(info.spend * 1_000_000)).toBe(budget);
    // The same spend is queryable from the usage rows' end_user column.
    const rows = await gateway.runtime.principals()!.db.selectFrom('usage_logs').select((eb) => eb.fn.sum<number>('cost_micros').as('total')).where('end_user', '=', 'acme').executeTakeFirstOrThrow();
    expect(Number(rows.total)).toBe(budget);
    const stored = await gateway.runtime.principals()!.db.selectFrom('end_users').select('spend_micros').where('user_id', '=', 'acme').executeTakeFirstOrThrow();
    expect(Number(stored.spend_micros)).toBe(budget);
    // Another end user of the same key is not affected; an unknown one is recorded, never stored.
    expect((await ask(admin, 'someone-new')).status).toBe(200);
    expect((await api.call('GET', '/customer/info?end_user_id=someone-new')).status).toBe(400);
  });

  it('block → 403 as LiteLLM; unblock; the /end_user/* aliases; the end user from x-litellm-end-user-id and user_header_name', async () => {
    await api.ok('POST', '/end_user/new', { user_id: 'blocky' });
    expect(await api.ok('POST', '/customer/block', { user_ids: ['blocky'] })).toEqual({ blocked_users: ['blocky'] });
    const blocked = await ask(admin, 'blocky');
    expect(blocked.status).toBe(403);
    expect(blocked.message).toContain('End User=blocky is blocked');
    expect((await ask(admin, undefined, { 'x-litellm-end-user-id': 'blocky' })).status).toBe(403);
    expect((await ask(admin, undefined, { 'x-customer-id': 'blocky' })).status).toBe(403);
    // The configured header wins over the body's user.
    expect((await ask(admin, 'someone-else', { 'x-customer-id': 'blocky' })).status).toBe(403);
    await api.ok('POST', '/end_user/unblock', { user_ids: ['blocky'] });
    expect((await ask(admin, 'blocky')).status).toBe(200);
    expect((await api.ok<Array<{ user_id: string }>>('GET', '/customer/list')).map((user) => user.user_id)).toEqual(expect.arrayContaining(['acme', 'blocky']));
    expect(await api.ok('POST', '/customer/delete', { user_ids: ['blocky', 'never-was'] })).toEqual({ deleted_customers: 1, message: 'Successfully deleted customers with ids: ["blocky"]' });
  });

  it('NewCustomerRequest rpm_limit, tpm_limit and budget_duration: the end user is held to each, other end users of the key are not', async () => {
    await api.ok('POST', '/customer/new', { user_id: 'rpm-two', rpm_limit: 2 });
    expect((await ask(admin, 'rpm-two')).status).toBe(200);
    expect((await ask(admin, 'rpm-two')).status).toBe(200);
    const limited = await ask(admin, 'rpm-two');
    expect(limited.status).toBe(429);
    expect(limited.message).toContain('rate limit reached for end user "rpm-two": 2 requests per minute (rpm_limit)');
    expect((await ask(admin, 'not-limited')).status).toBe(200);

    // One call is estimated at 15 tokens (its input's bytes / 4, plus max_tokens) and uses 28: a second does not fit in 30.
    expect(await api.ok('POST', '/customer/new', { user_id: 'tpm-thirty', tpm_limit: 30 })).toMatchObject({ litellm_budget_table: { tpm_limit: 30 } });
    expect((await ask(admin, 'tpm-thirty')).status).toBe(200);
    const tokens = await ask(admin, 'tpm-thirty');
    expect(tokens.status).toBe(429);
    expect(tokens.message).toContain('token rate limit reached for end user "tpm-thirty"');
    expect(tokens.message).toContain('(tpm_limit)');

    // budget_duration: the customer's spend resets by itself when the period ends.
    const created = await api.ok<{ budget_reset_at: string | null; litellm_budget_table: { budget_duration: string } }>('POST', '/customer/new', { user_id: 'resets', max_budget: CALL_MICROS / 1_000_000, budget_duration: '2s' });
    expect(created.litellm_budget_table.budget_duration).toBe('2s');
    expect((await ask(admin, 'resets')).status).toBe(200);
    const spent = await ask(admin, 'resets');
    expect(spent).toMatchObject({ status: 400, type: 'budget_exceeded' });
    expect(spent.message).toContain('end user "resets"');
    await gateway.flushUsage();
    const info = await api.ok<{ spend: number; budget_reset_at: string }>('GET', '/customer/info?end_user_id=resets');
    expect(Math.round(info.spend * 1_000_000)).toBe(CALL_MICROS);
    const resetAt = Date.parse(info.budget_reset_at);
    expect(resetAt).toBeGreaterThan(Date.now() - 2_000);
    await new Promise((resolve) => setTimeout(resolve, Math.max(0, resetAt - Date.now()) + 200));
    expect((await ask(admin, 'resets')).status).toBe(200);
    expect((await ask(admin, 'resets')).type).toBe('budget_exceeded');
  });

  it('refuses what it cannot honour, in words: max_budget with budget_id, default_model, an unknown region, an unknown budget', async () => {
    await api.ok('POST', '/budget/new', { budget_id: 'b-refuse', max_budget: 1 });
    const both = await api.call<{ error: { message: string } }>('POST', '/customer/new', { user_id: 'c1', max_budget: 1, budget_id: 'b-refuse' });
    expect(both.status).toBe(400);
    expect(both.body.error.message).toContain('either "max_budget" or "budget_id"');
    const region = await api.call<{ error: { message: string } }>('POST', '/customer/new', { user_id: 'c2', allowed_model_region: 'asia' });
    expect(region.status).toBe(400);
    expect(region.body.error.message).toContain('allowed_model_region');
    const defaultModel = await api.call<{ error: { message: string } }>('POST', '/customer/new', { user_id: 'c2', allowed_model_region: 'eu', default_model: 'gpt' });
    expect(defaultModel.status).toBe(400);
    expect(defaultModel.body.error.message).toContain('"default_model" is not supported');
    expect((await api.call('POST', '/customer/new', { user_id: 'c3', budget_id: 'nope' })).status).toBe(404);
  });

  it('budget_id: a customer and a key linked to a budget get its limits; the holder\'s own limit wins', async () => {
    await api.ok('POST', '/budget/new', { budget_id: 'two-calls', max_budget: (2 * CALL_MICROS) / 1_000_000 });
    await api.ok('POST', '/customer/new', { user_id: 'linked', budget_id: 'two-calls' });
    const info = await api.ok<{ budget_id: string; litellm_budget_table: { budget_id: string; max_budget: number } }>('GET', '/customer/info?end_user_id=linked');
    expect(info).toMatchObject({ budget_id: 'two-calls', litellm_budget_table: { budget_id: 'two-calls', max_budget: (2 * CALL_MICROS) / 1_000_000 } });
    const linked = (await Promise.all(Array.from({ length: 5 }, () => ask(admin, 'linked')))).filter((outcome) => outcome.status === 200);
    expect(linked).toHaveLength(2);

    const key = await api.generateKey({ budget_id: 'two-calls' } as never);
    expect((key as unknown as { budget_id: string }).budget_id).toBe('two-calls');
    // GenerateKeyResponse.litellm_budget_table: the linked LiteLLM_BudgetTable row, on generate and on /key/info.
    expect(key).toMatchObject({ litellm_budget_table: { budget_id: 'two-calls', max_budget: (2 * CALL_MICROS) / 1_000_000 } });
    expect(await api.keyInfo(key.token)).toMatchObject({ budget_id: 'two-calls', litellm_budget_table: { budget_id: 'two-calls', max_budget: (2 * CALL_MICROS) / 1_000_000 } });
    const client = new OpenAI({ apiKey: key.key, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
    expect((await Promise.all(Array.from({ length: 5 }, () => ask(client)))).filter((outcome) => outcome.status === 200)).toHaveLength(2);

    // Its own max_budget wins over the budget's.
    const own = await api.generateKey({ budget_id: 'two-calls', max_budget: (3 * CALL_MICROS) / 1_000_000 } as never);
    const ownClient = new OpenAI({ apiKey: own.key, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
    expect((await Promise.all(Array.from({ length: 5 }, () => ask(ownClient)))).filter((outcome) => outcome.status === 200)).toHaveLength(3);

    // A team linked to the budget holds its keys to it (per team: one spend for the team).
    const team = await api.ok<{ team_id: string; budget_id: string }>('POST', '/team/new', { team_id: 'budgeted-team', budget_id: 'two-calls' });
    expect(team.budget_id).toBe('two-calls');
    const teamKey = await api.generateKey({ team_id: 'budgeted-team' });
    const teamClient = new OpenAI({ apiKey: teamKey.key, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
    expect((await Promise.all(Array.from({ length: 5 }, () => ask(teamClient)))).filter((outcome) => outcome.status === 200)).toHaveLength(2);
    expect((await api.call('POST', '/team/update', { team_id: 'budgeted-team', budget_id: 'no-such-budget' })).status).toBe(404);

    // Raising the budget reaches the cached key at once.
    await api.ok('POST', '/budget/update', { budget_id: 'two-calls', max_budget: (4 * CALL_MICROS) / 1_000_000 });
    expect((await Promise.all(Array.from({ length: 5 }, () => ask(client)))).filter((outcome) => outcome.status === 200)).toHaveLength(2);
  });
});
