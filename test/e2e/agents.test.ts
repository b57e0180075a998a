/**
 * Agents through the real HTTP server: `agent/<name>` with the official openai client (the agent's
 * model, settings and system prompt; the client's own fields win; a PATCHed model is used by the
 * next request; paused 503, unknown 404; the key must reach the agent's model), POST
 * /agents/{name}/run against mock OpenAI, Gemini and Ollama upstreams (structured output sent in
 * each provider's own field, invalid output repaired once then failed, low confidence flagged),
 * clear 4xx for bad input, permissions, and the usage rows naming the agent.
 */
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockAnthropic } from '../support/mock-anthropic.js';
import { MockGemini } from '../support/mock-gemini.js';
import { MockOllama } from '../support/mock-ollama.js';
import { MockOpenAI } from '../support/mock-openai.js';
import { AGENT_FIELDS, AGENT_STATS_FIELDS, AGENTS_LIST_FIELDS, AGENTS_OVERVIEW_FIELDS, EXECUTION_FIELDS, EXECUTIONS_PAGE_FIELDS, RUN_RESULT_FIELDS } from '../../src/http/agent-views.js';
import { fieldMismatches } from '../../src/http/views.js';

const openai = new MockOpenAI();
const gemini = new MockGemini({ apiKey: 'gemini-upstream-test-key' });
const ollama = new MockOllama();
const anthropic = new MockAnthropic({ apiKey: 'sk-ant-upstream-test' });
let gateway: TestGateway;
let api: Management;

const SCHEMA = {
  type: 'object',
  properties: { sender: { type: 'string' }, intent: { type: 'string', enum: ['rfq', 'complaint', 'other'] }, confidence: { type: 'number', minimum: 0, maximum: 1 } },
  required: ['sender', 'intent', 'confidence'],
};

const config = () => `
model_list:
  - model_name: gpt-4o-mini
    litellm_params: {model: openai/gpt-4o-mini, api_base: "${openai.url}", api_key: sk-upstream-test}
    model_info: {input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}
  - model_name: gpt-4o
    litellm_params: {model: openai/gpt-4o, api_base: "${openai.url}", api_key: sk-upstream-test}
    model_info: {input_cost_per_token: 0.00001, output_cost_per_token: 0.00002}
  - model_name: gemini-flash
    litellm_params: {model: gemini/gemini-2.0-flash, api_base: "${gemini.url}", api_key: gemini-upstream-test-key}
  - model_name: llama
    litellm_params: {model: ollama_chat/llama3.1, api_base: "${ollama.url}"}
  - model_name: claude
    litellm_params: {model: anthropic/claude-3-5-sonnet-20241022, api_base: "${anthropic.url}", api_key: sk-ant-upstream-test}
router_settings:
  num_retries: 0
  disable_cooldowns: true
general_settings:
  master_key: ${MASTER_KEY}
  store_prompts_in_spend_logs: true
agents:
  - name: email-parser
    display_name: Email parser
    type: email_parser
    model: gpt-4o-mini
    temperature: 0.1
    max_tokens: 300
    confidence_threshold: 0.7
    system_prompt: You read supplier emails.
    prompt_template: "From: {{input_data.from}}\\n\\n{{input_data.email_content}}"
    output_schema: ${JSON.stringify(SCHEMA)}
  - name: supplier-matcher
    model: gpt-4o-mini
    fallbacks: [gpt-4o]
    system_prompt: You match suppliers.
  - name: gemini-parser
    model: gemini-flash
    output_schema: ${JSON.stringify(SCHEMA)}
  - name: claude-parser
    model: claude
    output_schema: {type: object, properties: {city: {type: string}, temperature: {type: number}}, required: [city, temperature]}
  - name: ollama-parser
    model: llama
    output_schema: {type: object, properties: {sender: {type: string}, confidence: {type: number}}, required: [sender, confidence]}
`;

