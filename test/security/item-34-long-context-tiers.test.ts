/**
 * Long-context tiers: Google bills a Gemini 2.5 Pro call whose prompt is above 200k tokens at
 * $2.50 input / $15 output per 1M for the whole call ($1.25 / $10 up to 200k); Anthropic bills
 * Claude Sonnet 4.5 with the 1M-token context window above 200k input tokens at $6 / $22.50 ($3 / $15
 * below). Before, the gateway charged one flat price, half of what the provider bills for such a
 * call. Through /gemini (generateContent, streamGenerateContent), /v1/chat/completions → Gemini
 * (openai SDK) and /anthropic (@anthropic-ai/sdk with the context-1m beta), the charge is the
 * provider's price.
 */
import Anthropic from '@anthropic-ai/sdk';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { MockServer } from '../support/mock-server.js';

const PROMPT_TOKENS = 250_033;
const OUTPUT_TOKENS = 50;

/** The Gemini API and Anthropic's Messages API, each reporting a 250,033-token prompt. */
class LongPromptUpstream extends MockServer {
  readonly paths: string[] = [];

  async start(): Promise<string> {
    return this.listen('');
  }

  protected async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
    const url = request.url ?? '';
    this.paths.push(url);
    if (url.startsWith('/v1/messages')) {
      const usage = { input_tokens: PROMPT_TOKENS, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, output_tokens: OUTPUT_TOKENS };
      response.writeHead(200, { 'content-type': 'application/json', 'request-id': 'req_long' });
      response.end(JSON.stringify({ id: 'msg_long', type: 'message', role: 'assistant', model: String(body.model), content: [{ type: 'text', text: 'read it all' }], stop_reason: 'end_turn', stop_sequence: null, usage }));
      return;
    }
    const answer = {
      candidates: [{ content: { role: 'model', parts: [{ text: 'read it all' }] }, finishReason: 'STOP', index: 0 }],
      usageMetadata: { promptTokenCount: PROMPT_TOKENS, candidatesTokenCount: OUTPUT_TOKENS, totalTokenCount: PROMPT_TOKENS + OUTPUT_TOKENS },
      modelVersion: 'gemini-2.5-pro',
    };
    if (url.includes(':streamGenerateContent')) {
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      response.write(`data: ${JSON.stringify({ ...answer, usageMetadata: { promptTokenCount: PROMPT_TOKENS } })}\n\n`);
      response.end(`data: ${JSON.stringify(answer)}\n\n`);
      return;
    }
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify(answer));
  }
}

/** Micro-dollars per token = USD per 1M tokens. Gemini 2.5 Pro above 200k: $0.625833 (was $0.313041). */
const GEMINI_MICROS = Math.round(PROMPT_TOKENS * 2.5 + OUTPUT_TOKENS * 15);
/** Claude Sonnet 4.5 above 200k: $1.501323 (was $0.750849). */
const CLAUDE_MICROS = Math.round(PROMPT_TOKENS * 6 + OUTPUT_TOKENS * 22.5);

describe('prompts above the long-context threshold are charged at the long-context prices', () => {
  const upstream = new LongPromptUpstream();
  let gateway: TestGateway;
  /** About 1 MB of text: some 250k tokens. */
  const longText = 'the whole repository, file by file. '.repeat(28_000);

  beforeAll(async () => {
    await upstream.start();
    gateway = await startGateway(`
model_list:
  - model_name: gemini-pro
    litellm_params:
      model: gemini/gemini-2.5-pro
      api_base: ${upstream.url}
      api_key: gm-upstream
  - model_name: claude-sonnet
    litellm_params:
      model: anthropic/claude-sonnet-4-5-20250929
      api_base: ${upstream.url}
      api_key: sk-ant-upstream
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

  const costOf = async (response: Response | { headers: Headers }) => (await gateway.recordOf(response.headers.get('x-switchboard-call-id')!))?.cost_micros;

  it('/gemini generateContent on gemini-2.5-pro: the whole call at $2.50 / $15 per 1M', async () => {
    const response = await fetch(`${gateway.url}/gemini/v1beta/models/gemini-pro:generateContent`, {
      method: 'POST',
      headers: { 'x-goog-api-key': MASTER_KEY, 'content-type': 'application/json' },
      body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: longText }] }], generationConfig: { maxOutputTokens: 100 } }),
    });
    expect(response.status).toBe(200);
    expect(await costOf(response)).toBe(GEMINI_MICROS);
  });

  it('/gemini streamGenerateContent: the same', async () => {
    const response = await fetch(`${gateway.url}/gemini/v1beta/models/gemini-pro:streamGenerateContent?alt=sse`, {
      method: 'POST',
      headers: { 'x-goog-api-key': MASTER_KEY, 'content-type': 'application/json' },
      body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: longText }] }], generationConfig: { maxOutputTokens: 100 } }),
    });
    expect(response.status).toBe(200);
    await response.text();
    expect(await costOf(response)).toBe(GEMINI_MICROS);
  });

  it('/v1/chat/completions → Gemini (openai SDK): the same', async () => {
    const { response } = await gateway.openai().chat.completions.create({ model: 'gemini-pro', max_tokens: 100, messages: [{ role: 'user', content: longText }] }).withResponse();
    expect(await costOf(response)).toBe(GEMINI_MICROS);
  });

  it('/anthropic on Claude Sonnet 4.5 with the 1M context window: $6 / $22.50 per 1M above 200k input tokens', async () => {
    const client = new Anthropic({ apiKey: MASTER_KEY, baseURL: `${gateway.url}/anthropic`, maxRetries: 0 });
    const { response } = await client.messages.create({ model: 'claude-sonnet', max_tokens: 100, messages: [{ role: 'user', content: longText }] }, { headers: { 'anthropic-beta': 'context-1m-2025-08-07' } }).withResponse();
    expect(await costOf(response)).toBe(CLAUDE_MICROS);
  });
});
