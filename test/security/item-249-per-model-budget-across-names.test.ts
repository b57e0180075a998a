/**
 * The attack: a key whose `model_max_budget` entry for gpt-4o (or claude-3-5-sonnet-20241022,
 * gemini-1.5-pro) is spent reaches the same model under another name, so the entry is not charged.
 * An entry covers the model that SERVES the call (its group, the deployment's upstream model or its
 * `model_info.base_model`), but names were compared byte for byte, so before this fix each of these
 * was answered 200 by the upstream and charged to no entry:
 * - a wildcard (`"*"`, `"openai/*"`, `"anthropic/*"`, `"gemini/*"`) serving the model under another
 *   spelling: `GPT-4o`, `openai/GPT-4o`, `OPENAI/gpt-4o` (priced by the gateway as gpt-4o all the
 *   same), `openai/openai/gpt-4o` (upstream `openai/gpt-4o`, as an aggregator names gpt-4o),
 *   `anthropic/Claude-3-5-Sonnet-20241022`, `gemini/Gemini-1.5-Pro` — on chat, /v1/messages,
 *   /v1/responses, the /openai/v1 relay, /anthropic native, /gemini native and as a request fallback;
 * - an Azure group whose deployment name hides the model (`azure/my-gpt4o-deploy`, `base_model: gpt-4o`);
 * - a configured pass-through endpoint relaying to the provider: it carries no price, and refused
 *   only keys with a `max_budget`, not keys held to per-model budgets.
 * Now an entry is matched against the served model (the group, the deployment's upstream model and
 * base_model, each also without a vendor prefix) ignoring case, so every name above is refused with
 * 400 budget_exceeded and the upstream sees nothing; pass-through refuses such a key with 403.
 * Other models stay reachable (`GPT-4o-mini` through the same wildcard, `cheap`).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockAnthropic } from '../support/mock-anthropic.js';
import { MockGemini } from '../support/mock-gemini.js';
import { MockOpenAI } from '../support/mock-openai.js';

const PRICES = 'input_cost_per_token: 0.000001, output_cost_per_token: 0.000002';
const openai = new MockOpenAI({ reply: 'answer' });
const anthropic = new MockAnthropic();
const gemini = new MockGemini();
let gateway: TestGateway;
let budgeted: string;

const upstreamCalls = () => openai.requests.length + anthropic.requests.length + gemini.requests.length;
const chat = (model: string, extra: Record<string, unknown> = {}) => ({ model, max_tokens: 10, messages: [{ role: 'user', content: 'hi' }], ...extra });
const geminiPath = (model: string) => `/gemini/v1beta/models/${encodeURIComponent(model)}:generateContent`;
const contents = { contents: [{ role: 'user', parts: [{ text: 'hi' }] }], generationConfig: { maxOutputTokens: 10 } };

/** Ways to the three budgeted models under names other than their entries. */
const OTHER_NAMES = [
  { name: 'chat GPT-4o (through "*")', path: '/v1/chat/completions', body: chat('GPT-4o') },
  { name: 'chat openai/GPT-4o (through "openai/*")', path: '/v1/chat/completions', body: chat('openai/GPT-4o') },
  { name: 'chat OPENAI/gpt-4o (through "*")', path: '/v1/chat/completions', body: chat('OPENAI/gpt-4o') },
  { name: 'chat openai/openai/gpt-4o (upstream openai/gpt-4o)', path: '/v1/chat/completions', body: chat('openai/openai/gpt-4o') },
  { name: 'chat azure-4o (base_model gpt-4o)', path: '/v1/chat/completions', body: chat('azure-4o') },
  { name: 'messages GPT-4o', path: '/v1/messages', body: chat('GPT-4o') },
  { name: 'responses Gpt-4O', path: '/v1/responses', body: { model: 'Gpt-4O', input: 'hi', max_output_tokens: 16 } },
  { name: 'relay /openai/v1 GPT-4o', path: '/openai/v1/chat/completions', body: chat('GPT-4o') },
  { name: 'request fallback GPT-4o', path: '/v1/chat/completions', body: chat('broken', { fallbacks: ['GPT-4o'] }) },
  { name: 'messages anthropic/Claude-3-5-Sonnet-20241022', path: '/v1/messages', body: chat('anthropic/Claude-3-5-Sonnet-20241022') },
  { name: 'anthropic native anthropic/Claude-3-5-Sonnet-20241022', path: '/anthropic/v1/messages', body: chat('anthropic/Claude-3-5-Sonnet-20241022') },
  { name: 'gemini native gemini/Gemini-1.5-Pro', path: geminiPath('gemini/Gemini-1.5-Pro'), body: contents },
  { name: 'pass-through endpoint /relay', path: '/relay', body: chat('gpt-4o') },
];

