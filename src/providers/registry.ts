/** Which adapter serves which wire format. */
import { anthropicAdapter } from './anthropic/index.js';
import { ollamaChatAdapter, ollamaGenerateAdapter } from './ollama/index.js';
import { geminiAdapter } from './gemini/index.js';
import { bedrockAdapter } from './bedrock/index.js';
import { cohereAdapter } from './cohere/index.js';
import { openAICompatibleAdapter } from './shared/openai-compatible.js';
import { textCompletionAdapter } from './text-completion/index.js';
import { vertexAnthropicAdapter } from './vertex/anthropic.js';
import { vertexGeminiAdapter } from './vertex/gemini.js';
import { vertexOpenApiAdapter } from './vertex/openapi.js';
import { vertexPublisher } from './vertex/settings.js';
import { providerSpec, type WireFormat } from './specs.js';
import type { ProviderAdapter } from './types.js';

const ADAPTERS: Record<Exclude<WireFormat, 'vertex_ai'>, ProviderAdapter> = {
  openai: openAICompatibleAdapter,
  azure: openAICompatibleAdapter,
  azure_ai: openAICompatibleAdapter,
  text_completion: textCompletionAdapter,
  gemini: geminiAdapter,
  anthropic: anthropicAdapter,
  ollama_chat: ollamaChatAdapter,
  ollama: ollamaGenerateAdapter,
  bedrock: bedrockAdapter,
  cohere: cohereAdapter,
};

/**
 * The adapter of a provider prefix; undefined for a prefix the gateway does not know. Vertex AI
 * serves each publisher's models in that publisher's format, so there the upstream model decides
 * (undefined for a Vertex model of a publisher not served).
 */
export function adapterFor(providerId: string, upstreamModel = ''): ProviderAdapter | undefined {
  const spec = providerSpec(providerId);
  if (!spec) return undefined;
  if (spec.format === 'vertex_ai') {
    const publisher = vertexPublisher(upstreamModel);
    if (publisher === 'anthropic') return vertexAnthropicAdapter;
    if (publisher === 'openapi') return vertexOpenApiAdapter;
    return publisher === 'google' ? vertexGeminiAdapter : undefined;
  }
  return ADAPTERS[spec.format];
}
