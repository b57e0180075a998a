/**
 * A JSON chat answer without usage was recorded with unknown tokens and cost (NULL): nothing was
 * charged to spend, budgets or credits, though the provider billed the call. And a usage report
 * that names the prompt but not the output (`{"prompt_tokens": N}` from an
 * OpenAI-compatible upstream or proxy, a Bedrock `metadata` event without `outputTokens`) billed
 * the answer's output as zero, though the text was delivered: "absent" was read as "none". The
 * output is now counted locally from what the upstream sent (the row marked tokens_estimated), in
 * JSON and streamed answers alike, and a JSON answer without usage is counted locally as a stream
 * without usage always was; a report with both counts is billed as reported.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { MockServer } from '../support/mock-server.js';

const ANSWER = 'word '.repeat(400).trim();

class PartialUsageUpstream extends MockServer {
  usage: Record<string, unknown> | undefined = { prompt_tokens: 12 };

  async start(): Promise<string> {
    return this.listen('');
  }

  protected async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
    const base = { id: 'chatcmpl-partial', created: 1, model: 'm' };
    if (body.stream !== true) {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ ...base, object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: ANSWER }, finish_reason: 'stop' }], usage: this.usage }));
      return;
    }
    const chunk = (extra: Record<string, unknown>) => `data: ${JSON.stringify({ ...base, object: 'chat.completion.chunk', ...extra })}\n\n`;
    response.writeHead(200, { 'content-type': 'text/event-stream' });
    response.write(chunk({ choices: [{ index: 0, delta: { role: 'assistant', content: ANSWER }, finish_reason: null }] }));
    response.write(chunk({ choices: [{ index: 0, delta: {}, finish_reason: 'stop' }] }));
    response.write(chunk({ choices: [], usage: this.usage }));
    response.end('data: [DONE]\n\n');
  }
}

describe('usage without an output count still bills the output', () => {
  const upstream = new PartialUsageUpstream();
  let gateway: TestGateway;

  beforeAll(async () => {
    await upstream.start();
    gateway = await startGateway(`
model_list:
  - model_name: partial
    litellm_params:
      model: together_ai/some-model
      api_base: ${upstream.url}
      api_key: upstream-key
      input_cost_per_token: 0.000001
      output_cost_per_token: 0.000002
router_settings:
  num_retries: 0
general_settings:
  master_key: ${MASTER_KEY}
`);
  });

  afterAll(async () => {
    await gateway?.close();
    await upstream.close();
  });

  const billedOutput = async (callId: string | null) => {
    const row = await gateway.recordOf(callId!);
    expect(row).toMatchObject({ status: 'success', prompt_tokens: 12, tokens_estimated: 1 });
    // 400 words: about 400 tokens of output (o200k), billed, not free.
    expect(row?.completion_tokens).toBeGreaterThanOrEqual(300);
    expect(row?.cost_micros).toBe(12 * 1 + (row?.completion_tokens ?? 0) * 2);
  };

  it('JSON answer', async () => {
    upstream.usage = { prompt_tokens: 12 };
    const { response } = await gateway.openai().chat.completions.create({ model: 'partial', messages: [{ role: 'user', content: 'Say word 400 times.' }] }).withResponse();
    await billedOutput(response.headers.get('x-switchboard-call-id'));
  });

  it('streamed answer', async () => {
    upstream.usage = { prompt_tokens: 12 };
    const { data: stream, response } = await gateway.openai().chat.completions.create({ model: 'partial', stream: true, messages: [{ role: 'user', content: 'Say word 400 times.' }] }).withResponse();
    for await (const _ of stream) void _;
    await billedOutput(response.headers.get('x-switchboard-call-id'));
  });

  it('JSON answer without usage: counted locally, not unknown (was cost NULL)', async () => {
    upstream.usage = undefined;
    const { response } = await gateway.openai().chat.completions.create({ model: 'partial', messages: [{ role: 'user', content: 'Say word 400 times.' }] }).withResponse();
    const row = await gateway.recordOf(response.headers.get('x-switchboard-call-id')!);
    expect(row).toMatchObject({ status: 'success', tokens_estimated: 1 });
    expect(row?.prompt_tokens).toBeGreaterThan(0);
    expect(row?.completion_tokens).toBeGreaterThanOrEqual(300);
    expect(row?.cost_micros).toBe((row?.prompt_tokens ?? 0) + (row?.completion_tokens ?? 0) * 2);
  });

  it('a report with both counts is billed as reported', async () => {
    upstream.usage = { prompt_tokens: 12, completion_tokens: 401, total_tokens: 413 };
    const { response } = await gateway.openai().chat.completions.create({ model: 'partial', messages: [{ role: 'user', content: 'Say word 400 times.' }] }).withResponse();
    const row = await gateway.recordOf(response.headers.get('x-switchboard-call-id')!);
    expect(row).toMatchObject({ prompt_tokens: 12, completion_tokens: 401, tokens_estimated: 0, cost_micros: 12 + 802 });
  });
});
