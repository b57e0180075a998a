/**
 * A routing rule's `deny_models` naming a model group also denies the upstream models that group's
 * deployments call when a wildcard deployment (`"*"` or `"openai/*"` → `openai/*`) would serve them
 * under the client's own name. Before this fix a caller under `deny_models: [premium]` (premium →
 * openai/gpt-4o) — matched by key alias, user, team or tier — got gpt-4o's answers by sending
 * `gpt-4o` or `openai/gpt-4o` (200, the premium upstream called), on chat, completions, messages,
 * responses, the /openai/v1 relay and as a request fallback. Allow-lists (key, user, team, tier
 * `models: [cheap]`) already never opened the wildcard; they are held here too. Models the rule
 * does not deny stay reachable through the wildcard.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

const cheapUpstream = new MockOpenAI({ reply: 'cheap answer' });
const openaiUpstream = new MockOpenAI({ reply: 'openai answer' });
let gateway: TestGateway;
let api: Management;

/** Calls that reached gpt-4o, the model the denied group "premium" serves. */
const gpt4oCalls = () => openaiUpstream.requests.filter((request) => request.body.model === 'gpt-4o').length;

const chat = (model: string, extra: Record<string, unknown> = {}) => ({ model, max_tokens: 10, messages: [{ role: 'user', content: 'hi' }], ...extra });
const SURFACES = (model: string) => [
  { name: `chat ${model}`, path: '/v1/chat/completions', body: chat(model) },
  { name: `chat stream ${model}`, path: '/v1/chat/completions', body: chat(model, { stream: true }) },
  { name: `completions ${model}`, path: '/v1/completions', body: { model, prompt: 'hi', max_tokens: 10 } },
  { name: `messages ${model}`, path: '/v1/messages', body: chat(model) },
  { name: `responses ${model}`, path: '/v1/responses', body: { model, input: 'hi', max_output_tokens: 16 } },
  { name: `pass-through chat ${model}`, path: '/openai/v1/chat/completions', body: chat(model) },
  { name: `request fallback ${model}`, path: '/v1/chat/completions', body: chat('broken', { fallbacks: [model] }) },
];
const NAMES = ['gpt-4o', 'openai/gpt-4o'];

