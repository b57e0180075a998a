/**
 * Item 362 (the attack): Perplexity's Sonar models bill a fee per request beside the tokens, by the search context
 * size the request asks for (`web_search_options.search_context_size`: low $5, medium $8, high $12
 * per 1,000 requests on sonar; docs.perplexity.ai pricing), and report it in `usage.cost.request_cost`.
 * LiteLLM's table carries it as `search_context_cost_per_query` (perplexity/sonar), a model_info key
 * this gateway accepts. A key calling a Perplexity deployment with `search_context_size: "high"`
 * is charged the tokens only.
 * Now every call to a Sonar model (sonar, sonar-pro, sonar-reasoning, sonar-reasoning-pro) is
 * billed one request fee beside its tokens, at search_context_cost_per_query (its dearest size) or
 * the built-in fee, and reserved before the call. (sonar-deep-research's citation tokens and search
 * queries are not priced yet: README.)
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockServer } from '../support/mock-server.js';

const FEES: Record<string, number> = { low: 0.005, medium: 0.008, high: 0.012 };

class Sonar extends MockServer {
  readonly bodies: Array<Record<string, unknown>> = [];
  start(): Promise<string> {
    return this.listen('');
  }
  protected async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as Record<string, unknown>;
    this.bodies.push(body);
    if (body.model === 'sonar-deep-research') {
      // Perplexity's own example of a deep research answer's usage (docs.perplexity.ai, sonar-deep-research).
      const usage = { prompt_tokens: 19, completion_tokens: 4781, total_tokens: 4800, citation_tokens: 11914, num_search_queries: 22, reasoning_tokens: 136902 };
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ id: 'pplx-dr', object: 'chat.completion', created: 1, model: 'sonar-deep-research', choices: [{ index: 0, message: { role: 'assistant', content: 'A report.' }, finish_reason: 'stop' }], usage }));
      return;
    }
    const size = ((body.web_search_options as { search_context_size?: string } | undefined)?.search_context_size ?? 'low') as string;
    const fee = FEES[size] ?? FEES.low;
    const usage = { prompt_tokens: 10, completion_tokens: 50, total_tokens: 60, search_context_size: size, cost: { input_tokens_cost: 0.00001, output_tokens_cost: 0.00005, request_cost: fee, total_cost: fee + 0.00006 } };
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ id: 'pplx', object: 'chat.completion', created: 1, model: 'sonar', citations: ['https://example.com'], search_results: [{ title: 'x', url: 'https://example.com' }], choices: [{ index: 0, message: { role: 'assistant', content: 'An answer with a citation [1].' }, finish_reason: 'stop' }], usage }));
  }
}

describe('Perplexity request fees', () => {
  const upstream = new Sonar();
  let gateway: TestGateway;
  let key: string;

  beforeAll(async () => {
    await upstream.start();
    gateway = await startGateway(`
model_list:
  - model_name: sonar
    litellm_params: {model: perplexity/sonar, api_base: "${upstream.url}", api_key: pplx-key}
    model_info:
      input_cost_per_token: 0.000001
      output_cost_per_token: 0.000001
      search_context_cost_per_query: {search_context_size_low: 0.005, search_context_size_medium: 0.008, search_context_size_high: 0.012}
  - model_name: deep
    litellm_params: {model: perplexity/sonar-deep-research, api_base: "${upstream.url}", api_key: pplx-key}
    model_info: {input_cost_per_token: 0.000002, output_cost_per_token: 0.000008, max_output_tokens: 128000}
router_settings:
  num_retries: 0
general_settings:
  master_key: ${MASTER_KEY}
`);
    key = (await new Management(gateway.url).ok<{ key: string }>('POST', '/key/generate', { max_budget: 1 })).key;
  });
  afterAll(async () => {
    await gateway?.close();
    await upstream.close();
  });

  it('a sonar call with search_context_size "high" is charged at least what Perplexity bills ($0.01206)', async () => {
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'sonar', max_tokens: 100, messages: [{ role: 'user', content: 'latest news?' }], web_search_options: { search_context_size: 'high' } }),
    });
    const text = await response.text();
    expect(response.status, text).toBe(200);
    expect(upstream.bodies.at(-1)?.web_search_options).toEqual({ search_context_size: 'high' });
    const row = await gateway.recordOf(response.headers.get('x-switchboard-call-id')!);
    console.log('charged µ$', row?.cost_micros);
    expect(row!.cost_micros).toBeGreaterThanOrEqual(12_060);
  });
});
