import { describe, expect, it } from 'vitest';
import { isLocalProvider, knownProviderIds, providerSpec } from './specs.js';

describe('local providers', () => {
  it('are the servers that run on the operator\'s machines, and none of them needs an API key', () => {
    const local = knownProviderIds().filter(isLocalProvider);
    expect(local.sort()).toEqual(['hosted_vllm', 'lm_studio', 'ollama', 'ollama_chat', 'vllm']);
    for (const id of local) expect(providerSpec(id)?.requiresApiKey, id).toBe(false);
  });

  it('an unknown provider is not local', () => {
    expect(isLocalProvider('llamafile')).toBe(false);
    expect(isLocalProvider('openai')).toBe(false);
  });
});

describe('provider aliases', () => {
  it('cohere_chat is LiteLLM\'s other prefix for Cohere: the same provider and id', () => {
    expect(providerSpec('cohere_chat')).toBe(providerSpec('cohere'));
    expect(providerSpec('cohere_chat')?.id).toBe('cohere');
    expect(knownProviderIds()).toEqual(expect.arrayContaining(['cohere', 'cohere_chat', 'bedrock']));
  });
});
