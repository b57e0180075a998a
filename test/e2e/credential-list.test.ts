/**
 * LiteLLM's reusable credentials in config.yaml: a top-level `credential_list` of named
 * `credential_values`, taken by a model_list entry through `litellm_params.litellm_credential_name`
 * for the litellm_params it does not set itself (LiteLLM's load_credentials_from_list: the entry's
 * own values win). Values get the same os.environ/ resolution and api_base checks as the entry's own;
 * an unknown credential name leaves that model unavailable with the reason; the secret is never shown
 * by /model/info nor logged. Credentials created at runtime (LiteLLM's /credentials API) are not
 * served: the route answers 404.
 */
import pino from 'pino';
import { Writable } from 'node:stream';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

const SHARED_SECRET = 'sk-from-credential-7f3a9c2e51';
const upstream = new MockOpenAI();
let gateway: TestGateway;
const logLines: string[] = [];

const configOf = (apiBase: string) => `
credential_list:
  - credential_name: shared_openai
    credential_values:
      api_key: os.environ/SHARED_OPENAI_KEY
      api_base: ${apiBase}
    credential_info:
      description: the team's OpenAI account
  - credential_name: internal_cred
    credential_values:
      api_key: sk-internal
      api_base: http://169.254.169.254/v1
    credential_info: {description: metadata service}
  - credential_name: unset_cred
    credential_values:
      api_key: os.environ/NOT_SET_ANYWHERE
      api_base: ${apiBase}
    credential_info: {description: unset}
model_list:
  - model_name: via-credential
    litellm_params: {model: openai/gpt-4o-mini, litellm_credential_name: shared_openai}
  - model_name: own-key
    litellm_params: {model: openai/gpt-4o-mini, litellm_credential_name: shared_openai, api_key: sk-own-key}
  - model_name: unknown-credential
    litellm_params: {model: openai/gpt-4o-mini, api_base: "${apiBase}", api_key: sk-x, litellm_credential_name: no_such_cred}
  - model_name: internal-base
    litellm_params: {model: openai/gpt-4o-mini, litellm_credential_name: internal_cred}
  - model_name: unset-variable
    litellm_params: {model: openai/gpt-4o-mini, litellm_credential_name: unset_cred}
general_settings:
  master_key: ${MASTER_KEY}
`;

beforeAll(async () => {
  await upstream.start();
  const stream = new Writable({ write(chunk, _encoding, done) { logLines.push(String(chunk)); done(); } });
  gateway = await startGateway(configOf(upstream.url), { env: { SHARED_OPENAI_KEY: SHARED_SECRET }, logger: pino({ level: 'trace' }, stream) });
});

afterAll(async () => {
  await gateway?.close();
  await upstream.close();
});

afterEach(() => {
  upstream.requests.length = 0;
});

type ModelInfoRow = { model_name: string; litellm_params: Record<string, unknown>; model_info: { available: boolean; unavailable_reason: string | null } };

async function modelInfo(): Promise<{ text: string; rows: ModelInfoRow[] }> {
  const response = await fetch(`${gateway.url}/model/info`, { headers: { authorization: `Bearer ${MASTER_KEY}` } });
  expect(response.status).toBe(200);
  const text = await response.text();
  return { text, rows: (JSON.parse(text) as { data: ModelInfoRow[] }).data };
}

async function ask(model: string): Promise<number> {
  const response = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }),
  });
  await response.text();
  return response.status;
}

