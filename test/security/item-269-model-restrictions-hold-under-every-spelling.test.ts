/**
 * Invariant: a restriction on a model holds whatever the spelling of that model. Items 172, 249, 255,
 * 265 and 266 closed, one table at a time, ways an ordinary key respelled gpt-4o to dodge a
 * restriction through a wildcard deployment group (`"*"` → `openai/*`, and `"openai/*"`): a wildcard
 * serves whatever spelling the client sends and the gateway prices it as the model it names, so a
 * byte-for-byte comparison anywhere lets the call through. This test generates the whole cross product
 * instead of listing examples:
 *   restriction kinds (13): key / user / team / tier `models` and rule `allow_models` (allow-lists that
 *     never name gpt-4o), and — each naming the model as `gpt-4o` and as the configured group
 *     `premium` (→ openai/gpt-4o) — rule `deny_models`, rule `match.model` + `max_tokens_cap`, rule
 *     `match.model` + `route_to: cheap`, key `model_max_budget` spent to 0;
 *   × spellings of gpt-4o (10): exact, upper, mixed case, provider-prefixed, upper-case prefix, doubled
 *     prefix, the group `premium`, the router alias `smart` (model_group_alias), the key's own
 *     `aliases` entries (`mine` → gpt-4o, `mine-group` → premium);
 *   × surfaces (4): /v1/chat/completions, /v1/messages, /v1/responses, /openai/v1/chat/completions.
 * For each combination the restriction's effect is asserted from what the upstreams received: refused
 * (403/400) with no upstream call at all; capped (the gpt-4o call carried 100, not the client's 4000,
 * and the rule is named); rerouted (the cheap mock answered, gpt-4o never called). A key with the same
 * aliases and no restriction reaches gpt-4o with 4000 under every spelling on every surface, so each
 * row is a real way in and each effect is observable; gpt-4o-mini (every spelling the restriction does
 * not itself list) still answers 200, unrestricted, so no row passes by refusing everything.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { wildcardModelList } from '../support/wildcard-models.js';
import { Management } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';
import { chat } from '../support/model-surfaces.js';

const cheapUpstream = new MockOpenAI({ reply: 'cheap answer' });
const openaiUpstream = new MockOpenAI({ reply: 'openai answer' });
let gateway: TestGateway;
let api: Management;
const keys: Record<string, string> = {};

/** The client asks for 4000 output tokens; a capping rule lowers that to CAP. */
const ASKED = 4000;
const CAP = 100;
/** The key's own names: one leading through the wildcard, one to the configured group. */
const KEY_ALIASES = { mine: 'gpt-4o', 'mine-group': 'premium' };
/** What the allow-lists allow: gpt-4o-mini (cheap), never gpt-4o. */
const ALLOWED = ['cheap', 'gpt-4o-mini', 'openai/gpt-4o-mini'];

const SPELLINGS = ['gpt-4o', 'GPT-4O', 'Gpt-4o', 'openai/gpt-4o', 'OPENAI/gpt-4o', 'openai/openai/gpt-4o', 'premium', 'smart', 'mine', 'mine-group'];
/** gpt-4o-mini under every spelling a list-free restriction must leave alone. */
const CONTROL_SPELLINGS = ['cheap', 'gpt-4o-mini', 'GPT-4O-MINI', 'Gpt-4o-Mini', 'openai/gpt-4o-mini', 'OPENAI/gpt-4o-mini', 'openai/openai/gpt-4o-mini'];
const SURFACES = [
  { path: '/v1/chat/completions', body: (model: string) => chat(model, { max_tokens: ASKED }) },
  { path: '/v1/messages', body: (model: string) => chat(model, { max_tokens: ASKED }) },
  { path: '/v1/responses', body: (model: string) => ({ model, input: 'hi', max_output_tokens: ASKED }) },
  { path: '/openai/v1/chat/completions', body: (model: string) => chat(model, { max_tokens: ASKED }) },
];

