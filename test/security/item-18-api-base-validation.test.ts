/**
 * An admin-configured api_base can only be an http(s) upstream that is not a link-local or cloud
 * metadata address (unless general_settings.allow_internal_api_base) and not the gateway itself:
 * refused at config load — the model is unavailable with the reason and nothing is ever sent there,
 * the gateway starts with its other models (check-config warns, --strict fails) — and on
 * /model/new and /model/update with a 400 that says why. Private ranges and loopback stay allowed.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli.js';
import { parseConfig } from '../../src/config/load.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management, type ErrorBody } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

const REFUSED = [
  'file:///etc/passwd',
  'gopher://127.0.0.1:6379/_FLUSHALL',
  'http://169.254.169.254/latest/meta-data/iam/security-credentials/',
  'http://metadata.google.internal/computeMetadata/v1',
  'http://[fe80::1]:8080/v1',
  'http://0.0.0.0:8000/v1',
];

const configWith = (apiBase: string, extra = '') => `
model_list:
  - model_name: target
    litellm_params: {model: openai/gpt-4o-mini, api_base: "${apiBase}", api_key: sk-test-1234}
general_settings:
  master_key: ${MASTER_KEY}
  health_check_interval: 0
${extra}`;

describe('api_base at config load', () => {
  const directory = mkdtempSync(join(tmpdir(), 'switchboard-api-base-'));
  afterAll(() => rmSync(directory, { recursive: true, force: true }));

  const checkConfig = async (path: string, flags: string[] = []) => {
    const output: string[] = [];
    const log = vi.spyOn(console, 'log').mockImplementation((line: string) => void output.push(line));
    const code = await main(['check-config', path, ...flags], {}).finally(() => log.mockRestore());
    return { code, output: output.join('\n') };
  };

  it('check-config reports each refused api_base at its line as a warning (the model unavailable); --strict exits 1', async () => {
    for (const [index, apiBase] of REFUSED.entries()) {
      const path = join(directory, `bad-${index}.yaml`);
      writeFileSync(path, configWith(apiBase));
      const relaxed = await checkConfig(path);
      expect(relaxed.code, apiBase).toBe(0);
      expect(relaxed.output, apiBase).toMatch(/:4:\d+: warning: model_list\[0\]\.litellm_params\.api_base: .*(only http:\/\/ and https:\/\/|allow_internal_api_base).*nothing is ever sent there/);
      const strict = await checkConfig(path, ['--strict']);
      expect(strict.code, apiBase).toBe(1);
      expect(strict.output, apiBase).toMatch(/:4:\d+: error: model_list\[0\]\.litellm_params\.api_base: .*\[--strict\]/);
    }
  });

  it('a gateway with a refused api_base starts; that model is unavailable with the reason, keeps no address, and its calls never leave', async () => {
    for (const apiBase of REFUSED) {
      const gateway = await startGateway(configWith(apiBase));
      try {
        const response = await fetch(`${gateway.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'target', messages: [{ role: 'user', content: 'hi' }] }) });
        expect(response.status, apiBase).toBe(503);
        expect(((await response.json()) as ErrorBody).error.message, apiBase).toMatch(/api_base refused: /);
        const [deployment] = gateway.runtime.catalog.allDeployments();
        expect([deployment.available, deployment.apiBase], apiBase).toEqual([false, '']);
      } finally {
        await gateway.close();
      }
    }
  });

  it('allow_internal_api_base: true lets link-local and metadata addresses through, never other schemes', () => {
    const allowed = parseConfig(configWith('http://169.254.169.254/v1', '  allow_internal_api_base: true'), {});
    expect(allowed.issues.filter((issue) => issue.kind === 'unavailable-model' || issue.severity === 'error')).toEqual([]);
    const file = parseConfig(configWith('file:///etc/passwd', '  allow_internal_api_base: true'), {});
    expect(file.issues.some((issue) => issue.kind === 'unavailable-model' && issue.message.includes('only http:// and https://'))).toBe(true);
  });

  it('private ranges and loopback stay allowed', () => {
    for (const apiBase of ['http://10.1.2.3:8000/v1', 'http://192.168.0.10:11434', 'http://127.0.0.1:11434', 'http://localhost:8080/v1']) {
      expect(parseConfig(configWith(apiBase), {}).issues.filter((issue) => issue.kind === 'unavailable-model' || issue.severity === 'error'), apiBase).toEqual([]);
    }
  });

  it('an api_base from a provider environment variable is checked too: the model is unavailable, saying why', async () => {
    const gateway = await startGateway(`
model_list:
  - model_name: from-env
    litellm_params: {model: openai/gpt-4o-mini, api_key: sk-test-1234}
general_settings:
  master_key: ${MASTER_KEY}
  health_check_interval: 0
`, { env: { OPENAI_API_BASE: 'http://169.254.169.254/v1' } });
    try {
      const response = await fetch(`${gateway.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'from-env', messages: [{ role: 'user', content: 'hi' }] }) });
      expect(response.status).toBe(503);
      expect(((await response.json()) as ErrorBody).error.message).toMatch(/api_base refused: .*169\.254\.169\.254/);
    } finally {
      await gateway.close();
    }
  });
});

describe('api_base on /model/new and /model/update', () => {
  const upstream = new MockOpenAI();
  let gateway: TestGateway;
  let api: Management;

  beforeAll(async () => {
    await upstream.start();
    gateway = await startGateway(configWith(upstream.url), { env: { UPSTREAM_KEY: 'sk-upstream-from-env' } });
    api = new Management(gateway.url);
  });
  afterAll(async () => {
    await gateway?.close();
    await upstream.close();
  });

  const newModel = (apiBase: string) => api.call<ErrorBody>('POST', '/model/new', { model_name: 'added', litellm_params: { model: 'openai/gpt-4o-mini', api_base: apiBase, api_key: 'os.environ/UPSTREAM_KEY' } });

  it('refuses other schemes, metadata and link-local addresses with a 400 naming the field and the reason', async () => {
    for (const apiBase of REFUSED) {
      const response = await newModel(apiBase);
      expect(response.status, apiBase).toBe(400);
      expect(response.body.error.param).toBe('litellm_params.api_base');
      expect(response.body.error.message).toMatch(/litellm_params\.api_base: .*(only http:\/\/ and https:\/\/|allow_internal_api_base)/);
    }
  });

  it('refuses the gateway’s own address (the calls would loop)', async () => {
    const response = await newModel(`${gateway.url}/v1`);
    expect(response.status).toBe(400);
    expect(response.body.error.message).toContain('points at this gateway itself');
  });

  it('accepts a loopback upstream, and refuses an update that moves it to the metadata address', async () => {
    const created = await newModel(upstream.url);
    expect(created.status).toBe(200);
    const id = (created.body as unknown as { model_id: string }).model_id;
    const chat = await gateway.openai().chat.completions.create({ model: 'added', messages: [{ role: 'user', content: 'hi' }] });
    expect(chat.choices[0].message.content).toBe('Hello from the mock!');
    const updated = await api.call<ErrorBody>('POST', '/model/update', { model_info: { id }, litellm_params: { api_base: 'http://169.254.169.254/v1' } });
    expect(updated.status).toBe(400);
    expect(updated.body.error.message).toContain('allow_internal_api_base');
  });
});
