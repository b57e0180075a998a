/**
 * A power level's multiplier is a discount for letting the gateway choose the model. A client
 * that sends `X-Power-Level: eco` and names a dear model, or reaches one through a fallback, is
 * charged at full price (the highest multiplier configured, at least 1), and the usage row's
 * power_level says which level was charged.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { creditCostMillicredits } from '../../src/platform/credits.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { Management, pricedConfig } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

/** The free tier (markup 0), 1000 credits per USD: a millicredit per micro-dollar at multiplier 1. */
const PLATFORM = 'platform:\n  credits_per_usd: 1000\n  default_tier: free\n';
/** premium: 12 prompt tokens × 10 µ$ + 5 completion tokens × 20 µ$. */
const PREMIUM_MICROS = 220;
/** cheap: 12 × 1 µ$ + 5 × 2 µ$. */
const CHEAP_MICROS = 22;

describe('power level discounts', () => {
  const upstream = new MockOpenAI({ promptTokens: 12, completionTokens: 5 });
  let gateway: TestGateway;
  let api: Management;
  let key: string;

  beforeAll(async () => {
    await upstream.start();
    gateway = await startGateway(pricedConfig(upstream.url, PLATFORM));
    api = new Management(gateway.url);
    key = (await api.newUser({ user_id: 'level-user' })).key!;
    await api.ok('POST', '/api/v1/llm/credits/add', { user_id: 'level-user', amount: 100 });
  });

  afterAll(async () => {
    await gateway?.close();
    await upstream.close();
  });

  async function chat(model: string, level: string, extra: Record<string, unknown> = {}) {
    const client = new OpenAI({ apiKey: key, baseURL: `${gateway.url}/v1`, maxRetries: 0, defaultHeaders: { 'x-power-level': level } });
    const { data, response } = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 10, ...extra } as OpenAI.ChatCompletionCreateParamsNonStreaming).withResponse();
    const record = await gateway.recordOf(response.headers.get('x-switchboard-call-id')!);
    return { data, response, record: record! };
  }

  it('eco naming a dear model is charged at full price, and the row says so', async () => {
    const { response, record } = await chat('premium', 'eco');
    const full = creditCostMillicredits(PREMIUM_MICROS, { markup: 0, multiplier: 1, creditsPerUsd: 1000 });
    expect(full).toBe(220);
    expect(record).toMatchObject({ model_group: 'premium', cost_micros: PREMIUM_MICROS, credits_millicredits: full, power_level: 'custom' });
    expect(response.headers.get('x-switchboard-power-level')).toBe('custom');
    expect(response.headers.get('x-switchboard-credits-cost')).toBe('0.22');
  });

  it('eco choosing the model itself keeps its multiplier', async () => {
    const { data, record } = await chat('auto', 'eco');
    expect(record).toMatchObject({ model_group: 'cheap', power_level: 'eco', credits_millicredits: creditCostMillicredits(CHEAP_MICROS, { markup: 0, multiplier: 0.1, creditsPerUsd: 1000 }) });
    expect((data as unknown as { _metadata: { power_level: string } })._metadata.power_level).toBe('eco');
  });

  it('naming the very model eco would choose keeps the multiplier too', async () => {
    const { record } = await chat('cheap', 'eco');
    expect(record).toMatchObject({ model_group: 'cheap', power_level: 'eco', credits_millicredits: 3 });
  });

  it('a fallback from the model eco chose to a dear one is charged at full price', async () => {
    upstream.faults.push({ kind: 'error', status: 500 });
    const { record } = await chat('auto', 'eco', { fallbacks: ['premium'] });
    expect(record).toMatchObject({ model_group: 'premium', fallbacks: 1, power_level: 'custom', credits_millicredits: PREMIUM_MICROS });
  });

  it('without a power level nothing changes: multiplier 1, no level on the row', async () => {
    const client = new OpenAI({ apiKey: key, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
    const { response } = await client.chat.completions.create({ model: 'premium', messages: [{ role: 'user', content: 'hi' }], max_tokens: 10 }).withResponse();
    const record = await gateway.recordOf(response.headers.get('x-switchboard-call-id')!);
    expect(record).toMatchObject({ power_level: null, credits_millicredits: PREMIUM_MICROS });
  });
});

describe('full price with configured multipliers', () => {
  const upstream = new MockOpenAI({ promptTokens: 12, completionTokens: 5 });
  let gateway: TestGateway;

  beforeAll(async () => {
    await upstream.start();
    gateway = await startGateway(pricedConfig(upstream.url, `${PLATFORM}  power_levels:\n    custom: {multiplier: 0.05}\n    precision: {multiplier: 2}\n`));
  });

  afterAll(async () => {
    await gateway?.close();
    await upstream.close();
  });

  it('a named model pays the highest multiplier, whichever level the client sends (custom included)', async () => {
    const api = new Management(gateway.url);
    const key = (await api.newUser({ user_id: 'custom-user' })).key!;
    await api.ok('POST', '/api/v1/llm/credits/add', { user_id: 'custom-user', amount: 100 });
    for (const level of ['eco', 'custom']) {
      const client = new OpenAI({ apiKey: key, baseURL: `${gateway.url}/v1`, maxRetries: 0, defaultHeaders: { 'x-power-level': level } });
      const { response } = await client.chat.completions.create({ model: 'premium', messages: [{ role: 'user', content: 'hi' }], max_tokens: 10 }).withResponse();
      const record = await gateway.recordOf(response.headers.get('x-switchboard-call-id')!);
      expect(record).toMatchObject({ power_level: 'precision', credits_millicredits: 2 * PREMIUM_MICROS });
    }
  });
});
