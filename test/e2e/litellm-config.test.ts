/**
 * A real-world LiteLLM config (test/fixtures/litellm-real-world.yaml) as a user moving over runs
 * it: check-config reports every setting that does nothing and every model that cannot be served;
 * the gateway starts on it, lists those models unavailable with their reason, serves the others
 * through the official SDKs against local mock upstreams, and keeps no content in usage rows
 * (disable_spend_logs) while counting every token and every micro-dollar — on SQLite and PostgreSQL.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli.js';
import { checkReport } from '../../src/config/check-report.js';
import { loadConfigFile } from '../../src/config/load.js';
import { LITELLM_KEYS } from '../../src/config/litellm-keys.js';
import { dialectsUnderTest, type TestDatabase } from '../support/databases.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockAnthropic } from '../support/mock-anthropic.js';
import { MockGemini } from '../support/mock-gemini.js';
import { MockOllama } from '../support/mock-ollama.js';
import { MockOpenAI } from '../support/mock-openai.js';

const FIXTURE = join(import.meta.dirname, '../fixtures/litellm-real-world.yaml');

/** Keys the fixture uses that LiteLLM has and the gateway does not support (each must be warned about). */
const UNSUPPORTED_IN_FIXTURE = [
  ['litellm_settings', 'modify_params'],
  ['router_settings', 'allowed_fails_policy'],
  ['general_settings', 'store_model_in_db'],
  ['general_settings', 'proxy_batch_write_at'],
  ['top level', 'guardrails'],
  ['litellm_params', 'watsonx_region_name'],
  ['litellm_params', 'input_cost_per_second'],
] as const;

/** Models of the fixture the gateway cannot serve, and the words their reason must contain. */
const UNSERVED = {
  'bedrock-claude-3-5-sonnet': 'provider "bedrock"',
  'bedrock-titan-embed': 'provider "bedrock"',
  'vertex-gemini-1.5-pro': 'provider "vertex_ai"',
  'gemini-1.5-flash': 'provider "vertex_ai"',
  'command-r': 'provider "cohere"',
  'cohere-embed': 'provider "cohere"',
  'azure-ai-llama': 'provider "azure_ai"',
  'gpt-3.5-turbo-instruct': 'provider "text-completion-openai"',
  'sagemaker-llama': 'provider "sagemaker"',
  granite: 'provider "watsonx"',
};

async function checkConfigOutput(args: string[], env: Record<string, string>): Promise<{ code: number; out: string }> {
  const lines: string[] = [];
  const spy = vi.spyOn(console, 'log').mockImplementation((line: unknown) => void lines.push(String(line)));
  try {
    const code = await main(['check-config', ...args], env);
    return { code, out: lines.join('\n') };
  } finally {
    spy.mockRestore();
  }
}

