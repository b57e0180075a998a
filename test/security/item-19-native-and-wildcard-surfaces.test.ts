/**
 * The newer ways into a model — provider-native routes (/gemini, /anthropic), wildcard groups,
 * `mock_response`, a request's own `fallbacks` — hold the same two lines as /v1/chat/completions:
 * 1. access: for random allow-lists and random requests over every route, no upstream ever receives
 *    a call for a model outside the caller's list, and a refused call is a 403 `model_not_allowed`;
 * 2. money: a native call is relayed as sent (the gateway sets no output limit on it), so its
 *    reservation covers everything settlement would accept from the provider — the output window
 *    when the request names none, plus thinking — and concurrent native calls whose upstream bills
 *    a long answer never take a key past its max_budget.
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockAnthropic } from '../support/mock-anthropic.js';
import { MockGemini } from '../support/mock-gemini.js';
import { MockOpenAI } from '../support/mock-openai.js';
import { seededRandom } from '../support/random.js';

interface Answer {
  status: number;
  body: { error?: { code?: string | null; status?: string; type?: string; message?: string } } & Record<string, unknown>;
}

async function post(url: string, path: string, key: string, body: unknown): Promise<Answer> {
  const response = await fetch(`${url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  const text = await response.text();
  let parsed: Answer['body'] = {};
  try {
    parsed = JSON.parse(text) as Answer['body'];
  } catch {
    // A stream or an empty body: only the status matters here.
  }
  return { status: response.status, body: parsed };
}

describe('every route reaches only the models a key, user and team allow (randomised)', () => {
  const gemini = new MockGemini({ promptTokens: 10, candidatesTokens: 5 });
  const anthropic = new MockAnthropic({ inputTokens: 10, outputTokens: 5 });
  const openai = new MockOpenAI({ reply: 'ok' });
  let gateway: TestGateway;
  let api: Management;

  /** Model groups by the upstream model they call: what an upstream receiving the call proves was reached. */
  const GROUPS = ['flash', 'pro', 'haiku', 'opus', 'cheap', 'pricey', 'openai/gpt-4o-mini', 'openai/gpt-4o'] as const;
  type Group = (typeof GROUPS)[number];
  const UPSTREAM: Record<Group, string> = {
    flash: 'gemini-2.0-flash',
    pro: 'gemini-1.5-pro',
    haiku: 'claude-3-5-haiku-20241022',
    opus: 'claude-3-opus-20240229',
    cheap: 'gpt-4o-mini',
    pricey: 'gpt-4o',
    'openai/gpt-4o-mini': 'gpt-4o-mini',
    'openai/gpt-4o': 'gpt-4o',
  };

  beforeAll(async () => {
    await Promise.all([gemini.start(), anthropic.start(), openai.start()]);
    gateway = await startGateway(`
model_list:
  - model_name: flash
    litellm_params: {model: gemini/gemini-2.0-flash, api_base: "${gemini.url}", api_key: g-key}
  - model_name: pro
    litellm_params: {model: gemini/gemini-1.5-pro, api_base: "${gemini.url}", api_key: g-key}
  - model_name: haiku
    litellm_params: {model: anthropic/claude-3-5-haiku-20241022, api_base: "${anthropic.url}", api_key: a-key}
  - model_name: opus
    litellm_params: {model: anthropic/claude-3-opus-20240229, api_base: "${anthropic.url}", api_key: a-key}
  - model_name: cheap
    litellm_params: {model: openai/gpt-4o-mini, api_base: "${openai.url}", api_key: sk-upstream}
  - model_name: pricey
    litellm_params: {model: openai/gpt-4o, api_base: "${openai.url}", api_key: sk-upstream}
  - model_name: "openai/*"
    litellm_params: {model: "openai/*", api_base: "${openai.url}", api_key: sk-upstream}
router_settings:
  num_retries: 0
  disable_cooldowns: true
  fallbacks: [{"flash": ["pro"]}, {"haiku": ["opus"]}, {"cheap": ["pricey"]}]
  model_group_alias: {"smart": "pricey", "thinker": "opus"}
general_settings:
  master_key: ${MASTER_KEY}
`);
    api = new Management(gateway.url);
  });
  afterAll(async () => {
    await gateway?.close();
    await Promise.all([gemini.close(), anthropic.close(), openai.close()]);
  });
  afterEach(() => {
    gemini.faults.length = 0;
    anthropic.faults.length = 0;
    openai.faults.length = 0;
    openai.alwaysFault = undefined;
  });

  /** What reached the upstreams since `marks`: the upstream models called. */
  const upstreamModels = () => [...gemini.requests.map((request) => request.model), ...anthropic.requests.map((request) => String(request.body.model)), ...openai.requests.map((request) => String(request.body.model))];

  /** A request for `model` (a group, an alias or a name no list allows) on one of the routes. */
  function request(random: () => number, model: string, fallback: string | undefined): { path: string; body: Record<string, unknown> } {
    const routes = ['chat', 'gemini', 'anthropic', 'mock'] as const;
    const route = routes[Math.floor(random() * routes.length)];
    const fallbacks = fallback ? { fallbacks: [fallback] } : {};
    if (route === 'gemini') return { path: `/gemini/v1beta/models/${encodeURIComponent(model)}:generateContent`, body: { contents: [{ role: 'user', parts: [{ text: 'hi' }] }], generationConfig: { maxOutputTokens: 10 } } };
    if (route === 'anthropic') return { path: '/anthropic/v1/messages', body: { model, max_tokens: 10, messages: [{ role: 'user', content: 'hi' }] } };
    const body = { model, max_tokens: 10, messages: [{ role: 'user', content: 'hi' }], ...fallbacks };
    return { path: '/v1/chat/completions', body: route === 'mock' ? { ...body, mock_response: 'mocked' } : body };
  }

  it('no upstream receives a model outside the lists, on any route, through any alias or fallback', async () => {
    const random = seededRandom(19);
    const NAMES = [...GROUPS, 'smart', 'thinker', 'openai/gpt-4-turbo'];
    const pick = <T>(items: readonly T[]) => items[Math.floor(random() * items.length)];
    const subset = () => GROUPS.filter(() => random() < 0.7);
    for (let round = 0; round < 12; round++) {
      const teamModels = random() < 0.5 ? subset() : [];
      // A team key may name only its team's models (a wider one is refused at creation).
      const keyModels = subset().filter((group) => teamModels.length === 0 || teamModels.includes(group));
      const teamId = `team-${round}`;
      await api.newTeam({ team_id: teamId, models: teamModels });
      const { key } = await api.generateKey({ models: keyModels, team_id: teamId });
      // What the caller may reach: the upstream models of groups every non-empty list names.
      const allowed = GROUPS.filter((group) => (keyModels.length === 0 || keyModels.includes(group)) && (teamModels.length === 0 || teamModels.includes(group)));
      const allowedUpstream = new Set(allowed.map((group) => UPSTREAM[group]));
      for (let call = 0; call < 8; call++) {
        const before = { gemini: gemini.requests.length, anthropic: anthropic.requests.length, openai: openai.requests.length };
        // Half the calls fail on the first attempt, so configured fallbacks would be tried.
        if (random() < 0.5) {
          gemini.faults.push({ kind: 'internal' });
          anthropic.faults.push({ kind: 'error', status: 500 } as never);
          openai.faults.push({ kind: 'error', status: 500 });
        }
        const model = pick(NAMES);
        const { path, body } = request(random, model, random() < 0.3 ? pick(NAMES) : undefined);
        const answer = await post(gateway.url, path, key, body);
        gemini.faults.length = 0;
        anthropic.faults.length = 0;
        openai.faults.length = 0;
        const reached = [
          ...gemini.requests.slice(before.gemini).map((request) => request.model),
          ...anthropic.requests.slice(before.anthropic).map((request) => String(request.body.model)),
          ...openai.requests.slice(before.openai).map((request) => String(request.body.model)),
        ];
        const context = `round ${round} call ${call}: key ${JSON.stringify(keyModels)} team ${JSON.stringify(teamModels)} ${path} ${JSON.stringify(body)} → ${answer.status} ${JSON.stringify(answer.body).slice(0, 300)}`;
        for (const upstream of reached) expect(allowedUpstream.has(upstream), `${context} reached ${upstream}`).toBe(true);
        // A name outside the lists (directly or through an alias) is a 403, never an answer.
        const requestedGroup = model === 'smart' ? 'pricey' : model === 'thinker' ? 'opus' : model;
        if (!(allowed as string[]).includes(requestedGroup) && !(keyModels as string[]).includes(model)) {
          expect([403, 404, 400], context).toContain(answer.status);
          expect(reached, context).toEqual([]);
        }
      }
    }
    // The run did reach upstreams, so the property was not vacuous.
    expect(upstreamModels().length).toBeGreaterThan(5);
  });
});

