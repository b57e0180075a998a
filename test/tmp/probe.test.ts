import { afterAll, beforeAll, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
let gateway: TestGateway;
beforeAll(async () => { gateway = await startGateway(`
model_list:
  - model_name: m
    litellm_params: {model: openai/gpt-4o-mini, api_key: k}
general_settings: {master_key: ${MASTER_KEY}}
`); });
afterAll(async () => { await gateway?.close(); });
it('probe', async () => {
  const api = new Management(gateway.url);
  for (const [path, body] of [['/team/new', { foo: 1 }], ['/team/new', { team_member_budget: 5 }], ['/team/new', { model_aliases: { a: 'b' } }], ['/team/new', { organization_id: 'o' }], ['/user/new', { foo: 1 }], ['/user/new', { teams: ['x'] }], ['/key/generate', { foo: 1 }], ['/team/update', { team_id: 'nope', foo: 1 }], ['/budget/new', { foo: 1 }], ['/customer/new', { user_id: 'c1', foo: 1 }]] as const) {
    const r = await api.call('POST', path, body);
    console.log('PROBE', path, JSON.stringify(body), r.status, JSON.stringify(r.body).slice(0, 200));
  }
});
