/**
 * What the gateway knows about each provider prefix of `litellm_params.model` (`groq/llama-3.1-8b`):
 * which wire format it speaks, its real default base URL and the environment variables its API key
 * is read from when the config gives none. Local servers need no key.
 */

export type WireFormat = 'openai' | 'azure' | 'azure_ai' | 'anthropic' | 'gemini' | 'vertex_ai' | 'text_completion' | 'ollama_chat' | 'ollama' | 'bedrock' | 'cohere';

export interface ProviderSpec {
  id: string;
  format: WireFormat;
  /** Default API base; undefined when the deployment must give `api_base`. */
  defaultApiBase?: string;
  /** Environment variable for the base URL when the config gives none. */
  apiBaseEnv?: string[];
  /** Environment variables tried, in order, for the API key when the config gives none. */
  apiKeyEnv: string[];
  /** False for local servers that take no key. */
  requiresApiKey: boolean;
  /** Upstream accepts `stream_options.include_usage` (so usage arrives on the final chunk). */
  supportsStreamUsage: boolean;
  /**
   * A server on the operator's own machines (Ollama, vLLM, LM Studio): its models cost nothing
   * (priced at zero unless the config gives prices) and count as private ("local") when power levels
   * choose a model. This field is the one list of local providers.
   */
  local?: boolean;
  /** Other prefixes LiteLLM gives the same provider (`cohere_chat` for `cohere`); they resolve to this spec and id. */
  aliases?: string[];
}

const openaiCompatible = (
  id: string,
  defaultApiBase: string | undefined,
  apiKeyEnv: string[],
  options: Partial<ProviderSpec> = {},
): ProviderSpec => ({
  id,
  format: 'openai',
  defaultApiBase,
  apiKeyEnv,
  requiresApiKey: true,
  supportsStreamUsage: true,
  ...options,
});

function vertexSpec(id: string): ProviderSpec {
  return { id, format: 'vertex_ai', apiKeyEnv: [], requiresApiKey: false, supportsStreamUsage: true };
}

