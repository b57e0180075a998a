/**
 * Which provider a `litellm_params.model` string names, the way LiteLLM reads it
 * (litellm/litellm_core_utils/get_llm_provider_logic.py): an explicit `custom_llm_provider`, else
 * the `provider/` prefix, else — for a bare name such as `gpt-4o-mini` — the provider LiteLLM's own
 * model lists put that family under. The answer may name a provider the gateway does not serve
 * (yet): `servedBy` then carries no spec and `unavailableReason` says why, so that such a model is
 * listed as unavailable instead of stopping the gateway. A provider becomes servable by adding its
 * spec to specs.ts (and its adapter to registry.ts): nothing here changes.
 */
import { providerSpec, splitModelString, type ProviderSpec } from './specs.js';

export interface ModelProvider {
  /** The provider id ('openai', 'bedrock', …); undefined when none can be told from the string. */
  providerId: string | undefined;
  /** The model name the provider is called with. */
  upstreamModel: string;
  /** True when the provider came from LiteLLM's bare-name map rather than a prefix. */
  inferred: boolean;
  /** The provider's spec when the gateway serves it. */
  spec: ProviderSpec | undefined;
  /** Why the gateway cannot serve this model; undefined when `spec` is set. */
  unavailableReason: string | undefined;
}

/**
 * Bare model names → provider, in the order LiteLLM checks its lists (text-completion models before
 * chat, OpenAI before the rest). A small pattern table rather than LiteLLM's full name lists: it
 * covers the families those lists hold. LiteLLM lists the bare `gemini-*` names under Vertex AI
 * (`vertex_language_models`); here they go to Google AI Studio (`gemini/`), the provider most
 * configs that write a bare Gemini name hold a key for (GEMINI_API_KEY). Write `vertex_ai/<model>`
 * for Vertex AI.
 */
export const BARE_MODEL_PROVIDERS: ReadonlyArray<{ pattern: RegExp; provider: string; family: string }> = [
  { pattern: /^(gpt-3\.5-turbo-instruct|babbage-002|davinci-002|text-davinci-|text-curie-|text-babbage-|text-ada-)/, provider: 'text-completion-openai', family: 'OpenAI text completion models' },
  { pattern: /^(gpt-|chatgpt-|o1($|-)|o3($|-)|o4-|ft:gpt-|text-embedding-3-|text-embedding-ada-|dall-e-|gpt-image-|whisper-|tts-|omni-moderation-|text-moderation-|computer-use-)/, provider: 'openai', family: 'OpenAI models' },
  { pattern: /^claude-/, provider: 'anthropic', family: 'Anthropic models' },
  { pattern: /^(command|embed-|rerank-)/, provider: 'cohere', family: 'Cohere models' },
  { pattern: /^(gemini-|text-embedding-004|gemini-embedding-)/, provider: 'gemini', family: 'Google Gemini models (Google AI Studio; write vertex_ai/<model> for Vertex AI)' },
  { pattern: /^(text-bison|chat-bison|code-bison|codechat-bison|text-embedding-00|textembedding-gecko|text-multilingual-embedding-|imagen-)/, provider: 'vertex_ai', family: 'Google Vertex AI models' },
  { pattern: /^(anthropic|amazon|meta|mistral|cohere|ai21|us|eu|apac|global)\.[a-z]/, provider: 'bedrock', family: 'AWS Bedrock model ids' },
  { pattern: /^(ibm\/|ibm-)/, provider: 'watsonx', family: 'IBM watsonx models' },
  { pattern: /^\*$/, provider: 'openai', family: 'the catch-all wildcard' },
];

/**
 * LiteLLM providers the gateway recognises but does not serve, each with the reason shown for its
 * models. An entry here is only consulted when specs.ts has no spec of that id: adding the spec is
 * all it takes for the provider's models to become available.
 */
