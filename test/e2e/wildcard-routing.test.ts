/**
 * Wildcard model groups through the real server and the official openai client: "openai/*" serves
 * any openai/<model>, "*" serves any name through one provider, each priced from the table for the
 * concrete model; explicit groups win; /v1/models lists concrete models; and — the invariant — a
 * wildcard never lets a key reach a name its allow-list does not name.
 */
import OpenAI, { NotFoundError } from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { costMicros } from '../../src/billing/cost.js';
import { builtInPrices } from '../../src/billing/pricing.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

const prefixed = new MockOpenAI({ reply: 'prefixed wildcard' });
const catchAll = new MockOpenAI({ reply: 'catch-all wildcard' });
const explicit = new MockOpenAI({ reply: 'explicit group' });
let gateway: TestGateway;
let client: OpenAI;
let api: Management;

beforeAll(async () => {
  await Promise.all([prefixed.start(), catchAll.start(), explicit.start()]);
  gateway = await startGateway(`
model_list:
  - model_name: "openai/*"
    litellm_params:
      model: "openai/*"
      api_base: ${prefixed.url}
      api_key: sk-upstream
  - model_name: "*"
    litellm_params:
      model: "openai/*"
      api_base: ${catchAll.url}
      api_key: sk-upstream
  - model_name: gpt-4o
    litellm_params:
      model: openai/gpt-4o
      api_base: ${explicit.url}
      api_key: sk-upstream
general_settings:
  master_key: ${MASTER_KEY}
`);
  client = gateway.openai();
  api = new Management(gateway.url);
});

afterAll(async () => {
  await gateway?.close();
  await Promise.all([prefixed.close(), catchAll.close(), explicit.close()]);
});

const hi = [{ role: 'user' as const, content: 'hi' }];
const upstreams = () => prefixed.requests.length + catchAll.requests.length + explicit.requests.length;

describe('wildcard routing', () => {
  it('"openai/*" serves any openai/<model>, calling the concrete model and pricing it from the table', async () => {
    const { data, response } = await client.chat.completions.create({ model: 'openai/gpt-4o-mini', messages: hi }).withResponse();
    expect(data.choices[0].message.content).toBe('prefixed wildcard');
    expect(prefixed.requests.at(-1)!.body.model).toBe('gpt-4o-mini');
    expect(response.headers.get('x-litellm-model-group')).toBe('openai/gpt-4o-mini');
    const row = await gateway.recordOf(response.headers.get('x-litellm-call-id')!);
    expect(row).toMatchObject({ model_group: 'openai/gpt-4o-mini', upstream_model: 'gpt-4o-mini' });
    const usage = { promptTokens: row!.prompt_tokens!, completionTokens: row!.completion_tokens! };
    expect(row!.cost_micros).toBe(costMicros(usage, builtInPrices('gpt-4o-mini')));
    expect(row!.cost_micros).not.toBe(costMicros(usage, builtInPrices('gpt-4o')));
  });

  it('"*" serves other names through its provider; an explicit group wins over both wildcards', async () => {
    expect((await client.chat.completions.create({ model: 'gpt-4.1-mini', messages: hi })).choices[0].message.content).toBe('catch-all wildcard');
    expect(catchAll.requests.at(-1)!.body.model).toBe('gpt-4.1-mini');
    expect((await client.chat.completions.create({ model: 'gpt-4o', messages: hi })).choices[0].message.content).toBe('explicit group');
  });

  it('refuses names with no known price, path tricks and the literal patterns, reaching no upstream', async () => {
    const before = upstreams();
    for (const model of ['openai/some-unpriced-model', 'openai/../admin', 'openai/./gpt-4o', 'openai/*', '*', 'openai/', 'gpt-4o-mini?x=1']) {
      const error = await client.chat.completions.create({ model, messages: hi }).catch((caught: unknown) => caught);
      expect(error, model).toBeInstanceOf(NotFoundError);
    }
    expect(upstreams()).toBe(before);
  });

  it('/v1/models lists the concrete models of the wildcards\' provider, never the patterns', async () => {
    const ids = (await client.models.list()).data.map((model) => model.id);
    expect(ids).toContain('openai/gpt-4o-mini');
    expect(ids).toContain('gpt-4.1');
    expect(ids).toContain('gpt-4o');
    expect(ids).not.toContain('openai/*');
    expect(ids).not.toContain('*');
    expect(ids).not.toContain('claude-3-haiku');
  });
});

describe('a wildcard never widens what a key may reach', () => {
  const NAMES = ['gpt-4o', 'gpt-4o-mini', 'openai/gpt-4o', 'openai/gpt-4o-mini', 'gpt-4.1', 'openai/gpt-4.1', 'o3-mini', 'openai/*', '*', 'OPENAI/gpt-4o-mini', 'openai/gpt-4o-mini/extra'];
  const SERVABLE = new Set(['gpt-4o', 'gpt-4o-mini', 'openai/gpt-4o', 'openai/gpt-4o-mini', 'gpt-4.1', 'openai/gpt-4.1', 'o3-mini', 'OPENAI/gpt-4o-mini']);
  const LISTS: string[][] = [['gpt-4o'], ['openai/gpt-4o-mini'], ['openai/*'], ['gpt-4o-mini', 'openai/gpt-4.1']];

  it('for every key list and every name, a call succeeds only when the list names exactly that name', async () => {
    for (const models of LISTS) {
      const key = await api.generateKey({ models });
      const keyed = gateway.openai(key.key);
      for (const model of NAMES) {
        const outcome = await keyed.chat.completions.create({ model, messages: hi }).then(
          () => 200,
          (error: unknown) => (error as { status?: number }).status ?? 0,
        );
        // Both ways: served exactly when the list names it and the gateway can serve it at all.
        const expected = models.includes(model) && SERVABLE.has(model) ? 200 : SERVABLE.has(model) ? 403 : [403, 404];
        if (Array.isArray(expected)) expect(expected, `${model} with key models ${models.join(',')}`).toContain(outcome);
        else expect(outcome, `${model} with key models ${models.join(',')}`).toBe(expected);
      }
      const listed = (await keyed.models.list()).data.map((item) => item.id);
      for (const id of listed) expect(models, `listed ${id}`).toContain(id);
    }
  });

  it('a team\'s list holds the key to the concrete names it names too', async () => {
    const team = await api.newTeam({ team_alias: 'wild', models: ['openai/gpt-4o-mini'] });
    const key = await api.generateKey({ team_id: team.team_id });
    const keyed = gateway.openai(key.key);
    expect((await keyed.chat.completions.create({ model: 'openai/gpt-4o-mini', messages: hi })).choices[0].message.content).toBe('prefixed wildcard');
    const error = await keyed.chat.completions.create({ model: 'openai/gpt-4o', messages: hi }).catch((caught: unknown) => caught);
    expect((error as { status?: number }).status).toBe(403);
  });
});