beforeAll(async () => {
  await Promise.all([openai.start(), gemini.start(), ollama.start(), anthropic.start()]);
  gateway = await startGateway(config());
  api = new Management(gateway.url);
  const deadline = Date.now() + 5_000;
  while (Date.now() < deadline && (await api.call('POST', '/agents', { name: 'probe', model: 'gpt-4o-mini' })).status === 503) await new Promise((resolve) => setTimeout(resolve, 20));
  await api.ok('DELETE', '/agents/probe');
});

afterAll(async () => {
  await gateway?.close();
  await Promise.all([openai.close(), gemini.close(), ollama.close(), anthropic.close()]);
});

afterEach(() => {
  openai.replies.length = 0;
  gemini.replies.length = 0;
  ollama.replies.length = 0;
});

const fieldsOf = (value: unknown) => Object.keys(value as object).sort();
const run = (name: string, body: unknown, key?: string) => api.call<any>('POST', `/agents/${name}/run`, body, key);

describe('agent/<name> through the OpenAI API', () => {
  it('applies the agent\'s model, temperature, max_tokens and system prompt, and names the agent on the usage row', async () => {
    const client = gateway.openai();
    const { data, response } = await client.chat.completions.create({ model: 'agent/supplier-matcher', messages: [{ role: 'user', content: 'Find me a steel supplier' }] }).withResponse();
    expect(data.choices[0].message.content).toBe('Hello from the mock!');
    const sent = openai.requests.at(-1)!.body;
    expect(sent.model).toBe('gpt-4o-mini');
    expect(sent.messages).toEqual([{ role: 'system', content: 'You match suppliers.' }, { role: 'user', content: 'Find me a steel supplier' }]);
    expect(sent).not.toHaveProperty('fallbacks');
    const row = await gateway.recordOf(response.headers.get('x-switchboard-call-id')!);
    expect(row).toMatchObject({ agent: 'supplier-matcher', agent_execution: null, model_group: 'gpt-4o-mini', status: 'success', cost_micros: 22 });

    await client.chat.completions.create({ model: 'agent/email-parser', messages: [{ role: 'user', content: 'hi' }] });
    expect(openai.requests.at(-1)!.body).toMatchObject({ model: 'gpt-4o-mini', temperature: 0.1, max_tokens: 300, messages: [{ role: 'system', content: 'You read supplier emails.' }, { role: 'user', content: 'hi' }] });
  });

  it('a streamed agent call is recorded with the agent', async () => {
    const stream = await gateway.openai().chat.completions.create({ model: 'agent/supplier-matcher', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'stream it' }] }).withResponse();
    let text = '';
    for await (const chunk of stream.data) text += chunk.choices[0]?.delta?.content ?? '';
    expect(text).toBe('Hello from the mock!');
    expect(openai.requests.at(-1)!.body).toMatchObject({ model: 'gpt-4o-mini', stream: true });
    expect(await gateway.recordOf(stream.response.headers.get('x-switchboard-call-id')!)).toMatchObject({ agent: 'supplier-matcher', stream: 1, status: 'success', cost_micros: 22 });
  });

  it('the client\'s own temperature, max_tokens and system message win', async () => {
    await gateway.openai().chat.completions.create({ model: 'agent/email-parser', temperature: 0.9, max_tokens: 20, messages: [{ role: 'system', content: 'Mine.' }, { role: 'user', content: 'hi' }] });
    expect(openai.requests.at(-1)!.body).toMatchObject({ model: 'gpt-4o-mini', temperature: 0.9, max_tokens: 20, messages: [{ role: 'system', content: 'Mine.' }, { role: 'user', content: 'hi' }] });
  });

  it('the agent\'s fallbacks catch a failing model', async () => {
    openai.faults.push({ kind: 'error', status: 500 });
    const { response } = await gateway.openai().chat.completions.create({ model: 'agent/supplier-matcher', messages: [{ role: 'user', content: 'x' }] }).withResponse();
    expect(response.headers.get('x-switchboard-model-group')).toBe('gpt-4o');
    expect(openai.requests.at(-1)!.body.model).toBe('gpt-4o');
  });

  it('follows a PATCHed model on the very next request', async () => {
    const client = gateway.openai();
    await api.ok('PATCH', '/agents/supplier-matcher', { model: 'gpt-4o', fallbacks: [] });
    const { response } = await client.chat.completions.create({ model: 'agent/supplier-matcher', messages: [{ role: 'user', content: 'x' }] }).withResponse();
    expect(openai.requests.at(-1)!.body.model).toBe('gpt-4o');
    expect(response.headers.get('x-switchboard-model-group')).toBe('gpt-4o');
    await api.ok('PATCH', '/agents/supplier-matcher', { model: 'gpt-4o-mini', fallbacks: ['gpt-4o'] });
    await client.chat.completions.create({ model: 'agent/supplier-matcher', messages: [{ role: 'user', content: 'x' }] });
    expect(openai.requests.at(-1)!.body.model).toBe('gpt-4o-mini');
  });

  it('works through /v1/messages with the official Anthropic client shape', async () => {
    const response = await fetch(`${gateway.url}/v1/messages`, {
      method: 'POST',
      headers: { 'x-api-key': MASTER_KEY, 'anthropic-version': '2023-06-01', 'content-type': 'application/json' },
      // `thinking` is fitted to the agent's model (OpenAI here: no Anthropic thinking field upstream).
      body: JSON.stringify({ model: 'agent/supplier-matcher', max_tokens: 2000, thinking: { type: 'enabled', budget_tokens: 1024 }, messages: [{ role: 'user', content: 'hello' }] }),
    });
    expect(response.status).toBe(200);
    expect(openai.requests.at(-1)!.body).not.toHaveProperty('thinking');
    expect(((await response.json()) as { type: string }).type).toBe('message');
    expect(openai.requests.at(-1)!.body).toMatchObject({ model: 'gpt-4o-mini', messages: [{ role: 'system', content: 'You match suppliers.' }, { role: 'user', content: 'hello' }] });
  });

  it('a paused agent answers 503 agent_paused, an unknown one 404 agent_not_found', async () => {
    const client = gateway.openai();
    await api.ok('POST', '/agents/supplier-matcher/pause');
    const before = openai.requests.length;
    const paused = await client.chat.completions.create({ model: 'agent/supplier-matcher', messages: [{ role: 'user', content: 'x' }] }).catch((error: unknown) => error as InstanceType<typeof OpenAI.APIError>);
    expect(paused).toBeInstanceOf(OpenAI.APIError);
    expect((paused as InstanceType<typeof OpenAI.APIError>).status).toBe(503);
    expect((paused as InstanceType<typeof OpenAI.APIError>).code).toBe('agent_paused');
    expect((await run('supplier-matcher', { input_data: {} })).body.error.code).toBe('agent_paused');
    expect(openai.requests.length).toBe(before);
    await api.ok('POST', '/agents/supplier-matcher/resume');
    await client.chat.completions.create({ model: 'agent/supplier-matcher', messages: [{ role: 'user', content: 'x' }] });

    const unknown = await client.chat.completions.create({ model: 'agent/nobody', messages: [{ role: 'user', content: 'x' }] }).catch((error: unknown) => error as InstanceType<typeof OpenAI.APIError>);
    expect(unknown).toMatchObject({ status: 404, code: 'agent_not_found' });
  });

  it('the caller\'s key must be allowed to reach the agent\'s model and its fallbacks', async () => {
    const { key } = await api.generateKey({ models: ['gpt-4o-mini'] });
    const client = new OpenAI({ apiKey: key, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
    await client.chat.completions.create({ model: 'agent/email-parser', messages: [{ role: 'user', content: 'x' }] });
    const refused = await client.chat.completions.create({ model: 'agent/supplier-matcher', messages: [{ role: 'user', content: 'x' }] }).catch((error: unknown) => error as InstanceType<typeof OpenAI.APIError>);
    expect(refused).toMatchObject({ status: 403 });
    expect(String((refused as Error).message)).toContain('gpt-4o');
  });
});

