/**
 * Item 284: the semantic cache never answers a conversation with the answer of another one that
 * differs only in what the assistant called (its tool calls, a legacy function_call, a message's name).
 *
 * Before: the semantic index embedded each message as "role: content" and nothing else, so an
 * assistant turn that called a tool (content null, the call in `tool_calls`) was embedded as
 * "assistant: " whatever it called and with which arguments. Two members of one team (the default
 * scope) running the same agent flow — "Send the email we drafted." → send_email({to, body}) →
 * tool result "sent" — had the same embedded text (similarity 1.0) however different their calls:
 * the second member was answered from the cache (`x-switchboard-cache: semantic`) with the first
 * one's answer, which quotes the first one's recipient and email text, and the upstream was never
 * asked. Same with a legacy `function_call` and with messages that differ only in `name`.
 *
 * Now every field of a message besides its role and content (tool calls, function_call, name,
 * tool_call_id, …) is part of the embedded text, so such conversations are compared with what they
 * called; identical conversations still hit, and text prompts keep their semantic hits.
 */
import { createHash } from 'node:crypto';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

/**
 * An embedding that is the same for texts equal up to case and spacing and unrelated otherwise
 * (a hash spread over 32 dimensions): a semantic hit here means the embedded texts were equal.
 */
function hashEmbedding(input: string): number[] {
  const digest = createHash('sha256').update(input.toLowerCase().replace(/\s+/g, ' ').trim()).digest();
  return [...digest].map((byte) => byte - 127.5);
}

const upstream = new MockOpenAI({ embedding: hashEmbedding });
let gateway: TestGateway;
let api: Management;
let alice: string;
let bob: string;

beforeAll(async () => {
  await upstream.start();
  gateway = await startGateway(`
model_list:
  - model_name: agent-model
    litellm_params: {model: openai/gpt-4o-mini, api_base: "${upstream.url}", api_key: sk-upstream}
    model_info: {id: dep-chat, input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}
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
  // Two members of one team: with the default scope (team) they share cache entries.
  const team = await api.ok<{ team_id: string }>('POST', '/team/new', { team_alias: 'agents' });
  alice = (await api.generateKey({ team_id: team.team_id })).key;
  bob = (await api.generateKey({ team_id: team.team_id })).key;
});

afterEach(() => {
  upstream.replies.length = 0;
});

afterAll(async () => {
  await gateway?.close();
  await upstream.close();
});

let counter = 0;

async function ask(key: string, messages: unknown[]): Promise<{ answer: string; cache: string | null }> {
  const response = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'agent-model', messages }),
  });
  expect(response.status).toBe(200);
  const body = (await response.json()) as { choices: Array<{ message: { content: string } }> };
  return { answer: body.choices[0]!.message.content, cache: response.headers.get('x-switchboard-cache') };
}

const tools = [{ type: 'function', function: { name: 'send_email', parameters: { type: 'object', properties: { to: { type: 'string' }, body: { type: 'string' } } } } }];

function emailFlow(question: string, to: string, text: string): unknown[] {
  return [
    { role: 'user', content: question },
    { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'send_email', arguments: JSON.stringify({ to, body: text }) } }] },
    { role: 'tool', tool_call_id: 'call_1', content: 'sent' },
  ];
}

async function askWithTools(key: string, messages: unknown[]): Promise<{ answer: string; cache: string | null }> {
  const response = await fetch(`${gateway.url}/v1/chat/completions`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'agent-model', tools, tool_choice: 'none', messages }),
  });
  expect(response.status).toBe(200);
  const body = (await response.json()) as { choices: Array<{ message: { content: string } }> };
  return { answer: body.choices[0]!.message.content, cache: response.headers.get('x-switchboard-cache') };
}

describe('semantic cache and conversations that differ in what the assistant called', () => {
  it('another member\'s tool call with other arguments is not answered with the first member\'s answer', async () => {
    const question = `Send the email we drafted. (${++counter})`;
    upstream.replies.push('I sent the email to ceo@corp.example: "Q3 layoffs: 40 people, list attached".');
    expect(await askWithTools(alice, emailFlow(question, 'ceo@corp.example', 'Q3 layoffs: 40 people, list attached'))).toEqual({ answer: 'I sent the email to ceo@corp.example: "Q3 layoffs: 40 people, list attached".', cache: 'miss' });
    upstream.replies.push('I sent the email to mum@home.example: "See you Sunday".');
    expect(await askWithTools(bob, emailFlow(question, 'mum@home.example', 'See you Sunday'))).toEqual({ answer: 'I sent the email to mum@home.example: "See you Sunday".', cache: 'miss' });
  });

  it('a legacy function_call with other arguments is not answered with the first one\'s answer', async () => {
    const question = `Pay the invoice. (${++counter})`;
    const flow = (account: string) => [
      { role: 'user', content: question },
      { role: 'assistant', content: null, function_call: { name: 'pay', arguments: JSON.stringify({ account }) } },
      { role: 'function', name: 'pay', content: 'done' },
    ];
    upstream.replies.push('Paid 9,400 EUR from account DE89 3704 0044 0532 0130 00.');
    expect((await ask(alice, flow('DE89 3704 0044 0532 0130 00'))).cache).toBe('miss');
    upstream.replies.push('Paid 12 EUR from account FR76 3000 6000 0112 3456 7890 189.');
    expect(await ask(bob, flow('FR76 3000 6000 0112 3456 7890 189'))).toEqual({ answer: 'Paid 12 EUR from account FR76 3000 6000 0112 3456 7890 189.', cache: 'miss' });
  });

  it('messages that differ only in the speaker\'s name are not answered with the other speaker\'s answer', async () => {
    const question = `What is on my calendar today? (${++counter})`;
    upstream.replies.push('Alice: 10:00 oncology appointment.');
    expect((await ask(alice, [{ role: 'user', name: 'alice', content: question }])).cache).toBe('miss');
    upstream.replies.push('Bob: nothing today.');
    expect(await ask(bob, [{ role: 'user', name: 'bob', content: question }])).toEqual({ answer: 'Bob: nothing today.', cache: 'miss' });
  });

  it('the identical tool conversation is still answered from the cache', async () => {
    const flow = emailFlow(`Send the reminder. (${++counter})`, 'team@corp.example', 'standup at 9');
    upstream.replies.push('Reminder sent.');
    expect((await askWithTools(alice, flow)).cache).toBe('miss');
    expect(await askWithTools(bob, flow)).toEqual({ answer: 'Reminder sent.', cache: 'hit' });
  });

  it('text prompts keep their semantic hits', async () => {
    const question = `What is the capital of France? (${++counter})`;
    upstream.replies.push('Paris');
    expect((await ask(alice, [{ role: 'user', content: question }])).cache).toBe('miss');
    expect(await ask(bob, [{ role: 'user', content: `  ${question.toUpperCase()} ` }])).toEqual({ answer: 'Paris', cache: 'semantic' });
  });
});
