/**
 * general_settings.max_response_size_mb is documented for every answer: a JSON answer over it is
 * read in full, billed as the provider reported it and refused with 502 upstream_response_too_large
 * (`x-should-retry: false`); a stream is cut at the chunk that would pass it. Only the chat-shaped
 * routes held to it. The answers the gateway relays as the provider wrote them — `/v1/responses` on
 * an OpenAI deployment, the Gemini-native `:generateContent`, the Anthropic-native
 * `/anthropic/v1/messages`, the `/openai/v1/*` relay — skipped the check: the whole answer was sent,
 * whatever its size, and recorded as a success. Now they go through the same check as chat: the
 * answer is refused with the same error, billed as the provider reported it, and the usage row is
 * that failure. Their streams were already cut by the same encoder; this suite holds them to it.
 */
import Anthropic from '@anthropic-ai/sdk';
import { GoogleGenAI } from '@google/genai';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockAnthropic } from '../support/mock-anthropic.js';
import { MockGemini } from '../support/mock-gemini.js';
import { MockOpenAI } from '../support/mock-openai.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';

/** About 2.4 kB of text: over the 1 kB limit below in any format, in many small stream chunks. */
const REPLY = 'lorem '.repeat(400);

describe('max_response_size_mb on the routes that relay the provider\'s own answer', () => {
  const openaiUpstream = new MockOpenAI({ reply: REPLY, promptTokens: 1_000, completionTokens: 600 });
  const anthropicUpstream = new MockAnthropic({ reply: REPLY, inputTokens: 1_000, outputTokens: 600 });
  const geminiUpstream = new MockGemini({ reply: REPLY, promptTokens: 1_000, candidatesTokens: 600 });
  let gateway: TestGateway;

  beforeAll(async () => {
    await Promise.all([openaiUpstream.start(), anthropicUpstream.start(), geminiUpstream.start()]);
    gateway = await startGateway(`
model_list:
  - model_name: gpt
    litellm_params: {model: openai/gpt-4o-mini, api_base: "${openaiUpstream.url}", api_key: sk-upstream}
    model_info: {input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}
  - model_name: claude
    litellm_params: {model: anthropic/claude-3-5-haiku-20241022, api_base: "${anthropicUpstream.url}", api_key: sk-ant-upstream}
    model_info: {input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}
  - model_name: flash
    litellm_params: {model: gemini/gemini-2.0-flash, api_base: "${geminiUpstream.url}", api_key: gemini-upstream}
    model_info: {input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}
router_settings:
  num_retries: 0
  disable_cooldowns: true
general_settings:
  master_key: ${MASTER_KEY}
  health_check_interval: 0
  max_response_size_mb: 0.001
`);
  });

  afterAll(async () => {
    await gateway?.close();
    await Promise.all([openaiUpstream.close(), anthropicUpstream.close(), geminiUpstream.close()]);
  });

  // 1000 prompt tokens at 1 µ$ + 600 completion tokens at 2 µ$.
  const BILLED_MICROS = 2_200;

  async function latestRow() {
    await gateway.flushUsage();
    return (await gateway.runtime.usageLogs()!.listRecent(1))[0];
  }

  function upstreamCalls(): number {
    return openaiUpstream.requests.length + anthropicUpstream.requests.length + geminiUpstream.requests.length;
  }

  /** A JSON answer over the limit: one upstream call, 502 with x-should-retry: false, billed and recorded as the failure. */
  async function expectRefusedJson(route: string, send: () => Promise<unknown>, billedMicros = BILLED_MICROS): Promise<void> {
    const before = upstreamCalls();
    const error = (await send().then(
      () => undefined,
      (caught: unknown) => caught,
    )) as { status?: number; headers?: Headers; message?: string } | undefined;
    expect(error, `${route}: the answer must be refused`).toBeDefined();
    expect(error!.status, route).toBe(502);
    expect(error!.message, route).toMatch(/max_response_size_mb/);
    if (error!.headers instanceof Headers) expect(error!.headers.get('x-should-retry'), route).toBe('false');
    expect(upstreamCalls() - before, `${route}: upstream calls`).toBe(1);
    const row = await latestRow();
    expect(row, route).toMatchObject({ status: 'failure', http_status: 502, error_code: 'upstream_response_too_large', prompt_tokens: 1_000, completion_tokens: 600, cost_micros: billedMicros });
  }

  /** A stream over the limit: cut before its end with an error, what was produced billed, the row that failure. */
  async function expectCutStream(route: string, read: () => Promise<string>): Promise<void> {
    let text = '';
    const failure = await read().then(
      (all) => ((text = all), undefined),
      (caught: unknown) => caught as Error,
    );
    expect(failure, `${route}: the stream must end with the error`).toBeDefined();
    expect(String(failure!.message), route).toMatch(/max_response_size_mb|upstream_response_too_large/);
    expect(text.length, route).toBeLessThan(REPLY.length);
    const row = await latestRow();
    expect(row, route).toMatchObject({ status: 'failure', error_code: 'upstream_response_too_large', aborted: 1 });
    expect(row.cost_micros, route).toBeGreaterThan(0);
  }

  it('/v1/responses on an OpenAI deployment (relayed natively): JSON refused, stream cut', async () => {
    const openai = new OpenAI({ apiKey: MASTER_KEY, baseURL: `${gateway.url}/v1`, maxRetries: 2 });
    await expectRefusedJson('responses', () => openai.responses.create({ model: 'gpt', input: 'Hi', store: false }));
    await expectCutStream('responses stream', async () => {
      let text = '';
      const stream = await openai.responses.create({ model: 'gpt', input: 'Hi', store: false, stream: true });
      for await (const event of stream) {
        if (event.type === 'response.output_text.delta') text += event.delta;
        // The gateway ends a cut Responses stream as the API ends a failed one: response.failed with its error.
        if (event.type === 'response.failed') throw new Error(event.response.error?.message);
        if (event.type === 'error') throw new Error(event.message);
      }
      return text;
    });
  });

  it('/v1/responses with a built-in tool (relayed to OpenAI): JSON refused', async () => {
    const openai = new OpenAI({ apiKey: MASTER_KEY, baseURL: `${gateway.url}/v1`, maxRetries: 2 });
    await expectRefusedJson(
      'responses + web_search',
      () => openai.responses.create({ model: 'gpt', input: 'Hi', tools: [{ type: 'web_search_preview' }], store: false, ...{ max_tool_calls: 1 } }),
      // The tokens and the web search the answer records ($25 per 1,000 searches: web_search_preview's price).
      BILLED_MICROS + 25_000,
    );
  });

  it('/openai/v1/* relay: JSON refused, stream cut', async () => {
    const relay = new OpenAI({ apiKey: MASTER_KEY, baseURL: `${gateway.url}/openai/v1`, maxRetries: 2 });
    await expectRefusedJson('openai/v1/chat/completions', () => relay.chat.completions.create({ model: 'gpt', messages: [{ role: 'user', content: 'Hi' }] }));
    await expectCutStream('openai/v1/chat/completions stream', async () => {
      let text = '';
      const stream = await relay.chat.completions.create({ model: 'gpt', messages: [{ role: 'user', content: 'Hi' }], stream: true, stream_options: { include_usage: true } });
      for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
      return text;
    });
  });

  it('/anthropic/v1/messages (Anthropic-native): JSON refused, stream cut', async () => {
    const anthropic = new Anthropic({ apiKey: MASTER_KEY, baseURL: `${gateway.url}/anthropic`, maxRetries: 2 });
    await expectRefusedJson('anthropic/v1/messages', () => anthropic.messages.create({ model: 'claude', max_tokens: 1_000, messages: [{ role: 'user', content: 'Hi' }] }));
    await expectCutStream('anthropic/v1/messages stream', async () => {
      let text = '';
      const stream = await anthropic.messages.create({ model: 'claude', max_tokens: 1_000, messages: [{ role: 'user', content: 'Hi' }], stream: true });
      for await (const event of stream) if (event.type === 'content_block_delta' && event.delta.type === 'text_delta') text += event.delta.text;
      return text;
    });
  });

  it('/gemini/v1beta/models/{model}:generateContent (Gemini-native): JSON refused, stream cut', async () => {
    const genai = new GoogleGenAI({ apiKey: MASTER_KEY, httpOptions: { baseUrl: `${gateway.url}/gemini` } });
    await expectRefusedJson('gemini generateContent', () => genai.models.generateContent({ model: 'flash', contents: 'Hi' }));
    await expectCutStream('gemini streamGenerateContent', async () => {
      let text = '';
      for await (const chunk of await genai.models.generateContentStream({ model: 'flash', contents: 'Hi' })) text += chunk.text ?? '';
      return text;
    });
  });
});
