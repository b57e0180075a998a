/**
 * Ids in a URL path are decoded once by the router; three routes decoded them a second time with
 * decodeURIComponent, so an id holding a literal '%' not followed by two hex digits threw a
 * URIError and answered 500 — the openai SDK's `models.retrieve('50%off')` (which encodes the '%'
 * as %25) among them. Now such an id is looked up as it came: 404 model_not_found in the OpenAI
 * envelope for /v1/models/{id}, 4xx for /model/{id}/… and /api/v1/llm/routing/rules/{name}.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { MockOpenAI } from '../support/mock-openai.js';

const upstream = new MockOpenAI();
let gateway: TestGateway;

beforeAll(async () => {
  await upstream.start();
  gateway = await startGateway(`
model_list:
  - model_name: cheap
    litellm_params: {model: openai/gpt-4o-mini, api_base: "${upstream.url}", api_key: sk-upstream}
platform:
  credits_per_usd: 1000
  default_tier: flat
  tiers:
    flat: {markup: 0, initial_credits: 50}
general_settings:
  master_key: ${MASTER_KEY}
`);
});
afterAll(async () => {
  await gateway?.close();
  await upstream.close();
});

async function call(method: string, path: string): Promise<{ status: number; body: { error: { message: string; type: string; param: string | null; code: string | null } } }> {
  const body = method === 'GET' || method === 'DELETE' ? undefined : '{}';
  const response = await fetch(`${gateway.url}${path}`, { method, headers: { authorization: `Bearer ${MASTER_KEY}`, ...(body ? { 'content-type': 'application/json' } : {}) }, body });
  return { status: response.status, body: await response.json() };
}

describe('an id with a stray "%" in a URL path', () => {
  it('GET /v1/models/{id}: the openai SDK gets NotFoundError, not a 500', async () => {
    const client = new OpenAI({ apiKey: MASTER_KEY, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
    const error = await client.models.retrieve('50%off').catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.NotFoundError);
    expect((error as InstanceType<typeof OpenAI.NotFoundError>).code).toBe('model_not_found');
    const raw = await call('GET', '/v1/models/%25ZZ');
    expect(raw.status).toBe(404);
    expect(raw.body.error).toMatchObject({ code: 'model_not_found', type: 'invalid_request_error' });
  });

  it('ids that decode cleanly are still found', async () => {
    expect((await call('GET', '/v1/models/cheap')).status).toBe(200);
    expect((await call('GET', '/v1/models/ch%65ap')).status).toBe(200);
  });

  it.each([
    ['POST', '/model/%25ZZ/disable'],
    ['POST', '/model/%25ZZ/update'],
    ['PATCH', '/api/v1/llm/routing/rules/%25ZZ'],
    ['DELETE', '/api/v1/llm/routing/rules/%25ZZ'],
  ])('%s %s answers a 4xx in the OpenAI envelope', async (method, path) => {
    const answer = await call(method, path);
    expect(answer.status).toBeGreaterThanOrEqual(400);
    expect(answer.status).toBeLessThan(500);
    expect(answer.body.error.message).toEqual(expect.any(String));
    expect(answer.body.error.code).not.toBe('route_not_found');
  });
});
