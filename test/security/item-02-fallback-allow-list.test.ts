/**
 * Fallbacks never carry a call past the model allow-lists: a request that names a model its key
 * may not use in `fallbacks` is refused before any upstream call; configured fallbacks the key may
 * not use are skipped (and left out of the budget reservation); and, for random keys, users, teams
 * and fallback configs, no upstream ever receives a call for a model outside the caller's lists.
 */
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { clientFor, Management } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';
import { seededRandom } from '../support/random.js';

/** OpenAI's answer to a prompt longer than the model's context window. */
const CONTEXT_LENGTH_EXCEEDED = {
  kind: 'error' as const,
  status: 400,
  body: { error: { message: "This model's maximum context length is 8192 tokens. However, your messages resulted in 9000 tokens. Please reduce the length of the messages.", type: 'invalid_request_error', param: 'messages', code: 'context_length_exceeded' } },
};
const SERVER_ERROR = { kind: 'error' as const, status: 500 };
const CONTENT_POLICY_VIOLATION = {
  kind: 'error' as const,
  status: 400,
  body: { error: { message: 'Your request was rejected as a result of our safety system.', type: 'invalid_request_error', param: null, code: 'content_policy_violation' } },
};

function entry(name: string, mock: MockOpenAI, prices = '0.000001, output_cost_per_token: 0.000002'): string {
  return `
  - model_name: ${name}
    litellm_params: {model: openai/upstream-${name}, api_base: "${mock.url}", api_key: sk-upstream}
    model_info: {id: dep-${name}, input_cost_per_token: ${prices}}`;
}

const ask = (client: OpenAI, model: string, extra: Record<string, unknown> = {}) =>
  client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 10, ...extra } as OpenAI.ChatCompletionCreateParamsNonStreaming).withResponse();

const failure = (promise: Promise<unknown>) => promise.then(() => undefined, (caught: unknown) => caught as InstanceType<typeof OpenAI.APIError>);