type Effect = 'refuse' | 'cap' | 'reroute';
interface Restriction {
  name: string;
  effect: Effect;
  /** The rule named in x-switchboard-rule when the restriction is a rule that lets the call through. */
  rule?: string;
  /** Spellings of gpt-4o-mini the restriction must answer 200 without applying itself. */
  controls: string[];
  /**
   * The x-switchboard-rule header on those: a rule matched by key alias alone (allow_models,
   * deny_models) applies to every call of its key and is named even when it lets the model through;
   * a rule that also matches `model: [gpt-4o]` must not match gpt-4o-mini (null).
   */
  controlRule?: string;
}
const RESTRICTIONS: Restriction[] = [
  ...['key models', 'user models', 'team models', 'tier models'].map((name) => ({ name, effect: 'refuse' as const, controls: ALLOWED })),
  { name: 'rule allow_models', effect: 'refuse', controls: ALLOWED, controlRule: 'allow' },
  ...['gpt-4o', 'premium'].flatMap((target): Restriction[] => [
    { name: `rule deny_models [${target}]`, effect: 'refuse', controls: CONTROL_SPELLINGS, controlRule: `deny-${target}` },
    { name: `rule match.model [${target}] max_tokens_cap`, effect: 'cap', rule: `cap-${target}`, controls: CONTROL_SPELLINGS },
    { name: `rule match.model [${target}] route_to cheap`, effect: 'reroute', rule: `reroute-${target}`, controls: CONTROL_SPELLINGS },
    { name: `key model_max_budget {${target}: 0}`, effect: 'refuse', controls: CONTROL_SPELLINGS },
  ]),
];

const isGpt4o = (model: unknown) => /(^|\/)gpt-4o$/i.test(String(model));
const limitOf = (body: Record<string, unknown>) => body.max_completion_tokens ?? body.max_tokens ?? body.max_output_tokens;