async function send(key: string, path: string, body: unknown): Promise<{ status: number; text: string }> {
  const response = await fetch(`${gateway.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: response.status, text: await response.text() };
}

beforeAll(async () => {
  await Promise.all([openai.start(), anthropic.start(), gemini.start()]);
  gateway = await startGateway(`
model_list:
  - model_name: gpt-4o
    litellm_params: {model: openai/gpt-4o, api_base: "${openai.url}", api_key: sk-upstream}
    model_info: {id: dep-gpt-4o, ${PRICES}}
  - model_name: cheap
    litellm_params: {model: openai/gpt-4o-mini, api_base: "${openai.url}", api_key: sk-upstream}
    model_info: {id: dep-cheap, ${PRICES}}
  - model_name: broken
    litellm_params: {model: openai/gpt-4o-mini, api_base: "http://127.0.0.1:9", api_key: sk-upstream}
    model_info: {id: dep-broken, ${PRICES}}
  - model_name: azure-4o
    litellm_params: {model: azure/my-gpt4o-deploy, api_base: "${openai.url}", api_key: sk-upstream, api_version: "2024-06-01"}
    model_info: {id: dep-azure, base_model: gpt-4o, ${PRICES}}
  - model_name: claude
    litellm_params: {model: anthropic/claude-3-5-sonnet-20241022, api_base: "${anthropic.url}", api_key: sk-ant}
    model_info: {id: dep-claude, ${PRICES}}
  - model_name: gem
    litellm_params: {model: gemini/gemini-1.5-pro, api_base: "${gemini.url}", api_key: g-key}
    model_info: {id: dep-gem, ${PRICES}}
  - model_name: "openai/*"
    litellm_params: {model: "openai/*", api_base: "${openai.url}", api_key: sk-upstream}
  - model_name: "anthropic/*"
    litellm_params: {model: "anthropic/*", api_base: "${anthropic.url}", api_key: sk-ant}
  - model_name: "gemini/*"
    litellm_params: {model: "gemini/*", api_base: "${gemini.url}", api_key: g-key}
  - model_name: "*"
    litellm_params: {model: "openai/*", api_base: "${openai.url}", api_key: sk-upstream}
router_settings:
  num_retries: 0
  disable_cooldowns: true
general_settings:
  master_key: ${MASTER_KEY}
  pass_through_endpoints:
    - path: /relay
      target: ${openai.url}/chat/completions
      headers: {Authorization: "Bearer sk-upstream"}
`);
  const api = new Management(gateway.url);
  // Nothing left on any of the three entries: every call the entries cover is refused.
  budgeted = (await api.generateKey({ model_max_budget: { 'gpt-4o': { budget_limit: 0 }, 'claude-3-5-sonnet-20241022': 0, 'gemini-1.5-pro': { budget_limit: 0, time_period: '1d' } } })).key;
});

afterAll(async () => {
  await gateway?.close();
  await Promise.all([openai.close(), anthropic.close(), gemini.close()]);
});

describe('a per-model budget holds under every name of its model', () => {
  it('each name is a way in: the master key is answered by the upstream', async () => {
    const dead: string[] = [];
    for (const row of OTHER_NAMES) {
      const before = upstreamCalls();
      const answer = await send(MASTER_KEY, row.path, row.body);
      if (answer.status !== 200 || upstreamCalls() === before) dead.push(`${row.name} → ${answer.status} ${answer.text.slice(0, 200)}`);
    }
    expect(dead).toEqual([]);
  });

  it('the entries hold their own names', async () => {
    for (const model of ['gpt-4o', 'claude', 'gem']) {
      const answer = await send(budgeted, '/v1/chat/completions', chat(model));
      expect(answer.status, answer.text).toBe(400);
      expect(answer.text).toContain('(model_max_budget)');
    }
  });

  it('no other name reaches a spent model, and the upstream is never called', async () => {
    const reached: string[] = [];
    for (const row of OTHER_NAMES) {
      const before = upstreamCalls();
      const answer = await send(budgeted, row.path, row.body);
      const refused = row.path === '/relay' ? answer.status === 403 : answer.status === 400 && answer.text.includes('(model_max_budget)');
      if (!refused || upstreamCalls() !== before) reached.push(`${row.name} → ${answer.status} ${answer.text.slice(0, 200)}`);
    }
    expect(reached).toEqual([]);
  });

  it('other models stay reachable, through the same wildcard too', async () => {
    for (const model of ['cheap', 'GPT-4o-mini', 'openai/gpt-4o-mini']) {
      const answer = await send(budgeted, '/v1/chat/completions', chat(model));
      expect(answer.status, `${model}: ${answer.text}`).toBe(200);
    }
  });
});
