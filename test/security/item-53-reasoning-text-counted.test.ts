/**
 * When the gateway counts a stream's output itself — the upstream sent no usage, the client hung up
 * or the stream broke before the usage chunk — it counted only `content` and tool calls. Reasoning
 * streamed as `reasoning_content` (DeepSeek, and every native adapter that translates thinking:
 * Anthropic, Bedrock, Gemini, Ollama, Cohere) or `reasoning` (OpenRouter, Groq), and a `refusal`,
 * are output the provider bills, and a reasoning model spends most of its output there: a client
 * that hung up during the thinking paid for none of it. The same held for a JSON answer counted
 * locally (`message.reasoning_content`). They are now counted with the rest.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { MockServer } from '../support/mock-server.js';

class ReasonerUpstream extends MockServer {
  field: 'reasoning_content' | 'reasoning' | 'refusal' = 'reasoning_content';

  async start(): Promise<string> {
    return this.listen('');
  }

  protected async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    if ((JSON.parse(Buffer.concat(chunks).toString('utf8')) as { stream?: boolean }).stream !== true) {
      // A JSON answer whose usage names only the prompt: the output is counted locally.
      response.writeHead(200, { 'content-type': 'application/json' });
      const message = { role: 'assistant', content: 'ok', [this.field]: 'step '.repeat(400) };
      response.end(JSON.stringify({ id: 'chatcmpl-r1', created: 1, model: 'deepseek-reasoner', object: 'chat.completion', choices: [{ index: 0, message, finish_reason: 'stop' }], usage: { prompt_tokens: 9 } }));
      return;
    }
    const base = { id: 'chatcmpl-r1', created: 1, model: 'deepseek-reasoner', object: 'chat.completion.chunk' };
    const chunk = (delta: Record<string, unknown>, finish: string | null = null) => `data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta, finish_reason: finish }] })}\n\n`;
    response.writeHead(200, { 'content-type': 'text/event-stream' });
    response.write(chunk({ role: 'assistant', content: '' }));
    for (let i = 0; i < 40; i++) response.write(chunk({ [this.field]: 'step '.repeat(10) }));
    response.write(chunk({ content: 'ok' }, 'stop'));
    // No usage chunk: the gateway counts what was streamed.
    response.end('data: [DONE]\n\n');
  }
}

describe('reasoning and refusal text streamed count as output when the gateway counts', () => {
  const upstream = new ReasonerUpstream();
  let gateway: TestGateway;

  beforeAll(async () => {
    await upstream.start();
    gateway = await startGateway(`
model_list:
  - model_name: reasoner
    litellm_params:
      model: deepseek/deepseek-reasoner
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

  for (const field of ['reasoning_content', 'reasoning', 'refusal'] as const) {
    it(`a stream of \`${field}\` deltas without usage is billed for them`, async () => {
      upstream.field = field;
      const { data: stream, response } = await gateway.openai().chat.completions.create({ model: 'reasoner', stream: true, messages: [{ role: 'user', content: 'Think.' }] }).withResponse();
      for await (const _ of stream) void _;
      const row = await gateway.recordOf(response.headers.get('x-switchboard-call-id')!);
      expect(row).toMatchObject({ status: 'success', tokens_estimated: 1 });
      // 400 words of reasoning plus "ok": about 400 tokens (o200k).
      expect(row?.completion_tokens).toBeGreaterThanOrEqual(300);
      expect(row?.cost_micros).toBe((row?.prompt_tokens ?? 0) + (row?.completion_tokens ?? 0) * 2);
    });

    it(`a JSON answer's \`message.${field}\` counts when the output is counted locally`, async () => {
      upstream.field = field;
      const { response } = await gateway.openai().chat.completions.create({ model: 'reasoner', messages: [{ role: 'user', content: 'Think.' }] }).withResponse();
      const row = await gateway.recordOf(response.headers.get('x-switchboard-call-id')!);
      expect(row).toMatchObject({ status: 'success', prompt_tokens: 9, tokens_estimated: 1 });
      expect(row?.completion_tokens).toBeGreaterThanOrEqual(300);
    });
  }
});
