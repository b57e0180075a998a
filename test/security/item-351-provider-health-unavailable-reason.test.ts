/**
 * Item 351: `model_info.unavailable_reason` is hidden from keys that do not manage models on
 * /model/info (it names environment variables, and a refused api_base with any credentials in it),
 * and GET /health and /health/latest show such keys only a generic error. But GET /health/providers
 * handed any key (`llm.read`) the health monitor's `last_error` of an unavailable deployment as it
 * was: "environment variable PROD_OPENAI_KEY_FOR_ACME_TEAM is not set", "api_base refused:
 * "ftp://svc-user:hunter2-basic-auth@llm.internal.example/v1" …". Now keys that do not manage
 * providers read "unavailable" there (as on GET /health); admin keys keep the detail.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

const upstream = new MockOpenAI();
let gateway: TestGateway;
let api: Management;
let userKey: string;

beforeAll(async () => {
  await upstream.start();
  gateway = await startGateway(`
model_list:
  - model_name: chat
    litellm_params: {model: openai/gpt-4o-mini, api_base: "${upstream.url}", api_key: sk-provider}
    model_info: {id: dep-ok}
  - model_name: chat
    litellm_params: {model: openai/gpt-4o-mini, api_base: "${upstream.url}", api_key: os.environ/PROD_OPENAI_KEY_FOR_ACME_TEAM}
    model_info: {id: dep-env}
  - model_name: chat
    litellm_params: {model: openai/gpt-4o-mini, api_base: "ftp://svc-user:hunter2-basic-auth@llm.internal.example/v1", api_key: sk-provider}
    model_info: {id: dep-base}
general_settings:
  master_key: ${MASTER_KEY}
  health_check_interval: 0
`);
  api = new Management(gateway.url);
  userKey = (await api.generateKey({ key_alias: 'plain-user' })).key;
  await api.ok('POST', '/health/check', {});
});

afterAll(async () => {
  await gateway?.close();
  await upstream.close();
});

const get = async (path: string, key: string) => {
  const response = await fetch(`${gateway.url}${path}`, { headers: { authorization: `Bearer ${key}` } });
  return { status: response.status, text: await response.text() };
};

interface DeploymentView { deployment_id: string; status: string; last_error: string | null }
const deploymentsOf = (text: string): Map<string, DeploymentView> =>
  new Map((JSON.parse(text) as { deployments: DeploymentView[] }).deployments.map((view) => [view.deployment_id, view]));

describe('GET /health/providers for a key that does not manage providers', () => {
  it('control: /model/info hides unavailable_reason from the key; an admin sees it', async () => {
    const user = await get('/model/info', userKey);
    expect(user.status).toBe(200);
    expect(user.text).toContain('dep-env');
    expect(user.text).not.toContain('PROD_OPENAI_KEY_FOR_ACME_TEAM');
    expect((await get('/model/info', MASTER_KEY)).text).toContain('PROD_OPENAI_KEY_FOR_ACME_TEAM');
  });

  it('does not name the environment variable nor the refused api_base with its credentials', async () => {
    const user = await get('/health/providers', userKey);
    expect(user.status, user.text).toBe(200);
    // Before: last_error "environment variable PROD_OPENAI_KEY_FOR_ACME_TEAM is not set (litellm_params.api_key)".
    expect(user.text).not.toContain('PROD_OPENAI_KEY_FOR_ACME_TEAM');
    // Before: last_error 'api_base refused: "ftp://svc-user:hunter2-basic-auth@llm.internal.example/v1" …'.
    expect(user.text).not.toContain('hunter2-basic-auth');
    expect(user.text).not.toContain('llm.internal.example');
  });

  it('still lists the unavailable deployments as down, with a generic last_error; the healthy one has none', async () => {
    const views = deploymentsOf((await get('/health/providers', userKey)).text);
    expect(views.get('dep-env')).toMatchObject({ status: 'down', last_error: 'unavailable' });
    expect(views.get('dep-base')).toMatchObject({ status: 'down', last_error: 'unavailable' });
    expect(views.get('dep-ok')).toMatchObject({ status: 'healthy', last_error: null });
  });

  it('control: the other health routes show the key no detail either', async () => {
    for (const path of ['/health', '/health/latest', '/api/v1/llm/health']) {
      const user = await get(path, userKey);
      expect(user.status, `${path}: ${user.text}`).toBe(200);
      expect(user.text, path).not.toContain('PROD_OPENAI_KEY_FOR_ACME_TEAM');
      expect(user.text, path).not.toContain('hunter2-basic-auth');
    }
  });
});

describe('GET /health/providers for an admin key', () => {
  it('keeps the detail (last_error names the variable and the refused api_base)', async () => {
    const views = deploymentsOf((await get('/health/providers', MASTER_KEY)).text);
    expect(views.get('dep-env')?.last_error).toContain('PROD_OPENAI_KEY_FOR_ACME_TEAM');
    expect(views.get('dep-base')?.last_error).toContain('hunter2-basic-auth');
  });

  it('and so does POST /health/check', async () => {
    const text = JSON.stringify(await api.ok('POST', '/health/check', {}));
    expect(text).toContain('PROD_OPENAI_KEY_FOR_ACME_TEAM');
    expect(text).toContain('hunter2-basic-auth');
  });
});
