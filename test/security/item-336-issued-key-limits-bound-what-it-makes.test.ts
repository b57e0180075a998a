/**
 * Item 336: items 178, 241 and 247 keep a key from lifting the guardrails, expiry, models and
 * limits an admin set on it — but the same key could call /key/generate and make a fresh key for
 * its user with none of them (a time-limited, model-limited, guarded credential got a never-expiring,
 * unguarded sibling for every model in one request), or change another of its user's keys (made by
 * the user, so freely liftable) and take that key's new secret. Now what is done through a key
 * carrying access limits someone else set stays within them: a key made through it expires no
 * later, uses only its models and keeps its guardrails, and no key but itself is changed or
 * regenerated through it. A key the user created itself, a `management` key (routes only) and a
 * key whose only limits are a budget or rates (the user's own budget and rates bound every key it
 * makes) make keys as before.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockOpenAI } from '../support/mock-openai.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management, type GeneratedKey } from '../support/management.js';

let upstream: MockOpenAI;
let gateway: TestGateway;
let api: Management;

beforeAll(async () => {
  upstream = new MockOpenAI();
  await upstream.start();
  gateway = await startGateway(`
model_list:
  - model_name: cheap
    litellm_params: {model: openai/cheap-upstream, api_base: "${upstream.url}", api_key: sk-upstream-test}
    model_info: {input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}
  - model_name: premium
    litellm_params: {model: openai/premium-upstream, api_base: "${upstream.url}", api_key: sk-upstream-test}
    model_info: {input_cost_per_token: 0.00001, output_cost_per_token: 0.00002}
general_settings:
  master_key: ${MASTER_KEY}
guardrails:
  - guardrail_name: no-secrets
    litellm_params: {guardrail: content_filter, mode: pre_call, blocked_words: [forbidden]}
`);
  api = new Management(gateway.url);
  await api.newUser({ user_id: 'contractor', user_role: 'internal_user', auto_create_key: false });
  await api.ok('POST', '/budget/new', { budget_id: 'tight', max_budget: 0.01, rpm_limit: 5 });
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

async function chat(key: string, model: string, content = 'hi'): Promise<number> {
  const response = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content }], max_tokens: 5 }),
  });
  await response.text();
  return response.status;
}

const generate = (body: Record<string, unknown>, key: string) => api.call<GeneratedKey & { error?: { message: string } }>('POST', '/key/generate', body, key);

describe('a key with limits an admin set makes no key beyond them', () => {
  it('a time-limited, model-limited, guarded key with a budget link makes no unlimited sibling', async () => {
    const issued = await api.generateKey({ user_id: 'contractor', duration: '1h', models: ['cheap'], budget_id: 'tight', guardrails: ['no-secrets'] });
    expect(await chat(issued.key, 'premium')).not.toBe(200);
    const minted = await generate({}, issued.key);
    // Before: 200, a key with no expiry, every model, no budget link, no guardrail (it called premium).
    expect(minted.status).toBe(403);
    expect(JSON.stringify(minted.body)).toMatch(/access limits someone else set \(an expiry, models, guardrails\).*expires no later/);
  });

  it('an expiry, models and guardrails bound the keys made through it', async () => {
    const issued = await api.generateKey({ user_id: 'contractor', duration: '1h', models: ['cheap'], guardrails: ['no-secrets'] });
    const within = { duration: '30m', models: ['cheap'], guardrails: ['no-secrets'] };
    for (const [change, pattern] of [
      [{ duration: undefined }, /expires no later/],
      [{ duration: '2h' }, /expires no later/],
      [{ models: [] }, /only its models.*every model of the user/],
      [{ models: ['cheap', 'premium'] }, /only its models.*premium/],
      [{ guardrails: [] }, /keeps its guardrails: name .{0,2}no-secrets/],
    ] as const) {
      const minted = await generate({ ...within, ...change }, issued.key);
      expect(minted.status, JSON.stringify(change)).toBe(403);
      expect(JSON.stringify(minted.body), JSON.stringify(change)).toMatch(pattern);
    }
    const minted = await generate(within, issued.key);
    expect(minted.status).toBe(200);
    expect(minted.body.models).toEqual(['cheap']);
    expect(await chat(minted.body.key, 'premium')).not.toBe(200);
    expect(await chat(minted.body.key, 'cheap', 'a forbidden thing')).toBe(400);
    expect(await chat(minted.body.key, 'cheap')).toBe(200);
    expect(Date.parse(minted.body.expires!)).toBeLessThanOrEqual(Date.parse(issued.expires!));
  });

  it('through it no other key of the user is changed or regenerated (one the user made could be lifted, and its secret taken)', async () => {
    const unrestricted = await api.generateKey({ user_id: 'contractor' });
    const made = await generate({ models: ['cheap'] }, unrestricted.key);
    expect(made.status).toBe(200);
    const issued = await api.generateKey({ user_id: 'contractor', duration: '1h', models: ['cheap'] });
    expect((await api.call('POST', '/key/update', { key: made.body.token, models: ['cheap', 'premium'] }, issued.key)).status).toBe(403);
    expect((await api.call('POST', '/key/regenerate', { key: made.body.token }, issued.key)).status).toBe(403);
    expect((await api.call('POST', `/key/${made.body.token}/regenerate`, {}, issued.key)).status).toBe(403);
    expect((await api.call('POST', '/key/bulk_update', { keys: [{ key: made.body.token, models: ['premium'] }] }, issued.key)).status).toBe(403);
    // Itself: tightened as before.
    expect((await api.call('POST', '/key/update', { key: issued.token, key_alias: 'contractor-laptop' }, issued.key)).status).toBe(200);
  });
});

describe('what stays allowed', () => {
  it('a key the user made itself, a management key, and a key with only a budget or rates make keys as before', async () => {
    const unrestricted = await api.generateKey({ user_id: 'contractor' });
    const made = await generate({ models: ['cheap'], duration: '1h', max_budget: 1 }, unrestricted.key);
    expect(made.status).toBe(200);
    // The user made this one (limits and all): through it, keys are made freely.
    expect((await generate({ models: ['premium'] }, made.body.key)).status).toBe(200);
    const manager = await api.generateKey({ user_id: 'contractor', key_type: 'management' });
    expect(await chat(manager.key, 'cheap')).toBe(403);
    expect((await generate({ models: ['cheap'] }, manager.key)).status).toBe(200);
    for (const limits of [{ max_budget: 1 }, { rpm_limit: 10 }, { budget_id: 'tight' }, { model_max_budget: { cheap: { budget_limit: 1, time_period: '1d' } } }]) {
      const limited = await api.generateKey({ user_id: 'contractor', ...limits });
      expect((await generate({ models: ['premium'] }, limited.key)).status, JSON.stringify(limits)).toBe(200);
    }
  });
});
