/**
 * Fuzzed input: bodies built at random (seeded, so failures repeat) from valid requests with
 * fields replaced by values of the wrong shape, sent to every public endpoint through every native
 * adapter. The gateway must answer each with a 2xx or a 4xx in the right envelope — never a 5xx of
 * its own, never a crash — and keep serving afterwards. FUZZ_SEED=N explores another sequence.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockAnthropic } from '../support/mock-anthropic.js';
import { MockGemini } from '../support/mock-gemini.js';
import { MockOllama } from '../support/mock-ollama.js';
import { MockOpenAI } from '../support/mock-openai.js';
import { seededRandom } from '../support/random.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';

const openai = new MockOpenAI();
const anthropic = new MockAnthropic();
const gemini = new MockGemini();
const ollama = new MockOllama();
let gateway: TestGateway;

beforeAll(async () => {
  await Promise.all([openai.start(), anthropic.start(), gemini.start(), ollama.start()]);
  gateway = await startGateway(`
model_list:
  - model_name: oai
    litellm_params: {model: openai/gpt-4o-mini, api_base: "${openai.url}", api_key: sk-up}
  - model_name: claude
    litellm_params: {model: anthropic/claude-3-5-sonnet-20241022, api_base: "${anthropic.url}", api_key: sk-ant}
  - model_name: gem
    litellm_params: {model: gemini/gemini-2.0-flash, api_base: "${gemini.url}", api_key: gm}
  - model_name: llama
    litellm_params: {model: ollama_chat/llama3.1, api_base: "${ollama.url}"}
  - model_name: embed
    litellm_params: {model: openai/text-embedding-3-small, api_base: "${openai.url}", api_key: sk-up}
    model_info: {mode: embedding}
router_settings:
  disable_cooldowns: true
litellm_settings:
  drop_params: true
general_settings:
  master_key: ${MASTER_KEY}
`);
});

afterAll(async () => {
  await gateway?.close();
  await Promise.all([openai.close(), anthropic.close(), gemini.close(), ollama.close()]);
});

const random = seededRandom(Number(process.env.FUZZ_SEED ?? 20261123));
const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];

/** Values of every JSON shape, the awkward ones included. */
function oddValue(depth = 0): unknown {
  const choices: Array<() => unknown> = [
    () => null,
    () => true,
    () => -1,
    () => 0,
    () => 1e308,
    () => 3.5,
    () => '',
    () => 'x'.repeat(Math.floor(random() * 50)),
    () => '\u0000\ud83d\ude00\u202e<script>',
    () => [],
    () => ({}),
    () => (depth < 2 ? [oddValue(depth + 1), oddValue(depth + 1)] : 'leaf'),
    () => (depth < 2 ? { type: pick(['text', 'image_url', 'tool_use', 'function', 'bogus']), text: oddValue(depth + 1), image_url: oddValue(depth + 1) } : 'leaf'),
  ];
  return pick(choices)();
}

const VALID: Record<string, () => Record<string, unknown>> = {
  '/v1/chat/completions': () => ({
    model: pick(['oai', 'claude', 'gem', 'llama']),
    messages: [
      { role: 'system', content: 'Be brief.' },
      { role: 'user', content: [{ type: 'text', text: 'hi' }] },
    ],
    max_tokens: 16,
    temperature: 0.5,
    stream: random() < 0.3,
    tools: [{ type: 'function', function: { name: 'f', parameters: { type: 'object', properties: {} } } }],
  }),
  '/v1/messages': () => ({
    model: pick(['oai', 'claude', 'gem', 'llama']),
    max_tokens: 16,
    system: 'Be brief.',
    messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }],
    stream: random() < 0.3,
  }),
  '/v1/embeddings': () => ({ model: 'embed', input: ['a', 'b'] }),
  '/v1/completions': () => ({ model: 'oai', prompt: 'hi', max_tokens: 5 }),
  '/v1/messages/count_tokens': () => ({ model: 'claude', messages: [{ role: 'user', content: 'hi' }] }),
  '/key/generate': () => ({ key_alias: `fuzz-${Math.floor(random() * 1e9)}`, max_budget: 1, models: ['oai'] }),
};

/** Replaces one or two fields somewhere in the body (top level or inside messages) with odd values. */
function mutate(body: Record<string, unknown>): unknown {
  if (random() < 0.05) return oddValue();
  const copy = structuredClone(body);
  for (let count = 0; count < 1 + Math.floor(random() * 2); count++) {
    const messages = copy.messages;
    const message = Array.isArray(messages) && messages.length > 0 ? (pick(messages) as unknown) : undefined;
    if (typeof message === 'object' && message !== null && random() < 0.5) {
      (message as Record<string, unknown>)[pick(['role', 'content', 'tool_calls', 'tool_call_id', 'name'])] = oddValue();
    } else {
      copy[pick([...Object.keys(copy), 'n', 'stop', 'response_format', 'tool_choice', 'max_tokens', 'fallbacks', 'stream_options'])] = oddValue();
    }
  }
  return copy;
}

describe('fuzzed requests', () => {
  it('answers every one with 2xx or 4xx in the right envelope and keeps serving', async () => {
    const failures: string[] = [];
    for (let index = 0; index < 400; index++) {
      const path = pick(Object.keys(VALID));
      const body = mutate(VALID[path]());
      const text = random() < 0.03 ? '{"model": "oai", "messages": [' : JSON.stringify(body);
      const response = await fetch(`${gateway.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' }, body: text });
      const raw = await response.text();
      if (response.status >= 500) failures.push(`${response.status} ${path} ${text.slice(0, 300)} → ${raw.slice(0, 300)}`);
      if (response.status >= 400 && response.status < 500) {
        const parsed = JSON.parse(raw) as { error?: { message?: unknown; type?: unknown } };
        if (typeof parsed.error?.message !== 'string' || parsed.error.message.length === 0) failures.push(`no error message: ${path} ${raw.slice(0, 200)}`);
      }
    }
    expect(failures).toEqual([]);
    const health = await fetch(`${gateway.url}/v1/models`, { headers: { authorization: `Bearer ${MASTER_KEY}` } });
    expect(health.status).toBe(200);
  });
});
