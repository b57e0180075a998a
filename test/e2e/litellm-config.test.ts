/**
 * A real-world LiteLLM config (test/fixtures/litellm-real-world.yaml) as a user moving over runs
 * it: check-config reports every setting that does nothing and every model that cannot be served;
 * the gateway starts on it with every provider's secrets and base URLs pointing at local mock
 * upstreams (AWS keys checked by SigV4, a Google service account whose token endpoint is the mock),
 * lists the models it cannot serve unavailable with their reason, serves one model per provider
 * plain and streamed through the official SDKs, and keeps no content in usage rows
 * (disable_spend_logs) while counting every token and every micro-dollar — on SQLite and PostgreSQL
 * (the per-provider round runs once, on SQLite).
 */
import Anthropic from '@anthropic-ai/sdk';
import { mkdtempSync, readFileSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli.js';
import { checkReport } from '../../src/config/check-report.js';
import { loadConfigFile } from '../../src/config/load.js';
import { LITELLM_KEYS, type LitellmSection } from '../../src/config/litellm-keys.js';
import { dialectsUnderTest, type TestDatabase } from '../support/databases.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockAnthropic } from '../support/mock-anthropic.js';
import { MockAzureAI } from '../support/mock-azure-ai.js';
import { BEDROCK_TEST_CREDENTIALS, MockBedrock } from '../support/mock-bedrock.js';
import { MockCohere } from '../support/mock-cohere.js';
import { MockGemini } from '../support/mock-gemini.js';
import { MockOllama } from '../support/mock-ollama.js';
import { MockOpenAI } from '../support/mock-openai.js';
import { MockVertex } from '../support/mock-vertex.js';

const FIXTURE = join(import.meta.dirname, '../fixtures/litellm-real-world.yaml');

/** Keys the fixture uses that LiteLLM has and the gateway does not support (each must be warned about). */
const UNSUPPORTED_IN_FIXTURE: ReadonlyArray<readonly [LitellmSection, string]> = [
  ['litellm_settings', 'modify_params'],
  ['general_settings', 'store_model_in_db'],
  ['general_settings', 'proxy_batch_write_at'],
  ['litellm_params', 'watsonx_region_name'],
];

/** Models of the fixture whose provider the gateway does not serve, and the words their reason must contain. */
const UNSERVED = {
  'sagemaker-llama': 'provider "sagemaker": AWS SageMaker endpoints are not served by this version',
  granite: 'provider "watsonx": IBM watsonx is not served by this version',
};

/** Models whose secret the e2e gateway below is deliberately not given, and the variable their reason names. */
const WITHOUT_SECRET = {
  'mistral-large': 'MISTRAL_API_KEY',
  'deepseek-chat': 'DEEPSEEK_API_KEY',
  'qwen-72b': 'TOGETHERAI_API_KEY',
  'llama-3.1-405b': 'OPENROUTER_API_KEY',
  'vllm-qwen-7b': 'VLLM_API_BASE',
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
    // The fixture's guardrail is Lakera's, a type the gateway does not run: its key is not needed.
    expect(out).toMatch(/warning: guardrails\[0\]\.litellm_params\.api_key: environment variable LAKERA_API_KEY is not set \(not needed: guardrail type "lakera_v2" is not built in\)/);
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
    for (const key of ['disable_spend_logs', 'turn_off_message_logging', 'enable_pre_call_checks', 'enable_tag_filtering', 'tags', 'aws_access_key_id', 'aws_region_name', 'vertex_project', 'vertex_credentials', 'organization', 'max_retries', 'max_response_size_mb', 'base_model', 'supports_vision', 'cache_params', 'allowed_fails_policy']) expect(out).not.toContain(`"${key}" is not supported`);
    expect(out).toMatch(/ok — \d+ model\(s\), 40 deployment\(s\)/);
  });

  it('--strict fails on the same config, every warning an error', async () => {
    const { code, out } = await checkConfigOutput([FIXTURE, '--allow-missing-env', '--strict'], {});
    expect(code).toBe(1);
    expect(out).toMatch(/error: litellm_settings\.failure_callback\[0\]: callback "sentry" is not supported: .* \[--strict\]/);
    expect(out).toMatch(/error: model_list\[\d+\]\.litellm_params\.model: provider "sagemaker"/);
    // Models that wait only for their provider's environment (AWS keys, a Gemini key) are not errors.
    for (const model of ['bedrock-llama-3-1-70b', 'bedrock-titan-embed', 'gemini-1.5-flash']) expect(out).toMatch(new RegExp(`warning: model_list\\[\\d+\\]: model "${model}" .* is unavailable`));
    expect(out).not.toMatch(/error: .*is unavailable: no AWS credentials/);
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

/** One model of the fixture per provider, the mock it must reach and what that mock must have received. */
interface ProviderCase {
  model: string;
  provider: string;
  requests: () => unknown[];
  sent: Record<string, unknown>;
  /** A server on the operator's machines: priced at zero. */
  local?: boolean;
  /** The exact charge, where the mock's token counts make it a whole number of micro-dollars. */
  costMicros?: number;
}

interface Mocks {
  openai: MockOpenAI;
  groq: MockOpenAI;
  anthropic: MockAnthropic;
  gemini: MockGemini;
  ollama: MockOllama;
  bedrock: MockBedrock;
  vertex: MockVertex;
  cohere: MockCohere;
  azureAi: MockAzureAI;
}

let mocks: Mocks;
let gatewayEnv: Record<string, string>;

beforeAll(async () => {
  mocks = {
    openai: new MockOpenAI({ promptTokens: 30, completionTokens: 7 }),
    groq: new MockOpenAI({ promptTokens: 40, completionTokens: 9, reply: 'Hello from Groq!' }),
    anthropic: new MockAnthropic({ apiKey: 'anthropic-test-key' }),
    gemini: new MockGemini({ apiKey: 'gemini-test-key' }),
    ollama: new MockOllama({ models: ['llama3.2', 'qwen2.5-coder'] }),
    bedrock: new MockBedrock({ credentials: BEDROCK_TEST_CREDENTIALS, region: 'us-east-1', inputTokens: 120, outputTokens: 30 }),
    vertex: new MockVertex({ project: 'acme-prod', gemini: { promptTokens: 200, candidatesTokens: 50 }, anthropic: { inputTokens: 110, outputTokens: 25 } }),
    cohere: new MockCohere({ apiKey: 'cohere-test-key' }),
    azureAi: new MockAzureAI('azure-ai-test-key', { promptTokens: 60, completionTokens: 12, reply: 'Hello from Azure AI!' }),
  };
  await Promise.all(Object.values(mocks).map((mock) => mock.start()));
  // The service account key as the Cloud console downloads it; its token_uri is the mock's OAuth endpoint.
  const credentialsPath = join(mkdtempSync(join(tmpdir(), 'litellm-fixture-')), 'service-account.json');
  writeFileSync(credentialsPath, JSON.stringify(mocks.vertex.serviceAccount()));
  gatewayEnv = {
    LITELLM_MASTER_KEY: MASTER_KEY,
    OPENAI_API_KEY: 'openai-test-key',
    OPENAI_API_BASE: mocks.openai.url,
    OPENAI_ORGANIZATION: 'org-switchboard-test',
    AZURE_API_KEY: 'azure-test-key',
    AZURE_API_BASE: mocks.openai.url.replace(/\/v1$/, ''),
    ANTHROPIC_API_KEY: 'anthropic-test-key',
    ANTHROPIC_API_BASE: mocks.anthropic.url,
    GEMINI_API_KEY: 'gemini-test-key',
    GEMINI_API_BASE: mocks.gemini.url,
    GROQ_API_KEY: 'groq-test-key',
    GROQ_API_BASE: mocks.groq.url,
    OLLAMA_API_BASE: mocks.ollama.url,
    AWS_ACCESS_KEY_ID: BEDROCK_TEST_CREDENTIALS.accessKeyId,
    AWS_SECRET_ACCESS_KEY: BEDROCK_TEST_CREDENTIALS.secretAccessKey,
    AWS_BEDROCK_RUNTIME_ENDPOINT: mocks.bedrock.url,
    VERTEX_PROJECT: 'acme-prod',
    VERTEX_CREDENTIALS: credentialsPath,
    VERTEX_API_BASE: mocks.vertex.url,
    // The Vertex Claude deployment names no credentials: Application Default Credentials, from this file.
    GOOGLE_APPLICATION_CREDENTIALS: credentialsPath,
    COHERE_API_KEY: 'cohere-test-key',
    COHERE_API_BASE: mocks.cohere.url,
    AZURE_AI_API_KEY: 'azure-ai-test-key',
    AZURE_AI_API_BASE: mocks.azureAi.url,
  };
});

afterAll(async () => {
  await Promise.all(Object.values(mocks ?? {}).map((mock) => mock.close()));
});

function providerCases(): ProviderCase[] {
  const { openai, groq, anthropic, gemini, ollama, bedrock, vertex, cohere, azureAi } = mocks;
  const chat = (model: string) => ({ url: '/v1/chat/completions', body: expect.objectContaining({ model }) });
  return [
    { model: 'gpt-4o', provider: 'openai', requests: () => openai.requests, sent: chat('gpt-4o') },
    { model: 'azure-gpt-4o', provider: 'azure', requests: () => openai.requests, sent: { url: expect.stringContaining('/openai/deployments/gpt-4o-prod-eastus/chat/completions?api-version=2024-10-21'), headers: expect.objectContaining({ 'api-key': 'azure-test-key' }) } },
    { model: 'claude-3-5-sonnet', provider: 'anthropic', requests: () => anthropic.requests, sent: { url: '/v1/messages', body: expect.objectContaining({ model: 'claude-3-5-sonnet-20241022' }) } },
    { model: 'gemini-2.0-flash', provider: 'gemini', requests: () => gemini.requests, sent: { model: 'gemini-2.0-flash' } },
    // A bare gemini-* name is Google AI Studio's, with the key and base from the environment.
    { model: 'gemini-1.5-flash', provider: 'gemini', requests: () => gemini.requests, sent: { model: 'gemini-1.5-flash' } },
    { model: 'llama-3.3-70b', provider: 'groq', requests: () => groq.requests, sent: { ...chat('llama-3.3-70b-versatile'), headers: expect.objectContaining({ authorization: 'Bearer groq-test-key' }) } },
    { model: 'llama3.2', provider: 'ollama_chat', requests: () => ollama.requests, sent: { path: '/api/chat', body: expect.objectContaining({ model: 'llama3.2' }) }, local: true },
    { model: 'qwen2.5-coder', provider: 'ollama', requests: () => ollama.requests, sent: { path: '/api/generate', body: expect.objectContaining({ model: 'qwen2.5-coder' }) }, local: true },
    // 120 input × $3/M + 30 output × $15/M, as Anthropic lists Claude 3.5 Sonnet.
    { model: 'bedrock-claude-3-5-sonnet', provider: 'bedrock', requests: () => bedrock.requests, sent: { modelId: 'anthropic.claude-3-5-sonnet-20240620-v1:0', region: 'us-east-1', service: 'bedrock' }, costMicros: 810 },
    { model: 'vertex-gemini-1.5-pro', provider: 'vertex_ai', requests: () => vertex.requests, sent: { project: 'acme-prod', location: 'us-central1', publisher: 'google', model: 'gemini-1.5-pro' } },
    { model: 'command-r-plus', provider: 'cohere', requests: () => cohere.requests, sent: { path: '/v2/chat', body: expect.objectContaining({ model: 'command-r-plus' }) } },
    // 60 input × $4/M + 12 output × $12/M, Azure's serverless price of Mistral Large.
    { model: 'azure-ai-mistral-large', provider: 'azure_ai', requests: () => azureAi.requests, sent: { url: expect.stringMatching(/\/chat\/completions/), body: expect.objectContaining({ model: 'mistral-large' }) }, costMicros: 384 },
    { model: 'gpt-3.5-turbo-instruct', provider: 'text-completion-openai', requests: () => openai.requests, sent: { url: '/v1/completions', body: expect.objectContaining({ model: 'gpt-3.5-turbo-instruct' }) } },
  ];
}

/** The usage row of a call has the provider's tokens and, where the price table prices it, a cost. */
async function expectBilledRow(gateway: TestGateway, callId: string | null, expected: { provider: string; local?: boolean; costMicros?: number }, label: string): Promise<void> {
  expect(callId, label).toBeTruthy();
  const row = await gateway.recordOf(callId!);
  expect(row, label).toMatchObject({ status: 'success', provider: expected.provider });
  expect(row!.prompt_tokens, label).toBeGreaterThan(0);
  expect(row!.completion_tokens, label).toBeGreaterThan(0);
  expect(row!.cost_micros, `${label}: no price`).toEqual(expect.any(Number));
  if (expected.local) expect(row!.cost_micros, label).toBe(0);
  else expect(row!.cost_micros, label).toBeGreaterThan(0);
  if (expected.costMicros !== undefined) expect(row!.cost_micros, label).toBe(expected.costMicros);
}

for (const { dialect, create } of await dialectsUnderTest()) {
  describe(`the gateway on a real-world LiteLLM config (${dialect})`, () => {
    let database: TestDatabase;
    let gateway: TestGateway;
    let management: Management;

    beforeAll(async () => {
      database = await create();
      gateway = await startGateway(readFileSync(FIXTURE, 'utf8'), { databaseUrl: database.url, env: { ...gatewayEnv, DATABASE_URL: database.url } });
      management = new Management(gateway.url);
    });

    afterAll(async () => {
      await gateway?.close();
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
      for (const [model, variable] of Object.entries(WITHOUT_SECRET)) {
        const [entry] = byName(model);
        expect(entry.model_info.available, model).toBe(false);
        expect(entry.model_info.unavailable_reason, model).toContain(variable);
      }
      // gpt-4o-mini's "paid" deployment has its own key, not given; the other one is served.
      expect(byName('gpt-4o-mini').map((entry) => entry.model_info.available).sort()).toEqual([false, true]);
      // Every other model is served, whatever its provider.
      const unavailable = new Set([...Object.keys(UNSERVED), ...Object.keys(WITHOUT_SECRET), 'gpt-4o-mini']);
      for (const entry of info.data.filter((candidate) => !unavailable.has(candidate.model_name))) expect(entry.model_info.available, `${entry.model_name}: ${String(entry.model_info.unavailable_reason)}`).toBe(true);
      const [gpt4o] = byName('gpt-4o');
      expect(gpt4o.model_info).toMatchObject({ available: true, supports_vision: true, supports_function_calling: true, max_input_tokens: 128000, mode: 'chat' });
      // A bare name resolves as LiteLLM resolves it.
      expect(byName('claude-3-5-haiku')[0].model_info).toMatchObject({ available: true, litellm_provider: 'anthropic', upstream_model: 'claude-3-5-haiku-20241022' });
      expect(byName('gemini-1.5-flash')[0].model_info).toMatchObject({ available: true, litellm_provider: 'gemini', upstream_model: 'gemini-1.5-flash' });
      expect(byName('command-r')[0].model_info).toMatchObject({ available: true, litellm_provider: 'cohere', upstream_model: 'command-r' });
      expect(byName('azure-gpt-4o')[0].model_info).toMatchObject({ available: true, base_model: 'azure/gpt-4o' });
      // base_model prices an Azure deployment by the model behind it, Azure's own names included.
      expect(byName('azure-gpt-35-turbo')[0].model_info).toMatchObject({ base_model: 'azure/gpt-35-turbo', input_cost_per_token: 5e-7, output_cost_per_token: 1.5e-6 });
      // The wildcard entries are accepted at start-up (their routing is not exercised here).
      expect(byName('openai/*')).toHaveLength(1);
      expect(byName('*')).toHaveLength(1);
    });

    it('a call to a model it cannot serve is a 503 model_unavailable that says why', async () => {
      const refusal = (model: string) =>
        gateway
          .openai()
          .chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }] })
          .then(
            () => undefined,
            (caught: unknown) => caught as { status: number; code: string; message: string },
          );
      const sagemaker = await refusal('sagemaker-llama');
      expect(sagemaker).toMatchObject({ status: 503, code: 'model_unavailable' });
      expect(sagemaker!.message).toContain('AWS SageMaker endpoints are not served by this version');
      const mistral = await refusal('mistral-large');
      expect(mistral).toMatchObject({ status: 503, code: 'model_unavailable' });
      expect(mistral!.message).toContain('MISTRAL_API_KEY');
    });

    if (dialect === 'sqlite') {
      it('serves one model per provider, plain and streaming, through the openai SDK, each call billed in its usage row', async () => {
        const client = gateway.openai();
        for (const providerCase of providerCases()) {
          const { model } = providerCase;
          const before = providerCase.requests().length;
          const plain = await client.chat.completions.create({ model, messages: [{ role: 'user', content: `hello ${model}` }], max_tokens: 256, user: 'end-user-1' }).withResponse();
          expect(plain.data.choices[0].message.content, model).toBeTruthy();
          expect(plain.response.headers.get('x-switchboard-provider'), model).toBe(providerCase.provider);
          expect(providerCase.requests().slice(before), model).toContainEqual(expect.objectContaining(providerCase.sent));
          await expectBilledRow(gateway, plain.response.headers.get('x-switchboard-call-id'), providerCase, `${model} plain`);

          const streamed = await client.chat.completions.create({ model, messages: [{ role: 'user', content: `stream ${model}` }], max_tokens: 256, stream: true }).withResponse();
          let text = '';
          for await (const chunk of streamed.data) text += chunk.choices[0]?.delta?.content ?? '';
          expect(text, model).toBeTruthy();
          await expectBilledRow(gateway, streamed.response.headers.get('x-switchboard-call-id'), providerCase, `${model} streamed`);
        }
        // organization went as OpenAI-Organization, only for the deployment that sets it.
        const gpt4o = mocks.openai.requests.filter((request) => request.body.model === 'gpt-4o');
        expect(gpt4o.length).toBeGreaterThan(0);
        for (const request of gpt4o) expect(request.headers['openai-organization']).toBe('org-switchboard-test');
        // Bedrock calls were signed (SigV4) with the AWS keys from the environment; none was refused.
        expect(mocks.bedrock.refusedSignatures).toEqual([]);
        // Vertex calls carried an access token the mock's OAuth endpoint granted for the service account.
        expect(mocks.vertex.grants.length).toBeGreaterThan(0);
      });

      it('serves Claude on Bedrock and on Vertex AI through @anthropic-ai/sdk on /v1/messages, plain and streaming, billed', async () => {
        const anthropic = new Anthropic({ apiKey: MASTER_KEY, baseURL: gateway.url, maxRetries: 0 });
        const claudes = [
          { model: 'bedrock-claude-3-5-sonnet', provider: 'bedrock', requests: () => mocks.bedrock.requests, sent: { modelId: 'anthropic.claude-3-5-sonnet-20240620-v1:0', region: 'us-east-1' }, costMicros: 810 },
          // 110 input × $3/M + 25 output × $15/M: Claude on Vertex is priced as on Anthropic's API.
          { model: 'vertex-claude-3-5-sonnet', provider: 'vertex_ai', requests: () => mocks.vertex.requests, sent: { project: 'acme-prod', location: 'us-east5', publisher: 'anthropic', model: 'claude-3-5-sonnet-v2@20241022' }, costMicros: 705 },
        ];
        for (const claude of claudes) {
          const before = claude.requests().length;
          const plain = await anthropic.messages.create({ model: claude.model, max_tokens: 256, messages: [{ role: 'user', content: 'Say hello' }] }).withResponse();
          expect(plain.data.type, claude.model).toBe('message');
          expect(plain.data.content.find((block) => block.type === 'text'), claude.model).toMatchObject({ text: expect.stringMatching(/\S/) });
          expect(plain.data.usage.input_tokens, claude.model).toBeGreaterThan(0);
          expect(claude.requests().slice(before), claude.model).toContainEqual(expect.objectContaining(claude.sent));
          await expectBilledRow(gateway, plain.response.headers.get('x-switchboard-call-id'), claude, `${claude.model} plain`);

          const streamed = await anthropic.messages.create({ model: claude.model, max_tokens: 256, stream: true, messages: [{ role: 'user', content: 'Say hello' }] }).withResponse();
          let text = '';
          let stopped = false;
          for await (const event of streamed.data) {
            if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') text += event.delta.text;
            if (event.type === 'message_stop') stopped = true;
          }
          expect(text, claude.model).toBeTruthy();
          expect(stopped, claude.model).toBe(true);
          await expectBilledRow(gateway, streamed.response.headers.get('x-switchboard-call-id'), claude, `${claude.model} streamed`);
        }
      });
    }

    it('disable_spend_logs: rows keep tokens, cost and spend but no prompt, response, metadata, tags or end user', async () => {
      const key = await management.generateKey({ key_alias: `litellm-${dialect}` });
      const client = gateway.openai(key.key);
      const completion = await client.chat.completions
        // Tag routing is on (enable_tag_filtering): the "free" tag picks gpt-4o-mini's free deployment.
        .create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: 'a secret prompt' }], user: 'end-user-2' }, { headers: { 'x-litellm-tags': 'free' } })
        .withResponse();
      const callId = completion.response.headers.get('x-switchboard-call-id')!;
      expect(callId).toBeTruthy();
      const row = (await gateway.recordOf(callId))!;
      expect(row).toMatchObject({ model_group: 'gpt-4o-mini', prompt_tokens: 30, completion_tokens: 7, total_tokens: 37, status: 'success' });
      expect(row.cost_micros).toBeGreaterThan(0);
      // Tags, end user, address, prompt and answer are content; nothing is kept as metadata either.
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
      // An untagged call through model_group_alias (gpt-4 → gpt-4o): the alias would be metadata, and is not kept.
      const aliased = await client.chat.completions.create({ model: 'gpt-4', messages: [{ role: 'user', content: 'another secret' }] }).withResponse();
      const aliasedRow = (await gateway.recordOf(aliased.response.headers.get('x-switchboard-call-id')!))!;
      expect(aliasedRow).toMatchObject({ model_group: 'gpt-4o', prompt_tokens: 30, completion_tokens: 7, status: 'success', messages: null, response: null, metadata: null });
    });
  });
}
