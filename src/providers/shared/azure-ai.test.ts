import { describe, expect, it } from 'vitest';
import { adapterFor } from '../registry.js';
import type { Deployment } from '../types.js';

function azureAI(apiBase: string, overrides: Partial<Deployment> = {}): Deployment {
  return { id: 'a', modelName: 'llama', provider: 'azure_ai', upstreamModel: 'Llama-3.3-70B-Instruct', apiBase, apiKey: 'azure-ai-key', headers: {}, defaultParams: {}, modelInfo: {}, available: true, ...overrides };
}

const adapter = adapterFor('azure_ai')!;
const chat = { model: 'llama', messages: [{ role: 'user' as const, content: 'Hi' }] };

describe('Azure AI inference requests', () => {
  it('on a Foundry resource: /models/chat/completions with an api-version and the key in api-key', () => {
    const built = adapter.buildChatRequest(chat, azureAI('https://acme.services.ai.azure.com/models'));
    expect(built.url).toBe('https://acme.services.ai.azure.com/models/chat/completions?api-version=2024-05-01-preview');
    expect(built.headers['api-key']).toBe('azure-ai-key');
    expect(built.headers.authorization).toBeUndefined();
    expect(built.headers['extra-parameters']).toBe('pass-through');
    expect(JSON.parse(built.body!)).toEqual({ model: 'Llama-3.3-70B-Instruct', messages: chat.messages });
  });

  it('keeps the api-version of api_base or litellm_params.api_version, and does not double a path already given', () => {
    expect(adapter.buildChatRequest(chat, azureAI('https://acme.services.ai.azure.com')).url).toBe('https://acme.services.ai.azure.com/models/chat/completions?api-version=2024-05-01-preview');
    expect(adapter.buildChatRequest(chat, azureAI('https://acme.services.ai.azure.com/models/chat/completions?api-version=2024-10-01')).url).toBe('https://acme.services.ai.azure.com/models/chat/completions?api-version=2024-10-01');
    expect(adapter.buildChatRequest(chat, azureAI('https://acme.services.ai.azure.com/models', { apiVersion: '2025-01-01' })).url).toBe('https://acme.services.ai.azure.com/models/chat/completions?api-version=2025-01-01');
  });

  it('on a serverless endpoint: /chat/completions with a bearer token and no api-version unless one is given', () => {
    const built = adapter.buildChatRequest({ ...chat, stream: true }, azureAI('https://Mistral-large-abcd.eastus2.models.ai.azure.com'));
    expect(built.url).toBe('https://mistral-large-abcd.eastus2.models.ai.azure.com/chat/completions');
    expect(built.headers.authorization).toBe('Bearer azure-ai-key');
    expect(built.headers['api-key']).toBeUndefined();
    expect(JSON.parse(built.body!).stream_options).toEqual({ include_usage: true });
  });

  it('embeddings go to the same base', () => {
    expect(adapter.buildEmbeddingsRequest!({ model: 'e', input: 'x' }, azureAI('https://acme.services.ai.azure.com/models')).url).toBe('https://acme.services.ai.azure.com/models/embeddings?api-version=2024-05-01-preview');
  });
});