describe('the attack: a key limited to "cheap" reaching "pricey" through fallbacks', () => {
  const cheap = new MockOpenAI({ reply: 'from cheap' });
  const pricey = new MockOpenAI({ reply: 'from pricey' });
  let gateway: TestGateway;
  let api: Management;

  beforeAll(async () => {
    await Promise.all([cheap.start(), pricey.start()]);
    gateway = await startGateway(`
model_list:${entry('cheap', cheap)}${entry('pricey', pricey, '0.001, output_cost_per_token: 0.002')}
router_settings:
  num_retries: 0
  disable_cooldowns: true
  fallbacks: [{"cheap": ["pricey"]}]
  context_window_fallbacks: [{"cheap": ["pricey"]}]
  content_policy_fallbacks: [{"cheap": ["smart"]}]
  model_group_alias: {"smart": "pricey"}
general_settings:
  master_key: ${MASTER_KEY}
`);
    api = new Management(gateway.url);
  });
  afterAll(async () => {
    await gateway?.close();
    await Promise.all([cheap.close(), pricey.close()]);
  });
  afterEach(() => {
    for (const mock of [cheap, pricey]) {
      mock.requests.length = 0;
      mock.faults.length = 0;
      mock.alwaysFault = undefined;
    }
  });

  it('refuses a request whose own fallbacks name a model the key may not use, before any upstream call', async () => {
    const key = await api.generateKey({ models: ['cheap'] });
    cheap.alwaysFault = CONTEXT_LENGTH_EXCEEDED;
    for (const fallbacks of [['pricey'], ['smart'], [{ model: 'pricey' }], ['cheap', 'pricey']]) {
      const error = await failure(ask(clientFor(gateway.url, key.key), 'cheap', { fallbacks }));
      expect(error?.status).toBe(403);
      expect(error?.code).toBe('model_not_allowed');
      expect(error?.param).toBe('fallbacks');
      expect(error?.message).toContain('allowed models: cheap');
    }
    expect(cheap.requests).toHaveLength(0);
    expect(pricey.requests).toHaveLength(0);
  });

  it('the same request on the master key does fall back to "pricey" (the route the attack used exists)', async () => {
    cheap.alwaysFault = CONTEXT_LENGTH_EXCEEDED;
    const { data } = await ask(gateway.openai(), 'cheap', { fallbacks: ['pricey'] });
    expect(data.choices[0].message.content).toBe('from pricey');
    expect(pricey.requests[0].body.fallbacks).toBeUndefined();
  });

  it('skips configured context-window, general and content-policy fallbacks (also through an alias) the key may not use', async () => {
    const key = await api.generateKey({ models: ['cheap'] });
    const client = clientFor(gateway.url, key.key);
    cheap.alwaysFault = CONTEXT_LENGTH_EXCEEDED;
    const contextError = await failure(ask(client, 'cheap'));
    expect(contextError?.status).toBe(400);
    expect(contextError?.code).toBe('context_window_exceeded');
    cheap.alwaysFault = SERVER_ERROR;
    expect((await failure(ask(client, 'cheap')))?.status).toBe(502);
    cheap.alwaysFault = CONTENT_POLICY_VIOLATION;
    expect((await failure(ask(client, 'cheap')))?.code).toBe('content_policy_violation');
    expect(pricey.requests).toHaveLength(0);
    expect(cheap.requests.length).toBe(3);
  });

  it('a team or user list restricts fallbacks as the key list does', async () => {
    await api.newTeam({ team_id: 'cheap-team', models: ['cheap'] });
    await api.newUser({ user_id: 'cheap-user', models: ['cheap'] });
    const teamKey = await api.generateKey({ team_id: 'cheap-team' });
    const userKey = await api.generateKey({ user_id: 'cheap-user' });
    cheap.alwaysFault = CONTEXT_LENGTH_EXCEEDED;
    for (const key of [teamKey.key, userKey.key]) {
      expect((await failure(ask(clientFor(gateway.url, key), 'cheap', { fallbacks: ['pricey'] })))?.param).toBe('fallbacks');
      expect((await failure(ask(clientFor(gateway.url, key), 'cheap')))?.code).toBe('context_window_exceeded');
    }
    expect(pricey.requests).toHaveLength(0);
  });

  it('a key alias named like a model its team allows never leads to one the team does not', async () => {
    await api.newTeam({ team_id: 'alias-team', models: ['cheap'] });
    const key = await api.generateKey({ team_id: 'alias-team', aliases: { cheap: 'pricey' } });
    const error = await failure(ask(clientFor(gateway.url, key.key), 'cheap'));
    expect(error?.status).toBe(403);
    expect(error?.code).toBe('model_not_allowed');
    expect(pricey.requests).toHaveLength(0);
    expect(cheap.requests).toHaveLength(0);
  });

  it('a key allowed both models still falls back', async () => {
    const key = await api.generateKey({ models: ['cheap', 'pricey'] });
    cheap.alwaysFault = CONTEXT_LENGTH_EXCEEDED;
    const { data } = await ask(clientFor(gateway.url, key.key), 'cheap');
    expect(data.choices[0].message.content).toBe('from pricey');
  });

  it('reserves the budget over the models the key can reach only: a fallback it may not use does not raise the bound', async () => {
    // "cheap" at most costs (18 × 1 + 10 × 2) µ$ = 38 µ$ for this call; "pricey" a thousand times more.
    const key = await api.generateKey({ models: ['cheap'], max_budget: 0.0001 });
    const { data } = await ask(clientFor(gateway.url, key.key), 'cheap');
    expect(data.choices[0].message.content).toBe('from cheap');
  });
});

describe('automatic model choice (power levels) stays within the lists', () => {
  const cheap = new MockOpenAI({ reply: 'from cheap' });
  const pricey = new MockOpenAI({ reply: 'from pricey' });
  let gateway: TestGateway;
  beforeAll(async () => {
    await Promise.all([cheap.start(), pricey.start()]);
    gateway = await startGateway(`
model_list:
  - model_name: cheap
    litellm_params: {model: openai/upstream-cheap, api_base: "${cheap.url}", api_key: sk-upstream}
    model_info: {quality_score: 40, input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}
  - model_name: pricey
    litellm_params: {model: openai/upstream-pricey, api_base: "${pricey.url}", api_key: sk-upstream}
    model_info: {quality_score: 95, input_cost_per_token: 0.00001, output_cost_per_token: 0.00002}
router_settings:
  num_retries: 0
  disable_cooldowns: true
  fallbacks: [{"cheap": ["pricey"]}]
general_settings:
  master_key: ${MASTER_KEY}
platform:
  default_tier: standard
  tiers:
    standard: {markup: 0, initial_credits: 1000}
`);
  });
  afterAll(async () => {
    await gateway?.close();
    await Promise.all([cheap.close(), pricey.close()]);
  });

  it('"auto" at precision picks the best model the key may use, and its fallbacks skip the others', async () => {
    const api = new Management(gateway.url);
    const user = await api.newUser({ user_id: 'auto-user', models: ['cheap'] });
    const auto = () => ask(clientFor(gateway.url, user.key!), 'auto', { power_level: 'precision' });
    const { data } = await auto();
    expect(data.choices[0].message.content).toBe('from cheap');
    cheap.alwaysFault = SERVER_ERROR;
    expect((await failure(auto()))?.status).toBe(502);
    expect(pricey.requests).toHaveLength(0);
    cheap.alwaysFault = undefined;
    // The master key's precision choice is the better model: the restriction is what kept it away.
    const master = await ask(gateway.openai(), 'auto', { power_level: 'precision' });
    expect(master.data.choices[0].message.content).toBe('from pricey');
  });
});

