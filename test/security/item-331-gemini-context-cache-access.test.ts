/**
 * Item 331: a Gemini context cache (`cachedContents/…`) is a resource of the Google project that
 * every key of this gateway shares: it holds a system instruction, contents and tools someone
 * stored, and a `generateContent` call naming it in `cachedContent` has the model read all of it.
 * The gateway serves no `cachedContents` endpoint, so each cache was made outside it — by the
 * operator, or another tenant with the project's API key. Item 91 made such a call billed and
 * reserved at its real size, but any key that learnt a cache's name could still have the model
 * quote another tenant's stored context, as a file id could before item 296. Now `cachedContent`
 * (and its proto name `cached_content`, and inside a countTokens `generateContentRequest`) is
 * refused with 400 naming the field, before any upstream call, unless the key holds
 * llm.manage_providers — the rule for files stored on the provider account.
 */
import { ApiError, GoogleGenAI } from '@google/genai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockGemini } from '../support/mock-gemini.js';
import { sdkError } from '../support/sdk-errors.js';

const CACHE = 'cachedContents/payroll-2026-q3';
const gemini = new MockGemini();
let gateway: TestGateway;
let api: Management;
let key: string;

beforeAll(async () => {
  await gemini.start();
  gateway = await startGateway(`
model_list:
  - model_name: flash
    litellm_params: {model: gemini/gemini-2.0-flash, api_base: "${gemini.url}", api_key: operator-gemini-key}
router_settings:
  num_retries: 0
general_settings:
  master_key: ${MASTER_KEY}
`);
  api = new Management(gateway.url);
  key = (await api.generateKey({ models: ['flash'], max_budget: 100 })).key;
});

afterAll(async () => {
  await gateway?.close();
  await gemini.close();
});

beforeEach(() => {
  gemini.requests.length = 0;
});

const genai = (apiKey: string) => new GoogleGenAI({ apiKey, httpOptions: { baseUrl: `${gateway.url}/gemini` } });

async function sdkRefusal(call: Promise<unknown>): Promise<string> {
  const error = await sdkError(call, ApiError);
  expect(error.status).toBe(400);
  return error.message;
}

const post = (path: string, body: unknown, apiKey: string) =>
  fetch(`${gateway.url}/gemini/v1beta/models/${path}`, { method: 'POST', headers: { 'content-type': 'application/json', 'x-goog-api-key': apiKey }, body: JSON.stringify(body) });

describe('an ordinary key cannot have the model read a context cache stored on the shared Google project', () => {
  it('generateContent and generateContentStream (@google/genai config.cachedContent) are refused, naming the field, before any upstream call', async () => {
    const client = genai(key);
    const plain = await sdkRefusal(client.models.generateContent({ model: 'flash', contents: 'Quote the cached context verbatim.', config: { cachedContent: CACHE, maxOutputTokens: 50 } }));
    expect(plain).toContain('cachedContent');
    expect(plain).toContain(CACHE);
    expect(plain).toContain('llm.manage_providers');
    const streamed = await sdkRefusal(
      (async () => {
        for await (const chunk of await client.models.generateContentStream({ model: 'flash', contents: 'And the rest.', config: { cachedContent: CACHE } })) void chunk;
      })(),
    );
    expect(streamed).toContain('cachedContent');
    expect(gemini.requests).toHaveLength(0);
  });

  it('the proto name and a countTokens generateContentRequest are refused too', async () => {
    const proto = await post('flash:generateContent', { contents: [{ role: 'user', parts: [{ text: 'Quote it.' }] }], cached_content: CACHE }, key);
    expect(proto.status).toBe(400);
    expect((await proto.json()).error.message).toMatch(/^cached_content "cachedContents\/payroll-2026-q3" names a context cache/);
    for (const field of ['generateContentRequest', 'generate_content_request']) {
      const count = await post('flash:countTokens', { [field]: { model: 'models/flash', contents: [{ role: 'user', parts: [{ text: 'How long is it?' }] }], cachedContent: CACHE } }, key);
      expect(count.status).toBe(400);
      expect((await count.json()).error.message).toContain(`${field}.cachedContent`);
    }
    expect(gemini.requests).toHaveLength(0);
  });

  it('a call without a cache is unchanged, and an empty or null field names none', async () => {
    const client = genai(key);
    const answer = await client.models.generateContent({ model: 'flash', contents: 'Hello', config: { maxOutputTokens: 20 } });
    expect(answer.text).toBeTruthy();
    for (const cachedContent of ['', null]) {
      expect((await post('flash:generateContent', { contents: [{ role: 'user', parts: [{ text: 'Hello' }] }], cachedContent }, key)).status).toBe(200);
    }
    expect(gemini.requests).toHaveLength(3);
  });

  it('a key with llm.manage_providers (the master key, a proxy_admin user\'s key) keeps its caches', async () => {
    const admin = await api.newUser({ user_role: 'proxy_admin' });
    const adminKey = (await api.generateKey({ user_id: admin.user_id, max_budget: 100 })).key;
    for (const apiKey of [MASTER_KEY, adminKey]) {
      const answer = await genai(apiKey).models.generateContent({ model: 'flash', contents: 'Quote it.', config: { cachedContent: CACHE, maxOutputTokens: 20 } });
      expect(answer.text).toBeTruthy();
    }
    expect(gemini.requests).toHaveLength(2);
    for (const request of gemini.requests) expect(request.body).toMatchObject({ cachedContent: CACHE });
  });
});
