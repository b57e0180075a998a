/**
 * The attack, two ways out of a routing rule's `max_tokens_cap` (and a power level's output cap):
 * (1) On the /openai/v1 relay, chat and text completion bodies went upstream as sent: under a rule
 *     capping gpt-4o at 100, `POST /openai/v1/chat/completions {model: gpt-4o, max_tokens: 4000}`
 *     (or max_completion_tokens, or no limit at all; likewise /openai/v1/completions) reached gpt-4o
 *     with 4000 (or no limit) — the rule was named in x-switchboard-rule and the call reserved only
 *     100 tokens of output, while the provider could produce and bill 4000. Only a relayed Response's
 *     max_output_tokens was capped. Same for a power level's cap (X-Power-Level).
 * (2) A rule whose `match.model` names a configured group (`model: [premium]`, premium → openai/gpt-4o)
 *     did not fire when the client asked for that group's upstream model through a wildcard (`gpt-4o`
 *     or `GPT-4o` through `"*"`, `openai/gpt-4o` through `"openai/*"`, all served as gpt-4o): 200,
 *     no x-switchboard-rule, the client's 4000 tokens, no reroute — though deny_models covers the
 *     same case since item 172.
 * Now a relayed chat completion's max_completion_tokens / max_tokens and a text completion's
 * max_tokens are lowered to the cap (never raised; set when the body names none), and `match.model`
 * also holds for the configured groups whose upstream model a wildcard serves under the client's
 * name. gpt-4o-mini still matches no premium rule.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { wildcardModelList } from '../support/wildcard-models.js';
import { Management } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

const cheapUpstream = new MockOpenAI({ reply: 'cheap answer' });
const openaiUpstream = new MockOpenAI({ reply: 'openai answer' });
let gateway: TestGateway;
const keys: Record<string, string> = {};

const LIMITS = ['max_completion_tokens', 'max_tokens', 'max_output_tokens'] as const;
type Limits = Partial<Record<(typeof LIMITS)[number], unknown>>;
const messages = [{ role: 'user', content: 'hi' }];

async function send(key: string, path: string, body: unknown, headers: Record<string, string> = {}) {
  const response = await fetch(`${gateway.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
  return { status: response.status, rule: response.headers.get('x-switchboard-rule'), text: await response.text() };
}

/** What one call did: its status, the rule named, and each upstream call's model and output limits. */
async function outcome(key: string, path: string, body: unknown, headers?: Record<string, string>) {
  const [openaiBefore, cheapBefore] = [openaiUpstream.requests.length, cheapUpstream.requests.length];
  const answer = await send(key, path, body, headers);
  const calls = [...openaiUpstream.requests.slice(openaiBefore), ...cheapUpstream.requests.slice(cheapBefore)].map((request) => {
    const limits: Limits = {};
    for (const field of LIMITS) if (field in request.body) limits[field] = request.body[field];
    return { model: request.body.model, ...limits };
  });
  return { status: answer.status, rule: answer.rule, calls, text: answer.status === 200 ? '' : answer.text.slice(0, 200) };
}

beforeAll(async () => {
  await Promise.all([cheapUpstream.start(), openaiUpstream.start()]);
  gateway = await startGateway(`
${wildcardModelList(cheapUpstream.url, openaiUpstream.url)}
router_settings:
  num_retries: 0
  disable_cooldowns: true
general_settings:
  master_key: ${MASTER_KEY}
platform:
  power_levels:
    custom: {max_tokens: 100}
  routing_rules:
    - {name: cap, priority: 1, match: {key_aliases: [cap, cap-budget], model: [gpt-4o]}, action: {max_tokens_cap: 100}}
    - {name: group-cap, priority: 2, match: {key_aliases: [group-cap], model: [premium]}, action: {max_tokens_cap: 100}}
    - {name: group-reroute, priority: 3, match: {key_aliases: [group-reroute], model: [prem*]}, action: {route_to: [cheap]}}
`);
  const api = new Management(gateway.url);
  for (const alias of ['cap', 'group-cap', 'group-reroute', 'plain']) keys[alias] = (await api.generateKey({ key_alias: alias })).key;
  // $0.005 pays for 100 tokens of gpt-4o's output ($10 / 1M), not for 4000: the reservation must be sized by the cap.
  keys.budget = (await api.generateKey({ key_alias: 'cap-budget', max_budget: 0.005 })).key;
});

afterAll(async () => {
  await gateway?.close();
  await Promise.all([cheapUpstream.close(), openaiUpstream.close()]);
});

