/**
 * Item 339: a power level's multiplier is a discount for letting the gateway choose the model, and a
 * user could narrow the choice itself: a key it makes with `models: ["premium"]` had eco "choose" the
 * dear model at eco's 0.1 (22 millicredits instead of 220), naming it or sending "auto"; a routing
 * rule the request's own tags make match narrowed it the same way. Now the discount applies only when
 * the level's choice is the one it makes among the models the operator gives the caller (tier, user,
 * team), not narrowed by the key's own list or a rule; otherwise the call is charged full price.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { Management, pricedConfig } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

const PLATFORM = 'platform:\n  credits_per_usd: 1000\n  default_tier: free\n';
/** premium: 12 prompt tokens × 10 µ$ + 5 completion tokens × 20 µ$. */
const PREMIUM_MICROS = 220;

describe('a power level discount through a key the user narrowed itself', () => {
  const upstream = new MockOpenAI({ promptTokens: 12, completionTokens: 5 });
  let gateway: TestGateway;
  let api: Management;
  let narrowKey: string;
  let ownKey: string;

  beforeAll(async () => {
    await upstream.start();
    gateway = await startGateway(pricedConfig(upstream.url, PLATFORM));
    api = new Management(gateway.url);
    ownKey = (await api.newUser({ user_id: 'narrow-user' })).key!;
    await api.ok('POST', '/api/v1/llm/credits/add', { user_id: 'narrow-user', amount: 100 });
    // The user itself, with its own key, makes a key limited to the dear model.
    const generated = await api.call<{ key?: string }>('POST', '/key/generate', { models: ['premium'] }, ownKey);
    expect(generated.status).toBe(200);
    narrowKey = generated.body.key!;
  });

  afterAll(async () => {
    await gateway?.close();
    await upstream.close();
  });

  for (const model of ['auto', 'premium']) {
    it(`eco with model "${model}" on a key narrowed to premium pays full price`, async () => {
      const client = new OpenAI({ apiKey: narrowKey, baseURL: `${gateway.url}/v1`, maxRetries: 0, defaultHeaders: { 'x-power-level': 'eco' } });
      const { response } = await client.chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 10 }).withResponse();
      const record = await gateway.recordOf(response.headers.get('x-switchboard-call-id')!);
      expect(record).toMatchObject({ model_group: 'premium', cost_micros: PREMIUM_MICROS });
      // Full price: 220 millicredits (free tier, markup 0). Before: 22 (eco's 0.1).
      expect(record!.credits_millicredits).toBe(PREMIUM_MICROS);
    });
  }

  it('the same user’s unnarrowed key keeps eco’s discount on the model eco chooses among all of its models', async () => {
    const client = new OpenAI({ apiKey: ownKey, baseURL: `${gateway.url}/v1`, maxRetries: 0, defaultHeaders: { 'x-power-level': 'eco' } });
    const { response } = await client.chat.completions.create({ model: 'auto', messages: [{ role: 'user', content: 'hi' }], max_tokens: 10 }).withResponse();
    const record = await gateway.recordOf(response.headers.get('x-switchboard-call-id')!);
    expect(record).toMatchObject({ model_group: 'cheap', power_level: 'eco' });
    expect(record!.credits_millicredits).toBeLessThan(record!.cost_micros!);
  });
});