describe('POST /agents/{name}/run', () => {
  it('OpenAI: renders the template, sends response_format json_schema, validates, and answers the execution', async () => {
    openai.replies.push(JSON.stringify({ sender: 'acme@example.com', intent: 'rfq', confidence: 0.92 }));
    const { status, body } = await run('email-parser', { entity_type: 'email', input_data: { from: 'acme@example.com', email_content: 'Please quote 500 bolts.' } });
    expect(status).toBe(200);
    expect(body).toMatchObject({
      agent: 'email-parser', status: 'success', entity_type: 'email', output: { sender: 'acme@example.com', intent: 'rfq', confidence: 0.92 }, confidence: 0.92, error: null,
      model_used: 'gpt-4o-mini', provider: 'openai', structured_output: true, attempts: 1, tokens: { prompt: 12, completion: 5, total: 17 }, cost_micros: 22, cost_usd: 0.000022,
    });
    expect(body.execution_id).toMatch(/^[0-9a-f-]{36}$/);
    expect(body.call_ids).toEqual([body.call_id]);
    const sent = openai.requests.at(-1)!.body;
    expect(sent.response_format).toEqual({ type: 'json_schema', json_schema: { name: 'email_parser', schema: SCHEMA } });
    expect(sent).toMatchObject({ model: 'gpt-4o-mini', temperature: 0.1, max_tokens: 300 });
    expect(sent.messages).toEqual([{ role: 'system', content: 'You read supplier emails.' }, { role: 'user', content: 'From: acme@example.com\n\nPlease quote 500 bolts.' }]);
    expect(await gateway.recordOf(body.call_id)).toMatchObject({ agent: 'email-parser', agent_execution: body.execution_id, cost_micros: 22 });
  });

  it('repairs an invalid output once, with the validation error, then succeeds', async () => {
    openai.replies.push(JSON.stringify({ sender: 'a', intent: 'shopping' }), JSON.stringify({ sender: 'a', intent: 'other', confidence: 0.8 }));
    const { body } = await run('email-parser', { input_data: { from: 'a', email_content: 'hi' } });
    expect(body).toMatchObject({ status: 'success', attempts: 2, output: { intent: 'other' }, tokens: { total: 34 }, cost_micros: 44 });
    expect(body.call_ids).toHaveLength(2);
    const retry = openai.requests.at(-1)!.body.messages as Array<{ role: string; content: string }>;
    expect(retry.at(-2)).toEqual({ role: 'assistant', content: JSON.stringify({ sender: 'a', intent: 'shopping' }) });
    expect(retry.at(-1)!.content).toContain('must have required property \'confidence\'');
    expect(retry.at(-1)!.content).toContain('/intent must be equal to one of the allowed values');
  });

  it('an output that is still invalid after the repair is failed (the output and the error returned)', async () => {
    openai.replies.push('not json at all', JSON.stringify({ sender: 'a' }));
    const { status, body } = await run('email-parser', { input_data: { from: 'a', email_content: 'hi' } });
    expect(status).toBe(200);
    expect(body).toMatchObject({ status: 'failed', attempts: 2, output: { sender: 'a' }, confidence: null });
    expect(body.error).toContain('does not match output_schema');
  });

  it('a confidence below the threshold is low_confidence, the output still returned', async () => {
    openai.replies.push(JSON.stringify({ sender: 'b', intent: 'complaint', confidence: 0.42 }));
    const { body } = await run('email-parser', { input_data: { from: 'b', email_content: 'angry' } });
    expect(body).toMatchObject({ status: 'low_confidence', confidence: 0.42, output: { sender: 'b', intent: 'complaint' }, error: null });
  });

  it('Gemini: structured output as generationConfig.responseSchema', async () => {
    const { body } = await run('gemini-parser', { input_data: { text: 'hello' } });
    expect(body).toMatchObject({ status: 'success', provider: 'gemini', structured_output: true, attempts: 1 });
    const config = gemini.requests.at(-1)!.body.generationConfig as Record<string, unknown>;
    expect(config.responseMimeType).toBe('application/json');
    expect(config.responseSchema).toMatchObject({ type: 'OBJECT', properties: { sender: { type: 'STRING' }, intent: { type: 'STRING', enum: ['rfq', 'complaint', 'other'] } } });
    // Without a template the input JSON is the user message.
    expect(JSON.stringify(gemini.requests.at(-1)!.body.contents)).toContain(JSON.stringify(JSON.stringify({ text: 'hello' })).slice(1, -1));
    expect(body.cost_micros).toBeGreaterThan(0);
  });

  it('Ollama: structured output as `format` (the JSON schema)', async () => {
    ollama.replies.push(JSON.stringify({ sender: 'c', confidence: 0.5 }));
    const { body } = await run('ollama-parser', { input_data: { text: 'hello' } });
    expect(body).toMatchObject({ status: 'success', provider: 'ollama_chat', structured_output: true, output: { sender: 'c', confidence: 0.5 }, confidence: 0.5 });
    expect(ollama.requests.at(-1)!.body.format).toEqual({ type: 'object', properties: { sender: { type: 'string' }, confidence: { type: 'number' } }, required: ['sender', 'confidence'] });
  });

  for (const [agent, upstream, confidence] of [
    ['gemini-parser', () => gemini, (value: number) => ({ sender: 's', intent: 'rfq', confidence: value })],
    ['ollama-parser', () => ollama, (value: number) => ({ sender: 's', confidence: value })],
  ] as const) {
    it(`${agent}: repairs once, then fails; flags a low confidence; refuses when paused`, async () => {
      const threshold = 0.5;
      await api.ok('PATCH', `/agents/${agent}`, { confidence_threshold: threshold });
      upstream().replies.push('{"sender": 1}', JSON.stringify(confidence(0.9)));
      expect((await run(agent, { input_data: { text: 'a' } })).body).toMatchObject({ status: 'success', attempts: 2, confidence: 0.9 });
      upstream().replies.push('no', '{"sender": 1}');
      const failed = (await run(agent, { input_data: { text: 'b' } })).body;
      expect(failed).toMatchObject({ status: 'failed', attempts: 2, output: { sender: 1 } });
      expect(failed.error).toContain('/sender must be string');
      upstream().replies.push(JSON.stringify(confidence(0.2)));
      expect((await run(agent, { input_data: { text: 'c' } })).body).toMatchObject({ status: 'low_confidence', confidence: 0.2, attempts: 1 });
      await api.ok('POST', `/agents/${agent}/pause`);
      const before = upstream().requests.length;
      expect(await run(agent, { input_data: { text: 'd' } })).toMatchObject({ status: 503, body: { error: { code: 'agent_paused' } } });
      expect(upstream().requests.length).toBe(before);
      await api.ok('POST', `/agents/${agent}/resume`);
    });
  }

  it('Anthropic: structured output as the forced JSON tool', async () => {
    const { body } = await run('claude-parser', { input_data: { text: 'weather in Paris' } });
    expect(body).toMatchObject({ status: 'success', provider: 'anthropic', structured_output: true, attempts: 1 });
    expect(fieldsOf(body.output)).toEqual(['city', 'temperature']);
    const sent = anthropic.requests.at(-1)!.body;
    expect(sent.tool_choice).toEqual({ type: 'tool', name: 'json_tool_call' });
    expect((sent.tools as Array<{ input_schema: unknown }>)[0].input_schema).toMatchObject({ properties: { city: { type: 'string' }, temperature: { type: 'number' } } });
  });

  it('an upstream failure ends the run as failed, naming the error', async () => {
    openai.faults.push({ kind: 'error', status: 500 });
    const { status, body } = await run('email-parser', { input_data: { from: 'a', email_content: 'hi' } });
    expect(status).toBe(200);
    expect(body).toMatchObject({ status: 'failed', attempts: 1, output: null });
    expect(body.error).toMatch(/^upstream_error/);
  });

  it('bad input: 404 unknown agent, 400 input_data not an object, 400 a template value missing', async () => {
    expect(await run('nobody', { input_data: {} })).toMatchObject({ status: 404, body: { error: { code: 'agent_not_found' } } });
    expect(await run('email-parser', { input_data: 'text' })).toMatchObject({ status: 400, body: { error: { param: 'input_data' } } });
    expect(await run('email-parser', { input_data: [1] })).toMatchObject({ status: 400, body: { error: { param: 'input_data' } } });
    expect(await run('email-parser', {})).toMatchObject({ status: 400, body: { error: { param: 'input_data' } } });
    expect(await run('email-parser', { input_data: {}, extra: 1 })).toMatchObject({ status: 400, body: { error: { param: 'extra' } } });
    const missing = await run('email-parser', { input_data: { from: 'a' } });
    expect(missing).toMatchObject({ status: 400, body: { error: { param: 'input_data.email_content' } } });
  });
});

