import { describe, expect, it } from 'vitest';
import type { Deployment } from '../providers/types.js';
import { backendOf, hasModel, missingModelMessage, ollamaName } from './backend-of.js';
import { parseOllamaPs, parseOllamaTags, parseOpenAIModels } from './discovery.js';

function deployment(provider: string, apiBase: string, modelInfo: Record<string, unknown> = {}): Deployment {
  return { id: 'd', modelName: 'm', provider, upstreamModel: 'llama3.1', apiBase, headers: {}, defaultParams: {}, modelInfo, available: true };
}

describe('backends of deployments', () => {
  it('knows Ollama, vLLM and LM Studio deployments, and OpenAI-compatible ones marked local', () => {
    expect(backendOf(deployment('ollama_chat', 'http://llm02:11434/'))).toMatchObject({ kind: 'ollama', baseUrl: 'http://llm02:11434' });
    expect(backendOf(deployment('ollama', 'http://llm02:11434'))?.id).toBe(backendOf(deployment('ollama_chat', 'http://llm02:11434'))?.id);
    expect(backendOf(deployment('hosted_vllm', 'http://gpu1:8000/v1'))).toMatchObject({ kind: 'openai', baseUrl: 'http://gpu1:8000/v1' });
    expect(backendOf(deployment('lm_studio', 'http://localhost:1234/v1'))?.kind).toBe('openai');
    expect(backendOf(deployment('openai', 'http://box:8080/v1', { local: true }))?.kind).toBe('openai');
    expect(backendOf(deployment('openai', 'https://api.openai.com/v1'))).toBeUndefined();
    expect(backendOf(deployment('anthropic', 'http://box:8080', { local: true }))).toBeUndefined();
  });

  it('matches Ollama names with their default tag, others exactly', () => {
    expect(ollamaName('llama3.1')).toBe('llama3.1:latest');
    expect(ollamaName('hf.co/org/repo')).toBe('hf.co/org/repo:latest');
    expect(ollamaName('hf.co/org/repo:Q4_K_M')).toBe('hf.co/org/repo:Q4_K_M');
    expect(hasModel('ollama', [{ name: 'llama3.1:latest' }], 'llama3.1')).toBe(true);
    expect(hasModel('ollama', [{ name: 'llama3.1:latest' }], 'llama3.1:8b')).toBe(false);
    expect(hasModel('openai', [{ name: 'Qwen/Qwen2.5-32B-Instruct' }], 'Qwen/Qwen2.5-32B-Instruct')).toBe(true);
    expect(hasModel('openai', [{ name: 'Qwen/Qwen2.5-32B-Instruct' }], 'qwen/qwen2.5-32b-instruct')).toBe(false);
    expect(missingModelMessage('ollama', 'llama3.1:8b', 'http://llm02:11434')).toBe('model llama3.1:8b is not pulled on http://llm02:11434');
  });
});

describe('parsers', () => {
  it('reads /api/tags as Ollama documents it', () => {
    const models = parseOllamaTags({
      models: [
        { name: 'deepseek-r1:latest', model: 'deepseek-r1:latest', modified_at: '2025-05-10T08:06:48.639712648-07:00', size: 4683075271, digest: '0a8c266910232fd3291e71e5ba1e058cc5af9d411192cf88b6d30e92b6e73163', details: { parent_model: '', format: 'gguf', family: 'qwen2', families: ['qwen2'], parameter_size: '7.6B', quantization_level: 'Q4_K_M' } },
        { model: 'no-name-field:1b', size: 'big' },
        'garbage',
      ],
    });
    expect(models).toEqual([
      { name: 'deepseek-r1:latest', size: 4683075271, digest: '0a8c266910232fd3291e71e5ba1e058cc5af9d411192cf88b6d30e92b6e73163', modifiedAt: '2025-05-10T08:06:48.639712648-07:00', family: 'qwen2', parameterSize: '7.6B', quantization: 'Q4_K_M' },
      { name: 'no-name-field:1b', size: undefined, digest: undefined, modifiedAt: undefined, family: undefined, parameterSize: undefined, quantization: undefined },
    ]);
    expect(() => parseOllamaTags({ error: 'nope' })).toThrow('the answer has no "models" list');
  });

  it('reads /api/ps and vLLM /v1/models', () => {
    expect(parseOllamaPs({ models: [{ name: 'mistral:latest', model: 'mistral:latest', size: 5137025024, size_vram: 5137025024, expires_at: '2024-06-04T14:38:31.83753-07:00' }] })).toEqual([
      { name: 'mistral:latest', size: 5137025024, sizeVram: 5137025024, expiresAt: '2024-06-04T14:38:31.83753-07:00' },
    ]);
    expect(parseOpenAIModels({ object: 'list', data: [{ id: 'Qwen/Qwen2.5-32B-Instruct', object: 'model', owned_by: 'vllm', root: 'Qwen/Qwen2.5-32B-Instruct', parent: null, max_model_len: 32768 }, { id: 'lmstudio-model', object: 'model' }] })).toEqual([
      { name: 'Qwen/Qwen2.5-32B-Instruct', maxModelLen: 32768 },
      { name: 'lmstudio-model', maxModelLen: undefined },
    ]);
  });
});
