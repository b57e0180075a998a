/**
 * Item 151: an api_base with a query string (an Azure SAS-style `?sig=…`, a proxy's
 * `?api-version=…`) was joined as text: the upstream received `POST /v1?sig=abc/chat/completions`
 * (path `/v1`, 404) — every call to such a deployment failed. Now the path goes before the query and
 * the api_base's query is kept (ahead of Azure's `api-version`).
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { MockOpenAI } from '../support/mock-openai.js';

let upstream: MockOpenAI;
let gateway: TestGateway;

beforeAll(async () => {
  upstream = new MockOpenAI();
  await upstream.start();
  const origin = upstream.url.replace(/\/v1$/, '');
  gateway = await startGateway(`
model_list:
  - model_name: signed
    litellm_params: { model: openai/gpt-4o-mini, api_base: "${upstream.url}?sig=abc%2F1", api_key: sk-upstream }
  - model_name: signed-azure
    litellm_params: { model: azure/gpt-4o, api_base: "${origin}?sig=abc", api_key: sk-upstream, api_version: "2024-10-21" }
router_settings:
  num_retries: 0
general_settings:
  master_key: ${MASTER_KEY}
  health_check_interval: 0
`);
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

beforeEach(() => {
  upstream.requests.length = 0;
});

const chat = (model: string) =>
  fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }),
  });

describe('an api_base with a query string', () => {
  it('openai/: the path goes before the query, which is kept', async () => {
    const response = await chat('signed');
    expect(upstream.requests.map((request) => request.url)).toEqual(['/v1/chat/completions?sig=abc%2F1']);
    expect(response.status).toBe(200);
  });

  it('azure/: the api_base’s query comes first, then api-version', async () => {
    const response = await chat('signed-azure');
    expect(upstream.requests.map((request) => request.url)).toEqual(['/openai/deployments/gpt-4o/chat/completions?sig=abc&api-version=2024-10-21']);
    expect(response.status).toBe(200);
  });
});