describe('managing agents', () => {
  it('create, read, edit, pause, resume and delete; config agents cannot be deleted', async () => {
    const created = await api.call<any>('POST', '/agents', { name: 'quote-analyzer', model: 'gpt-4o', temperature: 0.3, output_schema: { type: 'object', properties: { total: { type: 'number' } } } });
    expect(created.status).toBe(201);
    expect(created.body).toMatchObject({ name: 'quote-analyzer', display_name: 'quote-analyzer', type: 'quote_analyzer', status: 'active', source: 'api', stats: { executions: 0 } });
    expect((await api.call('POST', '/agents', { name: 'quote-analyzer', model: 'gpt-4o' })).status).toBe(409);
    expect(await api.ok('GET', '/agents/quote-analyzer')).toMatchObject({ model: 'gpt-4o', temperature: 0.3 });
    expect(await api.ok('PATCH', '/agents/quote-analyzer', { confidence_threshold: 0.5, description: 'Reads quotes' })).toMatchObject({ confidence_threshold: 0.5, description: 'Reads quotes', model: 'gpt-4o' });
    expect(await api.ok('POST', '/agents/quote-analyzer/pause')).toMatchObject({ status: 'paused' });
    expect(await api.ok('POST', '/agents/quote-analyzer/resume')).toMatchObject({ status: 'active' });
    const list = await api.ok<{ data: Array<{ name: string }> }>('GET', '/agents');
    expect(list.data.map((agent) => agent.name)).toEqual(['claude-parser', 'email-parser', 'gemini-parser', 'ollama-parser', 'quote-analyzer', 'supplier-matcher']);
    expect(await api.ok('DELETE', '/agents/quote-analyzer')).toEqual({ deleted: 'quote-analyzer' });
    expect((await api.call('GET', '/agents/quote-analyzer')).status).toBe(404);
    expect(await api.call('DELETE', '/agents/email-parser')).toMatchObject({ status: 400, body: { error: { param: 'name' } } });
  });

  it('refuses an invalid schema, template, model or field with a 400 naming the field', async () => {
    const refuse = async (body: unknown, param: string, method: 'POST' | 'PATCH' = 'POST') => {
      const response = await api.call<any>(method, method === 'POST' ? '/agents' : '/agents/email-parser', body);
      expect(response.status, JSON.stringify(response.body)).toBe(400);
      expect(response.body.error.param).toBe(param);
      expect(response.body.error.message).toContain(param.split('.')[0]);
    };
    await refuse({ name: 'bad', model: 'gpt-4o', output_schema: { type: 'objekt' } }, 'output_schema');
    await refuse({ name: 'bad', model: 'gpt-4o', prompt_template: 'Hello {{input.email}}' }, 'prompt_template');
    await refuse({ name: 'bad', model: 'gpt-4o', prompt_template: 'Hello {{input_data.email' }, 'prompt_template');
    await refuse({ name: 'bad', model: 'no-such-model' }, 'model');
    await refuse({ name: 'bad', model: 'gpt-4o', fallbacks: ['nope'] }, 'fallbacks.0');
    await refuse({ name: 'Bad Name', model: 'gpt-4o' }, 'name');
    await refuse({ name: 'bad', model: 'gpt-4o', confidence_threshold: 1.5 }, 'confidence_threshold');
    await refuse({ name: 'bad', model: 'gpt-4o', colour: 'red' }, 'colour');
    await refuse({ output_schema: { type: 'object', required: 'x' } }, 'output_schema', 'PATCH');
    await refuse({ temperature: 'hot' }, 'temperature', 'PATCH');
    await refuse({ name: 'other' }, 'name', 'PATCH');
    expect((await api.call('PATCH', '/agents/nobody', { model: 'gpt-4o' })).status).toBe(404);
  });

  it('permissions: reading needs llm.read, running llm.execute, editing llm.configure', async () => {
    const { key } = await api.generateKey({});
    expect((await api.call('GET', '/agents', undefined, key)).status).toBe(200);
    expect((await api.call('GET', '/agents/stats', undefined, key)).status).toBe(200);
    expect((await api.call('GET', '/agents/email-parser/executions', undefined, key)).status).toBe(200);
    openai.replies.push(JSON.stringify({ sender: 'k', intent: 'rfq', confidence: 1 }));
    expect((await run('email-parser', { input_data: { from: 'k', email_content: 'x' } }, key)).body.status).toBe('success');
    expect((await api.call('PATCH', '/agents/email-parser', { temperature: 0 }, key)).status).toBe(403);
    expect((await api.call('POST', '/agents', { name: 'mine', model: 'gpt-4o' }, key)).status).toBe(403);
    expect((await api.call('POST', '/agents/email-parser/pause', undefined, key)).status).toBe(403);
    expect((await api.call('DELETE', '/agents/email-parser', undefined, key)).status).toBe(403);
  });
});

