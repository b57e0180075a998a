/** /api/embed requests and answers (docs/api.md, "Generate Embeddings"). */
import { describe, expect, it } from 'vitest';
import type { EmbeddingsRequest } from '../types.js';
import { buildOllamaEmbeddingsRequest, parseOllamaEmbeddingsResponse } from './embeddings.js';
import { bodyOf, ollamaDeployment } from './test-support.js';

const deployment = ollamaDeployment({ upstreamModel: 'all-minilm', modelName: 'local-embed' });

function build(request: Partial<EmbeddingsRequest>) {
  return buildOllamaEmbeddingsRequest({ model: 'local-embed', input: 'Why is the sky blue?', ...request }, deployment);
}

describe('embeddings → POST /api/embed', () => {
  it('sends the docs request', () => {
    const request = build({});
    expect(request.url).toBe('http://localhost:11434/api/embed');
    expect(request.method).toBe('POST');
    expect(bodyOf(request)).toEqual({ model: 'all-minilm', input: 'Why is the sky blue?' });
  });

  it('sends several inputs, dimensions, truncate and keep_alive; leaves OpenAI-only fields out', () => {
    const body = bodyOf(build({ input: ['Why is the sky blue?', 'Why is the grass green?'], dimensions: 256, truncate: false, keep_alive: '1m', encoding_format: 'float', user: 'u1' }));
    expect(body).toEqual({ model: 'all-minilm', input: ['Why is the sky blue?', 'Why is the grass green?'], dimensions: 256, truncate: false, keep_alive: '1m' });
  });

  it('refuses token-id input with a 400', () => {
    expect(() => build({ input: [[1, 2, 3]] })).toThrow(/string or an array of strings/);
  });

  it('maps the docs response to an OpenAI list with usage from prompt_eval_count', () => {
    const response = parseOllamaEmbeddingsResponse(
      {
        model: 'all-minilm',
        embeddings: [
          [0.010071029, -0.0017594862, 0.05007221],
          [-0.0098027075, 0.06042469, 0.025257962],
        ],
        total_duration: 14143917,
        load_duration: 1019500,
        prompt_eval_count: 8,
      },
      deployment,
    );
    expect(response).toEqual({
      object: 'list',
      data: [
        { object: 'embedding', index: 0, embedding: [0.010071029, -0.0017594862, 0.05007221] },
        { object: 'embedding', index: 1, embedding: [-0.0098027075, 0.06042469, 0.025257962] },
      ],
      model: 'all-minilm',
      usage: { prompt_tokens: 8, total_tokens: 8 },
    });
  });

  it('throws on an error body or a body without embeddings', () => {
    expect(() => parseOllamaEmbeddingsResponse({ error: 'this model does not support embeddings' }, deployment)).toThrow(/does not support embeddings/);
    expect(() => parseOllamaEmbeddingsResponse({ embedding: [0.1] }, deployment)).toThrow(/without "embeddings"/);
  });
});
