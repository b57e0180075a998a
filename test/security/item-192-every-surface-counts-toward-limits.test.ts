/**
 * The invariant, as a table: every way a request can make the gateway call a model (the surfaces
 * of item 101, test/support/model-surfaces.ts, plus the platform's /api/v1/llm routes, the Testing
 * Lab and a configured pass-through endpoint) counts toward the limits of the key it presents,
 * and of that key's user and team:
 *  - `rpm_limit: 2`: of 4 sequential calls exactly 2 are answered, the others refused with 429,
 *    and the upstreams see exactly 2 (none for `mock_response`, answered locally by design);
 *  - `max_parallel_requests: 1`: with a slow upstream, of 2 concurrent calls exactly 1 reaches the
 *    upstream, the other is refused with 429;
 *  - `max_budget` spent by one call (set to what the first call was charged, once it was): the next
 *    calls are refused with 400 `budget_exceeded` (README, Enforcement) and the upstreams see nothing
 *    more; likewise a user's platform credits (balance adjusted to 0 after one call): 402.
 *    Calls that carry no price (`mock_response`, moderations, token counting, pass-through
 *    endpoints, which refuse budgeted callers outright) are held to the rate limits only.
 * The slow upstream is a CountingProxy (test/support/counting-proxy.ts) in front of each mock: it
 * counts what reaches the upstreams and holds requests back while a test needs them in flight.
 * The limits are set on the key, its user, its team, a budget object linked to the key or to its
 * team, or the stored customer the call names (`x-litellm-end-user-id`). A user's key and a key
 * linked to a budget are tried on every surface but the pass-through endpoint, which refuses them
 * outright (README, Pass-through endpoints). One gateway serves every row; each row gets a fresh
 * key, user, team, budget or customer.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { CountingProxy } from '../support/counting-proxy.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockAnthropic } from '../support/mock-anthropic.js';
import { MockGemini } from '../support/mock-gemini.js';
import { MockOpenAI } from '../support/mock-openai.js';
import { MockOpenAIMedia } from '../support/mock-openai-media.js';
import { chat, contents, SURFACES, surfaceModelsConfig, UPLOAD_SURFACES, type Way } from '../support/model-surfaces.js';

const openai = new MockOpenAI({ reply: 'premium answer' });
const anthropic = new MockAnthropic();
const gemini = new MockGemini();
const media = new MockOpenAIMedia('sk-upstream');
const proxies: CountingProxy[] = [];
let gateway: TestGateway;
let api: Management;

const upstreamCalls = () => proxies.reduce((sum, proxy) => sum + proxy.count, 0);
const heldCalls = () => proxies.reduce((sum, proxy) => sum + proxy.held, 0);

/**
 * Every way in: item 101's table, the uploads and native methods it leaves out (it holds models to
 * restrictions, which these share with their JSON siblings), and the routes that only the platform
 * layer or the config adds.
 */
const ALL_SURFACES: Way[] = [
  ...SURFACES,
  { name: 'chat without /v1', path: '/chat/completions', body: chat('premium') },
  { name: 'gemini v1 generateContent', path: '/gemini/v1/models/gemini-premium:generateContent', body: contents },
  ...UPLOAD_SURFACES,
  { name: 'platform chat (/api/v1/llm)', path: '/api/v1/llm/chat/completions', body: chat('premium') },
  { name: 'Testing Lab (/api/v1/llm/routing/test)', path: '/api/v1/llm/routing/test', body: { request: chat('premium') } },
  { name: 'pass-through endpoint', path: '/relay', body: chat('premium-upstream') },
];
/** Answered without an upstream call, by design. */
const LOCAL = new Set(['chat mock_response']);
/** No price: not held to budgets (see the header). */
const UNPRICED = new Set(['chat mock_response', 'pass-through moderations', 'moderations', 'anthropic native count_tokens', 'gemini countTokens', 'pass-through endpoint']);
/** Refused outright (403) for any user's key while credits are on, and for a key linked to a budget (README, Pass-through endpoints). */
const REFUSED_TO_USERS_AND_BUDGETS = new Set(['pass-through endpoint']);

/** The uploads' models: image edits take dall-e-2, transcripts are billed by the second. */
const MEDIA_MODELS = (url: string) => `  - model_name: premium-edits
    litellm_params: {model: openai/dall-e-2, api_base: "${url}", api_key: sk-upstream}
    model_info: {id: dep-premium-edits, mode: image_generation, output_cost_per_image: 0.02}
  - model_name: premium-whisper
    litellm_params: {model: openai/whisper-1, api_base: "${url}", api_key: sk-upstream}
    model_info: {id: dep-premium-whisper, mode: audio_transcription, input_cost_per_second: 0.0001}
`;

type Principal = 'key' | 'user' | 'team' | 'budget linked to the key' | 'budget linked to the team' | 'customer';
const PRINCIPALS: Principal[] = ['key', 'user', 'team', 'budget linked to the key', 'budget linked to the team', 'customer'];
let serial = 0;

