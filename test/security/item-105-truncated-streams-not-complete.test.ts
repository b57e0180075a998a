/**
 * An upstream stream that stops part-way through an answer — the connection closed cleanly after
 * some text, with no finish reason — was relayed as if the answer were complete when the upstream
 * was OpenAI-compatible (no `finish_reason`, no `data: [DONE]`) or Gemini (no `finishReason`):
 * Anthropic clients got `message_delta` with stop_reason "end_turn" and `message_stop`, Responses
 * clients `response.completed`, and Chat Completions clients a stream that simply ended. The
 * Anthropic, Ollama and Responses-native transforms already took such an end for a failure. Now
 * these are too: each client format ends with its own error event (the SDKs raise it), the call is
 * recorded as a failure, and the text that did arrive is billed. A stream whose choice finished is
 * still complete without `data: [DONE]`.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { MockServer } from '../support/mock-server.js';

type Mode = 'cut' | 'finished-without-done';

/** An OpenAI-compatible and a Gemini upstream whose streams send two pieces of text and then end, with or without finishing. */
class CuttingUpstream extends MockServer {
  mode: Mode = 'cut';

  async start(): Promise<string> {
    return this.listen('');
  }

  protected async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    for await (const _ of request) void _;
    const path = (request.url ?? '').split('?')[0];
    response.writeHead(200, { 'content-type': 'text/event-stream' });
    if (path.endsWith(':streamGenerateContent')) {
      const event = (text: string, finish: boolean) => ({ candidates: [{ content: { role: 'model', parts: [{ text }] }, index: 0, ...(finish ? { finishReason: 'STOP' } : {}) }], usageMetadata: { promptTokenCount: 8, totalTokenCount: 8 }, modelVersion: 'gemini-2.0-flash' });
      response.write(`data: ${JSON.stringify(event('The answer ', false))}\r\n\r\n`);
      response.end(`data: ${JSON.stringify(event('is', this.mode === 'finished-without-done'))}\r\n\r\n`);
      return;
    }
    const chunk = (delta: Record<string, unknown>, finish: string | null) => `data: ${JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion.chunk', created: 1, model: 'gpt-4o-mini', choices: [{ index: 0, delta, logprobs: null, finish_reason: finish }] })}\n\n`;
    response.write(chunk({ role: 'assistant', content: '' }, null));
    response.write(chunk({ content: 'The answer ' }, null));
    response.write(chunk({ content: 'is' }, null));
    response.end(this.mode === 'finished-without-done' ? chunk({}, 'stop') : '');
  }
}

const upstream = new CuttingUpstream();
let gateway: TestGateway;
let openai: OpenAI;
let anthropic: Anthropic;

beforeAll(async () => {
  await upstream.start();
  gateway = await startGateway(`
model_list:
  - model_name: compatible
    litellm_params: {model: hosted_vllm/gpt-4o-mini, api_base: "${upstream.url}/v1", api_key: sk-upstream}
  - model_name: gemini
    litellm_params: {model: gemini/gemini-2.0-flash, api_base: "${upstream.url}", api_key: g-upstream}
router_settings:
  num_retries: 0
  disable_cooldowns: true
general_settings:
  master_key: ${MASTER_KEY}
  health_check_interval: 0
`);
  openai = gateway.openai();
  anthropic = new Anthropic({ apiKey: MASTER_KEY, baseURL: gateway.url, maxRetries: 0 });
});

afterAll(async () => {
  await gateway?.close();
  await upstream.close();
});

interface Seen {
  text: string;
  finish: string | undefined;
  error: unknown;
}

async function chatStream(model: string): Promise<Seen> {
  const seen: Seen = { text: '', finish: undefined, error: undefined };
  try {
    const stream = await openai.chat.completions.create({ model, stream: true, messages: [{ role: 'user', content: 'What is the answer?' }] });
    for await (const chunk of stream) {
      seen.text += chunk.choices[0]?.delta?.content ?? '';
      seen.finish = chunk.choices[0]?.finish_reason ?? seen.finish;
    }
  } catch (error) {
    seen.error = error;
  }
  return seen;
}

