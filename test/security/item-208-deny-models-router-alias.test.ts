/**
 * The attack: a routing rule's `deny_models` naming a router alias (`deny_models: [smart]`, with
 * `router_settings.model_group_alias: {smart: premium}`) denied only the alias's name: a caller the
 * rule matched got premium's answers by calling `premium` itself (200, the premium upstream
 * called), or the upstream model premium serves through a wildcard group (`gpt-4o` through `"*"`).
 * An alias is the group it leads to (as the README says of allow-lists), so denying it now denies
 * that group, by any name. Also `openai/gpt-4o` through `"*"` → `openai/*` (upstream model
 * "openai/gpt-4o", which an aggregator serves as gpt-4o) is now denied with the group serving gpt-4o.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

const cheapUpstream = new MockOpenAI({ reply: 'cheap answer' });
const premiumUpstream = new MockOpenAI({ reply: 'premium answer' });
let gateway: TestGateway;
let api: Management;
const keys: Record<string, string> = {};

const gpt4oCalls = () => premiumUpstream.requests.filter((request) => request.body.model === 'gpt-4o').length;

async function chat(key: string, model: string): Promise<{ status: number; text: string }> {
  const response = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] }),
  });
  return { status: response.status, text: await response.text() };
}

beforeAll(async () => {
  await Promise.all([cheapUpstream.start(), premiumUpstream.start()]);
  gateway = await startGateway(`
model_list:
  - model_name: cheap
    litellm_params: {model: openai/gpt-4o-mini, api_base: "${cheapUpstream.url}", api_key: sk-upstream}
  - model_name: premium
    litellm_params: {model: openai/gpt-4o, api_base: "${premiumUpstream.url}", api_key: sk-upstream}
  - model_name: "*"
    litellm_params: {model: "openai/*", api_base: "${premiumUpstream.url}", api_key: sk-upstream}
router_settings:
  model_group_alias: {smart: premium, thrifty: cheap}
general_settings:
  master_key: ${MASTER_KEY}
platform:
  routing_rules:
    - {name: deny-alias, priority: 1, match: {key_aliases: [bot]}, action: {deny_models: [smart]}}
    - {name: deny-alias-pattern, priority: 2, match: {key_aliases: [pattern-bot]}, action: {deny_models: ["sma*"]}}
`);
  api = new Management(gateway.url);
  keys.exact = (await api.generateKey({ key_alias: 'bot' })).key;
  keys.pattern = (await api.generateKey({ key_alias: 'pattern-bot' })).key;
});

afterAll(async () => {
  await gateway?.close();
  await Promise.all([cheapUpstream.close(), premiumUpstream.close()]);
});

describe('deny_models naming a router alias denies the group it leads to', () => {
  it.each(['exact', 'pattern'])('%s: premium is refused by every name and never called; other models stay open', async (which) => {
    const key = keys[which];
    for (const model of ['smart', 'premium', 'gpt-4o', 'openai/gpt-4o']) {
      const before = gpt4oCalls();
      const answer = await chat(key, model);
      expect(answer.status, `${model}: ${answer.text}`).toBe(403);
      expect(JSON.parse(answer.text).error.code).toBe('model_not_allowed');
      expect(gpt4oCalls(), model).toBe(before);
    }
    for (const model of ['cheap', 'thrifty', 'gpt-4o-mini']) {
      const answer = await chat(key, model);
      expect(answer.status, `${model}: ${answer.text}`).toBe(200);
    }
  });

  it('a key no rule matches still calls premium', async () => {
    const { key } = await api.generateKey({});
    expect((await chat(key, 'premium')).status).toBe(200);
    expect((await chat(key, 'smart')).status).toBe(200);
  });
});