/** Who a call is made as: its key, the headers that name its end user, and the holder of the limits. */
interface Holder {
  key: string;
  headers: Record<string, string>;
  /** Sets the limited holder's max_budget (USD). */
  setBudget(usd: number): Promise<void>;
  /** The limited holder's recorded spend (USD). */
  spend(): Promise<number>;
}

/** A fresh key held to `limits` through its own fields, its user's, its team's, a budget linked to the key or team, or the customer its calls name. */
async function holderOf(principal: Principal, limits: Record<string, unknown>): Promise<Holder> {
  serial += 1;
  const id = `limited-${serial}`;
  const holder = (key: string, setBudget: Holder['setBudget'], spend: Holder['spend'], headers: Record<string, string> = {}): Holder => ({ key, headers, setBudget, spend });
  if (principal === 'key') {
    const { key } = await api.generateKey(limits);
    return holder(key, async (usd) => void (await api.updateKey(key, { max_budget: usd })), async () => (await api.keyInfo(key)).spend);
  }
  if (principal === 'user') {
    await api.newUser({ user_id: id, user_role: 'internal_user', ...limits });
    const { key } = await api.generateKey({ user_id: id });
    return holder(key, async (usd) => void (await api.ok('POST', '/user/update', { user_id: id, max_budget: usd })), async () => (await api.userInfo(id)).user_info.spend);
  }
  if (principal === 'team') {
    await api.newTeam({ team_id: id, ...limits });
    const { key } = await api.generateKey({ team_id: id });
    return holder(key, async (usd) => void (await api.ok('POST', '/team/update', { team_id: id, max_budget: usd })), async () => (await api.teamInfo(id)).team_info.spend);
  }
  if (principal === 'customer') {
    await api.ok('POST', '/customer/new', { user_id: id, ...limits });
    const { key } = await api.generateKey();
    const spend = async () => (await api.ok<{ spend: number }>('GET', `/customer/info?end_user_id=${id}`)).spend;
    return holder(key, async (usd) => void (await api.ok('POST', '/customer/update', { user_id: id, max_budget: usd })), spend, { 'x-litellm-end-user-id': id });
  }
  // A budget object: each holder linked to it is held to its limits with its own spend (README, Budgets as objects).
  await api.ok('POST', '/budget/new', { budget_id: id, ...limits });
  const setBudget = async (usd: number) => void (await api.ok('POST', '/budget/update', { budget_id: id, max_budget: usd }));
  if (principal === 'budget linked to the key') {
    const { key } = await api.generateKey({ budget_id: id });
    return holder(key, setBudget, async () => (await api.keyInfo(key)).spend);
  }
  await api.newTeam({ team_id: id, budget_id: id });
  const { key } = await api.generateKey({ team_id: id });
  return holder(key, setBudget, async () => (await api.teamInfo(id)).team_info.spend);
}

