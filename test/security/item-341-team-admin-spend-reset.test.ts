/**
 * Item 341: item 247 forbids a team admin to raise or remove the max_budget an admin
 * set on a member's key, yet /key/{key}/reset_spend lets it zero that key's spend as often as it
 * likes: the member's key, refused for its budget, called again. Now a team admin resets the spend
 * only of keys it created, or of keys with no budget (block, unblock and delete stay its own).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockOpenAI } from '../support/mock-openai.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { Management, pricedConfig } from '../support/management.js';

let upstream: MockOpenAI;
let gateway: TestGateway;
let api: Management;
let lead: string;

beforeAll(async () => {
  upstream = new MockOpenAI();
  await upstream.start();
  gateway = await startGateway(pricedConfig(upstream.url));
  api = new Management(gateway.url);
  await api.newUser({ user_id: 'lead', user_role: 'internal_user', auto_create_key: false });
  await api.newUser({ user_id: 'member', user_role: 'internal_user', auto_create_key: false });
  await api.newTeam({ team_id: 't', members_with_roles: [{ user_id: 'lead', role: 'admin' }, { user_id: 'member', role: 'user' }] });
  lead = (await api.generateKey({ user_id: 'lead', team_id: 't' })).key;
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

async function chat(key: string): Promise<number> {
  const response = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'cheap', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 }),
  });
  await response.text();
  return response.status;
}

describe('a team admin and the budget an admin set on a member key', () => {
  it('may neither raise it nor zero the spend under it', async () => {
    const issued = await api.generateKey({ user_id: 'member', team_id: 't', max_budget: 0.0001 });
    // Spend the budget.
    let ok = 0;
    for (let i = 0; i < 50 && (await chat(issued.key)) === 200; i++) { ok++; await gateway.flushUsage(); }
    expect(ok).toBeGreaterThan(0);
    expect(await chat(issued.key)).toBe(400);
    expect((await api.call('POST', '/key/update', { key: issued.token, max_budget: 100 }, lead)).status).toBe(403);
    const reset = await api.call('POST', `/key/${issued.token}/reset_spend`, { reset_to: 0 }, lead);
    const after = await chat(issued.key);
    // Before: 200, and the key called again.
    expect({ reset: reset.status, after }).toEqual({ reset: 403, after: 400 });
  });

  it('still resets the spend of a key it created, and of a member key with no budget', async () => {
    const own = await api.call<{ token: string; key: string }>('POST', '/key/generate', { team_id: 't', max_budget: 0.0001 }, lead);
    expect(own.status).toBe(200);
    expect(await chat(own.body.key)).toBe(200);
    await gateway.flushUsage();
    expect((await api.call('POST', `/key/${own.body.token}/reset_spend`, { reset_to: 0 }, lead)).status).toBe(200);
    const unbudgeted = await api.generateKey({ user_id: 'member', team_id: 't' });
    expect(await chat(unbudgeted.key)).toBe(200);
    await gateway.flushUsage();
    expect((await api.call('POST', `/key/${unbudgeted.token}/reset_spend`, { reset_to: 0 }, lead)).status).toBe(200);
  });
});
