/** Which adapter serves which wire format. */
import { anthropicAdapter } from './anthropic/index.js';
import { ollamaChatAdapter, ollamaGenerateAdapter } from './ollama/index.js';
import { geminiAdapter } from './gemini/index.js';
import { bedrockAdapter } from './bedrock/index.js';
import { cohereAdapter } from './cohere/index.js';
import { openAICompatibleAdapter } from './shared/openai-compatible.js';
import { providerSpec, type WireFormat } from './specs.js';
import type { ProviderAdapter } from './types.js';

const ADAPTERS: Record<WireFormat, ProviderAdapter> = {
  openai: openAICompatibleAdapter,
  azure: openAICompatibleAdapter,
  gemini: geminiAdapter,
  anthropic: anthropicAdapter,
  ollama_chat: ollamaChatAdapter,
  ollama: ollamaGenerateAdapter,
  bedrock: bedrockAdapter,
  cohere: cohereAdapter,
};

/** The adapter of a provider prefix; undefined only for a prefix the gateway does not know. */
export function adapterFor(providerId: string): ProviderAdapter | undefined {
  const spec = providerSpec(providerId);
  return spec ? ADAPTERS[spec.format] : undefined;
}