describe('mock_response runs after the allow-lists and the limits', () => {
  const upstream = new MockOpenAI({ reply: 'real' });
  let gateway: TestGateway;
  let api: Management;

  beforeAll(async () => {
    await upstream.start();
    gateway = await startGateway(`
model_list:
  - model_name: cheap
    litellm_params: {model: openai/gpt-4o-mini, api_base: "${upstream.url}", api_key: sk-upstream}
  - model_name: pricey
    litellm_params: {model: openai/gpt-4o, api_base: "${upstream.url}", api_key: sk-upstream}
general_settings:
  master_key: ${MASTER_KEY}
`);
    api = new Management(gateway.url);
  });
  afterAll(async () => {
    await gateway?.close();
    await upstream.close();
  });

  const mock = (key: string, model: string) => post(gateway.url, '/v1/chat/completions', key, { model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 10, mock_response: 'mocked' });

  it('refuses a model the key may not use, a spent budget and a passed rpm limit, as a real call', async () => {
    const limited = await api.generateKey({ models: ['cheap'] });
    const denied = await mock(limited.key, 'pricey');
    expect(denied.status).toBe(403);
    expect(denied.body.error?.code).toBe('model_not_allowed');
    const broke = await api.generateKey({ models: ['cheap'], max_budget: 0 });
    expect((await mock(broke.key, 'cheap')).status).toBeGreaterThanOrEqual(400);
    const slow = await api.generateKey({ models: ['cheap'], rpm_limit: 1 });
    expect((await mock(slow.key, 'cheap')).status).toBe(200);
    expect((await mock(slow.key, 'cheap')).status).toBe(429);
    expect(upstream.requests).toHaveLength(0);
  });
});

