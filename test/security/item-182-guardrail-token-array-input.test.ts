/**
 * The attack: a guardrail reads text, but /v1/completions takes its `prompt`, and /v1/embeddings
 * its `input`, as token ids too (`[[1, 2, 3]]`, `[31373, 995]`). Such a request ran every guardrail
 * on no text at all and reached the upstream — a blocked word, or a card number the PII guardrail
 * blocks, went through once the caller tokenized it. Now a guardrailed call whose prompt or input
 * is not text is refused with 400 before any upstream call, naming the guardrails (send the text);
 * a call no guardrail applies to still takes token ids.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockOpenAI } from '../support/mock-openai.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';

let upstream: MockOpenAI;
let gateway: TestGateway;
let api: Management;

beforeAll(async () => {
  upstream = new MockOpenAI();
  await upstream.start();
  gateway = await startGateway(`
model_list:
  - model_name: gpt-3.5-turbo-instruct
    litellm_params: {model: openai/gpt-3.5-turbo-instruct, api_base: "${upstream.url}", api_key: sk-upstream-test}
  - model_name: text-embedding-3-small
    litellm_params: {model: openai/text-embedding-3-small, api_base: "${upstream.url}", api_key: sk-upstream-test}
    model_info: {mode: embedding}
general_settings:
  master_key: ${MASTER_KEY}
guardrails:
  - guardrail_name: no-secrets
    litellm_params: {guardrail: content_filter, mode: pre_call, blocked_words: [password]}
`);
  api = new Management(gateway.url);
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

async function send(key: string, path: string, body: Record<string, unknown>): Promise<{ status: number; text: string; calls: number }> {
  const before = upstream.requests.length;
  const response = await fetch(`${gateway.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify(body),
  });
  return { status: response.status, text: await response.text(), calls: upstream.requests.length - before };
}

const requests: Array<[string, string, Record<string, unknown>]> = [
  ['a completion prompt of token ids', '/v1/completions', { model: 'gpt-3.5-turbo-instruct', prompt: [3918, 374, 279, 3636] }],
  ['a completion prompt of token-id lists', '/v1/completions', { model: 'gpt-3.5-turbo-instruct', prompt: [[3918, 374, 279, 3636]] }],
  ['an embeddings input of token ids', '/v1/embeddings', { model: 'text-embedding-3-small', input: [3918, 374, 279, 3636] }],
  ['an embeddings input of token-id lists', '/v1/embeddings', { model: 'text-embedding-3-small', input: [[3918, 374, 279, 3636]] }],
];

describe('token ids under a guardrail', () => {
  it.each(requests)('%s is refused before any upstream call', async (_name, path, body) => {
    const { key } = await api.generateKey({ guardrails: ['no-secrets'] });
    const { status, text, calls } = await send(key, path, body);
    expect(status, text).toBe(400);
    expect(JSON.parse(text).error.message).toContain('no-secrets');
    expect(calls).toBe(0);
  });

  it.each(requests)('%s still runs without a guardrail', async (_name, path, body) => {
    const { key } = await api.generateKey({});
    const { status, text, calls } = await send(key, path, body);
    expect(status, text).toBe(200);
    expect(calls).toBe(1);
  });
});