const SPECS: ProviderSpec[] = [
  openaiCompatible('openai', 'https://api.openai.com/v1', ['OPENAI_API_KEY'], { apiBaseEnv: ['OPENAI_API_BASE', 'OPENAI_BASE_URL'] }),
  {
    id: 'azure',
    format: 'azure',
    apiBaseEnv: ['AZURE_API_BASE', 'AZURE_OPENAI_ENDPOINT'],
    apiKeyEnv: ['AZURE_API_KEY', 'AZURE_OPENAI_API_KEY'],
    requiresApiKey: true,
    supportsStreamUsage: true,
  },
  // Azure AI Foundry / serverless endpoints: OpenAI's chat API at the deployment's own api_base.
  {
    id: 'azure_ai',
    format: 'azure_ai',
    apiBaseEnv: ['AZURE_AI_API_BASE'],
    apiKeyEnv: ['AZURE_AI_API_KEY'],
    requiresApiKey: true,
    supportsStreamUsage: true,
  },
  // OpenAI's legacy completions API (gpt-3.5-turbo-instruct, davinci-002, babbage-002).
  {
    id: 'text-completion-openai',
    format: 'text_completion',
    defaultApiBase: 'https://api.openai.com/v1',
    apiBaseEnv: ['OPENAI_API_BASE', 'OPENAI_BASE_URL'],
    apiKeyEnv: ['OPENAI_API_KEY'],
    requiresApiKey: true,
    supportsStreamUsage: true,
  },
  openaiCompatible('groq', 'https://api.groq.com/openai/v1', ['GROQ_API_KEY']),
  openaiCompatible('together_ai', 'https://api.together.xyz/v1', ['TOGETHERAI_API_KEY', 'TOGETHER_API_KEY', 'TOGETHER_AI_API_KEY']),
  openaiCompatible('fireworks_ai', 'https://api.fireworks.ai/inference/v1', ['FIREWORKS_AI_API_KEY', 'FIREWORKS_API_KEY', 'FIREWORKSAI_API_KEY']),
  openaiCompatible('deepinfra', 'https://api.deepinfra.com/v1/openai', ['DEEPINFRA_API_KEY']),
  openaiCompatible('openrouter', 'https://openrouter.ai/api/v1', ['OPENROUTER_API_KEY', 'OR_API_KEY']),
  openaiCompatible('huggingface', 'https://router.huggingface.co/v1', ['HF_TOKEN', 'HUGGINGFACE_API_KEY']),
  openaiCompatible('hosted_vllm', undefined, ['HOSTED_VLLM_API_KEY'], { apiBaseEnv: ['HOSTED_VLLM_API_BASE'], requiresApiKey: false, local: true }),
  openaiCompatible('vllm', undefined, ['HOSTED_VLLM_API_KEY', 'VLLM_API_KEY'], { apiBaseEnv: ['HOSTED_VLLM_API_BASE', 'VLLM_API_BASE'], requiresApiKey: false, local: true }),
  openaiCompatible('lm_studio', 'http://localhost:1234/v1', ['LM_STUDIO_API_KEY'], { apiBaseEnv: ['LM_STUDIO_API_BASE'], requiresApiKey: false, local: true }),
  openaiCompatible('mistral', 'https://api.mistral.ai/v1', ['MISTRAL_API_KEY']),
  openaiCompatible('deepseek', 'https://api.deepseek.com/v1', ['DEEPSEEK_API_KEY']),
  openaiCompatible('xai', 'https://api.x.ai/v1', ['XAI_API_KEY']),
  openaiCompatible('perplexity', 'https://api.perplexity.ai', ['PERPLEXITYAI_API_KEY', 'PERPLEXITY_API_KEY']),
  {
    id: 'anthropic',
    format: 'anthropic',
    defaultApiBase: 'https://api.anthropic.com',
    apiBaseEnv: ['ANTHROPIC_API_BASE', 'ANTHROPIC_BASE_URL'],
    apiKeyEnv: ['ANTHROPIC_API_KEY'],
    requiresApiKey: true,
    supportsStreamUsage: true,
  },
  {
    id: 'gemini',
    format: 'gemini',
    defaultApiBase: 'https://generativelanguage.googleapis.com',
    apiBaseEnv: ['GEMINI_API_BASE'],
    apiKeyEnv: ['GEMINI_API_KEY', 'GOOGLE_API_KEY'],
    requiresApiKey: true,
    supportsStreamUsage: true,
  },
  // Google Vertex AI: Gemini and Anthropic's Claude on Google Cloud. No API key: an OAuth access
  // token from vertex_credentials or Application Default Credentials; the base URL follows the
  // location (src/providers/vertex/settings.ts).
  vertexSpec('vertex_ai'),
  vertexSpec('vertex_ai_beta'),
  {
    // AWS Bedrock: no API key but AWS credentials (config/aws-credentials.ts); the endpoint is
    // regional (https://bedrock-runtime.{region}.amazonaws.com), so it has no fixed default here.
    id: 'bedrock',
    format: 'bedrock',
    apiKeyEnv: [],
    requiresApiKey: false,
    supportsStreamUsage: true,
  },
  {
    id: 'cohere',
    format: 'cohere',
    defaultApiBase: 'https://api.cohere.com',
    apiBaseEnv: ['COHERE_API_BASE'],
    apiKeyEnv: ['COHERE_API_KEY', 'CO_API_KEY'],
    requiresApiKey: true,
    supportsStreamUsage: true,
    // LiteLLM's prefix for Cohere's chat models: the same API, so one provider (one BYOK key, one id).
    aliases: ['cohere_chat'],
  },
  {
    id: 'ollama_chat',
    format: 'ollama_chat',
    defaultApiBase: 'http://localhost:11434',
    apiBaseEnv: ['OLLAMA_API_BASE'],
    apiKeyEnv: ['OLLAMA_API_KEY'],
    requiresApiKey: false,
    supportsStreamUsage: true,
    local: true,
  },
  {
    id: 'ollama',
    format: 'ollama',
    defaultApiBase: 'http://localhost:11434',
    apiBaseEnv: ['OLLAMA_API_BASE'],
    apiKeyEnv: ['OLLAMA_API_KEY'],
    requiresApiKey: false,
    supportsStreamUsage: true,
    local: true,
  },
];

const BY_ID = new Map(SPECS.flatMap((spec) => [spec.id, ...(spec.aliases ?? [])].map((id) => [id, spec] as const)));

export function providerSpec(id: string): ProviderSpec | undefined {
  return BY_ID.get(id);
}

/** True for providers that run on the operator's own machines (see ProviderSpec.local). */
export function isLocalProvider(id: string): boolean {
  return BY_ID.get(id)?.local === true;
}

/** Every prefix the config accepts, aliases included. */
export function knownProviderIds(): string[] {
  return [...BY_ID.keys()];
}

/** Splits `groq/llama-3.1-8b-instant` into provider and upstream model; the rest may contain '/'. */
export function splitModelString(model: string): { provider: string; upstreamModel: string } | undefined {
  const slash = model.indexOf('/');
  if (slash <= 0 || slash === model.length - 1) return undefined;
  return { provider: model.slice(0, slash), upstreamModel: model.slice(slash + 1) };
}
