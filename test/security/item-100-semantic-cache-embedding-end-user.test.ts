/**
 * The semantic cache embeds each prompt with a call of its own through the whole request path
 * (src/cache/embedder.ts), made for the caller of the call being looked up. It carried the caller's
 * key and the end user's region, but not the end user: the embedding call, made for customer
 * "acme" (the body's `user`), was recorded with no end user and held to none of the customer's
 * limits — its cost (here more than the chat answer's) never reached the customer's spend, so a
 * customer's max_budget was passed by every semantic lookup, and its rpm_limit did not count it.
 * Now the embedding call is made for the call's end user: its usage row names the customer, the
 * customer's spend includes it, and the customer's budget and limits hold it (a lookup the
 * customer's budget cannot pay for is skipped: no embedding is requested, the call is answered).
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

const upstream = new MockOpenAI({ promptTokens: 12, completionTokens: 5 });
let gateway: TestGateway;
let api: Management;
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
  api = new Management(gateway.url);
  key = (await api.generateKey({})).key;
});

afterAll(async () => {
  await gateway?.close();
  await upstream.close();
});

afterEach(() => {
  upstream.requests.length = 0;
});

const embeddingCalls = () => upstream.requests.filter((request) => request.url.endsWith('/embeddings')).length;

async function ask(user: string, content: string): Promise<{ status: number; callId: string | null }> {
  const response = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'chat', user, max_tokens: 10, messages: [{ role: 'user', content }] }),
  });
  await response.text();
  return { status: response.status, callId: response.headers.get('x-switchboard-call-id') };
}

async function rowsOf(endpoint: string) {
  await gateway.flushUsage();
  return (await gateway.runtime.usageLogs()!.listRecent(100)).filter((row) => row.endpoint === endpoint);
}

describe("the semantic cache's embedding call is made for the call's end user", () => {
  it("is recorded for the customer and counted in the customer's spend", async () => {
    await api.ok('POST', '/customer/new', { user_id: 'acme', max_budget: 10 });
    const answer = await ask('acme', `hello there ${Math.random()}`);
    expect(answer.status).toBe(200);
    expect(embeddingCalls()).toBe(1);
    const chat = (await gateway.recordOf(answer.callId!))!;
    const embeddings = (await rowsOf('embeddings')).filter((row) => row.model_group === 'embed');
    expect(embeddings).toHaveLength(1);
    expect(embeddings[0].end_user).toBe('acme');
    expect(chat.end_user).toBe('acme');
    const info = await api.ok<{ spend: number }>('GET', '/customer/info?end_user_id=acme');
    const micros = Math.round(info.spend * 1_000_000);
    expect(embeddings[0].cost_micros).toBeGreaterThan(0);
    expect(micros).toBe(Number(chat.cost_micros) + Number(embeddings[0].cost_micros));
  });

  it("is held to the customer's budget: a lookup it cannot pay for is skipped, the call still answered", async () => {
    // Enough for the chat call (at most 12 + 10 × 2 µ$ reserved), far from the embedding's 100 µ$ a token.
    await api.ok('POST', '/customer/new', { user_id: 'thrifty', max_budget: 0.0001 });
    const answer = await ask('thrifty', `a prompt ${Math.random()}`);
    expect(answer.status).toBe(200);
    expect(embeddingCalls()).toBe(0);
    const info = await api.ok<{ spend: number; max_budget: number }>('GET', '/customer/info?end_user_id=thrifty');
    expect(info.spend).toBeLessThanOrEqual(info.max_budget);
  });

  it("counts toward the customer's rpm_limit", async () => {
    await api.ok('POST', '/customer/new', { user_id: 'one-a-minute', rpm_limit: 1 });
    expect((await ask('one-a-minute', `first ${Math.random()}`)).status).toBe(200);
    // The chat call took the minute's one request: its embedding (a request of its own, for this customer) was refused, not made.
    expect(embeddingCalls()).toBe(0);
    expect((await ask('one-a-minute', `second ${Math.random()}`)).status).toBe(429);
  });
});
