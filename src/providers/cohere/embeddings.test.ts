import { describe, expect, it } from 'vitest';
import { buildCohereEmbeddingsRequest, parseCohereEmbeddingsResponse } from './embeddings.js';
import { cohereDeployment } from './test-support.js';

const embed = cohereDeployment({ upstreamModel: 'embed-v4.0' });

describe('Cohere embed v2', () => {
  it('sends texts with input_type and float embedding_types; usage from billed units', () => {
    const upstream = buildCohereEmbeddingsRequest({ model: 'x', input: ['a', 'b'], dimensions: 256 }, embed);
    expect(upstream.url).toBe('https://api.cohere.com/v2/embed');
    expect(upstream.headers.authorization).toBe('Bearer co-test-key');
    expect(JSON.parse(upstream.body!)).toEqual({ model: 'embed-v4.0', texts: ['a', 'b'], input_type: 'search_document', embedding_types: ['float'], output_dimension: 256 });
    const response = parseCohereEmbeddingsResponse(
      { id: 'x', embeddings: { float: [[0.1, 0.2], [0.3, 0.4]] }, texts: ['a', 'b'], meta: { api_version: { version: '2' }, billed_units: { input_tokens: 2 } }, response_type: 'embeddings_by_type' },
      embed,
    );
    expect(response).toEqual({
      object: 'list',
      data: [
        { object: 'embedding', index: 0, embedding: [0.1, 0.2] },
        { object: 'embedding', index: 1, embedding: [0.3, 0.4] },
      ],
      model: 'embed-v4.0',
      usage: { prompt_tokens: 2, total_tokens: 2 },
    });
  });

  it('takes the request\'s input_type and refuses an unknown one and token arrays', () => {
    expect(JSON.parse(buildCohereEmbeddingsRequest({ model: 'x', input: 'q', input_type: 'search_query' }, embed).body!).input_type).toBe('search_query');
    expect(() => buildCohereEmbeddingsRequest({ model: 'x', input: 'q', input_type: 'nope' }, embed)).toThrow(/input_type must be one of/);
    expect(() => buildCohereEmbeddingsRequest({ model: 'x', input: [[1, 2]] }, embed)).toThrow(/token arrays/);
  });
});