describe('check-config on a real-world LiteLLM config', () => {
  it('without its secrets: fails on the unset variables the gateway needs, naming them', async () => {
    const { code, out } = await checkConfigOutput([FIXTURE], {});
    expect(code).toBe(1);
    expect(out).toMatch(/error: general_settings\.master_key: environment variable LITELLM_MASTER_KEY is not set/);
    // A variable in a section the gateway does not use is only a warning.
    expect(out).toMatch(/warning: guardrails\[0\]\.litellm_params\.api_key: environment variable LAKERA_API_KEY is not set \(not needed: "guardrails" is not supported\)/);
  });

  it('--allow-missing-env: ok, with one warning per not-supported key used and per unavailable model', async () => {
    const { code, out } = await checkConfigOutput([FIXTURE, '--allow-missing-env'], {});
    expect(code, out).toBe(0);
    for (const [section, key] of UNSUPPORTED_IN_FIXTURE) {
      const note = LITELLM_KEYS[section][key].note;
      expect(out, `${section}.${key}`).toContain(`warning: ${section === 'top level' ? '' : section === 'litellm_params' ? 'model_list[' : `${section}.`}`);
      expect(out, `${section}.${key}`).toContain(`"${key}" is not supported: ${note}`);
    }
    // Callback destinations the gateway does not send to are warned about by name.
    for (const [key, name] of [['failure_callback', 'sentry']]) {
      expect(out).toContain(`warning: litellm_settings.${key}[0]: callback "${name}" is not supported: nothing is sent to it`);
    }
    for (const [model, reason] of Object.entries(UNSERVED)) {
      const entries = out.split('\n').filter((line) => line.includes(reason) && line.includes('the gateway starts, with this model unavailable'));
      expect(entries.length, model).toBeGreaterThan(0);
    }
    // Honoured settings are not reported.
    for (const key of ['disable_spend_logs', 'turn_off_message_logging', 'enable_pre_call_checks', 'organization', 'max_retries', 'max_response_size_mb', 'base_model', 'supports_vision', 'cache_params']) expect(out).not.toContain(`"${key}" is not supported`);
    expect(out).toMatch(/ok — \d+ model\(s\), 40 deployment\(s\)/);
  });

  it('--strict fails on the same config, every warning an error', async () => {
    const { code, out } = await checkConfigOutput([FIXTURE, '--allow-missing-env', '--strict'], {});
    expect(code).toBe(1);
    expect(out).toMatch(/error: litellm_settings\.failure_callback\[0\]: callback "sentry" is not supported: .* \[--strict\]/);
    expect(out).toMatch(/error: model_list\[\d+\]\.litellm_params\.model: provider "sagemaker"/);
    expect(out).toMatch(/\d+ error\(s\)/);
  });

  it('with its secrets, the report lists the models still unavailable and why', async () => {
    const loaded = await loadConfigFile(FIXTURE, { OPENAI_API_KEY: 'k', LITELLM_MASTER_KEY: 'm', DATABASE_URL: 'sqlite::memory:' });
    const report = checkReport(loaded, { strict: false, allowMissingEnv: false });
    // Missing secrets of served models are errors without --allow-missing-env.
    expect(report.errors).toBeGreaterThan(0);
    expect(report.lines.join('\n')).toMatch(/model_list\[\d+\]\.litellm_params\.api_key: environment variable ANTHROPIC_API_KEY is not set \(the gateway starts, with this model unavailable\)/);
  });
});

