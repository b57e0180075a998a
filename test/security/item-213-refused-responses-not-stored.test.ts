/**
 * The attack: POST /v1/responses with `store: true` (the default) stored the response as soon as
 * the attempt wrote it — before a post_call guardrail or general_settings.max_response_size_mb
 * refused it. The client got 400 (or 502), yet the answer the gateway refused to show — the blocked
 * word, the card number, the oversized output — was kept in `stored_responses` under an id the
 * client never received: readable by `GET /v1/responses/{id}` and continuable with
 * `previous_response_id` by anyone of the team who learns the id, and kept against the refusal.
 * Now a response is stored only when it is the answer the client gets.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockServer } from '../support/mock-server.js';
import { MASTER_KEY, openAIConfig, startGateway, type TestGateway } from '../support/gateway.js';
import { MockOpenAI } from '../support/mock-openai.js';

/** An OpenAI-compatible upstream answering `answer` (JSON or SSE). */
class MessageUpstream extends MockServer {
  answer = 'fine';
  async start(): Promise<string> {
    return this.listen('/v1');
  }
  protected async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    let text = '';
    for await (const chunk of request) text += chunk;
    const body = JSON.parse(text) as { stream?: boolean };
    const base = { id: 'chatcmpl-x', created: 1, model: 'gpt-4o-mini' };
    const usage = { prompt_tokens: 5, completion_tokens: 5, total_tokens: 10 };
    if (!body.stream) {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ ...base, object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: this.answer }, finish_reason: 'stop' }], usage }));
      return;
    }
    response.writeHead(200, { 'content-type': 'text/event-stream' });
    for (const item of [{ role: 'assistant', content: '' }, { content: this.answer }, {}]) {
      const done = Object.keys(item).length === 0;
      response.write(`data: ${JSON.stringify({ ...base, object: 'chat.completion.chunk', choices: [{ index: 0, delta: item, finish_reason: done ? 'stop' : null }], ...(done ? { usage } : {}) })}\n\n`);
    }
    response.end('data: [DONE]\n\n');
  }
}

let upstream: MessageUpstream;
let gateway: TestGateway;

beforeAll(async () => {
  upstream = new MessageUpstream();
  await upstream.start();
  gateway = await startGateway(`
model_list:
  - model_name: gpt-4o-mini
    litellm_params: {model: openai/gpt-4o-mini, api_base: "${upstream.url}", api_key: sk-upstream-test}
general_settings:
  master_key: ${MASTER_KEY}
  max_response_size_mb: 0.004
guardrails:
  - guardrail_name: no-secrets
    litellm_params: {guardrail: content_filter, mode: post_call, default_on: true, blocked_words: [password]}
`);
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

async function create(body: Record<string, unknown>): Promise<{ status: number; text: string }> {
  const response = await fetch(`${gateway.url}/v1/responses`, {
    method: 'POST',
    headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' },
    body: JSON.stringify({ model: 'gpt-4o-mini', input: 'hi', ...body }),
  });
  return { status: response.status, text: await response.text() };
}

/** Every stored response's text, once the queued writes landed. */
async function storedTexts(): Promise<string[]> {
  await gateway.runtime.responses.flush();
  const rows = await gateway.runtime.database.handle!.db.selectFrom('stored_responses').select(['id', 'response', 'conversation']).execute();
  return rows.map((row) => `${row.id} ${row.response} ${row.conversation}`);
}

describe('a response refused after it was produced is not stored', () => {
  it('a JSON answer a post_call guardrail blocks', async () => {
    upstream.answer = 'the password is hunter2';
    const refused = await create({});
    expect(refused.status).toBe(400);
    expect(refused.text).toContain('guardrail_violation');
    expect((await storedTexts()).filter((text) => text.includes('hunter2'))).toEqual([]);
  });

  it('a streamed answer a post_call guardrail blocks', async () => {
    upstream.answer = 'the password is swordfish';
    const refused = await create({ stream: true });
    expect(refused.text).toContain('guardrail_violation');
    expect(refused.text).not.toContain('response.completed');
    expect((await storedTexts()).filter((text) => text.includes('swordfish'))).toEqual([]);
  });

  it('a JSON answer over max_response_size_mb', async () => {
    upstream.answer = `oversized ${'x'.repeat(6_000)}`;
    const refused = await create({});
    expect(refused.status).toBe(502);
    expect(refused.text).toContain('max_response_size_mb');
    expect((await storedTexts()).filter((text) => text.includes('oversized'))).toEqual([]);
  });

  it('an answer the client gets is still stored, and read back by its id', async () => {
    upstream.answer = 'all good here';
    const created = await create({});
    expect(created.status).toBe(200);
    const id = (JSON.parse(created.text) as { id: string }).id;
    expect((await storedTexts()).some((text) => text.startsWith(`${id} `) && text.includes('all good here'))).toBe(true);
    const read = await fetch(`${gateway.url}/v1/responses/${id}`, { headers: { authorization: `Bearer ${MASTER_KEY}` } });
    expect(read.status).toBe(200);
    expect(await read.text()).toContain('all good here');

    const streamed = await create({ stream: true, input: 'again' });
    const streamedId = /"id":"(resp_[^"]+)"/.exec(streamed.text)?.[1];
    expect(streamed.text).toContain('response.completed');
    expect((await storedTexts()).some((text) => text.startsWith(`${streamedId} `))).toBe(true);
  });

  it("an answer of OpenAI's own Responses API (native path) over max_response_size_mb", async () => {
    const openai = new MockOpenAI();
    await openai.start();
    const native = await startGateway(openAIConfig(openai.url).replace('general_settings:', 'general_settings:\n  max_response_size_mb: 0.0001'));
    try {
      const response = await fetch(`${native.url}/v1/responses`, {
        method: 'POST',
        headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' },
        body: JSON.stringify({ model: 'gpt-4o-mini', input: 'hi' }),
      });
      expect(response.status).toBe(502);
      expect(openai.requests.some((request) => request.url.endsWith('/responses'))).toBe(true);
      await native.runtime.responses.flush();
      expect(await native.runtime.database.handle!.db.selectFrom('stored_responses').select('id').execute()).toEqual([]);
    } finally {
      await native.close();
      await openai.close();
    }
  });
});
