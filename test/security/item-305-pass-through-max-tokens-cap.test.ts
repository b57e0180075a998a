/**
 * The attack: items 290/294 refused pass-through endpoints to callers limited in the models they
 * may call, but a routing rule's `max_tokens_cap` was not held there. A key whose alias a rule caps
 * at max_tokens 100 (no budget, no models list) called the configured pass-through (`/openai`,
 * relayed on the operator's credentials) with max_tokens 100000: 200, and the target received
 * max_tokens 100000 — the relayed body is never read, so no cap was applied. Now a caller that an
 * enabled rule with max_tokens_cap could match (its conditions on the caller hold; those on the
 * request are assumed to, as the body is not read) is refused with 403 naming the rule and the cap,
 * unless it holds llm.manage_providers.
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
  routing_rules:
    - {name: capped-bot, match: {key_aliases: [capped-bot]}, action: {max_tokens_cap: 100}}
    - {name: capped-team-on-gpt4o, match: {teams: [capped-team], model: gpt-4o, has_tools: false}, action: {max_tokens_cap: 50}}
    - {name: switched-off-cap, enabled: false, match: {key_aliases: [off-bot]}, action: {max_tokens_cap: 10}}
`);
  api = new Management(gateway.url);
  await api.ok('POST', '/team/new', { team_id: 'capped-team' });
  await api.ok('POST', '/team/new', { team_id: 'open-team' });
});

afterAll(async () => {
  await gateway?.close();
  await upstream.close();
});

afterEach(() => {
  upstream.requests.length = 0;
});

/** The official SDK pointed at the pass-through, asking for far more output than the cap. */
async function askLong(key: string): Promise<{ status: number; message: string }> {
  const client = new OpenAI({ baseURL: `${gateway.url}/openai`, apiKey: key, maxRetries: 0 });
  try {
    await client.chat.completions.create({ model: 'gpt-4o', max_tokens: 100_000, messages: [{ role: 'user', content: 'write a long story' }] });
    return { status: 200, message: '' };
  } catch (caught) {
    const error = caught as InstanceType<typeof OpenAI.APIError>;
    return { status: error.status ?? 0, message: error.message };
  }
}

const keyWith = async (fields: Record<string, unknown>) => (await api.generateKey(fields)).key;

describe('pass-through endpoints hold routing rules that cap max_tokens', () => {
  it.each([
    ['a max_tokens_cap rule on the key alias', { key_alias: 'capped-bot' }, 'routing rule "capped-bot"', '100'],
    ['a max_tokens_cap rule on the team that also matches on the request', { team_id: 'capped-team' }, 'routing rule "capped-team-on-gpt4o"', '50'],
  ])('refuses a key under %s, naming the rule and the cap, nothing sent to the target', async (_name, fields, owner, cap) => {
    const result = await askLong(await keyWith(fields));
    expect(result.status).toBe(403);
    expect(result.message).toContain(owner);
    expect(result.message).toContain(`max_tokens at ${cap}`);
    expect(upstream.requests).toHaveLength(0);
  });

  it('serves keys no cap rule can match (none, another alias or team, a disabled rule)', async () => {
    const keys = [{}, { key_alias: 'other-bot' }, { team_id: 'open-team' }, { key_alias: 'off-bot' }];
    for (const fields of keys) {
      const result = await askLong(await keyWith(fields));
      expect(result, JSON.stringify(fields)).toEqual({ status: 200, message: '' });
    }
    expect(upstream.requests.map((request) => request.body.max_tokens)).toEqual(keys.map(() => 100_000));
  });

  it('serves the master key (llm.manage_providers)', async () => {
    expect((await askLong(MASTER_KEY)).status).toBe(200);
    expect(upstream.requests).toHaveLength(1);
  });
});
