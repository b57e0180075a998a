import { describe, expect, it } from 'vitest';
import { builtInPrices } from './pricing.js';

// Pico-dollars per token = USD per 1M tokens × 1e6.
const per = (usdPerMillion: number) => Math.round(usdPerMillion * 1e6);

describe('built-in prices of Bedrock and Cohere models', () => {
  it('prices Claude on Bedrock as Anthropic lists it, with or without a cross-region prefix', () => {
    expect(builtInPrices('anthropic.claude-3-5-haiku-20241022-v1:0')).toMatchObject({ inputPerToken: per(0.8), outputPerToken: per(4) });
    expect(builtInPrices('us.anthropic.claude-sonnet-4-20250514-v1:0')).toMatchObject({ inputPerToken: per(3), outputPerToken: per(15), cacheReadPerToken: per(0.3) });
    expect(builtInPrices('eu.anthropic.claude-3-haiku-20240307-v1:0')).toMatchObject({ inputPerToken: per(0.25), outputPerToken: per(1.25) });
  });

  it('prices Amazon Nova, Llama, Titan and Cohere models on Bedrock by their model ids', () => {
    expect(builtInPrices('amazon.nova-pro-v1:0')).toMatchObject({ inputPerToken: per(0.8), outputPerToken: per(3.2) });
    expect(builtInPrices('us.amazon.nova-lite-v1:0')).toMatchObject({ inputPerToken: per(0.06), outputPerToken: per(0.24) });
    expect(builtInPrices('meta.llama3-70b-instruct-v1:0')).toMatchObject({ inputPerToken: per(2.65), outputPerToken: per(3.5) });
    expect(builtInPrices('amazon.titan-embed-text-v2:0')).toMatchObject({ inputPerToken: per(0.02), outputPerToken: 0 });
    expect(builtInPrices('cohere.embed-english-v3')).toMatchObject({ inputPerToken: per(0.1) });
    expect(builtInPrices('mistral.mistral-large-2402-v1:0')).toMatchObject({ inputPerToken: per(8), outputPerToken: per(24) });
  });

  it('prices Cohere models', () => {
    expect(builtInPrices('command-a-03-2025')).toMatchObject({ inputPerToken: per(2.5), outputPerToken: per(10) });
    expect(builtInPrices('command-r-08-2024')).toMatchObject({ inputPerToken: per(0.15), outputPerToken: per(0.6) });
    expect(builtInPrices('embed-v4.0')).toMatchObject({ inputPerToken: per(0.12), outputPerToken: 0 });
  });

  it('leaves other providers\' names as they were (a dot in a version is not a Bedrock id)', () => {
    expect(builtInPrices('gpt-4.1')).toMatchObject({ inputPerToken: per(2), outputPerToken: per(8) });
    expect(builtInPrices('claude-3.5-sonnet')).toMatchObject({ inputPerToken: per(3) });
    expect(builtInPrices('amazon.unknown-model-v1:0')).toBeUndefined();
  });
});

describe('built-in prices of Azure OpenAI\'s own model names', () => {
  it('prices gpt-35-turbo on Azure (as model_info.base_model or the deployment\'s model) as LiteLLM lists it', () => {
    expect(builtInPrices('azure/gpt-35-turbo', 'azure')).toMatchObject({ inputPerToken: per(0.5), outputPerToken: per(1.5) });
    expect(builtInPrices('gpt-35-turbo', 'azure')).toMatchObject({ inputPerToken: per(0.5), outputPerToken: per(1.5) });
    expect(builtInPrices('azure/gpt-35-turbo-16k', 'azure')).toMatchObject({ inputPerToken: per(3), outputPerToken: per(4) });
    // Not an OpenAI model name.
    expect(builtInPrices('gpt-35-turbo', 'openai')).toBeUndefined();
  });
});
