/**
 * Per-model budgets on virtual keys (LiteLLM's `model_max_budget`), through the real server with
 * the openai SDK: a key gets answers from a budgeted model until that model's budget is spent, then
 * a refusal that names the model, what is left and what the call needs, while its other models keep
 * working. Neither an alias nor a fallback dodges it, a fallback is charged to the model that
 * answered, the spend survives a restart, and 200 concurrent calls never pass it — in one process
 * (SQLite, limits in memory) and across two replicas sharing PostgreSQL and Redis.
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type StartOptions, type TestGateway } from '../support/gateway.js';
import { Management, promptBound, type ErrorBody } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';
import { stateSetups } from '../support/shared-state-setups.js';

const setups = await stateSetups();

const MESSAGE = 'How much does this cost?';
const PROMPT_TOKENS = 13;
/** gpt-4o list prices, µ$ per token. */
const INPUT = 2.5;
const OUTPUT = 10;
const MINIMAL_CALL_MICROS = Math.ceil(promptBound(MESSAGE) * INPUT + 16 * OUTPUT);

const upstream = new MockOpenAI({ promptTokens: PROMPT_TOKENS, completionTokens: 4_000, honourMaxTokens: true });
const failing = new MockOpenAI();

function config(apiBase: string, failingBase: string): string {
  return `
model_list:
  - model_name: gpt-4o
    litellm_params: {model: openai/gpt-4o, api_base: "${apiBase}", api_key: sk-upstream-test}
    model_info: {id: dep-gpt-4o, input_cost_per_token: 0.0000025, output_cost_per_token: 0.00001, max_output_tokens: 16384}
  - model_name: gpt-4o-mini
    litellm_params: {model: openai/gpt-4o-mini, api_base: "${apiBase}", api_key: sk-upstream-test}
    model_info: {id: dep-mini, input_cost_per_token: 0.00000015, output_cost_per_token: 0.0000006, max_output_tokens: 16384}
  - model_name: broken
    litellm_params: {model: openai/broken-model, api_base: "${failingBase}", api_key: sk-upstream-test}
    model_info: {id: dep-broken, input_cost_per_token: 0.00000015, output_cost_per_token: 0.0000006, max_output_tokens: 16384}
router_settings:
  num_retries: 0
  disable_cooldowns: true
  fallbacks: [{"broken": ["gpt-4o"]}]
  model_group_alias: {"gpt4": "gpt-4o"}
general_settings:
  master_key: ${MASTER_KEY}
`;
}

type Outcome = { ok: true; completionTokens: number } | { ok: false; status: number; type: unknown; message: string };

async function ask(client: OpenAI, model: string, stream = false): Promise<Outcome> {
  try {
    if (stream) {
      const chunks = await client.chat.completions.create({ model, messages: [{ role: 'user', content: MESSAGE }], stream: true, stream_options: { include_usage: true } });
      let completionTokens = 0;
      for await (const chunk of chunks) if (chunk.usage) completionTokens = chunk.usage.completion_tokens;
      return { ok: true, completionTokens };
    }
    const completion = await client.chat.completions.create({ model, messages: [{ role: 'user', content: MESSAGE }] });
    return { ok: true, completionTokens: completion.usage!.completion_tokens };
  } catch (error) {
    if (error instanceof OpenAI.APIError) return { ok: false, status: error.status ?? 0, type: (error.error as { type?: unknown } | undefined)?.type, message: error.message };
    throw error;
  }
}

/** What the key's calls served by `group` cost, from the usage rows. */
async function spentOn(gateway: TestGateway, keyHash: string, group: string): Promise<number> {
  await gateway.flushUsage();
  const row = await gateway.runtime
    .principals()!
    .db.selectFrom('usage_logs')
    .select((eb) => eb.fn.coalesce(eb.fn.sum<number>('cost_micros'), eb.lit(0)).as('total'))
    .where('key_hash', '=', keyHash)
    .where('model_group', '=', group)
    .executeTakeFirstOrThrow();
  return Number(row.total);
}

beforeAll(async () => {
  await upstream.start();
  await failing.start();
  failing.alwaysFault = { kind: 'error', status: 500 };
});

afterAll(async () => {
  await upstream.close();
  await failing.close();
});

