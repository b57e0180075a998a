/**
 * Item 376: the cache stage runs before the route stage, and the cache key held neither the end
 * user's region (a stored customer's allowed_model_region) nor the request's tags, which only
 * routing applied. A customer held to "eu" asking a group with only US deployments was refused on
 * a miss and answered from the cache once anyone else had asked the same; with tag routing on, a
 * request whose tags no deployment serves was refused on a miss and answered after a call with
 * other tags, and an untagged request (routed to the `default`-tagged deployment) was answered with
 * the `paid`-tagged deployment's cached answer. Now a call only reads entries stored by calls that
 * routing sends to the same deployments of the group (chat and embeddings alike), and a call
 * routing refuses is not looked up: it is refused as on a miss.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

const upstream = new MockOpenAI();
let gateway: TestGateway;

beforeAll(async () => {
  await upstream.start();
  gateway = await startGateway(`
model_list:
  - model_name: us-only
    litellm_params: {model: openai/us-model, api_base: "${upstream.url}", api_key: sk-upstream-test, region_name: us}
  - model_name: eu-and-us
    litellm_params: {model: openai/eu-model, api_base: "${upstream.url}", api_key: sk-upstream-test, region_name: eu}
  - model_name: eu-and-us
    litellm_params: {model: openai/us-model, api_base: "${upstream.url}", api_key: sk-upstream-test, region_name: us}
  - model_name: embed-us
    litellm_params: {model: openai/text-embedding-3-small, api_base: "${upstream.url}", api_key: sk-upstream-test, region_name: us}
    model_info: {mode: embedding}
  - model_name: paid-only
    litellm_params: {model: openai/paid-model, api_base: "${upstream.url}", api_key: sk-upstream-test, tags: [paid]}
  - model_name: split
    litellm_params: {model: openai/paid-model, api_base: "${upstream.url}", api_key: sk-upstream-test, tags: [paid]}
  - model_name: split
    litellm_params: {model: openai/free-model, api_base: "${upstream.url}", api_key: sk-upstream-test, tags: [default]}
router_settings:
  num_retries: 0
  disable_cooldowns: true
  enable_tag_filtering: true
litellm_settings:
  cache: true
  cache_params: {type: local, ttl: 600}
general_settings:
  master_key: ${MASTER_KEY}
`);
  await new Management(gateway.url).ok('POST', '/customer/new', { user_id: 'eu-customer', allowed_model_region: 'eu' });
});

afterAll(async () => {
  await gateway?.close();
  await upstream.close();
});

async function post(path: string, body: Record<string, unknown>) {
  const response = await fetch(`${gateway.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  const json = (await response.json()) as { model?: string; error?: { param?: string | null } };
  return { status: response.status, cache: response.headers.get('x-switchboard-cache'), model: json.model, param: json.error?.param };
}

function ask(model: string, content: string, extra: Record<string, unknown> = {}) {
  return post('/v1/chat/completions', { model, messages: [{ role: 'user', content }], ...extra });
}

describe('region (customer allowed_model_region)', () => {
  it('a customer held to "eu" is refused for a group without an EU deployment, on a miss and after another caller stored the answer', async () => {
    const miss = await ask('us-only', 'region: a question', { user: 'eu-customer' });
    expect(miss.status).toBe(400);
    const other = await ask('us-only', 'region: a question');
    expect(other).toMatchObject({ status: 200, cache: 'miss', model: 'us-model' });
    const after = await ask('us-only', 'region: a question', { user: 'eu-customer' });
    // Before: 200, a hit.
    expect(after.status).toBe(400);
    expect(after.param).toBe('model');
  });

  it('a customer held to "eu" is not answered with an answer a US deployment gave another caller; its own entries are shared', async () => {
    // Routing picks either deployment for a caller without a region: asked until the US one answered.
    let content = '';
    let servedBy: string | undefined;
    for (let attempt = 0; attempt < 30 && servedBy !== 'us-model'; attempt++) {
      content = `region: a US answer ${attempt}`;
      servedBy = (await ask('eu-and-us', content)).model;
    }
    expect(servedBy).toBe('us-model');
    const calls = upstream.requests.length;
    const eu = await ask('eu-and-us', content, { user: 'eu-customer' });
    expect(eu).toMatchObject({ status: 200, cache: 'miss', model: 'eu-model' });
    expect(upstream.requests.length).toBe(calls + 1);
    const euAgain = await ask('eu-and-us', content, { user: 'eu-customer' });
    expect(euAgain).toMatchObject({ status: 200, cache: 'hit', model: 'eu-model' });
    expect(upstream.requests.length).toBe(calls + 1);
  });

  it('embeddings: a customer held to "eu" is refused for a group without an EU deployment after another caller stored the vectors', async () => {
    const miss = await post('/v1/embeddings', { model: 'embed-us', input: 'region: embed me', user: 'eu-customer' });
    expect(miss.status).toBe(400);
    const other = await post('/v1/embeddings', { model: 'embed-us', input: 'region: embed me' });
    expect(other.status).toBe(200);
    const again = await post('/v1/embeddings', { model: 'embed-us', input: 'region: embed me' });
    expect(again.cache).toBe('hit');
    const after = await post('/v1/embeddings', { model: 'embed-us', input: 'region: embed me', user: 'eu-customer' });
    // Before: 200, a hit.
    expect(after.status).toBe(400);
  });
});

describe('tags (router_settings.enable_tag_filtering)', () => {
  it('tags no deployment serves are refused, on a miss and after a call with other tags stored the answer', async () => {
    const miss = await ask('paid-only', 'tags: a question', { tags: ['free'] });
    expect(miss.status).toBe(400);
    expect(miss.param).toBe('tags');
    const paid = await ask('paid-only', 'tags: a question', { tags: ['paid'] });
    expect(paid).toMatchObject({ status: 200, cache: 'miss' });
    const after = await ask('paid-only', 'tags: a question', { tags: ['free'] });
    // Before: 200, a hit.
    expect(after.status).toBe(400);
    expect(after.param).toBe('tags');
    // Calls routing sends to the same deployments share the entry: untagged calls go to the only one here.
    const untagged = await ask('paid-only', 'tags: a question');
    expect(untagged).toMatchObject({ status: 200, cache: 'hit' });
  });

  it('an untagged request (routed to the default-tagged deployment) is not answered with the paid deployment\'s cached answer', async () => {
    const paid = await ask('split', 'tags: split question', { tags: ['paid'] });
    expect(paid).toMatchObject({ status: 200, cache: 'miss', model: 'paid-model' });
    const untagged = await ask('split', 'tags: split question');
    // Before: a hit with the paid deployment's answer.
    expect(untagged).toMatchObject({ status: 200, cache: 'miss', model: 'free-model' });
    const untaggedAgain = await ask('split', 'tags: split question');
    expect(untaggedAgain).toMatchObject({ status: 200, cache: 'hit', model: 'free-model' });
    const paidAgain = await ask('split', 'tags: split question', { tags: ['paid'] });
    expect(paidAgain).toMatchObject({ status: 200, cache: 'hit', model: 'paid-model' });
  });
});
