/**
 * Query strings of the management, platform, model and health routes are parsed, not cast: a
 * value that is not a whole number where one is needed, out of range, or given twice answers 400
 * naming the parameter, instead of being replaced by a default or passed on as an array.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { Management, pricedConfig, type ErrorBody } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

const upstream = new MockOpenAI();
let gateway: TestGateway;
let api: Management;

beforeAll(async () => {
  await upstream.start();
  gateway = await startGateway(pricedConfig(upstream.url, 'platform:\n  default_tier: enterprise\n  tiers:\n    enterprise: {markup: 1, initial_credits: 1000}\n'));
  api = new Management(gateway.url);
  await api.newUser({ user_id: 'asker' });
});

afterAll(async () => {
  await gateway?.close();
  await upstream.close();
});

async function expectBadParameter(path: string, param: string, message: string): Promise<void> {
  const response = await api.call<ErrorBody>('GET', path);
  expect(response.status, path).toBe(400);
  expect(response.body.error.param, path).toBe(param);
  expect(response.body.error.message, path).toBe(`${param}: ${message}`);
}

describe('bad query parameters', () => {
  it('paging that is not a whole number, or past the largest page, names the parameter', async () => {
    await expectBadParameter('/key/list?size=ten', 'size', 'expected a whole number');
    await expectBadParameter('/key/list?size=500', 'size', 'must be at most 100');
    await expectBadParameter('/user/list?page=0', 'page', 'must be 1 or more');
    await expectBadParameter('/api/v1/llm/credits/transactions?user_id=asker&limit=2.5', 'limit', 'expected a whole number');
    await expectBadParameter('/api/v1/llm/credits/transactions?user_id=asker&offset=-1', 'offset', 'must be 0 or more');
  });

  it('a parameter given twice is refused rather than read as a list', async () => {
    const twice = 'expected one value (the parameter was given more than once)';
    await expectBadParameter('/user/info?user_id=asker&user_id=other', 'user_id', twice);
    await expectBadParameter('/team/info?team_id=a&team_id=b', 'team_id', twice);
    await expectBadParameter('/model/info?litellm_model_id=dep-cheap&litellm_model_id=dep-premium', 'litellm_model_id', twice);
    await expectBadParameter('/health?model=cheap&model=premium', 'model', twice);
  });

  it('an unknown transaction kind keeps its message', async () => {
    await expectBadParameter('/api/v1/llm/credits/transactions?user_id=asker&kind=gift', 'kind', 'must be one of grant, purchase, usage, refund, dispute, adjustment, allowance, expiry');
  });

  it('good values still work', async () => {
    expect((await api.call('GET', '/key/list?size=100&page=1')).status).toBe(200);
    expect((await api.call('GET', '/api/v1/llm/credits/transactions?user_id=asker&limit=500&offset=0&kind=grant')).status).toBe(200);
    expect((await api.call('GET', '/model/info?litellm_model_id=dep-cheap')).status).toBe(200);
  });
});