async function messagesStream(model: string): Promise<Seen & { events: string[] }> {
  const seen = { text: '', finish: undefined as string | undefined, error: undefined as unknown, events: [] as string[] };
  try {
    const stream = await anthropic.messages.create({ model, max_tokens: 100, stream: true, messages: [{ role: 'user', content: 'What is the answer?' }] });
    for await (const event of stream) {
      seen.events.push(event.type);
      if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') seen.text += event.delta.text;
      if (event.type === 'message_delta') seen.finish = event.delta.stop_reason ?? undefined;
    }
  } catch (error) {
    seen.error = error;
  }
  return seen;
}

async function responsesStream(model: string): Promise<{ terminal: string | undefined; text: string; error: unknown }> {
  let terminal: string | undefined;
  let text = '';
  let error: unknown;
  try {
    const stream = await openai.responses.create({ model, input: 'What is the answer?', stream: true });
    for await (const event of stream) {
      if (event.type === 'response.output_text.delta') text += event.delta;
      if (event.type === 'response.completed' || event.type === 'response.failed' || event.type === 'response.incomplete' || event.type === 'error') terminal = event.type;
    }
  } catch (caught) {
    error = caught;
  }
  return { terminal, text, error };
}

describe.each(['compatible', 'gemini'])('a %s stream cut short before its choice finished', (model) => {
  it('ends a Chat Completions stream with an error, not silently', async () => {
    upstream.mode = 'cut';
    const seen = await chatStream(model);
    expect(seen.text).toBe('The answer is');
    expect(seen.finish).toBeUndefined();
    expect(seen.error).toBeInstanceOf(OpenAI.APIError);
    expect(String((seen.error as Error).message)).toMatch(/ended the stream before/);
  });

  it('ends an Anthropic Messages stream with an error event, not end_turn and message_stop', async () => {
    upstream.mode = 'cut';
    const seen = await messagesStream(model);
    expect(seen.text).toBe('The answer is');
    expect(seen.events).not.toContain('message_stop');
    expect(seen.finish).toBeUndefined();
    expect(seen.error).toBeInstanceOf(Anthropic.APIError);
    expect((seen.error as InstanceType<typeof Anthropic.APIError>).error).toMatchObject({ type: 'error', error: { type: 'api_error' } });
  });

  it('ends a Responses stream failed, not completed', async () => {
    upstream.mode = 'cut';
    const seen = await responsesStream(model);
    expect(seen.text).toBe('The answer is');
    expect(seen.terminal === 'response.failed' || seen.error !== undefined).toBe(true);
    expect(seen.terminal).not.toBe('response.completed');
  });

  it('records the call as a failure and bills the text that arrived', async () => {
    upstream.mode = 'cut';
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model, stream: true, messages: [{ role: 'user', content: 'What is the answer?' }] }),
    });
    const callId = response.headers.get('x-switchboard-call-id')!;
    const body = await response.text();
    expect(body).toMatch(/"error"/);
    const row = await gateway.recordOf(callId);
    expect(row?.status).toBe('failure');
    expect(row?.completion_tokens).toBeGreaterThan(0);
  });

  it('still relays a stream whose choice finished as complete', async () => {
    upstream.mode = 'finished-without-done';
    const chat = await chatStream(model);
    expect(chat.error).toBeUndefined();
    expect(chat.finish).toBe('stop');
    const messages = await messagesStream(model);
    expect(messages.error).toBeUndefined();
    expect(messages.finish).toBe('end_turn');
    expect(messages.events.at(-1)).toBe('message_stop');
    const responses = await responsesStream(model);
    expect(responses.terminal).toBe('response.completed');
  });
});
