/**
 * Item 357 (the attack): documents an OpenAI-compatible provider fetches by URL on a chat call, beyond the few bytes
 * of the request: Mistral's Document QnA (`{"type": "document_url", "document_url": "https://…pdf"}`,
 * docs.mistral.ai "Document QnA": the document's tokens are billed as prompt tokens) and
 * OpenRouter's PDF inputs (`{"type": "file", "file": {"filename", "file_data": "https://…pdf"}}`,
 * openrouter.ai/docs "PDF Inputs": a URL in file_data). The upstream honestly reports the
 * document's tokens; the gateway's bound is 4x the request's bytes, so the report is replaced by
 * the local count of the request text.
 * Now such a document is input the provider reads beyond the request: the usage bounds accept its
 * tokens up to the model's window and the reservation holds the window (as for a file by id). A
 * `file_data` URL is also checked for internal addresses, as every `…url` field is.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockServer } from '../support/mock-server.js';

/** A 40-page paper read in full. */
const DOCUMENT_TOKENS = 30_000;

class DocumentReader extends MockServer {
  calls = 0;
  start(): Promise<string> {
    return this.listen('');
  }
  protected async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    this.calls++;
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const documents = (text.match(/paper\.pdf/g) ?? []).length;
    const prompt = 20 + documents * DOCUMENT_TOKENS;
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ id: 'x', object: 'chat.completion', created: 1, model: 'm', choices: [{ index: 0, message: { role: 'assistant', content: 'The paper is about attention.' }, finish_reason: 'stop' }], usage: { prompt_tokens: prompt, completion_tokens: 10, total_tokens: prompt + 10 } }));
  }
}

describe('documents by URL on chat', () => {
  const upstream = new DocumentReader();
  let gateway: TestGateway;

  beforeAll(async () => {
    await upstream.start();
    gateway = await startGateway(`
model_list:
  - model_name: mistral
    litellm_params: {model: mistral/mistral-small-latest, api_base: "${upstream.url}", api_key: k}
    model_info: {input_cost_per_token: 0.000001, output_cost_per_token: 0.000003}
  - model_name: router
    litellm_params: {model: openrouter/anthropic/claude-sonnet-4, api_base: "${upstream.url}", api_key: k}
    model_info: {input_cost_per_token: 0.000003, output_cost_per_token: 0.000015, max_input_tokens: 200000}
  - model_name: selfhosted
    litellm_params: {model: openai/local-model, api_base: "${upstream.url}", api_key: k}
    model_info: {input_cost_per_token: 0.000001, output_cost_per_token: 0.000003}
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

  const call = async (model: string, part: unknown) => {
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model, max_tokens: 100, messages: [{ role: 'user', content: [{ type: 'text', text: 'Summarize.' }, part] }] }),
    });
    const text = await response.text();
    expect(response.status, text).toBe(200);
    const row = await gateway.recordOf(response.headers.get('x-switchboard-call-id')!);
    return row!;
  };

  it('Mistral document_url: the document tokens are charged', async () => {
    const row = await call('mistral', { type: 'document_url', document_url: 'https://1.1.1.1/paper.pdf' });
    expect(row.prompt_tokens).toBeGreaterThanOrEqual(DOCUMENT_TOKENS);
  });

  it('OpenRouter file part with a URL in file_data: the document tokens are charged', async () => {
    const row = await call('router', { type: 'file', file: { filename: 'paper.pdf', file_data: 'https://1.1.1.1/paper.pdf' } });
    expect(row.prompt_tokens).toBeGreaterThanOrEqual(DOCUMENT_TOKENS);
  });

  it('the reservation holds the document: a budget far below the model\'s window is refused before the upstream is called', async () => {
    const { key } = await new Management(gateway.url).generateKey({ models: ['router'], max_budget: 0.05 });
    const before = upstream.calls;
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'router', max_tokens: 100, messages: [{ role: 'user', content: [{ type: 'text', text: 'Summarize.' }, { type: 'file', file: { filename: 'paper.pdf', file_data: 'https://1.1.1.1/paper.pdf' } }] }] }),
    });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { code: string } }).error.code).toBe('budget_exceeded');
    expect(upstream.calls).toBe(before);
  });

  it('a file_data URL at an internal address is refused for an ordinary key', async () => {
    const { key } = await new Management(gateway.url).generateKey({ models: ['selfhosted'] });
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'selfhosted', max_tokens: 100, messages: [{ role: 'user', content: [{ type: 'text', text: 'Summarize.' }, { type: 'file', file: { filename: 'x.pdf', file_data: 'http://169.254.169.254/latest/meta-data/' } }] }] }),
    });
    expect(response.status).toBe(400);
    expect(await response.text()).toContain('file_data');
  });
});
