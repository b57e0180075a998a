/**
 * Item 363 (the attack): Perplexity's sonar-deep-research bills, beside its prompt and completion
 * tokens, the citation tokens ($2 per 1M), the reasoning tokens ($3 per 1M) and the search queries
 * ($5 per 1,000) its answer reports in `usage.citation_tokens`, `usage.reasoning_tokens` and
 * `usage.num_search_queries` — outside prompt_tokens and completion_tokens
 * (https://docs.perplexity.ai/getting-started/pricing; the official SDK's UsageInfo,
 * perplexityai/perplexity-node src/resources/shared.ts). The gateway read only prompt and completion
 * tokens: a deep research call reporting 136,902 reasoning tokens and 22 searches was charged
 * $0.038286 of the $0.58282 Perplexity bills, and a key on a small budget could run as many such
 * calls at once as it liked, each reserved at its prompt and output only.
 * Now those fields are read (JSON and stream), charged at the built-in prices or model_info's
 * (`citation_cost_per_token`, `output_cost_per_reasoning_token`, `search_context_cost_per_query`),
 * held to bounds (2,000,000 tokens each, 1,000 searches) and reserved before the call.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockServer } from '../support/mock-server.js';

interface ResearchUsage {
  prompt_tokens: number;
  completion_tokens: number;
  citation_tokens: number;
  reasoning_tokens: number;
  num_search_queries: number;
}

/** Perplexity's example deep research usage (as item 362's test carries it). */
const EXAMPLE: ResearchUsage = { prompt_tokens: 19, completion_tokens: 4781, citation_tokens: 11914, reasoning_tokens: 136902, num_search_queries: 22 };
/** A smaller run, streamed: 13,000 reasoning tokens and 20 searches. */
const STREAMED: ResearchUsage = { prompt_tokens: 12, completion_tokens: 900, citation_tokens: 5000, reasoning_tokens: 13000, num_search_queries: 20 };
/** A long run, for the budget case: $10.538286 a call at the built-in prices. */
const LONG: ResearchUsage = { prompt_tokens: 19, completion_tokens: 4781, citation_tokens: 1_000_000, reasoning_tokens: 1_500_000, num_search_queries: 800 };
/** A lying upstream. */
const HUGE: ResearchUsage = { prompt_tokens: 19, completion_tokens: 4781, citation_tokens: 1e12, reasoning_tokens: 1e12, num_search_queries: 1e9 };

const USAGES: Record<string, ResearchUsage> = { example: EXAMPLE, streamed: STREAMED, long: LONG, huge: HUGE };

/** Perplexity's `usage` object (UsageInfo): the counts, the research fields, its own cost breakdown at the list prices. */
function usageInfo(usage: ResearchUsage): Record<string, unknown> {
  const cost = {
    input_tokens_cost: usage.prompt_tokens * 2e-6,
    output_tokens_cost: usage.completion_tokens * 8e-6,
    citation_tokens_cost: usage.citation_tokens * 2e-6,
    reasoning_tokens_cost: usage.reasoning_tokens * 3e-6,
    search_queries_cost: usage.num_search_queries * 0.005,
    total_cost: 0,
  };
  cost.total_cost = cost.input_tokens_cost + cost.output_tokens_cost + cost.citation_tokens_cost + cost.reasoning_tokens_cost + cost.search_queries_cost;
  return { ...usage, total_tokens: usage.prompt_tokens + usage.completion_tokens, search_context_size: 'low', cost };
}

class DeepResearch extends MockServer {
  start(): Promise<string> {
    return this.listen('');
  }
  protected async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { model: string; stream?: boolean; messages: Array<{ content: string }> };
    const usage = usageInfo(USAGES[body.messages.at(-1)!.content] ?? EXAMPLE);
    const results = { citations: ['https://example.com/a'], search_results: [{ title: 'A', url: 'https://example.com/a', date: '2026-01-01' }] };
    // Deep research takes its time: calls sent together are in flight together.
    await new Promise((resolve) => setTimeout(resolve, 150));
    if (body.stream) {
      // Perplexity's stream: chat.completion.chunk events; search results and usage in the final chunk.
      response.writeHead(200, { 'content-type': 'text/event-stream' });
      const base = { id: 'pplx-dr', object: 'chat.completion.chunk', created: 1, model: body.model };
      for (const text of ['A ', 'report.']) response.write(`data: ${JSON.stringify({ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: text }, finish_reason: null }] })}\n\n`);
      response.write(`data: ${JSON.stringify({ ...base, ...results, choices: [{ index: 0, delta: { role: 'assistant', content: '' }, finish_reason: 'stop' }], usage })}\n\n`);
      response.end('data: [DONE]\n\n');
      return;
    }
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ id: 'pplx-dr', object: 'chat.completion', created: 1, model: body.model, ...results, choices: [{ index: 0, finish_reason: 'stop', message: { role: 'assistant', content: 'A report [1].' } }], usage }));
  }
}

/** Micro-dollars of a run at input $2, output $8, citation $2, reasoning $3 per 1M and $0.005 a search, or the given rates. */
function micros(usage: ResearchUsage, rates = { citation: 2, reasoning: 3, search: 5_000 }): number {
  return usage.prompt_tokens * 2 + usage.completion_tokens * 8 + usage.citation_tokens * rates.citation + usage.reasoning_tokens * rates.reasoning + usage.num_search_queries * rates.search;
}