for (const { dialect, create } of await dialectsUnderTest()) {
  describe(`the gateway on a real-world LiteLLM config (${dialect})`, () => {
    let database: TestDatabase;
    let gateway: TestGateway;
    let openai: MockOpenAI;
    let anthropic: MockAnthropic;
    let gemini: MockGemini;
    let ollama: MockOllama;
    let management: Management;

    beforeAll(async () => {
      database = await create();
      openai = new MockOpenAI({ promptTokens: 30, completionTokens: 7 });
      anthropic = new MockAnthropic({ apiKey: 'anthropic-test-key' });
      gemini = new MockGemini({ apiKey: 'gemini-test-key' });
      ollama = new MockOllama({ models: ['llama3.2', 'qwen2.5-coder'] });
      await Promise.all([openai.start(), anthropic.start(), gemini.start(), ollama.start()]);
      gateway = await startGateway(readFileSync(FIXTURE, 'utf8'), {
        databaseUrl: database.url,
        env: {
          LITELLM_MASTER_KEY: MASTER_KEY,
          DATABASE_URL: database.url,
          OPENAI_API_KEY: 'openai-test-key',
          OPENAI_API_BASE: openai.url,
          OPENAI_ORGANIZATION: 'org-switchboard-test',
          AZURE_API_KEY: 'azure-test-key',
          AZURE_API_BASE: openai.url.replace(/\/v1$/, ''),
          ANTHROPIC_API_KEY: 'anthropic-test-key',
          ANTHROPIC_API_BASE: anthropic.url,
          GEMINI_API_KEY: 'gemini-test-key',
          GEMINI_API_BASE: gemini.url,
          OLLAMA_API_BASE: ollama.url,
        },
      });
      management = new Management(gateway.url);
    });

    afterAll(async () => {
      await gateway?.close();
      await Promise.all([openai?.close(), anthropic?.close(), gemini?.close(), ollama?.close()]);
      await database?.drop();
    });

    it('starts, and /model/info lists every model: the unservable ones unavailable with their reason', async () => {
      const info = await management.ok<{ data: Array<{ model_name: string; model_info: Record<string, unknown> }> }>('GET', '/model/info');
      expect(info.data).toHaveLength(40);
      const byName = (name: string) => info.data.filter((entry) => entry.model_name === name);
      for (const [model, reason] of Object.entries(UNSERVED)) {
        const [entry] = byName(model);
        expect(entry.model_info.available, model).toBe(false);
        expect(entry.model_info.unavailable_reason, model).toContain(reason);
      }
      // Served models without their secret are unavailable too, saying which variable.
      expect(byName('llama-3.1-8b')[0].model_info.unavailable_reason).toContain('GROQ_API_KEY');
      const [gpt4o] = byName('gpt-4o');
      expect(gpt4o.model_info).toMatchObject({ available: true, supports_vision: true, supports_function_calling: true, max_input_tokens: 128000, mode: 'chat' });
      // A bare name resolves as LiteLLM resolves it.
      expect(byName('claude-3-5-haiku')[0].model_info).toMatchObject({ available: true, litellm_provider: 'anthropic', upstream_model: 'claude-3-5-haiku-20241022' });
      expect(byName('azure-gpt-4o')[0].model_info).toMatchObject({ available: true, base_model: 'azure/gpt-4o' });
    });

    it('a call to a model it cannot serve is a 503 model_unavailable that says why', async () => {
      const error = await gateway
        .openai()
        .chat.completions.create({ model: 'bedrock-claude-3-5-sonnet', messages: [{ role: 'user', content: 'hi' }] })
        .then(
          () => undefined,
          (caught: unknown) => caught as { status: number; code: string; message: string },
        );
      expect(error).toMatchObject({ status: 503, code: 'model_unavailable' });
      expect(error!.message).toContain('AWS Bedrock is not served by this version');
    });

    it('serves one model per served provider, plain and streaming, through the openai SDK', async () => {
      const client = gateway.openai();
      for (const model of ['gpt-4o', 'gpt-4o-mini', 'azure-gpt-4o', 'claude-3-5-haiku', 'gemini-2.0-flash', 'llama3.2']) {
        const plain = await client.chat.completions.create({ model, messages: [{ role: 'user', content: `hello ${model}` }], user: 'end-user-1' });
        expect(plain.choices[0].message.content, model).toBeTruthy();
        const stream = await client.chat.completions.create({ model, messages: [{ role: 'user', content: `stream ${model}` }], stream: true });
        let text = '';
        for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
        expect(text, model).toBeTruthy();
      }
      // The bare name went to OpenAI under its own name; organization went as OpenAI-Organization.
      const gptMini = openai.requests.find((request) => request.body.model === 'gpt-4o-mini')!;
      expect(gptMini.url).toBe('/v1/chat/completions');
      const gpt4o = openai.requests.filter((request) => request.body.model === 'gpt-4o');
      expect(gpt4o.length).toBe(2);
      for (const request of gpt4o) expect(request.headers['openai-organization']).toBe('org-switchboard-test');
      expect(gptMini.headers['openai-organization']).toBeUndefined();
      expect(anthropic.requests.some((request) => request.body.model === 'claude-3-5-haiku-20241022')).toBe(true);
    });

    it('disable_spend_logs: rows keep tokens, cost and spend but no prompt, response, metadata, tags or end user', async () => {
      const key = await management.generateKey({ key_alias: `litellm-${dialect}` });
      const client = gateway.openai(key.key);
      const completion = await client.chat.completions
        .create({ model: 'gpt-4', messages: [{ role: 'user', content: 'a secret prompt' }], user: 'end-user-2' }, { headers: { 'x-litellm-tags': 'team-a,project-b' } })
        .withResponse();
      const callId = completion.response.headers.get('x-switchboard-call-id')!;
      expect(callId).toBeTruthy();
      const row = (await gateway.recordOf(callId))!;
      expect(row).toMatchObject({ model_group: 'gpt-4o', prompt_tokens: 30, completion_tokens: 7, total_tokens: 37, status: 'success' });
      expect(row.cost_micros).toBeGreaterThan(0);
      // The alias (gpt-4 → gpt-4o) would be metadata; tags, end user, address, prompt and answer are content.
      expect({ messages: row.messages, response: row.response, metadata: row.metadata, request_tags: row.request_tags, end_user: row.end_user, requester_ip: row.requester_ip, error_message: row.error_message }).toEqual({
        messages: null,
        response: null,
        metadata: null,
        request_tags: null,
        end_user: null,
        requester_ip: null,
        error_message: null,
      });
      // Spend totals are still kept.
      const info = await management.keyInfo(key.key);
      expect(info.spend).toBeCloseTo(row.cost_micros! / 1e6, 9);
    });
  });
}