describe('invariant: no upstream call for a model outside the caller’s lists', () => {
  const MODELS = ['m0', 'm1', 'm2', 'm3', 'm4'];
  const mocks = new Map(MODELS.map((name) => [name, new MockOpenAI({ reply: `from ${name}` })]));

  beforeAll(async () => {
    await Promise.all([...mocks.values()].map((mock) => mock.start()));
  });
  afterAll(async () => {
    await Promise.all([...mocks.values()].map((mock) => mock.close()));
  });

  const subset = (random: () => number, probability: number) => MODELS.filter(() => random() < probability);
  const pick = <T>(random: () => number, items: T[]): T => items[Math.floor(random() * items.length)];
  const fallbackMap = (random: () => number) => JSON.stringify(MODELS.map((name) => ({ [name]: subset(random, 0.5).filter((target) => target !== name) })));

  for (const seed of [1, 2, 3]) {
    it(`seed ${seed}: random allow-lists, fallback configs and failures`, async () => {
      const random = seededRandom(seed);
      const gateway = await startGateway(`
model_list:${MODELS.map((name) => entry(name, mocks.get(name)!)).join('')}
router_settings:
  num_retries: 0
  disable_cooldowns: true
  max_fallbacks: 10
  fallbacks: ${fallbackMap(random)}
  context_window_fallbacks: ${fallbackMap(random)}
  content_policy_fallbacks: ${fallbackMap(random)}
  default_fallbacks: ${JSON.stringify(subset(random, 0.5))}
  model_group_alias: {"alias-of-m4": "m4", "alias-of-m0": "m0"}
general_settings:
  master_key: ${MASTER_KEY}
`);
      try {
        const api = new Management(gateway.url);
        let refused = 0;
        let answered = 0;
        for (let round = 0; round < 12; round++) {
          const lists = { key: subset(random, 0.5), user: subset(random, 0.6), team: subset(random, 0.6) };
          // Model lists may name an alias too: it allows the group it resolves to.
          if (random() < 0.3) lists.key.push('alias-of-m4');
          await api.newUser({ user_id: `user-${seed}-${round}`, models: lists.user });
          await api.newTeam({ team_id: `team-${seed}-${round}`, models: lists.team });
          // A team key may not name models outside its team's: such a key is refused at creation, so
          // the key's list is narrowed to the team's before the calls.
          const teamAllows = (name: string) => lists.team.length === 0 || lists.team.includes(name);
          if (lists.key.some((name) => !teamAllows(name))) {
            const wider = await api.call('POST', '/key/generate', { models: lists.key, user_id: `user-${seed}-${round}`, team_id: `team-${seed}-${round}` });
            expect(wider.status).toBe(400);
            lists.key = lists.key.filter(teamAllows);
          }
          const key = await api.generateKey({ models: lists.key, user_id: `user-${seed}-${round}`, team_id: `team-${seed}-${round}` });
          const resolve = (name: string) => (name === 'alias-of-m4' ? 'm4' : name === 'alias-of-m0' ? 'm0' : name);
          const permits = (list: string[], model: string) => list.length === 0 || list.some((name) => resolve(name) === model);
          const allowed = new Set(MODELS.filter((model) => permits(lists.key, model) && permits(lists.user, model) && permits(lists.team, model)));

          for (const mock of mocks.values()) {
            mock.requests.length = 0;
            mock.alwaysFault = random() < 0.6 ? pick(random, [CONTEXT_LENGTH_EXCEEDED, CONTENT_POLICY_VIOLATION, SERVER_ERROR]) : undefined;
          }
          for (let call = 0; call < 4; call++) {
            const model = pick(random, [...MODELS, 'alias-of-m0']);
            const extra = random() < 0.4 ? { fallbacks: subset(random, 0.4) } : {};
            const outcome = await failure(ask(clientFor(gateway.url, key.key), model, extra));
            if (outcome?.code === 'model_not_allowed') refused++;
            else answered++;
          }
          for (const [name, mock] of mocks) {
            for (const request of mock.requests) {
              expect(allowed.has(name), `key lists ${JSON.stringify(lists)} reached ${name}`).toBe(true);
              expect(request.body.model).toBe(`upstream-${name}`);
            }
          }
        }
        // The random cases exercise both sides: refusals and calls that went upstream.
        expect(refused).toBeGreaterThan(0);
        expect(answered).toBeGreaterThan(0);
      } finally {
        await gateway.close();
      }
    });
  }
});