describe('a native call cannot cost more than its budget reservation', () => {
  // gemini-2.0-flash list prices: $0.10/M input, $0.40/M output. The upstream answers 20,000
  // output tokens: $0.008 per call, well within the usage bounds a request without
  // maxOutputTokens has (the model's whole output window).
  const gemini = new MockGemini({ promptTokens: 100, candidatesTokens: 20_000 });
  let gateway: TestGateway;
  let api: Management;

  beforeAll(async () => {
    await gemini.start();
    gateway = await startGateway(`
model_list:
  - model_name: flash
    litellm_params: {model: gemini/gemini-2.0-flash, api_base: "${gemini.url}", api_key: g-key}
router_settings:
  num_retries: 0
general_settings:
  master_key: ${MASTER_KEY}
`);
    api = new Management(gateway.url);
  });
  afterAll(async () => {
    await gateway?.close();
    await gemini.close();
  });

  it('concurrent native calls (with or without maxOutputTokens, thinking on or off) never take spend past max_budget', async () => {
    const random = seededRandom(1919);
    let served = 0;
    for (let round = 0; round < 4; round++) {
      // $0.002–$0.07: from less than one upstream answer to several.
      const budgetUsd = Math.round((0.002 + random() * 0.068) * 1e6) / 1e6;
      const { key } = await api.generateKey({ models: ['flash'], max_budget: budgetUsd });
      const calls = Array.from({ length: 6 }, () => {
        const generationConfig: Record<string, unknown> = {};
        if (random() < 0.5) generationConfig.maxOutputTokens = 1 + Math.floor(random() * 200);
        if (random() < 0.5) generationConfig.thinkingConfig = { thinkingBudget: 0 };
        const stream = random() < 0.5;
        const path = `/gemini/v1beta/models/flash:${stream ? 'streamGenerateContent?alt=sse' : 'generateContent'}`;
        return post(gateway.url, path, key, { contents: [{ role: 'user', parts: [{ text: 'write at length' }] }], generationConfig });
      });
      const answers = await Promise.all(calls);
      served += answers.filter((answer) => answer.status === 200).length;
      await gateway.flushUsage();
      const info = await api.keyInfo(key);
      expect(info.spend, `round ${round}: budget $${budgetUsd}, answers ${answers.map((answer) => answer.status).join(',')}`).toBeLessThanOrEqual(budgetUsd);
      // A refused call says why, in Google's envelope.
      for (const answer of answers.filter((answer) => answer.status !== 200)) {
        expect(answer.status).toBeGreaterThanOrEqual(400);
        expect(answer.status).toBeLessThan(500);
        expect(answer.body.error?.message).toMatch(/budget/i);
      }
    }
    // Calls the budgets could pay for were served: the property is not kept by refusing everything.
    expect(served).toBeGreaterThan(0);
  });

  it('a key whose budget covers the worst case is served and charged the full answer', async () => {
    const { key } = await api.generateKey({ models: ['flash'], max_budget: 1 });
    const answer = await post(gateway.url, '/gemini/v1beta/models/flash:generateContent', key, { contents: [{ role: 'user', parts: [{ text: 'hi' }] }] });
    expect(answer.status).toBe(200);
    await gateway.flushUsage();
    // 100 × $0.10/M + 20,000 × $0.40/M = $0.00801.
    expect((await api.keyInfo(key)).spend).toBeCloseTo(0.00801, 6);
  });
});