describe('credential_list and litellm_params.litellm_credential_name', () => {
  it('load without "not supported" warnings; an unknown credential name and unknown credential fields are reported', () => {
    const loaded = parseConfig(`${configOf('https://api.openai.com/v1')}\n`.replace('credential_info: {description: unset}', 'credential_info: {description: unset}\n    credentials_values: {api_key: typo}'), { SHARED_OPENAI_KEY: SHARED_SECRET });
    const messages = loaded.issues.map((issue) => `${issue.path.join('.')}: ${issue.message}`);
    expect(messages.filter((message) => message.includes('not supported'))).toEqual([]);
    const unknown = loaded.issues.find((issue) => issue.path.join('.') === 'model_list.2.litellm_params.litellm_credential_name');
    expect(unknown?.message).toContain('no_such_cred');
    expect(unknown?.fatal).toBe(false);
    expect(messages.some((message) => message.startsWith('credential_list.2.credentials_values') && message.includes('unknown key'))).toBe(true);
    expect(loaded.issues.filter((issue) => issue.fatal)).toEqual([]);
  });

  it('a model sends the api_key and calls the api_base of its credential', async () => {
    expect(await ask('via-credential')).toBe(200);
    expect(upstream.requests).toHaveLength(1);
    expect(upstream.requests[0]!.headers.authorization).toBe(`Bearer ${SHARED_SECRET}`);
  });

  it("the model's own api_key wins over its credential's (as in LiteLLM)", async () => {
    expect(await ask('own-key')).toBe(200);
    expect(upstream.requests[0]!.headers.authorization).toBe('Bearer sk-own-key');
  });

  it('an unknown credential name, a refused api_base or an unset variable in a credential leaves that model unavailable, with the reason', async () => {
    for (const model of ['unknown-credential', 'internal-base', 'unset-variable']) expect(await ask(model), model).not.toBe(200);
    expect(upstream.requests).toHaveLength(0);
    const { rows } = await modelInfo();
    const reason = (name: string) => rows.find((row) => row.model_name === name)!.model_info;
    expect(reason('unknown-credential')).toMatchObject({ available: false });
    expect(reason('unknown-credential').unavailable_reason).toContain('no_such_cred');
    expect(reason('internal-base').available).toBe(false);
    expect(reason('internal-base').unavailable_reason).toContain('api_base refused');
    expect(reason('unset-variable').available).toBe(false);
    expect(reason('unset-variable').unavailable_reason).toContain('NOT_SET_ANYWHERE');
  });

  it("/model/info masks a credential's api_key as it masks a model's own, and the log never holds it", async () => {
    expect(await ask('via-credential')).toBe(200);
    const { text, rows } = await modelInfo();
    expect(text).not.toContain(SHARED_SECRET);
    const shown = rows.find((row) => row.model_name === 'via-credential')!.litellm_params.api_key;
    const own = rows.find((row) => row.model_name === 'own-key')!.litellm_params.api_key;
    expect(typeof shown).toBe('string');
    expect(shown).not.toBe(SHARED_SECRET);
    expect(String(own)).not.toContain('sk-own-key');
    expect(logLines.join('')).not.toContain(SHARED_SECRET);
  });

  it('a model added through the model API takes a config credential; an unknown name is a 400', async () => {
    const api = new Management(gateway.url);
    await api.ok('POST', '/model/new', { model_name: 'added-with-credential', litellm_params: { model: 'openai/gpt-4o-mini', litellm_credential_name: 'shared_openai' } });
    expect(await ask('added-with-credential')).toBe(200);
    expect(upstream.requests[0]!.headers.authorization).toBe(`Bearer ${SHARED_SECRET}`);
    const refused = await api.call('POST', '/model/new', { model_name: 'added-unknown', litellm_params: { model: 'openai/gpt-4o-mini', litellm_credential_name: 'no_such_cred' } });
    expect(refused.status).toBe(400);
    expect(JSON.stringify(refused.body)).toContain('no_such_cred');
    const { text, rows } = await modelInfo();
    expect(text).not.toContain(SHARED_SECRET);
    expect(rows.find((row) => row.model_name === 'added-with-credential')!.litellm_params.litellm_credential_name).toBe('shared_openai');
  });

  it("LiteLLM's runtime /credentials API is not served: a clear 404, nothing stored", async () => {
    const response = await fetch(`${gateway.url}/credentials`, {
      method: 'POST',
      headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ credential_name: 'x', credential_values: { api_key: 'sk-y' }, credential_info: {} }),
    });
    expect(response.status).toBe(404);
    expect(await response.text()).toContain('no route POST /credentials');
  });
});
