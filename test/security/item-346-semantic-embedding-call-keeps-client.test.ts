/**
 * Item 346 (audit trail, the class of item 186): the semantic cache's embedding call is a call of
 * its own, recorded and billed to the caller's key (cache/embedder.ts), but its call context was
 * built fresh with the caller and end user only: the request's client address (and traceparent)
 * were dropped, so its usage row had requester_ip_address null while the chat call it was made for
 * named the client. Now it keeps both.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

const upstream = new MockOpenAI();
let gateway: TestGateway;
let key: string;

beforeAll(async () => {
  await upstream.start();
  gateway = await startGateway(`
model_list:
  - model_name: chat
    litellm_params: {model: openai/gpt-4o-mini, api_base: "${upstream.url}", api_key: sk-upstream}
    model_info: {id: dep-chat, input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}
  - model_name: embed
    litellm_params: {model: openai/text-embedding-3-small, api_base: "${upstream.url}", api_key: sk-upstream}
    model_info: {id: dep-embed, mode: embedding, input_cost_per_token: 0.0001}
router_settings:
  num_retries: 0
general_settings:
  master_key: ${MASTER_KEY}
litellm_settings:
  cache: true
  cache_params:
    type: local-semantic
    similarity_threshold: 0.99
    embedding_model: embed
`);
  key = (await new Management(gateway.url).generateKey({})).key;
});

afterAll(async () => {
  await gateway?.close();
  await upstream.close();
});

it('the embedding call a semantic lookup makes keeps the client address of the request', async () => {
  const response = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'chat', max_tokens: 10, messages: [{ role: 'user', content: `hello ${Math.random()}` }] }),
  });
  expect(response.status).toBe(200);
  const chat = (await gateway.recordOf(response.headers.get('x-switchboard-call-id')!))!;
  const rows = (await gateway.runtime.usageLogs()!.listRecent(100)).filter((row) => row.endpoint === 'embeddings' && row.model_group === 'embed');
  expect(rows).toHaveLength(1);
  expect(rows[0]!.cost_micros).toBeGreaterThan(0); // billed to the key
  expect(chat.requester_ip).toBe('127.0.0.1');
  // Before: null.
  expect(rows[0]!.requester_ip).toBe(chat.requester_ip);
});
