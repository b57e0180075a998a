/**
 * The native Gemini API under /gemini, through the whole gateway, with Google's own SDK
 * (`@google/genai`, httpOptions.baseUrl = <gateway>/gemini) and plain HTTP: virtual keys as
 * x-goog-api-key or ?key=, the deployment's key and model put in, usage and cost recorded from
 * the native answers (streams included), fallbacks to another Gemini group, and errors in
 * Google's envelope.
 */
import { ApiError, GoogleGenAI } from '@google/genai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockGemini } from '../support/mock-gemini.js';

let primary: MockGemini;
let backup: MockGemini;
let gateway: TestGateway;
let api: Management;
let key: string;

function config(primaryBase: string, backupBase: string): string {
  return `
model_list:
  - model_name: flash
    litellm_params:
      model: gemini/gemini-2.0-flash
      api_base: ${primaryBase}
      api_key: primary-upstream-key
  - model_name: flash-backup
    litellm_params:
      model: gemini/gemini-2.0-flash
      api_base: ${backupBase}
      api_key: backup-upstream-key
  - model_name: embedder
    litellm_params:
      model: gemini/text-embedding-004
      api_base: ${primaryBase}
      api_key: primary-upstream-key
    model_info:
      mode: embedding
  - model_name: not-gemini
    litellm_params:
      model: openai/gpt-4o-mini
      api_base: http://127.0.0.1:9/v1
      api_key: sk-unused
router_settings:
  disable_cooldowns: true
  num_retries: 0
  fallbacks: [{"flash": ["flash-backup"]}]
general_settings:
  master_key: ${MASTER_KEY}
`;
}

function genai(apiKey: string): GoogleGenAI {
  return new GoogleGenAI({ apiKey, httpOptions: { baseUrl: `${gateway.url}/gemini` } });
}

/** The usage row of a call answered to the SDK (its response keeps the HTTP headers). */
async function rowOf(response: { sdkHttpResponse?: { headers?: Record<string, string> } }) {
  const callId = response.sdkHttpResponse?.headers?.['x-switchboard-call-id'];
  expect(callId).toBeTruthy();
  return gateway.recordOf(callId!);
}

/** The most recent usage row (for streams, whose chunks carry no headers). */
async function latestRow() {
  await gateway.flushUsage();
  return (await gateway.runtime.usageLogs()!.listRecent(1))[0];
}

beforeAll(async () => {
  // gemini-2.0-flash list prices: $0.10/M input, $0.40/M output.
  primary = new MockGemini({ promptTokens: 1000, candidatesTokens: 500, apiKey: 'primary-upstream-key' });
  backup = new MockGemini({ promptTokens: 1000, candidatesTokens: 500, apiKey: 'backup-upstream-key', reply: 'Hello from the backup!' });
  await primary.start();
  await backup.start();
  gateway = await startGateway(config(primary.url, backup.url));
  api = new Management(gateway.url);
  key = (await api.generateKey({ models: ['flash', 'embedder'], max_budget: 10 })).key;
});

afterAll(async () => {
  await gateway.close();
  await primary.close();
  await backup.close();
});

afterEach(() => {
  primary.faults.length = 0;
  backup.faults.length = 0;
});

describe('the Gemini API under /gemini', () => {
  it('generateContent through @google/genai with a virtual key: relayed with the deployment key and model, usage and cost recorded', async () => {
    const response = await genai(key).models.generateContent({ model: 'flash', contents: 'Say hello', config: { temperature: 0.2, maxOutputTokens: 600 } });
    expect(response.text).toBe('Hello from Gemini!');
    expect(response.usageMetadata).toMatchObject({ promptTokenCount: 1000, candidatesTokenCount: 500 });

    const sent = primary.requests.at(-1)!;
    expect(sent.path).toBe('/v1beta/models/gemini-2.0-flash:generateContent');
    expect(sent.headers['x-goog-api-key']).toBe('primary-upstream-key');
    expect(sent.body).toEqual({ contents: [{ role: 'user', parts: [{ text: 'Say hello' }] }], generationConfig: { temperature: 0.2, maxOutputTokens: 600 } });

    expect(await rowOf(response)).toMatchObject({ endpoint: 'gemini/generateContent', status: 'success', provider: 'gemini', model_group: 'flash', prompt_tokens: 1000, completion_tokens: 500, cost_micros: 300 });
  });
});
