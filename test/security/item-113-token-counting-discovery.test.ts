/**
 * The token-counting routes (`/v1/messages/count_tokens`, `/v1/responses/input_tokens`) call no
 * upstream, but answered 200 for any configured model and 404 for an unknown one — so a caller
 * could confirm the names of models its key, user, team or platform tier may not use, which every
 * discovery route hides from it (item 55). They now answer a model the caller may not see as they
 * answer one that does not exist; callers who may use it count as before.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { Management, pricedConfig } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

const PLATFORM = `
platform:
  default_tier: free
  tiers:
    free: {markup: 0, initial_credits: 10, models: ["cheap"]}
    pro: {markup: 0, initial_credits: 10}
`;

let upstream: MockOpenAI;
let gateway: TestGateway;
let api: Management;
let freeKey: string;
let proKey: string;
let cheapOnlyKey: string;

beforeAll(async () => {
  upstream = new MockOpenAI();
  await upstream.start();
  gateway = await startGateway(pricedConfig(upstream.url, PLATFORM));
  api = new Management(gateway.url);
  freeKey = (await api.newUser({ user_id: 'free-u', user_role: 'internal_user', tier: 'free' })).key!;
  proKey = (await api.newUser({ user_id: 'pro-u', user_role: 'internal_user', tier: 'pro' })).key!;
  await api.newUser({ user_id: 'pro-v', user_role: 'internal_user', tier: 'pro', auto_create_key: false });
  cheapOnlyKey = (await api.generateKey({ user_id: 'pro-v', models: ['cheap'] })).key;
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

async function count(path: string, model: string, key: string): Promise<{ status: number; text: string }> {
  const body = path.includes('messages') ? { model, messages: [{ role: 'user', content: 'count me' }] } : { model, input: 'count me' };
  const response = await fetch(`${gateway.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' }, body: JSON.stringify(body) });
  return { status: response.status, text: await response.text() };
}

describe('token counting does not confirm models the caller may not see', () => {
  for (const path of ['/v1/messages/count_tokens', '/v1/responses/input_tokens']) {
    it(`${path}: a model outside the tier or the key's list answers as an unknown one`, async () => {
      const unknown = await count(path, 'no-such-model', freeKey);
      expect(unknown.status).toBe(404);
      for (const key of [freeKey, cheapOnlyKey]) {
        const hidden = await count(path, 'premium', key);
        expect(hidden.status).toBe(404);
        expect(hidden.text.replace(/premium/g, 'X')).toBe(unknown.text.replace(/no-such-model/g, 'X'));
      }
      expect((await count(path, 'cheap', freeKey)).status).toBe(200);
      expect((await count(path, 'premium', proKey)).status).toBe(200);
    });
  }
});
