/**
 * Rerank is billed per search unit: one query over up to 100 documents, a long document counting
 * as several (Cohere's pricing). The gateway billed the units the answer's
 * `meta.billed_units.search_units` named, however few: a rerank server (an OpenAI-compatible one,
 * a proxy, or a faulty Cohere-compatible upstream) answering `search_units: 0` made a rerank of
 * 250 documents free, `0.5` half a unit, `1` one unit — where Cohere bills at least 3 for what the
 * gateway itself sent (250 documents, at least one chunk each, 100 to a unit). An answer without
 * `meta` was billed 1 unit however many documents it ranked. Now the units billed are never fewer
 * than the request's documents make: one per 100 documents (at least one), on `/v1/rerank` to
 * OpenAI-compatible and Cohere deployments alike; an honest report is billed as before (up to what
 * was reserved).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { MockServer } from '../support/mock-server.js';

class RerankUpstream extends MockServer {
  /** What the answer's meta.billed_units.search_units says; undefined: no meta at all. */
  searchUnits: number | undefined = 0;

  async start(): Promise<string> {
    return this.listen('');
  }

  protected async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const body = JSON.parse(Buffer.concat(chunks).toString('utf8')) as { documents: unknown[]; top_n?: number };
    const results = body.documents.slice(0, body.top_n ?? body.documents.length).map((_, index) => ({ index, relevance_score: 1 / (index + 1) }));
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ id: 'rr-1', results, ...(this.searchUnits === undefined ? {} : { meta: { api_version: { version: '2' }, billed_units: { search_units: this.searchUnits } } }) }));
  }
}

/** rerank-v3.5: $2 per 1,000 search units, 2,000 micro-dollars a unit. */
const UNIT = 2_000;
const DOCUMENTS = Array.from({ length: 250 }, (_, index) => `document number ${index}`);

describe('a rerank is billed at least the search units its documents make', () => {
  const upstream = new RerankUpstream();
  let gateway: TestGateway;

  beforeAll(async () => {
    await upstream.start();
    gateway = await startGateway(`
model_list:
  - model_name: rerank
    litellm_params: {model: openai/rerank-v3.5, api_base: "${upstream.url}/v1", api_key: upstream-key}
  - model_name: cohere-rerank
    litellm_params: {model: cohere/rerank-v3.5, api_base: "${upstream.url}", api_key: upstream-key}
router_settings: {num_retries: 0}
general_settings:
  master_key: ${MASTER_KEY}
`);
  });

  afterAll(async () => {
    await gateway?.close();
    await upstream.close();
  });

  async function costOf(model: string, documents: string[]): Promise<number | null | undefined> {
    const response = await fetch(`${gateway.url}/v1/rerank`, { method: 'POST', headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify({ model, query: 'which document?', documents, top_n: 3 }) });
    expect(response.status).toBe(200);
    const row = await gateway.recordOf(response.headers.get('x-switchboard-call-id')!);
    expect(row?.status).toBe('success');
    return row?.cost_micros;
  }

  it('0, 0.5 or 1 unit reported for 250 documents bills 3 (was $0, 1,000 and 2,000 micro-dollars)', async () => {
    for (const reported of [0, 0.5, 1]) {
      upstream.searchUnits = reported;
      expect(await costOf('rerank', DOCUMENTS)).toBe(3 * UNIT);
      expect(await costOf('cohere-rerank', DOCUMENTS)).toBe(3 * UNIT);
    }
  });

  it('an answer without meta bills a unit per 100 documents (was one unit)', async () => {
    upstream.searchUnits = undefined;
    expect(await costOf('rerank', DOCUMENTS)).toBe(3 * UNIT);
    expect(await costOf('rerank', DOCUMENTS.slice(0, 10))).toBe(UNIT);
  });

  it('a report of 0 for a single document bills one unit; honest reports are billed as they are', async () => {
    upstream.searchUnits = 0;
    expect(await costOf('cohere-rerank', DOCUMENTS.slice(0, 1))).toBe(UNIT);
    upstream.searchUnits = 3;
    expect(await costOf('rerank', DOCUMENTS)).toBe(3 * UNIT);
    upstream.searchUnits = 1;
    expect(await costOf('cohere-rerank', DOCUMENTS.slice(0, 100))).toBe(UNIT);
  });
});
