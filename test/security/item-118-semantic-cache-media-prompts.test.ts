/**
 * The semantic cache never answers a prompt that carries an image, audio or a file with another
 * prompt's answer.
 *
 * Before: the semantic index embedded each message as text, a non-text part as its JSON — an image
 * as its URL (or its base64 data URL), a PDF as its base64 — and compared those strings. Two calls
 * asking the same question about different images ("What does this image show?" with
 * https://img.example/a-1234.png, then with …/b-9876.png) or different documents differ in a few
 * characters of a URL or of base64, which says nothing of what the image or document holds: their
 * embeddings were nearly identical, so the second caller — another end user of the same app key, or
 * another member of the team — was answered from the cache with the description of the first
 * caller's image or the summary of the first caller's document (`x-switchboard-cache: semantic`).
 *
 * Now a prompt with any part that is not text (image_url, input_audio, file, …) is matched exactly or
 * not at all: no embedding is requested for it and it is not indexed. Text prompts keep their
 * semantic hits.
 */
import { afterAll, afterEach, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

/** A bag-of-characters embedding: like a real model's, nearly the same for texts that differ in a few characters. */
function characterHistogram(input: string): number[] {
  const vector = new Array<number>(64).fill(0);
  for (const character of input) vector[character.charCodeAt(0) % 64]! += 1;
  return vector;
}

const upstream = new MockOpenAI({ embedding: characterHistogram });
let gateway: TestGateway;
let api: Management;
/** A key of its own per test: the scope (and so the semantic index) of one test is not another's. */
let key: string;

beforeAll(async () => {
  await upstream.start();
  gateway = await startGateway(`
model_list:
  - model_name: vision
    litellm_params: {model: openai/gpt-4o-mini, api_base: "${upstream.url}", api_key: sk-upstream}
    model_info: {id: dep-vision, input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}
  - model_name: embed
    litellm_params: {model: openai/text-embedding-3-small, api_base: "${upstream.url}", api_key: sk-upstream}
    model_info: {id: dep-embed, mode: embedding, input_cost_per_token: 0.0000001}
router_settings:
  num_retries: 0
general_settings:
  master_key: ${MASTER_KEY}
litellm_settings:
  cache: true
  cache_params:
    type: local-semantic
    similarity_threshold: 0.95
    embedding_model: embed
`);
  api = new Management(gateway.url);
});

beforeEach(async () => {
  key = (await api.generateKey({})).key;
});

afterEach(() => {
  upstream.replies.length = 0;
});

afterAll(async () => {
  await gateway?.close();
  await upstream.close();
});

let counter = 0;

async function ask(user: string, content: unknown): Promise<{ answer: string; cache: string | null }> {
  const response = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'vision', user, messages: [{ role: 'user', content }] }),
  });
  expect(response.status).toBe(200);
  const body = (await response.json()) as { choices: Array<{ message: { content: string } }> };
  return { answer: body.choices[0]!.message.content, cache: response.headers.get('x-switchboard-cache') };
}

describe('semantic cache and prompts that carry media', () => {
  it('the same question about another image is not answered with the first image\'s description', async () => {
    const question = `What does this image show? (${++counter})`;
    upstream.replies.push('A scan of alice\'s passport, number X1234567');
    const alice = await ask('alice', [{ type: 'text', text: question }, { type: 'image_url', image_url: { url: 'https://img.example/uploads/a-1234.png' } }]);
    expect(alice).toEqual({ answer: 'A scan of alice\'s passport, number X1234567', cache: 'miss' });
    upstream.replies.push('A photo of a beach');
    const bob = await ask('bob', [{ type: 'text', text: question }, { type: 'image_url', image_url: { url: 'https://img.example/uploads/b-9876.png' } }]);
    expect(bob).toEqual({ answer: 'A photo of a beach', cache: 'miss' });
  });

  it('the same request about another document is not answered with the first document\'s summary', async () => {
    const question = `Summarize this document. (${++counter})`;
    const pdf = (text: string) => ({ type: 'file', file: { filename: 'report.pdf', file_data: `data:application/pdf;base64,${Buffer.from(`%PDF-1.4 ${text}`).toString('base64')}` } });
    upstream.replies.push('Alice\'s diagnosis: condition A');
    expect((await ask('alice', [{ type: 'text', text: question }, pdf('patient alice, condition A')])).cache).toBe('miss');
    upstream.replies.push('Bob\'s invoice total: 12 EUR');
    const bob = await ask('bob', [{ type: 'text', text: question }, pdf('invoice bob, total 12 EUR')]);
    expect(bob).toEqual({ answer: 'Bob\'s invoice total: 12 EUR', cache: 'miss' });
  });

  it('the identical prompt with the same image is still an exact hit', async () => {
    const content = [{ type: 'text', text: `Describe it. (${++counter})` }, { type: 'image_url', image_url: { url: 'https://img.example/uploads/c-1.png' } }];
    upstream.replies.push('A cat');
    expect((await ask('carol', content)).cache).toBe('miss');
    expect(await ask('carol', content)).toEqual({ answer: 'A cat', cache: 'hit' });
  });

  it('text prompts keep their semantic hits', async () => {
    const question = `What is the capital of France? (${++counter})`;
    upstream.replies.push('Paris');
    expect((await ask('dave', question)).cache).toBe('miss');
    expect(await ask('erin', `${question} `)).toEqual({ answer: 'Paris', cache: 'semantic' });
  });
});
