import { describe, expect, it } from 'vitest';
import { GatewayError } from '../../errors.js';
import type { Deployment } from '../types.js';
import { buildCohereRerankRequest, cohereRerankAnswer } from './rerank.js';

const target = { id: 'co', modelName: 'rr', provider: 'cohere', upstreamModel: 'rerank-v3.5', apiBase: 'https://api.cohere.com/v1', apiKey: 'co-key', headers: {} } as unknown as Deployment;

describe('Cohere rerank v2', () => {
  it('sends v2 fields with documents as strings, to /v2/rerank with the deployment\'s key', () => {
    const request = buildCohereRerankRequest({ method: 'rerank', stream: false, body: { model: 'rr', query: 'q', documents: ['a', { text: 'b' }, { title: 't' }], top_n: 2, return_documents: true } }, target);
    expect(request.url).toBe('https://api.cohere.com/v2/rerank');
    expect(request.headers.authorization).toBe('Bearer co-key');
    expect(JSON.parse(request.body!)).toEqual({ model: 'rerank-v3.5', query: 'q', documents: ['a', 'b', '{"title":"t"}'], top_n: 2 });
  });

  it('refuses fields v2 does not take, by name', () => {
    for (const field of ['rank_fields', 'max_chunks_per_doc']) {
      const error = (() => {
        try {
          buildCohereRerankRequest({ method: 'rerank', stream: false, body: { query: 'q', documents: ['a'], [field]: 1 } }, target);
        } catch (caught) {
          return caught;
        }
      })();
      expect(error).toBeInstanceOf(GatewayError);
      expect((error as GatewayError).message).toContain(field);
    }
  });

  it('adds each result\'s document text only when return_documents is asked for', () => {
    const body = { id: 'x', results: [{ index: 1, relevance_score: 0.9 }], meta: { billed_units: { search_units: 1 } } };
    expect(cohereRerankAnswer({ method: 'rerank', stream: false, body: { documents: ['a', { text: 'b' }] } }, body)).toBeUndefined();
    expect(cohereRerankAnswer({ method: 'rerank', stream: false, body: { documents: ['a', { text: 'b' }], return_documents: true } }, body)).toEqual({ ...body, results: [{ index: 1, relevance_score: 0.9, document: { text: 'b' } }] });
  });
});
