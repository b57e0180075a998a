/**
 * Item 345: the semantic cache embedded a legacy completion's prompt as `JSON.stringify(prompt)` when
 * it was not a string — so a prompt of token ids was embedded as a list of numerals, which says
 * nothing of the text it encodes (as a media part's URL or base64 says nothing of the media: item
 * 118). Two unrelated token prompts of the same length looked alike to the embedding model, and the
 * second caller was answered with the first one's answer (`x-switchboard-cache: semantic`); a list
 * of prompts, whose choices answer in its order, matched the same list reordered. Now only a prompt
 * of text is compared by meaning; token ids and lists of prompts match exactly only.
 */
import { afterAll, beforeAll, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

/** A bag-of-characters embedding (as item 118's): nearly the same for texts that differ in a few characters. */
function characterHistogram(input: string): number[] {
  const vector = new Array<number>(64).fill(0);
  for (const character of input) vector[character.charCodeAt(0) % 64]! += 1;
  return vector;
}

const upstream = new MockOpenAI({ embedding: characterHistogram });
let gateway: TestGateway;
let key: string;

beforeAll(async () => {
  await upstream.start();
  gateway = await startGateway(`
model_list:
  - model_name: instruct
    litellm_params: {model: openai/gpt-3.5-turbo-instruct, api_base: "${upstream.url}", api_key: sk-upstream}
    model_info: {id: dep-instruct, input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}
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
  key = (await new Management(gateway.url).generateKey({})).key;
});

afterAll(async () => {
  await gateway?.close();
  await upstream.close();
});

async function complete(user: string, prompt: unknown) {
  const response = await fetch(`${gateway.url}/v1/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'instruct', user, prompt, max_tokens: 20 }),
  });
  const text = await response.text();
  expect(response.status, text).toBe(200);
  const body = JSON.parse(text) as { id: string; choices: Array<{ text: string }> };
  return { id: body.id, answer: body.choices[0]!.text, cache: response.headers.get('x-switchboard-cache') };
}

it('two different token-id prompts are not answered from each other\'s entry', async () => {
  // Two unrelated sequences of 40 token ids (as text, any two such lists of numerals look alike).
  const alicePrompt = [18116,16240,13200,13712,7200,4656,32176,48896,15712,42496,35216,25920,36128,24784,22160,18960,4856,25920,3872,7184,15760,22528,49744,12912,19056,40448,39760,5168,21744,23360,46904,34912,35424,26688,28304,22112,34400,17472,10784,29552];
  const bobPrompt = [2928,31888,11360,24224,14448,31408,6688,49568,34128,11376,22512,7728,39568,32192,7072,41840,44480,26544,23392,18880,23952,22480,21040,12960,8112,41792,12192,2576,47408,39392,47696,19264,7712,11056,20960,20336,28960,6480,22336,18112];
  const completions = () => upstream.requests.filter((request) => request.url.endsWith('/completions') && !request.url.endsWith('/chat/completions')).length;
  const alice = await complete('alice', alicePrompt);
  expect(alice.cache).toBe('miss');
  expect(completions()).toBe(1);
  const bob = await complete('bob', bobPrompt);
  // Before: bob's different prompt never reached the model; bob got alice's completion (same id).
  expect({ cache: bob.cache, sameAnswerAsAlice: bob.id === alice.id, upstreamCalls: completions() }).toEqual({ cache: 'miss', sameAnswerAsAlice: false, upstreamCalls: 2 });
  // The same token prompt again is still answered from the cache (exactly).
  expect((await complete('carol', alicePrompt)).cache).toBe('hit');
  expect(completions()).toBe(2);
});

it('a list of prompts is not matched by meaning with the same list in another order', async () => {
  const completions = () => upstream.requests.filter((request) => request.url.endsWith('/completions') && !request.url.endsWith('/chat/completions')).length;
  const before = completions();
  await complete('dave', ['Name the capital of France.', 'Name the capital of Spain.']);
  const reordered = await complete('erin', ['Name the capital of Spain.', 'Name the capital of France.']);
  expect(reordered.cache).toBe('miss');
  expect(completions()).toBe(before + 2);
});
