/**
 * Item 334: Anthropic bills US-only inference at 1.1× every token rate (Claude Opus 4.6 and later,
 * platform.claude.com/docs "Data residency"), and says so in the answer's `usage.inference_geo`.
 * Item 246 refuses the request field to ordinary keys, but a workspace whose *default* inference
 * geography is "us" runs every call there without the field: the answers reported
 * `"inference_geo": "us"` and the gateway charged the standard rates — 10 % of every call on such a
 * workspace unbilled, on every route that reaches Anthropic. Now an answer (or a stream's usage)
 * that reports "us" is billed at 1.1× its rates; "global" or no field is billed as before.
 */
import OpenAI from 'openai';
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockAnthropic } from '../support/mock-anthropic.js';

const us = new MockAnthropic({ inputTokens: 1_000, outputTokens: 1_000, inferenceGeo: 'us' });
const global = new MockAnthropic({ inputTokens: 1_000, outputTokens: 1_000, inferenceGeo: 'global' });
let gateway: TestGateway;
let api: Management;

// claude-opus-4-6 at $5 / $25 per 1M: 1,000 × 5 + 1,000 × 25 µ$ standard; US-only 1.1× that.
const STANDARD_MICROS = 30_000;
const US_MICROS = 33_000;

beforeAll(async () => {
  await Promise.all([us.start(), global.start()]);
  const deployment = (name: string, base: string) => `
  - model_name: ${name}
    litellm_params: {model: anthropic/claude-opus-4-6, api_base: "${base}", api_key: sk-ant-operator}
    model_info: {input_cost_per_token: 0.000005, output_cost_per_token: 0.000025}`;
  gateway = await startGateway(`
model_list:${deployment('opus-us', us.url)}${deployment('opus-global', global.url)}
router_settings: {num_retries: 0}
general_settings: {master_key: ${MASTER_KEY}}
`);
  api = new Management(gateway.url);
});

afterAll(async () => {
  await gateway?.close();
  await Promise.all([us.close(), global.close()]);
});

async function spentBy(model: string, call: (key: string) => Promise<unknown>): Promise<number> {
  const { key } = await api.generateKey({ models: [model], max_budget: 10 });
  await call(key);
  await gateway.flushUsage();
  return Math.round((await api.keyInfo(key)).spend * 1_000_000);
}

const openai = (key: string) => new OpenAI({ apiKey: key, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
const anthropic = (key: string, base: string) => new Anthropic({ apiKey: key, baseURL: `${gateway.url}${base}`, maxRetries: 0 });
const messages = [{ role: 'user' as const, content: 'Summarize the key points.' }];

/** Every route to an Anthropic deployment, JSON and streamed. */
const ROUTES: Array<[string, (model: string) => (key: string) => Promise<unknown>]> = [
  ['/v1/chat/completions', (model) => (key) => openai(key).chat.completions.create({ model, messages, max_tokens: 1_000 })],
  ['/v1/chat/completions, streamed', (model) => async (key) => { for await (const chunk of await openai(key).chat.completions.create({ model, messages, max_tokens: 1_000, stream: true, stream_options: { include_usage: true } })) void chunk; }],
  ['/v1/messages', (model) => (key) => anthropic(key, '').messages.create({ model, messages, max_tokens: 1_000 })],
  ['/v1/messages, streamed', (model) => async (key) => { for await (const event of anthropic(key, '').messages.stream({ model, messages, max_tokens: 1_000 })) void event; }],
  ['/anthropic/v1/messages', (model) => (key) => anthropic(key, '/anthropic').messages.create({ model, messages, max_tokens: 1_000 })],
  ['/anthropic/v1/messages, streamed', (model) => async (key) => { for await (const event of anthropic(key, '/anthropic').messages.stream({ model, messages, max_tokens: 1_000 })) void event; }],
];

describe('an answer Anthropic ran US-only is billed at 1.1× its rates', () => {
  for (const [route, call] of ROUTES) {
    it(`${route}: "us" at 1.1×, "global" at the standard rates`, async () => {
      expect(await spentBy('opus-us', call('opus-us'))).toBe(US_MICROS);
      expect(await spentBy('opus-global', call('opus-global'))).toBe(STANDARD_MICROS);
    });
  }
});
