/**
 * Per-model rate limits on virtual keys (LiteLLM's `model_rpm_limit` / `model_tpm_limit`), through
 * the real server with the openai SDK: a key gets answers from a limited model until that model's
 * minute is full, then 429 naming the model and the field, while its other models keep answering;
 * neither an alias nor a fallback dodges a limit; concurrent calls never pass it; the limits are
 * shown, changed and cleared through the key routes, malformed ones refused, and a key holder cannot
 * lift what an admin set — in one process (SQLite, limits in memory) and on replicas sharing
 * PostgreSQL and Redis.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';
import { stateSetups } from '../support/shared-state-setups.js';

const setups = await stateSetups();
const upstream = new MockOpenAI({ promptTokens: 10, completionTokens: 5 });
const failing = new MockOpenAI();

function config(apiBase: string, failingBase: string): string {
  return `
model_list:
  - model_name: gpt-4o
    litellm_params: {model: openai/gpt-4o, api_base: "${apiBase}", api_key: sk-upstream-test}
    model_info: {id: dep-gpt-4o, input_cost_per_token: 0.0000025, output_cost_per_token: 0.00001}
  - model_name: gpt-4o-mini
    litellm_params: {model: openai/gpt-4o-mini, api_base: "${apiBase}", api_key: sk-upstream-test}
    model_info: {id: dep-mini, input_cost_per_token: 0.00000015, output_cost_per_token: 0.0000006}
  - model_name: broken
    litellm_params: {model: openai/broken-model, api_base: "${failingBase}", api_key: sk-upstream-test}
    model_info: {id: dep-broken, input_cost_per_token: 0.00000015, output_cost_per_token: 0.0000006}
router_settings:
  num_retries: 0
  disable_cooldowns: true
  fallbacks: [{"broken": ["gpt-4o"]}]
  model_group_alias: {"gpt4": "gpt-4o"}
general_settings:
  master_key: ${MASTER_KEY}
`;
}

type Outcome = { ok: true } | { ok: false; status: number; message: string };

async function ask(client: OpenAI, model: string, maxTokens?: number): Promise<Outcome> {
  try {
    await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }], ...(maxTokens ? { max_tokens: maxTokens } : {}) });
    return { ok: true };
  } catch (error) {
    if (error instanceof OpenAI.APIError) return { ok: false, status: error.status ?? 0, message: error.message };
    throw error;
  }
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

describe.each(setups)('model_rpm_limit and model_tpm_limit on keys: $name', (setup) => {
  let gateway: TestGateway;
  let api: Management;
  let cleanup: () => Promise<void>;
  const client = (key: string) => new OpenAI({ apiKey: key, baseURL: `${gateway.url}/v1`, maxRetries: 0 });

  beforeAll(async () => {
    const prepared = await setup.prepare();
    cleanup = prepared.cleanup;
    gateway = await startGateway(config(upstream.url, failing.url), prepared.options);
    api = new Management(gateway.url);
  });

  afterAll(async () => {
    await gateway?.close();
    await cleanup?.();
  });

  it('answers a limited model until its minute is full, then 429 naming the model; the key\'s other model still answers', async () => {
    const key = await api.generateKey({ key_alias: 'per-model-rpm', model_rpm_limit: { 'gpt-4o': 2 } });
    expect(key.model_rpm_limit).toEqual({ 'gpt-4o': 2 });
    const caller = client(key.key);
    expect(await ask(caller, 'gpt-4o')).toEqual({ ok: true });
    expect(await ask(caller, 'gpt-4o')).toEqual({ ok: true });
    const refused = await ask(caller, 'gpt-4o');
    expect(refused).toMatchObject({ ok: false, status: 429 });
    expect((refused as { message: string }).message).toMatch(/rate limit reached for key "per-model-rpm" on model "gpt-4o" \(model_rpm_limit\["gpt-4o"\]\): 2 requests per minute; retry in \d+s/);
    for (let call = 0; call < 4; call++) expect(await ask(caller, 'gpt-4o-mini')).toEqual({ ok: true });
  });

  it('an alias, another spelling or a fallback to the model counts toward its limit', async () => {
    const viaAlias = client((await api.generateKey({ model_rpm_limit: { 'gpt-4o': 1 } })).key);
    expect(await ask(viaAlias, 'gpt4')).toEqual({ ok: true });
    expect(await ask(viaAlias, 'gpt-4o')).toMatchObject({ ok: false, status: 429 });
    // The entry named by the upstream model with its provider prefix covers the group serving it.
    const bySpelling = client((await api.generateKey({ model_rpm_limit: { 'openai/gpt-4o': 1 } })).key);
    expect(await ask(bySpelling, 'gpt-4o')).toEqual({ ok: true });
    expect(await ask(bySpelling, 'gpt4')).toMatchObject({ ok: false, status: 429 });
    // A call that may fall back to gpt-4o is counted toward gpt-4o's minute before it goes out.
    const viaFallback = client((await api.generateKey({ model_rpm_limit: { 'gpt-4o': 1 } })).key);
    expect(await ask(viaFallback, 'broken')).toEqual({ ok: true });
    expect(await ask(viaFallback, 'gpt-4o')).toMatchObject({ ok: false, status: 429 });
  });

  it('concurrent calls never pass a per-model rpm limit', async () => {
    const caller = client((await api.generateKey({ model_rpm_limit: { 'gpt-4o-mini': 5 } })).key);
    const outcomes = await Promise.all(Array.from({ length: 20 }, () => ask(caller, 'gpt-4o-mini')));
    expect(outcomes.filter((outcome) => outcome.ok)).toHaveLength(5);
    expect(outcomes.filter((outcome) => !outcome.ok && outcome.status === 429)).toHaveLength(15);
  });

  it('model_tpm_limit holds the model\'s tokens per minute, naming the field', async () => {
    const caller = client((await api.generateKey({ key_alias: 'per-model-tpm', model_tpm_limit: { 'gpt-4o': 60 } })).key);
    // Alone more than the minute allows: refused before any upstream call.
    const before = upstream.requests.length;
    const tooLarge = await ask(caller, 'gpt-4o', 200);
    expect(tooLarge).toMatchObject({ ok: false, status: 429 });
    expect((tooLarge as { message: string }).message).toContain('key "per-model-tpm" on model "gpt-4o" (model_tpm_limit["gpt-4o"])');
    expect(upstream.requests.length).toBe(before);
    // Calls within it answer until the minute's tokens (15 a call) are used.
    const outcomes: Outcome[] = [];
    for (let call = 0; call < 8; call++) outcomes.push(await ask(caller, 'gpt-4o', 10));
    expect(outcomes[0]).toEqual({ ok: true });
    expect(outcomes.some((outcome) => !outcome.ok && outcome.status === 429)).toBe(true);
    expect(await ask(caller, 'gpt-4o-mini', 200)).toEqual({ ok: true });
  });

  it('is shown by /key/info, changed and cleared by /key/update, and refused when malformed', async () => {
    const key = await api.generateKey({ model_rpm_limit: { 'gpt-4o': 3 }, model_tpm_limit: { 'gpt-4o-mini': 1000 } });
    expect(await api.keyInfo(key.key)).toMatchObject({ model_rpm_limit: { 'gpt-4o': 3 }, model_tpm_limit: { 'gpt-4o-mini': 1000 } });
    await api.updateKey(key.key, { model_rpm_limit: { 'gpt-4o': 1 } });
    const caller = client(key.key);
    expect(await ask(caller, 'gpt-4o')).toEqual({ ok: true });
    expect(await ask(caller, 'gpt-4o')).toMatchObject({ ok: false, status: 429 });
    await api.updateKey(key.key, { model_rpm_limit: null });
    expect(await api.keyInfo(key.key)).toMatchObject({ model_rpm_limit: {}, model_tpm_limit: { 'gpt-4o-mini': 1000 } });
    expect(await ask(caller, 'gpt-4o')).toEqual({ ok: true });
    for (const bad of [{ 'gpt-4o': -1 }, { 'gpt-4o': 1.5 }, { 'gpt-4o': '10' }, ['gpt-4o'], 5]) {
      const refusal = await api.call('POST', '/key/generate', { model_rpm_limit: bad });
      expect(refusal.status).toBe(400);
      expect(JSON.stringify(refusal.body)).toContain('model_rpm_limit');
    }
  });

  it('a user cannot lift the per-model limit an admin set on its key', async () => {
    const user = await api.newUser({ user_id: `rate-user-${setup.name.length}` });
    const issued = await api.generateKey({ user_id: user.user_id, model_rpm_limit: { 'gpt-4o': 1 } });
    for (const change of [{ model_rpm_limit: { 'gpt-4o': 100 } }, { model_rpm_limit: null }, { model_rpm_limit: { 'gpt-4o-mini': 1 } }]) {
      const refusal = await new Management(gateway.url, user.key!).call('POST', '/key/update', { key: issued.key, ...change });
      expect(refusal.status).toBe(403);
      expect(JSON.stringify(refusal.body)).toContain('model_rpm_limit');
    }
    // Tightening it is the user's to do.
    expect((await new Management(gateway.url, user.key!).call('POST', '/key/update', { key: issued.key, model_rpm_limit: { 'gpt-4o': 0 } })).status).toBe(200);
    const outcome = await ask(client(issued.key), "gpt-4o");
    // A limit of 0 refuses every call, with a whole window to wait (the window holds no call to wait for).
    expect(outcome).toMatchObject({ ok: false, status: 429 });
    expect((outcome as { message: string }).message).toMatch(/0 requests per minute; retry in 60s/);
  });

  it('a key\'s own rpm_limit of 0 refuses with 429, not an error of the limits store', async () => {
    const outcome = await ask(client((await api.generateKey({ rpm_limit: 0 })).key), 'gpt-4o-mini');
    expect(outcome).toMatchObject({ ok: false, status: 429 });
    expect((outcome as { message: string }).message).toMatch(/0 requests per minute \(rpm_limit\); retry in 60s/);
  });
});
