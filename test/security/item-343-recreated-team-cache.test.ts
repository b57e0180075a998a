/**
 * Item 343: the response cache's default scope was `team:<team_id>`, and deleting a team does not
 * forget its entries. A team deleted and created again under the same team_id (ids are names an
 * admin picks, as for stored responses, which such a team does not read) is another tenant — yet
 * its keys were answered from the previous team's cached answers. Now the scope names the team with
 * its creation time (the exact and the semantic cache alike); keys of one team still share it.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { Management, pricedConfig } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

const upstream = new MockOpenAI();
let gateway: TestGateway;
let api: Management;

beforeAll(async () => {
  await upstream.start();
  gateway = await startGateway(pricedConfig(`${upstream.url}`, `
litellm_settings:
  cache: true
  cache_params: {type: local, ttl: 600}
`));
  api = new Management(gateway.url);
});

afterAll(async () => {
  await gateway?.close();
  await upstream.close();
});

async function chat(key: string, content: string) {
  const response = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'cheap', messages: [{ role: 'user', content }] }),
  });
  return { status: response.status, cache: response.headers.get('x-switchboard-cache'), body: await response.text() };
}

it('a team created again under a deleted team\'s id does not read the old team\'s cached answers', async () => {
  await api.newTeam({ team_id: 'acme' });
  const oldKey = (await api.generateKey({ team_id: 'acme' })).key;
  upstream.replies.push('CONFIDENTIAL: acme payroll summary for 2026 is ...');
  const prompt = 'Summarise our payroll file for 2026';
  const first = await chat(oldKey, prompt);
  expect(first.status).toBe(200);
  expect(first.cache).toBe('miss');

  await api.ok('POST', '/team/delete', { team_ids: ['acme'] });
  // Someone else's team, under the same name.
  await api.newTeam({ team_id: 'acme' });
  const newKey = (await api.generateKey({ team_id: 'acme' })).key;
  const calls = upstream.requests.length;
  const second = await chat(newKey, prompt);
  expect(second.status).toBe(200);
  // Before: 'hit', the deleted team's answer.
  expect(second.body).not.toContain('CONFIDENTIAL');
  expect(second.cache).toBe('miss');
  expect(upstream.requests.length).toBe(calls + 1);
  // Another key of the same (new) team shares the entry, as before.
  const sibling = (await api.generateKey({ team_id: 'acme' })).key;
  const third = await chat(sibling, prompt);
  expect(third.cache).toBe('hit');
  expect(upstream.requests.length).toBe(calls + 1);
});