describe.each(setups)('model_max_budget on keys: $name', (setup) => {
  let gateway: TestGateway;
  let api: Management;
  let cleanup: () => Promise<void>;
  let options: StartOptions;
  const client = (key: string, url = gateway.url) => new OpenAI({ apiKey: key, baseURL: `${url}/v1`, maxRetries: 0 });

  beforeAll(async () => {
    const prepared = await setup.prepare();
    cleanup = prepared.cleanup;
    // One process keeps its database in a file, so that a restart finds it.
    options = prepared.options.databaseUrl ? prepared.options : { ...prepared.options, databaseUrl: `sqlite:${join(mkdtempSync(join(tmpdir(), 'model-budget-')), 'gateway.db')}` };
    gateway = await startGateway(config(upstream.url, failing.url), options);
    api = new Management(gateway.url);
  });

  afterAll(async () => {
    await gateway?.close();
    await cleanup?.();
  });

  it('answers a budgeted model until its budget is spent, then refuses naming the model; the key\'s other model still answers', async () => {
    const key = await api.generateKey({ key_alias: 'per-model-a', model_max_budget: { 'gpt-4o': { budget_limit: 0.0005, time_period: '1d' } } });
    expect(key.model_max_budget).toEqual({ 'gpt-4o': { budget_limit: 0.0005, time_period: '1d' } });
    const caller = client(key.key);
    const answers: number[] = [];
    let refusal: Outcome | undefined;
    for (let call = 0; call < 20 && !refusal; call++) {
      const outcome = await ask(caller, 'gpt-4o', call % 2 === 1);
      if (outcome.ok) answers.push(outcome.completionTokens);
      else refusal = outcome;
    }
    expect(answers.length).toBeGreaterThanOrEqual(1);
    expect(refusal).toMatchObject({ ok: false, status: 400, type: 'budget_exceeded' });
    expect((refusal as { message: string }).message).toMatch(
      /Budget has been exceeded for key "per-model-a" on model "gpt-4o" \(model_max_budget\): \$0\.000\d+ of its \$0\.0005 budget is left after \$0\.000\d+ spent; this request needs \$0\.000\d+ even for a minimal answer \(its input and 16 tokens of output\)/,
    );
    const spent = await spentOn(gateway, key.token, 'gpt-4o');
    expect(spent).toBeLessThanOrEqual(500);
    expect(500 - spent).toBeLessThan(MINIMAL_CALL_MICROS);

    // The same key's other model is not held to gpt-4o's budget.
    for (let call = 0; call < 3; call++) expect(await ask(caller, 'gpt-4o-mini', call === 1)).toMatchObject({ ok: true });

    const other = await spentOn(gateway, key.token, 'gpt-4o-mini');
    const info = (await api.keyInfo(key.token));
    expect(info.model_max_budget).toEqual({ 'gpt-4o': { budget_limit: 0.0005, time_period: '1d' } });
    expect(Math.round(info.model_spend['gpt-4o'] * 1_000_000)).toBe(spent);
    expect(info.model_max_budget_usage).toEqual({ 'gpt-4o': { current_spend: info.model_spend['gpt-4o'], budget_limit: 0.0005, time_period: '1d' } });
    expect(Math.round(info.spend * 1_000_000)).toBe(spent + other);
  });

  it('an alias, a model_group_alias or a fallback cannot dodge it; a fallback is charged to the model that answered', async () => {
    // The older shape: a bare number of USD, no period.
    const key = await api.generateKey({ aliases: { sneaky: 'gpt-4o' }, model_max_budget: { 'gpt-4o': 0.0005 } });
    expect(key.model_max_budget).toEqual({ 'gpt-4o': { budget_limit: 0.0005, time_period: null } });
    const caller = client(key.key);
    for (let call = 0; call < 20; call++) if (!(await ask(caller, 'gpt-4o')).ok) break;
    for (const model of ['gpt-4o', 'sneaky', 'gpt4', 'broken']) {
      const outcome = await ask(caller, model);
      expect(outcome, model).toMatchObject({ ok: false, status: 400, type: 'budget_exceeded' });
      expect((outcome as { message: string }).message).toContain('on model "gpt-4o" (model_max_budget)');
    }
    expect(await spentOn(gateway, key.token, 'gpt-4o')).toBeLessThanOrEqual(500);

    // An entry named after the upstream model, or after a key alias, covers the group it leads to.
    for (const entry of ['openai/gpt-4o', 'sneaky']) {
      const named = await api.generateKey({ aliases: { sneaky: 'gpt-4o' }, model_max_budget: { [entry]: 0.0005 } });
      for (let call = 0; call < 20; call++) if (!(await ask(client(named.key), 'gpt-4o')).ok) break;
      const outcome = await ask(client(named.key), 'gpt-4o');
      expect(outcome, entry).toMatchObject({ ok: false, status: 400, type: 'budget_exceeded' });
      expect((outcome as { message: string }).message).toContain(`on model "${entry}" (model_max_budget)`);
      expect(await spentOn(gateway, named.token, 'gpt-4o')).toBeLessThanOrEqual(500);
    }

    // "broken" fails upstream and falls back to gpt-4o: gpt-4o's entry is charged, broken's only held
    // while the call ran — five calls in a row pass a broken budget that holds one reservation at most.
    const fallback = await api.generateKey({ model_max_budget: { 'gpt-4o': 1, broken: 0.0005 } });
    for (let call = 0; call < 5; call++) expect(await ask(client(fallback.key), 'broken', call % 2 === 1)).toMatchObject({ ok: true });
    const charged = await spentOn(gateway, fallback.token, 'gpt-4o');
    expect(charged).toBeGreaterThan(0);
    const info = (await api.keyInfo(fallback.token));
    expect(info.model_spend).toEqual({ 'gpt-4o': charged / 1_000_000, broken: 0 });
    const rows = await gateway.runtime.principals()!.db.selectFrom('usage_logs').select(['model_group', 'model_budgets']).where('key_hash', '=', fallback.token).execute();
    expect(rows.filter((row) => row.model_group === 'gpt-4o').map((row) => row.model_budgets)).toEqual(Array(5).fill('["gpt-4o"]'));
  });

  it('/key/update changes it (malformed values refused naming the field); the spend survives a restart', async () => {
    const key = await api.generateKey({ key_alias: 'per-model-restart', model_max_budget: { 'gpt-4o': { budget_limit: 0.0005, time_period: '30d' } } });
    for (let call = 0; call < 20; call++) if (!(await ask(client(key.key), 'gpt-4o')).ok) break;
    const spent = await spentOn(gateway, key.token, 'gpt-4o');

    const malformed = await api.call<ErrorBody>('POST', '/key/update', { key: key.token, model_max_budget: { 'gpt-4o': { budget_limit: 'more', time_period: '30d' } } });
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.param).toBe('model_max_budget');
    expect(malformed.body.error.message).toMatch(/^model_max_budget\.gpt-4o\.budget_limit: expected a budget in USD/);

    await gateway.close();
    // A new process (and, with Redis, a new prefix: no live counter) starts from the recorded spend.
    if (options.redisPrefix) options = { ...options, redisPrefix: `${options.redisPrefix}-restart` };
    gateway = await startGateway(config(upstream.url, failing.url), options);
    api = new Management(gateway.url);
    expect(Math.round(((await api.keyInfo(key.token))).model_spend['gpt-4o'] * 1_000_000)).toBe(spent);
    expect(await ask(client(key.key), 'gpt-4o')).toMatchObject({ ok: false, status: 400, type: 'budget_exceeded' });

    // Raised: answers again; {} takes the per-model budget away.
    const raised = await api.updateKey(key.token, { model_max_budget: { 'gpt-4o': { budget_limit: 0.01, time_period: '30d' } } });
    expect((raised).model_max_budget).toEqual({ 'gpt-4o': { budget_limit: 0.01, time_period: '30d' } });
    expect(await ask(client(key.key), 'gpt-4o')).toMatchObject({ ok: true });
    const removed = await api.updateKey(key.token, { model_max_budget: {} });
    expect((removed).model_max_budget).toEqual({});
    expect((removed).model_spend).toEqual({});
  });

  it('a key linked to a budget object (budget_id) is held to the budget\'s model_max_budget, with its own spend', async () => {
    const malformed = await api.call<ErrorBody>('POST', '/budget/new', { budget_id: 'per-model-bad', model_max_budget: { 'gpt-4o': { budget_limit: -1 } } });
    expect(malformed.status).toBe(400);
    expect(malformed.body.error.param).toBe('model_max_budget');
    const created = await api.ok<{ model_max_budget: unknown }>('POST', '/budget/new', { budget_id: 'per-model-template', model_max_budget: { 'gpt-4o': 0.0005 } });
    expect(created.model_max_budget).toEqual({ 'gpt-4o': { budget_limit: 0.0005, time_period: null } });
    const [first, second] = [await api.generateKey({ budget_id: 'per-model-template' }), await api.generateKey({ budget_id: 'per-model-template' })];
    for (let call = 0; call < 20; call++) if (!(await ask(client(first.key), 'gpt-4o')).ok) break;
    const refused = await ask(client(first.key), 'gpt-4o');
    expect(refused).toMatchObject({ ok: false, status: 400, type: 'budget_exceeded' });
    expect((refused as { message: string }).message).toContain('on model "gpt-4o" (model_max_budget)');
    expect(await spentOn(gateway, first.token, 'gpt-4o')).toBeLessThanOrEqual(500);
    expect((await api.keyInfo(first.token)).model_max_budget).toEqual({});
    expect(Math.round((await api.keyInfo(first.token)).model_spend['gpt-4o'] * 1_000_000)).toBe(await spentOn(gateway, first.token, 'gpt-4o'));
    // A template, not a pool: the other key linked to it has its own budget.
    expect(await ask(client(second.key), 'gpt-4o')).toMatchObject({ ok: true });
    // The key's own entries win over the budget's.
    await api.updateKey(first.token, { model_max_budget: { 'gpt-4o': 0.01 } });
    expect(await ask(client(first.key), 'gpt-4o')).toMatchObject({ ok: true });
  });

  it('a budget whose stored model_max_budget cannot be read (stored before it was enforced) is refused in words, never ignored', async () => {
    await api.ok('POST', '/budget/new', { budget_id: 'per-model-old' });
    const key = await api.generateKey({ budget_id: 'per-model-old' });
    // As an older version stored it: as given.
    await gateway.runtime.principals()!.db.updateTable('budgets').set({ model_max_budget: '{"gpt-4o": "lots"}' }).where('budget_id', '=', 'per-model-old').execute();
    const linking = await api.call<ErrorBody>('POST', '/key/generate', { budget_id: 'per-model-old' });
    expect(linking.status).toBe(400);
    expect(linking.body.error.message).toContain('model_max_budget of budget "per-model-old".gpt-4o: expected a budget in USD');
    await gateway.close();
    gateway = await startGateway(config(upstream.url, failing.url), options);
    api = new Management(gateway.url);
    const outcome = await ask(client(key.key), 'gpt-4o-mini');
    expect(outcome).toMatchObject({ ok: false, status: 400 });
    expect((outcome as { message: string }).message).toContain('model_max_budget of budget "per-model-old".gpt-4o: expected a budget in USD');
    expect((await api.keyInfo(key.token)).model_spend).toEqual({});
    await api.ok('POST', '/budget/update', { budget_id: 'per-model-old', model_max_budget: { 'gpt-4o': 1 } });
    await expect.poll(async () => (await ask(client(key.key), 'gpt-4o-mini')).ok).toBe(true);
  });

  it('200 concurrent calls never push a model\'s spend past its budget; the key\'s other model answers throughout', async () => {
    const budget = 20_000; // $0.02
    const key = await api.generateKey({ model_max_budget: { 'gpt-4o': { budget_limit: budget / 1_000_000, time_period: '30d' } } });
    // With PostgreSQL and Redis, half the calls go through a second replica: the budget holds across both.
    const replica = setup.name.startsWith('replicas') ? await startGateway(config(upstream.url, failing.url), options) : undefined;
    const clients = replica ? [client(key.key), client(key.key, replica.url)] : [client(key.key)];
    upstream.alwaysFault = { kind: 'delay', ms: 50 };
    try {
      const outcomes = await Promise.all(Array.from({ length: 200 }, (_, index) => ask(clients[index % clients.length], 'gpt-4o', index % 4 === 0)));
      const others = await Promise.all(Array.from({ length: 20 }, (_, index) => ask(clients[index % clients.length], 'gpt-4o-mini')));
      const answered = outcomes.filter((outcome) => outcome.ok);
      const refused = outcomes.filter((outcome): outcome is Extract<Outcome, { ok: false }> => !outcome.ok);
      expect(answered.length).toBeGreaterThanOrEqual(1);
      expect(refused.length).toBeGreaterThanOrEqual(1);
      expect(refused.every((outcome) => outcome.status === 400 && outcome.type === 'budget_exceeded' && /on model "gpt-4o" \(model_max_budget\): .*budget is left/.test(outcome.message))).toBe(true);
      expect(others.every((outcome) => outcome.ok)).toBe(true);
    } finally {
      upstream.alwaysFault = undefined;
      await replica?.flushUsage();
      await replica?.close();
    }
    const spent = await spentOn(gateway, key.token, 'gpt-4o');
    expect(spent).toBeGreaterThan(0);
    expect(spent).toBeLessThanOrEqual(budget);

    for (let call = 0; call < 200; call++) if (!(await ask(client(key.key), 'gpt-4o')).ok) break;
    const final = await spentOn(gateway, key.token, 'gpt-4o');
    expect(final).toBeLessThanOrEqual(budget);
    expect(budget - final).toBeLessThan(MINIMAL_CALL_MICROS);
    const info = (await api.keyInfo(key.token));
    expect(Math.round(info.model_spend['gpt-4o'] * 1_000_000)).toBe(final);
  });
});