export const UNSERVED_PROVIDERS: Readonly<Record<string, string>> = {
  bedrock: 'AWS Bedrock is not served by this version',
  sagemaker: 'AWS SageMaker endpoints are not served by this version',
  sagemaker_chat: 'AWS SageMaker endpoints are not served by this version',
  vertex_ai: 'Google Vertex AI is not served by this version (use gemini/<model> with a Google AI Studio key)',
  vertex_ai_beta: 'Google Vertex AI is not served by this version (use gemini/<model> with a Google AI Studio key)',
  cohere: 'Cohere is not served by this version',
  cohere_chat: 'Cohere is not served by this version',
  azure_ai: 'Azure AI inference is not served by this version',
  'text-completion-openai': 'OpenAI text completion deployments are not served by this version',
  text_completion_openai: 'OpenAI text completion deployments are not served by this version',
  watsonx: 'IBM watsonx is not served by this version',
  watsonx_text: 'IBM watsonx is not served by this version',
  replicate: 'Replicate is not served by this version',
  databricks: 'Databricks is not served by this version',
  predibase: 'Predibase is not served by this version',
  cloudflare: 'Cloudflare Workers AI is not served by this version',
  ai21: 'AI21 is not served by this version',
  ai21_chat: 'AI21 is not served by this version',
  nlp_cloud: 'NLP Cloud is not served by this version',
  aleph_alpha: 'Aleph Alpha is not served by this version',
  baseten: 'Baseten is not served by this version',
  petals: 'Petals is not served by this version',
  palm: 'Google PaLM is retired and not served',
  anthropic_text: 'Anthropic text completion models are retired and not served',
  clarifai: 'Clarifai is not served by this version',
  triton: 'NVIDIA Triton is not served by this version',
  voyage: 'Voyage AI is not served by this version',
  jina_ai: 'Jina AI is not served by this version',
  nvidia_nim: 'NVIDIA NIM is not served by this version (it speaks the OpenAI format: write openai/<model> with its api_base)',
  cerebras: 'Cerebras is not served by this version (it speaks the OpenAI format: write openai/<model> with its api_base)',
  sambanova: 'SambaNova is not served by this version (it speaks the OpenAI format: write openai/<model> with its api_base)',
  github: 'GitHub Models is not served by this version (it speaks the OpenAI format: write openai/<model> with its api_base)',
  codestral: 'Codestral is not served by this version (it speaks the OpenAI format: write openai/<model> with its api_base)',
  custom_openai: 'write openai/<model> with its api_base for an OpenAI-compatible server',
  openai_like: 'write openai/<model> with its api_base for an OpenAI-compatible server',
  litellm_proxy: 'write openai/<model> with the LiteLLM proxy as api_base',
  friendliai: 'FriendliAI is not served by this version',
  dashscope: 'Alibaba DashScope is not served by this version',
  volcengine: 'Volcengine is not served by this version',
  empower: 'Empower is not served by this version',
  anyscale: 'Anyscale endpoints are retired and not served',
  maritalk: 'MariTalk is not served by this version',
  oobabooga: 'oobabooga is not served by this version',
  featherless_ai: 'Featherless AI is not served by this version',
  nscale: 'Nscale is not served by this version',
  galadriel: 'Galadriel is not served by this version',
  meta_llama: 'the Meta Llama API is not served by this version',
};

/** The provider and upstream model of one deployment's `model` (and `custom_llm_provider`). */
export function modelProvider(model: string, customProvider?: string): ModelProvider {
  const split = splitModelString(model);
  let providerId: string | undefined;
  let upstreamModel: string;
  let inferred = false;
  if (customProvider) {
    providerId = customProvider;
    upstreamModel = split && split.provider === customProvider ? split.upstreamModel : model;
  } else if (split && (providerSpec(split.provider) || split.provider in UNSERVED_PROVIDERS || !bareProvider(model))) {
    providerId = split.provider;
    upstreamModel = split.upstreamModel;
  } else {
    // A bare name, or one whose "prefix" is part of the model id (`ibm/granite-13b-chat-v2`).
    providerId = bareProvider(model);
    upstreamModel = model;
    inferred = providerId !== undefined;
  }
  const spec = providerId ? providerSpec(providerId) : undefined;
  return { providerId, upstreamModel, inferred, spec, unavailableReason: spec ? undefined : unservedReason(model, providerId) };
}

function bareProvider(model: string): string | undefined {
  return BARE_MODEL_PROVIDERS.find((entry) => entry.pattern.test(model))?.provider;
}

function unservedReason(model: string, providerId: string | undefined): string {
  if (!providerId) return `"${model}" names no provider: write it as provider/model (e.g. openai/${model})`;
  const known = UNSERVED_PROVIDERS[providerId];
  if (known) return `provider "${providerId}": ${known}`;
  return `unknown provider prefix "${providerId}"`;
}
