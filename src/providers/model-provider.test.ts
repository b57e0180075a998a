import { describe, expect, it } from 'vitest';
import { modelProvider, UNSERVED_PROVIDERS } from './model-provider.js';
import { providerSpec, knownProviderIds } from './specs.js';

describe('modelProvider (LiteLLM get_llm_provider)', () => {
  it.each([
    ['gpt-4o-mini', 'openai'],
    ['gpt-4.1', 'openai'],
    ['o1', 'openai'],
    ['o3-mini', 'openai'],
    ['o4-mini', 'openai'],
    ['chatgpt-4o-latest', 'openai'],
    ['ft:gpt-4o-mini-2024-07-18:org::abc', 'openai'],
    ['text-embedding-3-small', 'openai'],
    ['text-embedding-ada-002', 'openai'],
    ['dall-e-3', 'openai'],
    ['whisper-1', 'openai'],
    ['tts-1-hd', 'openai'],
    ['omni-moderation-latest', 'openai'],
    ['*', 'openai'],
    ['gpt-3.5-turbo-instruct', 'text-completion-openai'],
    ['davinci-002', 'text-completion-openai'],
    ['claude-3-5-sonnet-20241022', 'anthropic'],
    ['command-r-plus', 'cohere'],
    ['embed-english-v3.0', 'cohere'],
    ['gemini-1.5-pro', 'gemini'],
    ['text-embedding-004', 'gemini'], ['textembedding-gecko', 'vertex_ai'],
    ['anthropic.claude-3-5-sonnet-20240620-v1:0', 'bedrock'],
    ['us.anthropic.claude-3-7-sonnet-20250219-v1:0', 'bedrock'],
    ['amazon.titan-embed-text-v2:0', 'bedrock'],
    ['ibm/granite-13b-chat-v2', 'watsonx'],
  ])('bare %s → %s', (model, provider) => {
    const resolved = modelProvider(model);
    expect(resolved).toMatchObject({ providerId: provider, upstreamModel: model, inferred: true });
  });

  it('a prefix wins, and the rest of the string (slashes included) is the upstream model', () => {
    expect(modelProvider('openai/gpt-4o')).toMatchObject({ providerId: 'openai', upstreamModel: 'gpt-4o', inferred: false });
    expect(modelProvider('together_ai/Qwen/Qwen2.5-72B')).toMatchObject({ providerId: 'together_ai', upstreamModel: 'Qwen/Qwen2.5-72B' });
    expect(modelProvider('watsonx/ibm/granite-13b-chat-v2')).toMatchObject({ providerId: 'watsonx', upstreamModel: 'ibm/granite-13b-chat-v2' });
    expect(modelProvider('openai/*')).toMatchObject({ providerId: 'openai', upstreamModel: '*' });
  });

  it('custom_llm_provider names the provider of an unprefixed model', () => {
    expect(modelProvider('my-deployment', 'azure')).toMatchObject({ providerId: 'azure', upstreamModel: 'my-deployment' });
    expect(modelProvider('azure/my-deployment', 'azure')).toMatchObject({ providerId: 'azure', upstreamModel: 'my-deployment' });
  });

  it('served providers carry their spec; the others a reason, and no spec', () => {
    expect(modelProvider('claude-3-5-haiku-20241022').spec?.id).toBe('anthropic');
    expect(modelProvider('sagemaker/endpoint')).toMatchObject({ spec: undefined, unavailableReason: 'provider "sagemaker": AWS SageMaker endpoints are not served by this version' });
    expect(modelProvider('nosuch/model').unavailableReason).toBe('unknown provider prefix "nosuch"');
    expect(modelProvider('my-finetune').unavailableReason).toBe('"my-finetune" names no provider: write it as provider/model (e.g. openai/my-finetune)');
  });

  it('a provider with a spec is served even when it is also listed as unserved (adding a spec is all it takes)', () => {
    // An alias (cohere_chat) is served by the provider it names.
    for (const id of knownProviderIds()) expect(modelProvider(`${id}/some-model`).spec).toBe(providerSpec(id));
    // The unserved list is consulted only for ids without a spec.
    for (const id of Object.keys(UNSERVED_PROVIDERS)) expect(modelProvider(`${id}/some-model`).providerId).toBe(id);
  });
});