describe('a rule or power level output cap holds on the /openai/v1 relay', () => {
  const CASES: Array<{ name: string; path: string; body: Record<string, unknown>; sent: Limits; key?: string; headers?: Record<string, string> }> = [
    { name: 'chat max_tokens 4000', path: 'chat/completions', body: { messages, max_tokens: 4000 }, sent: { max_tokens: 100 } },
    { name: 'chat stream max_tokens 4000', path: 'chat/completions', body: { messages, max_tokens: 4000, stream: true }, sent: { max_tokens: 100 } },
    { name: 'chat max_completion_tokens 4000', path: 'chat/completions', body: { messages, max_completion_tokens: 4000 }, sent: { max_completion_tokens: 100 } },
    { name: 'chat both limits 4000', path: 'chat/completions', body: { messages, max_completion_tokens: 4000, max_tokens: 4000 }, sent: { max_completion_tokens: 100, max_tokens: 100 } },
    { name: 'chat max_tokens null', path: 'chat/completions', body: { messages, max_tokens: null }, sent: { max_tokens: 100 } },
    // OpenAI's current field for a chat completion (max_tokens is deprecated, refused by its reasoning models).
    { name: 'chat without a limit', path: 'chat/completions', body: { messages }, sent: { max_completion_tokens: 100 } },
    { name: 'chat max_tokens 50 (below the cap: kept)', path: 'chat/completions', body: { messages, max_tokens: 50 }, sent: { max_tokens: 50 } },
    { name: 'chat max_completion_tokens 50 (kept)', path: 'chat/completions', body: { messages, max_completion_tokens: 50 }, sent: { max_completion_tokens: 50 } },
    { name: 'completions max_tokens 4000', path: 'completions', body: { prompt: 'hi', max_tokens: 4000 }, sent: { max_tokens: 100 } },
    { name: 'completions stream max_tokens 4000', path: 'completions', body: { prompt: 'hi', max_tokens: 4000, stream: true }, sent: { max_tokens: 100 } },
    { name: 'completions without a limit', path: 'completions', body: { prompt: 'hi' }, sent: { max_tokens: 100 } },
    { name: 'completions max_tokens 50 (kept)', path: 'completions', body: { prompt: 'hi', max_tokens: 50 }, sent: { max_tokens: 50 } },
    { name: 'responses max_output_tokens 4000', path: 'responses', body: { input: 'hi', max_output_tokens: 4000 }, sent: { max_output_tokens: 100 } },
    { name: 'power level custom (cap 100): chat max_tokens 4000', key: 'plain', headers: { 'x-power-level': 'custom' }, path: 'chat/completions', body: { messages, max_tokens: 4000 }, sent: { max_tokens: 100 } },
    { name: 'power level custom (cap 100): completions', key: 'plain', headers: { 'x-power-level': 'custom' }, path: 'completions', body: { prompt: 'hi', max_tokens: 4000 }, sent: { max_tokens: 100 } },
    // The reservation is sized by the cap: a budget that pays for 100 tokens (not 4000) admits the call.
    { name: 'budget of $0.005: chat max_tokens 4000', key: 'budget', path: 'chat/completions', body: { messages, max_tokens: 4000 }, sent: { max_tokens: 100 } },
  ];

  it.each(CASES)('$name', async ({ path, body, sent, key = 'cap', headers }) => {
    const result = await outcome(keys[key], `/openai/v1/${path}`, { model: 'gpt-4o', ...body }, headers);
    expect(result).toEqual({ status: 200, rule: key === 'plain' ? null : 'cap', calls: [{ model: 'gpt-4o', ...sent }], text: '' });
  });

  it('without a rule or level, the relayed body keeps its own limits', async () => {
    const result = await outcome(keys.plain, '/openai/v1/chat/completions', { model: 'gpt-4o', messages, max_tokens: 4000 });
    expect(result).toEqual({ status: 200, rule: null, calls: [{ model: 'gpt-4o', max_tokens: 4000 }], text: '' });
  });
});

describe('a rule naming a configured group holds for its upstream model served through a wildcard', () => {
  const SURFACES = [
    { path: '/v1/chat/completions', body: (model: string) => ({ model, messages, max_tokens: 4000 }) },
    { path: '/v1/messages', body: (model: string) => ({ model, messages, max_tokens: 4000 }) },
    { path: '/openai/v1/chat/completions', body: (model: string) => ({ model, messages, max_tokens: 4000 }) },
    { path: '/openai/v1/completions', body: (model: string) => ({ model, prompt: 'hi', max_tokens: 4000 }) },
  ];
  const SPELLINGS = ['premium', 'gpt-4o', 'GPT-4o', 'openai/gpt-4o', 'OpenAI/GPT-4o'];
  const CASES = SPELLINGS.flatMap((model) => SURFACES.map((surface) => ({ name: `${model} on ${surface.path}`, model, ...surface })));
  const limitOf = (call: Limits) => call.max_completion_tokens ?? call.max_tokens;

  it.each(CASES)('model: [premium] max_tokens_cap: $name', async ({ model, path, body }) => {
    const result = await outcome(keys['group-cap'], path, body(model));
    expect({ status: result.status, rule: result.rule, limits: result.calls.map(limitOf), text: result.text }).toEqual({ status: 200, rule: 'group-cap', limits: [100], text: '' });
  });

  it.each(CASES)('model: [prem*] route_to cheap: $name', async ({ model, path, body }) => {
    const result = await outcome(keys['group-reroute'], path, body(model));
    expect({ status: result.status, rule: result.rule, models: result.calls.map((call) => call.model), text: result.text }).toEqual({ status: 200, rule: 'group-reroute', models: ['gpt-4o-mini'], text: '' });
  });

  it.each(['gpt-4o-mini', 'GPT-4o-mini', 'openai/gpt-4o-mini', 'cheap'])('%s matches no premium rule', async (model) => {
    for (const alias of ['group-cap', 'group-reroute']) {
      const result = await outcome(keys[alias], '/v1/chat/completions', { model, messages, max_tokens: 4000 });
      expect({ status: result.status, rule: result.rule, limits: result.calls.map(limitOf) }, alias).toEqual({ status: 200, rule: null, limits: [4000] });
    }
  });
});
