/**
 * The attack: a routing rule that restricts gpt-4o (`match: {model: gpt-4o}` with a max_tokens_cap, a
 * reroute to a cheaper group, or a deny) is dodged by respelling the model. A wildcard (`"*"` or
 * `"openai/*"` → `openai/*`) serves whatever spelling the client sends and prices it as gpt-4o, but
 * `match.model` was compared byte for byte with the name as sent (and the key alias's target), so
 * the rule did not apply. Before this fix, on /v1/chat/completions, /v1/messages and the /openai/v1
 * relay, `GPT-4o`, `Gpt-4O`, `OPENAI/gpt-4o`, `openai/GPT-4o`, `openai/openai/gpt-4o` (and, for the
 * `gpt-4o` rule, `openai/gpt-4o`; for both, `premium`, a configured group calling openai/gpt-4o)
 * were answered 200 by the gpt-4o upstream with the client's max_tokens of 4000 (not 100), without
 * the reroute to `cheap`, and without the 403 — and no x-switchboard-rule header.
 * Now `match.model` is compared ignoring case with every name the served model answers to (the
 * group's name, each deployment's upstream model with its provider and without a vendor prefix of
 * its own: the names deny_models and per-model budgets use), so every spelling gets the rule.
 * gpt-4o-mini (any spelling) still matches no gpt-4o rule.
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

const isGpt4o = (model: unknown) => /(^|\/)gpt-4o$/i.test(String(model));
const chat = (model: string) => ({ model, max_tokens: 4000, messages: [{ role: 'user', content: 'hi' }] });
const SURFACES = (model: string) => [
  { name: `chat ${model}`, path: '/v1/chat/completions', body: chat(model) },
  { name: `messages ${model}`, path: '/v1/messages', body: chat(model) },
  { name: `relay /openai/v1 ${model}`, path: '/openai/v1/chat/completions', body: chat(model) },
];
const SPELLINGS = ['gpt-4o', 'premium', 'GPT-4o', 'Gpt-4O', 'OPENAI/gpt-4o', 'openai/GPT-4o', 'openai/gpt-4o', 'openai/openai/gpt-4o', 'OpenAI/OpenAI/GPT-4O'];
/** Each key is matched by one rule (by its alias and the model); the rule's name equals the alias. */
const RULES = ['cap', 'cap-provider-name', 'reroute', 'deny'];

async function send(key: string, path: string, body: unknown) {
  const response = await fetch(`${gateway.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: response.status, rule: response.headers.get('x-switchboard-rule'), text: await response.text() };
}

/** What the call did: the status, the rule named, and the output limit gpt-4o / any other model was called with. */
async function outcome(key: string, path: string, body: unknown) {
  const [openaiBefore, cheapBefore] = [openaiUpstream.requests.length, cheapUpstream.requests.length];
  const answer = await send(key, path, body);
  const toGpt4o = openaiUpstream.requests.slice(openaiBefore).filter((request) => isGpt4o(request.body.model));
  const toCheap = [...cheapUpstream.requests.slice(cheapBefore), ...openaiUpstream.requests.slice(openaiBefore).filter((request) => !isGpt4o(request.body.model))];
  const limit = (requests: typeof toCheap) => requests.map((request) => request.body.max_completion_tokens ?? request.body.max_tokens);
  return { status: answer.status, rule: answer.rule, gpt4o: limit(toGpt4o), cheap: limit(toCheap), text: answer.text.slice(0, 160) };
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
  routing_rules:
    - {name: cap, priority: 1, match: {key_aliases: [cap], model: [gpt-4o]}, action: {max_tokens_cap: 100}}
    - {name: cap-provider-name, priority: 2, match: {key_aliases: [cap-provider-name], model: [openai/gpt-4o]}, action: {max_tokens_cap: 100}}
    - {name: reroute, priority: 3, match: {key_aliases: [reroute], model: [gpt-4o]}, action: {route_to: cheap}}
    - {name: deny, priority: 4, match: {key_aliases: [deny], model: [gpt-4o]}, action: {deny_models: ["*"]}}
`);
  const api = new Management(gateway.url);
  for (const alias of RULES) keys[alias] = (await api.generateKey({ key_alias: alias })).key;
});

afterAll(async () => {
  await gateway?.close();
  await Promise.all([cheapUpstream.close(), openaiUpstream.close()]);
});

describe('a routing rule matching a model holds whatever the spelling of that model', () => {
  it('max_tokens_cap (model: gpt-4o or openai/gpt-4o) caps gpt-4o under every spelling', async () => {
    const dodged: string[] = [];
    for (const rule of ['cap', 'cap-provider-name']) {
      for (const surface of SPELLINGS.flatMap(SURFACES)) {
        const result = await outcome(keys[rule], surface.path, surface.body);
        // The /openai/v1 relay lowers the relayed body's limit to the cap as well (item 266).
        const capped = result.status === 200 && result.rule === rule && result.gpt4o.length === 1 && result.gpt4o[0] === 100;
        if (!capped) dodged.push(`${rule} ${surface.name} → ${JSON.stringify(result)}`);
      }
    }
    expect(dodged).toEqual([]);
  });

  it('route_to: cheap reroutes gpt-4o under every spelling (gpt-4o never called)', async () => {
    const dodged: string[] = [];
    for (const surface of SPELLINGS.flatMap(SURFACES)) {
      const result = await outcome(keys.reroute, surface.path, surface.body);
      if (result.status !== 200 || result.rule !== 'reroute' || result.gpt4o.length !== 0 || result.cheap.length !== 1) dodged.push(`${surface.name} → ${JSON.stringify(result)}`);
    }
    expect(dodged).toEqual([]);
  });

  it('a rule denying every model when gpt-4o is asked for refuses every spelling (403, gpt-4o never called)', async () => {
    const dodged: string[] = [];
    for (const surface of SPELLINGS.flatMap(SURFACES)) {
      const result = await outcome(keys.deny, surface.path, surface.body);
      if (result.status !== 403 || result.gpt4o.length !== 0) dodged.push(`${surface.name} → ${JSON.stringify(result)}`);
    }
    expect(dodged).toEqual([]);
  });

  it('gpt-4o-mini, in any spelling, matches none of these rules', async () => {
    for (const rule of RULES) {
      for (const model of ['cheap', 'gpt-4o-mini', 'GPT-4o-mini', 'openai/gpt-4o-mini']) {
        const result = await outcome(keys[rule], '/v1/chat/completions', chat(model));
        expect(result.status, `${rule} ${model}: ${result.text}`).toBe(200);
        expect(result.rule, `${rule} ${model}`).toBeNull();
        expect([...result.gpt4o, ...result.cheap], `${rule} ${model}`).toEqual([4000]);
      }
    }
  });
});