async function send(as: Holder | string, surface: Way): Promise<{ status: number; text: string }> {
  const [key, headers] = typeof as === 'string' ? [as, {}] : [as.key, as.headers];
  const response = await fetch(`${gateway.url}${surface.path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, ...(surface.form ? {} : { 'content-type': 'application/json' }), ...surface.headers, ...headers },
    body: surface.form ? surface.form() : JSON.stringify(surface.body),
  });
  return { status: response.status, text: (await response.text()).slice(0, 200) };
}

const answered = (status: number) => status >= 200 && status < 300;
const surfacesFor = (principal: Principal) => ALL_SURFACES.filter((surface) => !['user', 'budget linked to the key', 'budget linked to the team'].includes(principal) || !REFUSED_TO_USERS_AND_BUDGETS.has(surface.name));

beforeAll(async () => {
  await Promise.all([openai.start(), anthropic.start(), gemini.start(), media.start()]);
  for (const mock of [openai, anthropic, gemini, media]) proxies.push(new CountingProxy(mock.url));
  await Promise.all(proxies.map((proxy) => proxy.start()));
  const [openaiProxy, anthropicProxy, geminiProxy, mediaProxy] = proxies;
  gateway = await startGateway(`
${surfaceModelsConfig({ openai: openaiProxy.url, anthropic: anthropicProxy.url, gemini: geminiProxy.url, media: mediaProxy.url }, MEDIA_MODELS(mediaProxy.url))}general_settings:
  master_key: ${MASTER_KEY}
  pass_through_endpoints:
    - path: /relay
      target: ${openaiProxy.url}/chat/completions
      headers: {Authorization: "Bearer sk-upstream"}
platform:
  default_tier: pro
  tiers:
    pro: {markup: 0, initial_credits: 1000000}
`);
  api = new Management(gateway.url);
});

afterAll(async () => {
  await gateway?.close();
  await Promise.all(proxies.map((proxy) => proxy.close()));
  await Promise.all([openai.close(), anthropic.close(), gemini.close(), media.close()]);
});

describe('every surface counts toward the limits of the key, its user and its team', () => {
  it('each surface reaches an upstream for the master key (so each row is a way in)', async () => {
    const dead: string[] = [];
    for (const surface of ALL_SURFACES) {
      const before = upstreamCalls();
      const answer = await send(MASTER_KEY, surface);
      if (!answered(answer.status) || (!LOCAL.has(surface.name) && upstreamCalls() === before)) dead.push(`${surface.name} → ${answer.status} ${answer.text}`);
    }
    expect(dead).toEqual([]);
  });

  for (const principal of PRINCIPALS) {
    it(`rpm_limit 2 on the ${principal}: 2 of 4 calls answered, 2 refused with 429, 2 upstream calls`, async () => {
      const holes: string[] = [];
      for (const surface of surfacesFor(principal)) {
        const holder = await holderOf(principal, { rpm_limit: 2 });
        const before = upstreamCalls();
        const statuses: number[] = [];
        for (let index = 0; index < 4; index += 1) statuses.push((await send(holder, surface)).status);
        const reached = upstreamCalls() - before;
        const expected = LOCAL.has(surface.name) ? 0 : 2;
        if (statuses.filter(answered).length !== 2 || statuses.filter((status) => status === 429).length !== 2 || reached !== expected) holes.push(`${surface.name}: statuses ${statuses.join(',')}, upstream calls ${reached}`);
      }
      expect(holes).toEqual([]);
    });

    it(`max_parallel_requests 1 on the ${principal}: of 2 concurrent calls to a slow upstream 1 reaches it, the other is refused with 429`, async () => {
      const holes: string[] = [];
      for (const surface of surfacesFor(principal).filter((each) => !LOCAL.has(each.name))) {
        const holder = await holderOf(principal, { max_parallel_requests: 1 });
        const before = upstreamCalls();
        for (const proxy of proxies) proxy.hold();
        let returned = 0;
        const calls = [send(holder, surface), send(holder, surface)].map((call) => call.finally(() => (returned += 1)));
        const deadline = Date.now() + 3_000;
        while (Date.now() < deadline && heldCalls() < 2 && !(returned >= 1 && heldCalls() >= 1)) await new Promise((resolve) => setTimeout(resolve, 5));
        // A second call let through would have arrived by now.
        await new Promise((resolve) => setTimeout(resolve, 30));
        const reached = upstreamCalls() - before;
        for (const proxy of proxies) proxy.release();
        const statuses = (await Promise.all(calls)).map((answer) => answer.status);
        if (reached !== 1 || statuses.filter(answered).length !== 1 || statuses.filter((status) => status === 429).length !== 1) holes.push(`${surface.name}: statuses ${statuses.join(',')}, upstream calls ${reached}`);
      }
      expect(holes).toEqual([]);
    });

    it(`max_budget spent by one call on the ${principal}: the next calls are refused with 400 and reach no upstream`, async () => {
      const holes: string[] = [];
      for (const surface of surfacesFor(principal).filter((each) => !UNPRICED.has(each.name))) {
        const held = await holderOf(principal, { max_budget: 10 });
        const first = await send(held, surface);
        await gateway.flushUsage();
        const spent = await held.spend();
        if (!answered(first.status) || !(spent > 0)) {
          holes.push(`${surface.name}: first call ${first.status} ${first.text}, charged ${spent}`);
          continue;
        }
        await held.setBudget(spent);
        const before = upstreamCalls();
        const statuses: number[] = [];
        for (let index = 0; index < 2; index += 1) statuses.push((await send(held, surface)).status);
        const reached = upstreamCalls() - before;
        if (statuses.some((status) => status !== 400) || reached !== 0) holes.push(`${surface.name}: after spending $${spent} of $${spent}: statuses ${statuses.join(',')}, upstream calls ${reached}`);
      }
      expect(holes).toEqual([]);
    });
  }

  it("the user's credits spent (balance adjusted to 0 after one call): the next calls are refused with 402 and reach no upstream", async () => {
    const holes: string[] = [];
    for (const surface of surfacesFor('user').filter((each) => !UNPRICED.has(each.name))) {
      const held = await holderOf('user', {});
      const userId = `limited-${serial}`;
      const balance = async () => (await api.ok<{ balance: number }>('GET', '/api/v1/llm/credits/balance', undefined, held.key)).balance;
      const first = await send(held, surface);
      await gateway.flushUsage();
      const left = await balance();
      if (!answered(first.status) || !(left < 1_000_000)) {
        holes.push(`${surface.name}: first call ${first.status} ${first.text}, credits left ${left}`);
        continue;
      }
      await api.ok('POST', '/api/v1/llm/credits/add', { user_id: userId, amount: -left, kind: 'adjustment' });
      const before = upstreamCalls();
      const statuses: number[] = [];
      for (let index = 0; index < 2; index += 1) statuses.push((await send(held, surface)).status);
      const reached = upstreamCalls() - before;
      if (statuses.some((status) => status !== 402) || reached !== 0) holes.push(`${surface.name}: with no credits left: statuses ${statuses.join(',')}, upstream calls ${reached}`);
    }
    expect(holes).toEqual([]);
  });
});