/** One call and what it did upstream: the output limit of each call that reached gpt-4o, and of every other call per mock. */
async function outcome(key: string, path: string, body: unknown) {
  const [openaiBefore, cheapBefore] = [openaiUpstream.requests.length, cheapUpstream.requests.length];
  const response = await fetch(`${gateway.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await response.text();
  const viaOpenai = openaiUpstream.requests.slice(openaiBefore).map((request) => request.body);
  const viaCheap = cheapUpstream.requests.slice(cheapBefore).map((request) => request.body);
  return {
    status: response.status,
    rule: response.headers.get('x-switchboard-rule'),
    gpt4o: viaOpenai.filter((request) => isGpt4o(request.model)).map(limitOf),
    other: viaOpenai.filter((request) => !isGpt4o(request.model)).map(limitOf),
    cheap: viaCheap.map(limitOf),
    text: response.status === 200 ? '' : text.slice(0, 160),
  };
}
type Outcome = Awaited<ReturnType<typeof outcome>>;

/** Whether an outcome is the restriction's effect on gpt-4o. */
function held(restriction: Restriction, result: Outcome): boolean {
  const upstreamCalls = result.gpt4o.length + result.other.length + result.cheap.length;
  switch (restriction.effect) {
    case 'refuse':
      return (result.status === 403 || result.status === 400) && upstreamCalls === 0;
    case 'cap':
      return result.status === 200 && result.rule === restriction.rule && result.gpt4o.length === 1 && result.gpt4o[0] === CAP && upstreamCalls === 1;
    case 'reroute':
      return result.status === 200 && result.rule === restriction.rule && result.gpt4o.length === 0 && result.cheap.length === 1 && upstreamCalls === 1;
  }
}

beforeAll(async () => {
  await Promise.all([cheapUpstream.start(), openaiUpstream.start()]);
  const allowed = `[${ALLOWED.join(', ')}]`;
  gateway = await startGateway(`
${wildcardModelList(cheapUpstream.url, openaiUpstream.url)}
router_settings:
  num_retries: 0
  disable_cooldowns: true
  model_group_alias: {"smart": "premium"}
general_settings:
  master_key: ${MASTER_KEY}
platform:
  default_tier: pro
  tiers:
    pro: {markup: 0, initial_credits: 1000}
    free: {markup: 0, initial_credits: 1000, models: ${allowed}}
  routing_rules:
    - {name: allow, priority: 1, match: {key_aliases: [allow]}, action: {allow_models: ${allowed}}}
    - {name: deny-gpt-4o, priority: 2, match: {key_aliases: [deny-gpt-4o]}, action: {deny_models: [gpt-4o]}}
    - {name: deny-premium, priority: 3, match: {key_aliases: [deny-premium]}, action: {deny_models: [premium]}}
    - {name: cap-gpt-4o, priority: 4, match: {key_aliases: [cap-gpt-4o], model: [gpt-4o]}, action: {max_tokens_cap: ${CAP}}}
    - {name: cap-premium, priority: 5, match: {key_aliases: [cap-premium], model: [premium]}, action: {max_tokens_cap: ${CAP}}}
    - {name: reroute-gpt-4o, priority: 6, match: {key_aliases: [reroute-gpt-4o], model: [gpt-4o]}, action: {route_to: cheap}}
    - {name: reroute-premium, priority: 7, match: {key_aliases: [reroute-premium], model: [premium]}, action: {route_to: cheap}}
`);
  api = new Management(gateway.url);
  // Every key, restricted or not, carries the same own aliases, so `mine` / `mine-group` are ways in for each.
  const key = async (fields: Record<string, unknown>) => (await api.generateKey({ aliases: KEY_ALIASES, ...fields })).key;
  keys.plain = await key({});
  keys['key models'] = await key({ models: ALLOWED });
  await api.newUser({ user_id: 'listed-user', user_role: 'internal_user', models: ALLOWED, auto_create_key: false });
  keys['user models'] = await key({ user_id: 'listed-user' });
  await api.newTeam({ team_id: 'listed-team', models: ALLOWED });
  keys['team models'] = await key({ team_id: 'listed-team' });
  await api.newUser({ user_id: 'free-user', user_role: 'internal_user', tier: 'free', auto_create_key: false });
  keys['tier models'] = await key({ user_id: 'free-user' });
  keys['rule allow_models'] = await key({ key_alias: 'allow' });
  for (const target of ['gpt-4o', 'premium']) {
    keys[`rule deny_models [${target}]`] = await key({ key_alias: `deny-${target}` });
    keys[`rule match.model [${target}] max_tokens_cap`] = await key({ key_alias: `cap-${target}` });
    keys[`rule match.model [${target}] route_to cheap`] = await key({ key_alias: `reroute-${target}` });
    keys[`key model_max_budget {${target}: 0}`] = await key({ model_max_budget: { [target]: { budget_limit: 0 } } });
  }
  keys.charged = await key({ model_max_budget: { premium: { budget_limit: 10 } } });
});

afterAll(async () => {
  await gateway?.close();
  await Promise.all([cheapUpstream.close(), openaiUpstream.close()]);
});

const CASES = SPELLINGS.flatMap((model) => SURFACES.map((surface) => ({ name: `${model} on ${surface.path}`, path: surface.path, body: surface.body(model) })));

describe('model restrictions hold under every spelling of the restricted model', () => {
  it(`each of the ${CASES.length} spellings × surfaces is a way in: an unrestricted key reaches gpt-4o with the client's limit`, async () => {
    const dead: string[] = [];
    for (const row of CASES) {
      const result = await outcome(keys.plain, row.path, row.body);
      if (result.status !== 200 || result.rule !== null || result.gpt4o.length !== 1 || result.gpt4o[0] !== ASKED) dead.push(`${row.name} → ${JSON.stringify(result)}`);
    }
    expect(dead).toEqual([]);
  });

  for (const restriction of RESTRICTIONS) {
    it(`${restriction.name}: ${restriction.effect} under every spelling × surface; gpt-4o-mini unaffected`, async () => {
      const dodged: string[] = [];
      for (const row of CASES) {
        const result = await outcome(keys[restriction.name], row.path, row.body);
        if (!held(restriction, result)) dodged.push(`${row.name} → ${JSON.stringify(result)}`);
      }
      // The control: the restriction does not act on gpt-4o-mini (200, no capping or rerouting rule, the client's limit, no gpt-4o call).
      const overreach: string[] = [];
      for (const model of restriction.controls) {
        for (const surface of SURFACES) {
          const result = await outcome(keys[restriction.name], surface.path, surface.body(model));
          const reached = [...result.other, ...result.cheap];
          if (result.status !== 200 || result.rule !== (restriction.controlRule ?? null) || result.gpt4o.length !== 0 || reached.length !== 1 || reached[0] !== ASKED) overreach.push(`${model} on ${surface.path} → ${JSON.stringify(result)}`);
        }
      }
      expect({ dodged, overreach }).toEqual({ dodged: [], overreach: [] });
    });
  }

  it('an entry naming the group is charged for its upstream model served through a wildcard (a budget that is never charged is never spent)', async () => {
    for (const model of ['GPT-4O', 'openai/openai/gpt-4o', 'mine']) {
      const before = (await api.keyInfo(keys.charged)).model_spend?.premium ?? 0;
      const result = await outcome(keys.charged, '/v1/chat/completions', chat(model, { max_tokens: ASKED }));
      expect(result.gpt4o, `${model}: ${result.text}`).toEqual([ASKED]);
      expect((await api.keyInfo(keys.charged)).model_spend?.premium ?? 0, model).toBeGreaterThan(before);
    }
  });
});
