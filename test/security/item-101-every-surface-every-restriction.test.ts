/**
 * The invariant, as a table: for every way a request can make the gateway call a model — the
 * `model` of every route (OpenAI, Anthropic and Gemini formats, native relays, `/openai/v1/*`,
 * media, rerank, agents), an alias, a name that differs from an allowed one only by case,
 * whitespace, a look-alike letter or a provider prefix, the Gemini URL's model against a body that
 * names another, the request's own `fallbacks`, the router's configured fallbacks after a failure,
 * `model: "auto"` at every power level, an agent's model — and for every kind of restriction — a
 * key's `models`, a user's, a team's, the user's platform tier, a routing rule's `deny_models`, a
 * key's `models` that name the premium models only as its own aliases for cheap ones —
 * the restricted caller never gets an answer from a premium model: every premium upstream
 * receives nothing from it. The same requests on the master key do reach the premium upstreams
 * (so each row is a way in, not a dead route). The cheap models' upstreams are unreachable, so a
 * fallback or an automatic choice would have to move to a premium model to answer at all.
 *
 * Before item 99's fix the last row failed on 24 of these surfaces: the aliased key's call for
 * "premium" went to "cheap" (its alias), and when cheap failed, the router's configured fallback
 * cheap → premium was taken as allowed by the key's list — on chat, completions, embeddings,
 * responses (translated and relayed), /v1/messages, /anthropic, every Gemini method,
 * /openai/v1/*, agents — and `auto` chose premium. The other rows held already (items 02, 19, 41,
 * 55, 57 closed what they cover); they keep every surface and restriction held to the invariant:
 * skipping the allow-list and limit checks in stages/resolve.ts, or the fallback filter in
 * auth/reachable-models.ts, makes every restricted row fail.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockAnthropic } from '../support/mock-anthropic.js';
import { MockGemini } from '../support/mock-gemini.js';
import { MockOpenAI } from '../support/mock-openai.js';
import { MockOpenAIMedia } from '../support/mock-openai-media.js';
import { chat, contents, gemini, SURFACES, surfaceModelsConfig, type Surface } from '../support/model-surfaces.js';

const premiumOpenAI = new MockOpenAI({ reply: 'premium answer' });
const premiumAnthropic = new MockAnthropic();
const premiumGemini = new MockGemini();
/** Images, moderations, rerank and speech, in their wire formats. */
const premiumMedia = new MockOpenAIMedia('sk-upstream');
let gateway: TestGateway;
let api: Management;

const premiumCalls = () => premiumOpenAI.requests.length + premiumAnthropic.requests.length + premiumGemini.requests.length + premiumMedia.requests.length;

/** Names that differ from an allowed one ("cheap") or a premium one only in form: none may open the premium model. */
const LOOKALIKES = ['Premium', 'PREMIUM', ' premium', 'premium ', 'pr\u0435mium', 'premium\u200b', 'openai/premium', 'openai/premium-upstream', 'premium-upstream', 'Cheap', 'cheap ', 'openai/cheap'];

async function send(key: string, surface: Surface): Promise<{ status: number; text: string }> {
  const response = await fetch(`${gateway.url}${surface.path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...surface.headers },
    body: JSON.stringify(surface.body),
  });
  return { status: response.status, text: (await response.text()).slice(0, 300) };
}

/** The restricted callers, each allowed only the cheap models by one kind of restriction. */
const restricted: Record<string, string> = {};

beforeAll(async () => {
  await Promise.all([premiumOpenAI.start(), premiumAnthropic.start(), premiumGemini.start(), premiumMedia.start()]);
  gateway = await startGateway(`
${surfaceModelsConfig({ openai: premiumOpenAI.url, anthropic: premiumAnthropic.url, gemini: premiumGemini.url, media: premiumMedia.url })}general_settings:
  master_key: ${MASTER_KEY}
platform:
  default_tier: pro
  tiers:
    pro: {markup: 0, initial_credits: 1000}
    free: {markup: 0, initial_credits: 1000, models: ["*cheap*"]}
  routing_rules:
    - name: no-premium-for-bots
      priority: 10
      match: {key_aliases: [restricted-bot]}
      action: {deny_models: ["*premium*"]}
`);
  api = new Management(gateway.url);
  const CHEAP = ['cheap', 'claude-cheap', 'gemini-cheap'];
  restricted['key models'] = (await api.generateKey({ models: CHEAP })).key;
  await api.newUser({ user_id: 'listed-user', user_role: 'internal_user', models: CHEAP, tier: 'pro' });
  restricted['user models'] = (await api.generateKey({ user_id: 'listed-user' })).key;
  await api.newTeam({ team_id: 'listed-team', models: CHEAP });
  restricted['team models'] = (await api.generateKey({ team_id: 'listed-team' })).key;
  await api.newUser({ user_id: 'free-user', user_role: 'internal_user', tier: 'free' });
  restricted['tier models'] = (await api.generateKey({ user_id: 'free-user' })).key;
  restricted['routing rule deny_models'] = (await api.generateKey({ key_alias: 'restricted-bot' })).key;
  // A key whose list names the premium models only as its own aliases for the cheap ones (item 99).
  restricted['key models naming its aliases'] = (await api.generateKey({ models: ['premium', 'claude-premium', 'gemini-premium'], aliases: { premium: 'cheap', 'claude-premium': 'claude-cheap', 'gemini-premium': 'gemini-cheap' } })).key;
});

afterAll(async () => {
  await gateway?.close();
  await Promise.all([premiumOpenAI.close(), premiumAnthropic.close(), premiumGemini.close(), premiumMedia.close()]);
});

describe('no restricted caller reaches a premium model, on any surface', () => {
  it('each surface is a way in to a premium model for the master key', async () => {
    const dead: string[] = [];
    for (const surface of SURFACES) {
      const before = premiumCalls();
      const answer = await send(MASTER_KEY, surface);
      // mock_response answers locally by design: it reaches no upstream for anyone.
      if (surface.name !== 'chat mock_response' && premiumCalls() === before) dead.push(`${surface.name} → ${answer.status} ${answer.text}`);
    }
    expect(dead).toEqual([]);
  });

  for (const restriction of ['key models', 'user models', 'team models', 'tier models', 'routing rule deny_models', 'key models naming its aliases']) {
    it(`${restriction}: every surface is refused and no premium upstream is called`, async () => {
      const key = restricted[restriction];
      // For the aliased key "premium" is a name it may send (meaning "cheap"): an answer (a mock, an
      // agent run reporting its failure) is fine, only a premium upstream's call is not.
      const answered = (status: number) => status === 200 && restriction !== 'key models naming its aliases';
      const reached: string[] = [];
      for (const surface of SURFACES) {
        const before = premiumCalls();
        const answer = await send(key, surface);
        if (premiumCalls() !== before || answered(answer.status)) reached.push(`${surface.name} → ${answer.status} ${answer.text}`);
      }
      for (const name of LOOKALIKES) {
        for (const surface of [{ name: `chat "${name}"`, path: '/v1/chat/completions', body: chat(name) }, { name: `gemini "${name}"`, path: gemini(name, 'generateContent'), body: contents }]) {
          const before = premiumCalls();
          const answer = await send(key, surface);
          if (premiumCalls() !== before || answered(answer.status)) reached.push(`${surface.name} → ${answer.status} ${answer.text}`);
        }
      }
      expect(reached).toEqual([]);
    });
  }
});
