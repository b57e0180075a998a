/**
 * The attack: item 290 refused pass-through endpoints to a caller whose key, team or user lists
 * models, but a caller restricted only by a routing rule (`platform.routing_rules`: `deny_models`,
 * `allow_models` or `route_to`, matched by its key alias or team) held no such list. Its key (no
 * budget, no user) called the configured pass-through (`/openai`, relayed on the operator's
 * credentials) and asked for the very model the rule denies: 200, o1-pro answered — the relayed body
 * is never read, so no rule was consulted. Now a caller that an enabled rule with a model action could
 * match (its teams / users / key_aliases / tiers hold for the caller; conditions on the request —
 * model, tags, metadata, task, tools, images, prompt size, power level — are assumed to hold, as the
 * body is not read) is refused with 403 naming the rule, unless it holds llm.manage_providers.
 * A tier's `models` (platform users) was already held there: a user is refused as paying credits
 * whenever the platform is on; that case is kept here as a regression.
 */
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

const upstream = new MockOpenAI();
let gateway: TestGateway;
let api: Management;

beforeAll(async () => {
  await upstream.start();
  gateway = await startGateway(`
model_list:
  - model_name: cheap
    litellm_params: {model: openai/gpt-4o-mini, api_base: "${upstream.url}", api_key: sk-upstream}
    model_info: {input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}
general_settings:
  master_key: ${MASTER_KEY}
  pass_through_endpoints:
    - path: /openai
      target: ${upstream.url}
      include_subpath: true
      auth: true
      headers:
        Authorization: Bearer sk-operator
platform:
  default_tier: standard
  tiers:
    standard: {markup: 0, initial_credits: 1000}
    cheap-tier: {markup: 0, initial_credits: 1000, models: [cheap]}
  routing_rules:
    - {name: no-dear-bots, match: {key_aliases: [bot]}, action: {deny_models: [o1-pro]}}
    - {name: free-team-cheap, match: {teams: [free-team]}, action: {allow_models: [cheap]}}
    - {name: o1-pro-never-for-modelbot, match: {key_aliases: [modelbot], model: o1-pro}, action: {deny_models: [o1-pro]}}
    - {name: routed-bot-to-cheap, match: {key_aliases: [routed-bot], tags: [anything]}, action: {route_to: cheap}}
    - {name: capped-bot, match: {key_aliases: [capped-bot]}, action: {max_tokens_cap: 100}}
    - {name: switched-off, enabled: false, match: {key_aliases: [off-bot]}, action: {deny_models: [o1-pro]}}
`);
  api = new Management(gateway.url);
  await api.ok('POST', '/team/new', { team_id: 'free-team' });
  await api.ok('POST', '/team/new', { team_id: 'open-team' });
});

afterAll(async () => {
  await gateway?.close();
  await upstream.close();
});

afterEach(() => {
  upstream.requests.length = 0;
});

/** The official SDK pointed at the pass-through, asking for the model a rule denies. */
async function askDear(key: string): Promise<{ status: number; message: string }> {
  const client = new OpenAI({ baseURL: `${gateway.url}/openai`, apiKey: key, maxRetries: 0 });
  try {
    await client.chat.completions.create({ model: 'o1-pro', messages: [{ role: 'user', content: 'hi' }] });
    return { status: 200, message: '' };
  } catch (caught) {
    const error = caught as InstanceType<typeof OpenAI.APIError>;
    return { status: error.status ?? 0, message: error.message };
  }
}

const keyWith = async (fields: Record<string, unknown>) => (await api.generateKey(fields)).key;

describe('pass-through endpoints hold routing rules and tiers that limit models', () => {
  it.each([
    ['a deny_models rule on the key alias', { key_alias: 'bot' }, 'routing rule "no-dear-bots"'],
    ['an allow_models rule on the team', { team_id: 'free-team' }, 'routing rule "free-team-cheap"'],
    ['a rule that also matches on the requested model', { key_alias: 'modelbot' }, 'routing rule "o1-pro-never-for-modelbot"'],
    ['a route_to rule that also matches on a request tag', { key_alias: 'routed-bot' }, 'routing rule "routed-bot-to-cheap"'],
  ])('refuses a key under %s, nothing sent to the target', async (_name, fields, owner) => {
    const result = await askDear(await keyWith(fields));
    expect(result.status).toBe(403);
    expect(result.message).toContain(owner);
    expect(upstream.requests).toHaveLength(0);
  });

  it("refuses a user whose tier lists models (no budget, no models list of its own)", async () => {
    const user = await api.newUser({ user_id: 'tiered-user', tier: 'cheap-tier' });
    const result = await askDear(user.key!);
    expect(result.status).toBe(403);
    expect(upstream.requests).toHaveLength(0);
  });

  // A cap-only rule (capped-bot) is refused too since item 305 (item-305-pass-through-max-tokens-cap.test.ts).
  it('serves keys no model-limiting rule can match (none, another alias or team, a disabled rule)', async () => {
    const keys = [{}, { key_alias: 'other-bot' }, { team_id: 'open-team' }, { key_alias: 'off-bot' }];
    for (const fields of keys) {
      const result = await askDear(await keyWith(fields));
      expect(result, JSON.stringify(fields)).toEqual({ status: 200, message: '' });
    }
    expect(upstream.requests.map((request) => request.body.model)).toEqual(keys.map(() => 'o1-pro'));
    expect(upstream.requests[0].headers.authorization).toBe('Bearer sk-operator');
  });

  it('serves the master key (llm.manage_providers)', async () => {
    expect((await askDear(MASTER_KEY)).status).toBe(200);
    expect(upstream.requests).toHaveLength(1);
  });
});
