/**
 * Rerank is billed per search unit: one query over up to 100 documents, where a document longer
 * than 500 tokens *with the query* is split into chunks that each count as a document (Cohere's
 * pricing). The reservation, which also bounds the units billed, was sized from the documents
 * alone, so a long query held an honest report of 40 units down to 10. It now leaves each chunk
 * only what the query does not take (a token spans at least one byte).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { MockOpenAIMedia } from '../support/mock-openai-media.js';
import { rerankSearchUnits } from '../../src/http/routes/openai-media.js';

const UPSTREAM_KEY = 'sk-media-upstream';
const upstream = new MockOpenAIMedia(UPSTREAM_KEY);
let gateway: TestGateway;

beforeAll(async () => {
  await upstream.start();
  gateway = await startGateway(`
model_list:
  - model_name: rerank
    litellm_params: {model: openai/rerank-v3.5, api_base: "${upstream.url}", api_key: ${UPSTREAM_KEY}}
router_settings: {num_retries: 0}
general_settings:
  master_key: ${MASTER_KEY}
`);
});

afterAll(async () => {
  await gateway?.close();
  await upstream.close();
});

const rerank = (body: Record<string, unknown>) =>
  fetch(`${gateway.url}/v1/rerank`, { method: 'POST', headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'rerank', ...body }) });

describe('rerank search units', () => {
  it('a long query splits each document into more chunks: the units it bills are charged in full', async () => {
    // 100 documents of 4,000 bytes and a query of 1,900 bytes: the upstream counts 475 query tokens, so
    // 25 document tokens a chunk, 40 chunks a document, 4,000 chunks: 40 search units ($2 per 1,000).
    const documents = Array.from({ length: 100 }, (_, index) => `document ${index} `.padEnd(4_000, 'x'));
    const response = await rerank({ query: 'q'.repeat(1_900), documents });
    expect(response.status).toBe(200);
    expect(((await response.json()) as { meta: { billed_units: { search_units: number } } }).meta.billed_units.search_units).toBe(40);
    const row = await gateway.recordOf(response.headers.get('x-switchboard-call-id')!);
    expect(row).toMatchObject({ endpoint: 'rerank', status: 'success', cost_micros: 80_000 });
  });

  it('a short query over short documents still reserves (and bills) one unit per 100 documents', async () => {
    const response = await rerank({ query: 'capital of France', documents: ['Paris', 'Berlin', 'Madrid'] });
    expect(await gateway.recordOf(response.headers.get('x-switchboard-call-id')!)).toMatchObject({ status: 'success', cost_micros: 2_000 });
    expect(rerankSearchUnits('capital of France', ['Paris', 'Berlin', 'Madrid'])).toBe(1);
  });

  it('bounds the chunks by bytes: each chunk holds at most 500 − (query bytes) of a document, at least one', () => {
    // 1,000-byte documents, a 100-byte query: at most 400 document tokens a chunk, so 3 chunks each.
    expect(rerankSearchUnits('q'.repeat(100), Array.from({ length: 100 }, () => 'd'.repeat(1_000)))).toBe(3);
    // A query of 500 bytes or more leaves one token a chunk (Cohere takes queries up to 2,048 tokens).
    expect(rerankSearchUnits('q'.repeat(600), ['d'.repeat(250)])).toBe(3);
    // Object documents count as their JSON.
    expect(rerankSearchUnits('q', [{ text: 'd'.repeat(1_200) }])).toBe(1);
  });
});