describe('the /openai/v1 relay reserves every completion it asks for', () => {
  const upstream = new MockOpenAI({ reply: 'ok' });
  let gateway: TestGateway;
  let api: Management;

  beforeAll(async () => {
    await upstream.start();
    gateway = await startGateway(`
model_list:
  - model_name: gpt
    litellm_params: {model: openai/gpt-4o-mini, api_base: "${upstream.url}", api_key: sk-upstream}
    model_info: {input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}
router_settings:
  num_retries: 0
general_settings:
  master_key: ${MASTER_KEY}
`);
    api = new Management(gateway.url);
  });
  afterAll(async () => {
    await gateway?.close();
    await upstream.close();
  });

  it('n (or best_of) multiplies the output reserved: 8 × 1,000 tokens do not fit a budget that 1,000 do', async () => {
    // One completion of 1,000 tokens at most costs about 2,000 µ$ (plus a small prompt); eight, 16,000 µ$.
    const { key } = await api.generateKey({ models: ['gpt'], max_budget: 0.005 });
    const ask = (extra: Record<string, unknown>) => post(gateway.url, '/openai/v1/chat/completions', key, { model: 'gpt', messages: [{ role: 'user', content: 'hi' }], max_tokens: 1000, ...extra });
    for (const extra of [{ n: 8 }, { best_of: 8 }, { n: 2, best_of: 8 }]) {
      const refused = await ask(extra);
      expect(refused.status, JSON.stringify(refused.body)).toBeGreaterThanOrEqual(400);
      expect(refused.status).toBeLessThan(500);
      expect(refused.body.error?.message).toMatch(/budget/i);
    }
    expect(upstream.requests).toHaveLength(0);
    expect((await ask({ n: 1 })).status).toBe(200);
    expect(upstream.requests).toHaveLength(1);
  });
});
