/**
 * Item 273, two gaps:
 * (1) A routing rule's `match.model` naming a router alias (`model_group_alias`, `smart: premium`)
 *     held only when the client sent the alias: under `match: {model: [smart]}` with
 *     `max_tokens_cap: 100`, asking for `premium` (or its upstream model through a wildcard) went
 *     upstream with the client's 4000 tokens and no rule — though `deny_models: [smart]` refuses
 *     `premium`. Now an alias the rule names stands for the group it leads to. (A rule on `premium`
 *     already held for `smart`: the alias resolves to premium's group.)
 * (2) Per-search prices (OpenAI web search: $25 per 1,000 on gpt-4o / gpt-4.1, else $10) were read
 *     off the deployment's upstream name, not `model_info.base_model`: a gpt-4o deployed as
 *     `prod-4o` with `base_model: gpt-4o` was charged $0.010 a search, not gpt-4o's $0.025. Now the
 *     server-tool prices follow base_model as the list prices do (commit 1afad58).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

const cheapUpstream = new MockOpenAI({ reply: 'cheap answer' });
const openaiUpstream = new MockOpenAI({ reply: 'openai answer' });
let gateway: TestGateway;
const keys: Record<string, string> = {};
const messages = [{ role: 'user', content: 'hi' }];

/** One chat call: its status, the rule named, and the output limit each upstream call carried. */
async function outcome(key: string, model: string) {
  const [openaiBefore, cheapBefore] = [openaiUpstream.requests.length, cheapUpstream.requests.length];
  const response = await fetch(`${gateway.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify({ model, messages, max_tokens: 4000 }) });
  const text = await response.text();
  const limits = [...openaiUpstream.requests.slice(openaiBefore), ...cheapUpstream.requests.slice(cheapBefore)].map((request) => request.body.max_completion_tokens ?? request.body.max_tokens);
  return { status: response.status, rule: response.headers.get('x-switchboard-rule'), limits, text: response.status === 200 ? '' : text.slice(0, 200) };
}

beforeAll(async () => {
  await Promise.all([cheapUpstream.start(), openaiUpstream.start()]);
  gateway = await startGateway(`
model_list:
  - model_name: cheap
    litellm_params: {model: openai/gpt-4o-mini, api_base: "${cheapUpstream.url}", api_key: sk-upstream}
  - model_name: premium
    litellm_params: {model: openai/gpt-4o, api_base: "${openaiUpstream.url}", api_key: sk-upstream}
  - model_name: "*"
    litellm_params: {model: "openai/*", api_base: "${openaiUpstream.url}", api_key: sk-upstream}
  - model_name: prod-4o
    litellm_params: {model: openai/prod-4o, api_base: "${openaiUpstream.url}", api_key: sk-upstream}
    model_info: {base_model: gpt-4o}
  - model_name: direct-4o
    litellm_params: {model: openai/gpt-4o, api_base: "${openaiUpstream.url}", api_key: sk-upstream}
router_settings:
  num_retries: 0
  disable_cooldowns: true
  model_group_alias: {smart: premium, quick: cheap}
general_settings:
  master_key: ${MASTER_KEY}
platform:
  routing_rules:
    - {name: alias-cap, priority: 1, match: {key_aliases: [alias-cap], model: [smart]}, action: {max_tokens_cap: 100}}
    - {name: group-cap, priority: 2, match: {key_aliases: [group-cap], model: [premium]}, action: {max_tokens_cap: 100}}
`);
  const api = new Management(gateway.url);
  for (const alias of ['alias-cap', 'group-cap']) keys[alias] = (await api.generateKey({ key_alias: alias })).key;
});

afterAll(async () => {
  await gateway?.close();
  await Promise.all([cheapUpstream.close(), openaiUpstream.close()]);
});

describe('gap 1: a rule naming a router alias holds for the group it leads to', () => {
  it.each(['smart', 'premium', 'gpt-4o', 'openai/gpt-4o'])('model: [smart] caps %s', async (model) => {
    expect(await outcome(keys['alias-cap'], model)).toEqual({ status: 200, rule: 'alias-cap', limits: [100], text: '' });
  });

  it.each(['smart', 'premium'])('model: [premium] caps %s (the alias resolves to premium)', async (model) => {
    expect(await outcome(keys['group-cap'], model)).toEqual({ status: 200, rule: 'group-cap', limits: [100], text: '' });
  });

  it.each(['cheap', 'quick', 'gpt-4o-mini'])('%s matches neither rule', async (model) => {
    for (const alias of ['alias-cap', 'group-cap']) expect(await outcome(keys[alias], model), alias).toEqual({ status: 200, rule: null, limits: [4000], text: '' });
  });
});

describe('gap 2: per-search prices follow model_info.base_model', () => {
  async function costOf(model: string): Promise<number | undefined> {
    const response = await fetch(`${gateway.url}/v1/responses`, { method: 'POST', headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify({ model, input: 'news', tools: [{ type: 'web_search_preview' }] }) });
    expect(response.status).toBe(200);
    await response.text();
    const record = await gateway.recordOf(response.headers.get('x-switchboard-call-id')!);
    expect(record?.status).toBe('success');
    return record?.cost_micros ?? undefined;
  }

  it('a gpt-4o deployed as prod-4o (base_model: gpt-4o) is charged gpt-4o\'s $0.025 a search, as gpt-4o by name is', async () => {
    const direct = await costOf('direct-4o');
    const named = await costOf('prod-4o');
    // 12 prompt and 5 completion tokens at gpt-4o's $2.50 / $10 per 1M (80 micros), one web search at $0.025.
    expect(direct).toBe(25_000 + 80);
    expect(named).toBe(direct);
  });
});