async function send(key: string, path: string, body: unknown): Promise<{ status: number; text: string }> {
  const response = await fetch(`${gateway.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: response.status, text: await response.text() };
}

const restricted: Record<string, string> = {};

beforeAll(async () => {
  await Promise.all([cheapUpstream.start(), openaiUpstream.start()]);
  gateway = await startGateway(`
model_list:
  - model_name: cheap
    litellm_params: {model: openai/gpt-4o-mini, api_base: "${cheapUpstream.url}", api_key: sk-upstream}
  - model_name: premium
    litellm_params: {model: openai/gpt-4o, api_base: "${openaiUpstream.url}", api_key: sk-upstream}
  - model_name: broken
    litellm_params: {model: openai/gpt-4o-mini, api_base: "http://127.0.0.1:9", api_key: sk-upstream}
  - model_name: "openai/*"
    litellm_params: {model: "openai/*", api_base: "${openaiUpstream.url}", api_key: sk-upstream}
  - model_name: "*"
    litellm_params: {model: "openai/*", api_base: "${openaiUpstream.url}", api_key: sk-upstream}
router_settings:
  num_retries: 0
  disable_cooldowns: true
general_settings:
  master_key: ${MASTER_KEY}
platform:
  default_tier: pro
  tiers:
    pro: {markup: 0, initial_credits: 1000}
    restricted: {markup: 0, initial_credits: 1000}
    free: {markup: 0, initial_credits: 1000, models: [cheap, broken]}
  routing_rules:
    - {name: deny-bot, priority: 1, match: {key_aliases: [bot]}, action: {deny_models: [premium]}}
    - {name: deny-user, priority: 2, match: {users: [denied-user]}, action: {deny_models: [premium]}}
    - {name: deny-team, priority: 3, match: {teams: [denied-team]}, action: {deny_models: [premium]}}
    - {name: deny-tier, priority: 4, match: {tiers: [restricted]}, action: {deny_models: [premium]}}
    - {name: deny-pattern, priority: 5, match: {key_aliases: [pattern-bot]}, action: {deny_models: ["prem*"]}}
`);
  api = new Management(gateway.url);
  restricted['rule deny_models by key alias'] = (await api.generateKey({ key_alias: 'bot' })).key;
  await api.newUser({ user_id: 'denied-user', user_role: 'internal_user', auto_create_key: false });
  restricted['rule deny_models by user'] = (await api.generateKey({ user_id: 'denied-user' })).key;
  await api.newTeam({ team_id: 'denied-team' });
  restricted['rule deny_models by team'] = (await api.generateKey({ team_id: 'denied-team' })).key;
  await api.newUser({ user_id: 'restricted-tier-user', user_role: 'internal_user', tier: 'restricted', auto_create_key: false });
  restricted['rule deny_models by tier'] = (await api.generateKey({ user_id: 'restricted-tier-user' })).key;
  restricted['rule deny_models pattern'] = (await api.generateKey({ key_alias: 'pattern-bot' })).key;
  restricted['key models'] = (await api.generateKey({ models: ['cheap', 'broken'] })).key;
  await api.newUser({ user_id: 'listed-user', user_role: 'internal_user', models: ['cheap', 'broken'], auto_create_key: false });
  restricted['user models'] = (await api.generateKey({ user_id: 'listed-user' })).key;
  await api.newTeam({ team_id: 'listed-team', models: ['cheap', 'broken'] });
  restricted['team models'] = (await api.generateKey({ team_id: 'listed-team' })).key;
  await api.newUser({ user_id: 'free-user', user_role: 'internal_user', tier: 'free', auto_create_key: false });
  restricted['tier models'] = (await api.generateKey({ user_id: 'free-user' })).key;
});

afterAll(async () => {
  await gateway?.close();
  await Promise.all([cheapUpstream.close(), openaiUpstream.close()]);
});

describe('a denied group is not reached through a wildcard', () => {
  it('the master key reaches gpt-4o through the wildcard names on every surface (each is a way in)', async () => {
    const dead: string[] = [];
    for (const surface of NAMES.flatMap(SURFACES)) {
      const before = gpt4oCalls();
      const answer = await send(MASTER_KEY, surface.path, surface.body);
      if (gpt4oCalls() === before) dead.push(`${surface.name} → ${answer.status} ${answer.text.slice(0, 200)}`);
    }
    expect(dead).toEqual([]);
  });

  for (const restriction of ['rule deny_models by key alias', 'rule deny_models by user', 'rule deny_models by team', 'rule deny_models by tier', 'rule deny_models pattern', 'key models', 'user models', 'team models', 'tier models']) {
    it(`${restriction}: gpt-4o is refused under every wildcard name and never called`, async () => {
      const key = restricted[restriction];
      const reached: string[] = [];
      for (const surface of NAMES.flatMap(SURFACES)) {
        const before = gpt4oCalls();
        const answer = await send(key, surface.path, surface.body);
        if (gpt4oCalls() !== before || answer.status === 200 || answer.status >= 500) reached.push(`${surface.name} → ${answer.status} ${answer.text.slice(0, 200)}`);
      }
      expect(reached).toEqual([]);
      // The refusal names why, in the route's envelope.
      const refused = await send(key, '/v1/chat/completions', chat('gpt-4o'));
      expect(refused.status).toBe(403);
      expect((JSON.parse(refused.text) as { error: { code: string } }).error.code).toMatch(/^(model_not_allowed|model_not_in_tier)$/);
    });
  }

  it('a deny rule still lets the wildcard serve the models it does not deny', async () => {
    for (const restriction of ['rule deny_models by key alias', 'rule deny_models by tier', 'rule deny_models pattern']) {
      for (const model of ['gpt-4o-mini', 'openai/gpt-4.1-nano', 'cheap']) {
        const answer = await send(restricted[restriction], '/v1/chat/completions', chat(model));
        expect(answer.status, `${restriction} ${model}: ${answer.text.slice(0, 200)}`).toBe(200);
      }
    }
  });
});