describe('Perplexity deep research usage', () => {
  const upstream = new DeepResearch();
  let gateway: TestGateway;
  let api: Management;

  beforeAll(async () => {
    await upstream.start();
    gateway = await startGateway(`
model_list:
  - model_name: deep
    litellm_params: {model: perplexity/sonar-deep-research, api_base: "${upstream.url}", api_key: pplx-key}
    model_info: {input_cost_per_token: 0.000002, output_cost_per_token: 0.000008, max_output_tokens: 128000}
  - model_name: deep-priced
    litellm_params: {model: perplexity/sonar-deep-research, api_base: "${upstream.url}", api_key: pplx-key}
    model_info:
      input_cost_per_token: 0.000002
      output_cost_per_token: 0.000008
      citation_cost_per_token: 0.000004
      output_cost_per_reasoning_token: 0.000005
      search_context_cost_per_query: 0.01
      max_output_tokens: 128000
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

  it('a deep research answer is charged its citation tokens, reasoning tokens and searches: $0.58282, not $0.038286', async () => {
    const key = (await api.ok<{ key: string }>('POST', '/key/generate', { max_budget: 100 })).key;
    const { data, response } = await gateway.openai(key).chat.completions.create({ model: 'deep', max_tokens: 8000, messages: [{ role: 'user', content: 'example' }] }).withResponse();
    expect(data.choices[0].message.content).toBe('A report [1].');
    const row = await gateway.recordOf(response.headers.get('x-switchboard-call-id')!);
    console.log('charged µ$', row?.cost_micros, 'of', micros(EXAMPLE));
    // 38 + 38,248 (prompt, completion) + 23,828 (citation) + 410,706 (reasoning) + 110,000 (22 searches).
    expect(micros(EXAMPLE)).toBe(582_820);
    expect(row!.cost_micros).toBe(582_820);
    expect(row!.usage_adjusted).toBe(0);
    expect((await api.keyInfo(key)).spend).toBeCloseTo(0.58282, 9);
  });

  it('streamed, the usage of the final chunk is charged the same way: $0.156224, not $0.007224', async () => {
    const { data, response } = await gateway.openai().chat.completions.create({ model: 'deep', max_tokens: 8000, stream: true, messages: [{ role: 'user', content: 'streamed' }] }).withResponse();
    let text = '';
    for await (const chunk of data) text += chunk.choices[0]?.delta?.content ?? '';
    expect(text).toBe('A report.');
    const row = await gateway.recordOf(response.headers.get('x-switchboard-call-id')!);
    console.log('streamed: charged µ$', row?.cost_micros, 'of', micros(STREAMED));
    // 24 + 7,200 + 10,000 (citation) + 39,000 (13,000 reasoning tokens) + 100,000 (20 searches).
    expect(row!.cost_micros).toBe(156_224);
  });

  it('model_info prices override the built-in ones: $0.990452', async () => {
    const { response } = await gateway.openai().chat.completions.create({ model: 'deep-priced', max_tokens: 8000, messages: [{ role: 'user', content: 'example' }] }).withResponse();
    const row = await gateway.recordOf(response.headers.get('x-switchboard-call-id')!);
    // 38 + 38,248 + 11,914 × 4 + 136,902 × 5 + 22 × 10,000.
    expect(row!.cost_micros).toBe(micros(EXAMPLE, { citation: 4, reasoning: 5, search: 10_000 }));
    expect(row!.cost_micros).toBe(990_452);
  });

  it('a lying upstream is held to the bounds: 2,000,000 citation and reasoning tokens, 1,000 searches ($15.038286)', async () => {
    const { response } = await gateway.openai().chat.completions.create({ model: 'deep', max_tokens: 8000, messages: [{ role: 'user', content: 'huge' }] }).withResponse();
    const row = await gateway.recordOf(response.headers.get('x-switchboard-call-id')!);
    expect(row!.cost_micros).toBe(38 + 38_248 + 2_000_000 * 2 + 2_000_000 * 3 + 1_000 * 5_000);
    expect(row!.usage_adjusted).toBe(1);
  });

  it('6 parallel long runs ($10.538286 each) on a $20 budget: the reservation holds them, spend stays within the budget plus one call', async () => {
    const key = (await api.ok<{ key: string }>('POST', '/key/generate', { max_budget: 20 })).key;
    const client = gateway.openai(key);
    const statuses = await Promise.all(
      Array.from({ length: 6 }, async () => {
        try {
          await client.chat.completions.create({ model: 'deep', max_tokens: 8000, messages: [{ role: 'user', content: 'long' }] });
          return 200;
        } catch (error) {
          return (error as { status?: number }).status ?? 0;
        }
      }),
    );
    await gateway.flushUsage();
    const spend = (await api.keyInfo(key)).spend;
    const answered = statuses.filter((status) => status === 200).length;
    const oneCall = micros(LONG) / 1e6;
    console.log('answered', answered, 'of 6; statuses', statuses.join(','), '; spend $', spend, '; one call $', oneCall);
    expect(oneCall).toBeCloseTo(10.538286, 9);
    // Every answered call is charged in full, and no more were answered than the budget holds.
    expect(spend).toBeCloseTo(answered * oneCall, 6);
    expect(answered).toBeGreaterThanOrEqual(1);
    expect(spend).toBeLessThanOrEqual(20 + oneCall);
  });
});
