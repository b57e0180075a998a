/**
 * Item 355 (the attack): Gemini's URL context tool (`tools: [{urlContext: {}}]`) fetches the pages the prompt names
 * (up to 20 URLs, each up to 34 MB) and bills their content as input (usageMetadata
 * toolUsePromptTokenCount). The usage bounds accept that input up to the model's window
 * (server tools read beyond the request), but the reservation holds only the body's bytes: parallel
 * calls each pass admission on a small budget and together spend many times it.
 * Now a call with tools the provider runs itself (server-tools.ts) reserves its prompt at the
 * model's input window, as a call naming stored input does, so concurrent calls never take the
 * budget past what it holds.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockServer } from '../support/mock-server.js';

/** Two long pages read by the tool. */
const PAGE_TOKENS = 100_000;

class UrlContextGemini extends MockServer {
  start(): Promise<string> {
    return this.listen('');
  }
  protected async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    await new Promise((resolve) => setTimeout(resolve, 200));
    const tool = text.includes('urlContext') ? PAGE_TOKENS : 0;
    const usageMetadata = { promptTokenCount: 20, toolUsePromptTokenCount: tool, candidatesTokenCount: 30, totalTokenCount: 50 + tool };
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ candidates: [{ content: { role: 'model', parts: [{ text: 'The pages say hello.' }] }, finishReason: 'STOP', index: 0, urlContextMetadata: { urlMetadata: [{ retrievedUrl: 'https://example.com/a', urlRetrievalStatus: 'URL_RETRIEVAL_STATUS_SUCCESS' }] } }], usageMetadata, modelVersion: 'gemini-2.5-flash' }));
  }
}

describe('Gemini urlContext under a budget', () => {
  const upstream = new UrlContextGemini();
  let gateway: TestGateway;
  let api: Management;
  beforeAll(async () => {
    await upstream.start();
    gateway = await startGateway(`
model_list:
  - model_name: flash
    litellm_params: {model: gemini/gemini-2.5-flash, api_base: "${upstream.url}", api_key: k}
    model_info: {input_cost_per_token: 0.0000003, output_cost_per_token: 0.0000025, max_input_tokens: 1048576, max_output_tokens: 65536}
router_settings:
  num_retries: 0
general_settings:
  master_key: ${MASTER_KEY}
`);
    api = new Management(gateway.url);
  });
  afterAll(async () => {
    await gateway?.close();
    await upstream.close();
  });

  it('20 parallel calls on a $0.01 budget spend at most the budget plus one call', async () => {
    const key = (await api.ok<{ key: string }>('POST', '/key/generate', { max_budget: 0.01 })).key;
    const statuses = await Promise.all(Array.from({ length: 20 }, async () => {
      const response = await fetch(`${gateway.url}/gemini/v1beta/models/flash:generateContent`, {
        method: 'POST',
        headers: { 'x-goog-api-key': key, 'content-type': 'application/json' },
        body: JSON.stringify({ contents: [{ role: 'user', parts: [{ text: 'Compare https://example.com/a and https://example.com/b' }] }], tools: [{ urlContext: {} }], generationConfig: { maxOutputTokens: 100, thinkingConfig: { thinkingBudget: 0 } } }),
      });
      await response.text();
      return response.status;
    }));
    await gateway.flushUsage();
    const info = await api.ok<{ info: { spend: number } }>('GET', `/key/info?key=${key}`);
    const oneCall = (20 + PAGE_TOKENS) * 0.3e-6 + 100 * 2.5e-6;
    console.log('answered', statuses.filter((s) => s === 200).length, 'of 20; spend $', info.info.spend, 'one call $', oneCall);
    expect(info.info.spend).toBeLessThanOrEqual(0.01 + oneCall);
  });
});