describe('the answers the Agents page reads', () => {
  it('match the view tables field by field (src/http/agent-views.ts)', async () => {
    openai.replies.push(JSON.stringify({ sender: 'v', intent: 'rfq', confidence: 0.9 }));
    const ran = (await run('email-parser', { entity_type: 'email', input_data: { from: 'v', email_content: 'x' } })).body;
    expect(fieldMismatches(RUN_RESULT_FIELDS, ran)).toEqual([]);
    await gateway.flushUsage();
    await new Promise((resolve) => setTimeout(resolve, 50));
    const list = await api.ok<any>('GET', '/agents');
    expect(fieldMismatches(AGENTS_LIST_FIELDS, list)).toEqual([]);
    for (const agent of list.data) {
      expect(fieldMismatches(AGENT_FIELDS, agent), agent.name).toEqual([]);
      expect(fieldMismatches(AGENT_STATS_FIELDS, agent.stats), agent.name).toEqual([]);
    }
    const overview = await api.ok<any>('GET', '/agents/stats');
    expect(fieldMismatches(AGENTS_OVERVIEW_FIELDS, overview)).toEqual([]);
    for (const agent of overview.agents) expect(fieldMismatches({ name: 'string', ...AGENT_STATS_FIELDS }, agent)).toEqual([]);
    const page = await api.ok<any>('GET', '/agents/email-parser/executions?page_size=100');
    expect(fieldMismatches(EXECUTIONS_PAGE_FIELDS, page)).toEqual([]);
    expect(page.data.length).toBeGreaterThan(1);
    for (const execution of page.data) expect(fieldMismatches(EXECUTION_FIELDS, execution), execution.execution_id).toEqual([]);
    // Prompts are stored here: a run's input and output come back.
    expect(page.data.find((execution: { execution_id: string }) => execution.execution_id === ran.execution_id)).toMatchObject({ via: 'run', entity_type: 'email', input: { from: 'v', email_content: 'x' }, output: { sender: 'v' } });
  });

  it('periods: a start after the end, or a bad date, is a 400 naming it', async () => {
    expect(await api.call('GET', '/agents/stats?start_date=2026-12-05&end_date=2026-12-01')).toMatchObject({ status: 400, body: { error: { param: 'start_date' } } });
    expect(await api.call('GET', '/agents?start_date=yesterday')).toMatchObject({ status: 400, body: { error: { param: 'start_date' } } });
    expect(await api.call('GET', '/agents/stats?colour=red')).toMatchObject({ status: 400 });
  });
});
