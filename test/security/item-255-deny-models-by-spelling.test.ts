/**
 * The attack: a caller under a routing rule's `deny_models` (matched here by key alias) reaches the
 * denied model by respelling it. A wildcard (`"*"` or `"openai/*"` → `openai/*`) serves whatever
 * spelling the client sends and the gateway prices it as the model it names, but deny_models was
 * compared byte for byte with the requested name, the group and the deployments' `provider/model`.
 * Before this fix each of these was answered 200 by the gpt-4o upstream on /v1/chat/completions,
 * /v1/messages, /v1/responses and the /openai/v1 relay:
 * - `deny_models: [premium]` (premium → openai/gpt-4o): `GPT-4o`, `Gpt-4O`, `OPENAI/gpt-4o`,
 *   `openai/GPT-4o`, `OpenAI/OpenAI/GPT-4O`;
 * - `deny_models: [gpt-4o]`: all of those, and `openai/gpt-4o` and `openai/openai/gpt-4o` as spelled
 *   (upstream model "gpt-4o" / "openai/gpt-4o": gpt-4o, just not a group named so);
 * - `deny_models: [openai/gpt-4o]`: all of those but `openai/gpt-4o` itself.
 * Now a deny entry is compared, ignoring case, with the names the served model answers to (the
 * upstream model, with its provider, and without a vendor prefix of its own: the names a per-model
 * budget covers), so every spelling is refused with 403 model_not_allowed and the upstream sees
 * nothing. Models the rule does not deny (gpt-4o-mini in any case, cheap) stay reachable; allow-lists
 * (key, tier) already refused every respelling and are held here too.
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

/** Calls that reached gpt-4o (under any spelling, with or without a vendor prefix), never gpt-4o-mini. */
const gpt4oCalls = () => openaiUpstream.requests.filter((request) => /(^|\/)gpt-4o$/i.test(String(request.body.model))).length;

const chat = (model: string) => ({ model, max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] });
const SURFACES = (model: string) => [
  { name: `chat ${model}`, path: '/v1/chat/completions', body: chat(model) },
  { name: `messages ${model}`, path: '/v1/messages', body: chat(model) },
  { name: `responses ${model}`, path: '/v1/responses', body: { model, input: 'hi', max_output_tokens: 16 } },
  { name: `relay /openai/v1 ${model}`, path: '/openai/v1/chat/completions', body: chat(model) },
];
const SPELLINGS = ['gpt-4o', 'openai/gpt-4o', 'GPT-4o', 'Gpt-4O', 'OPENAI/gpt-4o', 'openai/GPT-4o', 'openai/openai/gpt-4o', 'OpenAI/OpenAI/GPT-4O'];
const RESTRICTIONS = ['deny_models [premium]', 'deny_models [gpt-4o]', 'deny_models [openai/gpt-4o]', 'deny_models [GPT-4O]', 'key models', 'tier models'];

async function send(key: string, path: string, body: unknown): Promise<{ status: number; text: string }> {
  const response = await fetch(`${gateway.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: response.status, text: await response.text() };
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
  default_tier: pro
  tiers:
    pro: {markup: 0, initial_credits: 1000}
    free: {markup: 0, initial_credits: 1000, models: [cheap, gpt-4o-mini]}
  routing_rules:
    - {name: deny-group, priority: 1, match: {key_aliases: [deny-group]}, action: {deny_models: [premium]}}
    - {name: deny-name, priority: 2, match: {key_aliases: [deny-name]}, action: {deny_models: [gpt-4o]}}
    - {name: deny-provider-name, priority: 3, match: {key_aliases: [deny-provider-name]}, action: {deny_models: [openai/gpt-4o]}}
    - {name: deny-upper, priority: 4, match: {key_aliases: [deny-upper]}, action: {deny_models: [GPT-4O]}}
`);
  const api = new Management(gateway.url);
  keys['deny_models [premium]'] = (await api.generateKey({ key_alias: 'deny-group' })).key;
  keys['deny_models [gpt-4o]'] = (await api.generateKey({ key_alias: 'deny-name' })).key;
  keys['deny_models [openai/gpt-4o]'] = (await api.generateKey({ key_alias: 'deny-provider-name' })).key;
  keys['deny_models [GPT-4O]'] = (await api.generateKey({ key_alias: 'deny-upper' })).key;
  keys['key models'] = (await api.generateKey({ models: ['cheap', 'gpt-4o-mini'] })).key;
  await api.newUser({ user_id: 'free-user', user_role: 'internal_user', tier: 'free', auto_create_key: false });
  keys['tier models'] = (await api.generateKey({ user_id: 'free-user' })).key;
});

afterAll(async () => {
  await gateway?.close();
  await Promise.all([cheapUpstream.close(), openaiUpstream.close()]);
});

describe('deny_models holds whatever the spelling of the denied model', () => {
  it('the master key reaches gpt-4o under every spelling on every surface (each is a way in)', async () => {
    const dead: string[] = [];
    for (const surface of SPELLINGS.flatMap(SURFACES)) {
      const before = gpt4oCalls();
      const answer = await send(MASTER_KEY, surface.path, surface.body);
      if (answer.status !== 200 || gpt4oCalls() === before) dead.push(`${surface.name} → ${answer.status} ${answer.text.slice(0, 200)}`);
    }
    expect(dead).toEqual([]);
  });

  for (const restriction of RESTRICTIONS) {
    it(`${restriction}: gpt-4o is refused under every spelling and never called`, async () => {
      const reached: string[] = [];
      for (const surface of SPELLINGS.flatMap(SURFACES)) {
        const before = gpt4oCalls();
        const answer = await send(keys[restriction], surface.path, surface.body);
        if (answer.status !== 403 || gpt4oCalls() !== before) reached.push(`${surface.name} → ${answer.status} ${answer.text.slice(0, 200)}`);
      }
      expect(reached).toEqual([]);
      const refused = await send(keys[restriction], '/v1/chat/completions', chat('GPT-4o'));
      expect((JSON.parse(refused.text) as { error: { code: string } }).error.code).toMatch(/^(model_not_allowed|model_not_in_tier)$/);
    });
  }

  it('the rules still let every caller reach the models they do not deny', async () => {
    for (const restriction of RESTRICTIONS.filter((name) => name.startsWith('deny_models'))) {
      for (const model of ['cheap', 'gpt-4o-mini', 'GPT-4o-mini', 'openai/gpt-4o-mini', 'openai/gpt-4.1-nano']) {
        const answer = await send(keys[restriction], '/v1/chat/completions', chat(model));
        expect(answer.status, `${restriction} ${model}: ${answer.text.slice(0, 200)}`).toBe(200);
      }
    }
  });
});
