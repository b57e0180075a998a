/**
 * Built-in list prices for common models, in USD per million tokens as the providers publish them
 * (cross-checked against LiteLLM's model_prices_and_context_window.json). A `provider/model` key
 * is a price specific to that provider and wins over the model's plain name.
 * `model_info` (input_cost_per_token, output_cost_per_token, cache_*), or the same keys in
 * `litellm_params`, override these. Prices are held as integer pico-dollars per token so that cost
 * arithmetic stays in integers.
 */
import type { LongContextPrices, ModelInfo, TokenPrices } from '../providers/types.js';

/** [input, output, cached input read, cache write] in USD per 1M tokens. */
type PerMillion = [number, number, number?, number?];

const BUILT_IN: Record<string, PerMillion> = {
  // OpenAI
  'gpt-5': [1.25, 10, 0.125],
  'gpt-5-mini': [0.25, 2, 0.025],
  'gpt-5-nano': [0.05, 0.4, 0.005],
  'gpt-4.1': [2, 8, 0.5],
  'gpt-4.1-mini': [0.4, 1.6, 0.1],
  'gpt-4.1-nano': [0.1, 0.4, 0.025],
  'gpt-4o': [2.5, 10, 1.25],
  // Snapshots priced apart from their family (a dated name otherwise finds the family's price).
  'gpt-4o-2024-05-13': [5, 15],
  'gpt-3.5-turbo-1106': [1, 2],
  'gpt-3.5-turbo-0613': [1.5, 2],
  'gpt-4o-mini': [0.15, 0.6, 0.075],
  // The search models' tokens (their web searches are billed per search: media-pricing.ts).
  'gpt-4o-search-preview': [2.5, 10],
  'gpt-4o-mini-search-preview': [0.15, 0.6],
  'gpt-4-turbo': [10, 30],
  'gpt-4': [30, 60],
  'gpt-3.5-turbo': [0.5, 1.5],
  'gpt-3.5-turbo-instruct': [1.5, 2],
  // Azure OpenAI's names for GPT-3.5 Turbo (deployment names, and model_info.base_model: azure/gpt-35-turbo)
  'azure/gpt-35-turbo': [0.5, 1.5],
  'azure/gpt-35-turbo-16k': [3, 4],
  'azure/gpt-35-turbo-instruct': [1.5, 2],
  o1: [15, 60, 7.5],
  'o1-mini': [1.1, 4.4, 0.55],
  o3: [2, 8, 0.5],
  'o3-mini': [1.1, 4.4, 0.55],
  'o4-mini': [1.1, 4.4, 0.275],
  'text-embedding-3-small': [0.02, 0],
  'text-embedding-3-large': [0.13, 0],
  'text-embedding-ada-002': [0.1, 0],
  // Image generation billed in tokens (text input $5/M, image output $40/M); its answers carry usage.
  // Image input tokens (an edit's images) have their own rate: IMAGE_INPUT below.
  'gpt-image-1': [5, 40],
  'gpt-image-1-mini': [2, 8],
  // Anthropic (cache read, cache write at the 5-minute rate; 1-hour writes: ANTHROPIC_1H_WRITE below)
  'claude-opus-4-5': [5, 25, 0.5, 6.25],
  'claude-opus-4-1': [15, 75, 1.5, 18.75],
  'claude-opus-4': [15, 75, 1.5, 18.75],
  'claude-sonnet-4-5': [3, 15, 0.3, 3.75],
  'claude-sonnet-4': [3, 15, 0.3, 3.75],
  'claude-haiku-4-5': [1, 5, 0.1, 1.25],
  'claude-3-7-sonnet': [3, 15, 0.3, 3.75],
  'claude-3-5-sonnet': [3, 15, 0.3, 3.75],
  'claude-3.5-sonnet': [3, 15, 0.3, 3.75],
  'claude-3-5-haiku': [0.8, 4, 0.08, 1],
  'claude-3-opus': [15, 75, 1.5, 18.75],
  'claude-3-haiku': [0.25, 1.25, 0.03, 0.3],
  // Google Gemini (prompts up to 128k/200k tokens; longer prompts: LONG_CONTEXT below)
  'gemini-2.5-pro': [1.25, 10, 0.31],
  'gemini-2.5-flash': [0.3, 2.5, 0.075],
  // Text-to-speech: text in, audio tokens out (Google's pricing page; LiteLLM's table)
  'gemini-2.5-flash-preview-tts': [0.5, 10],
  'gemini-2.5-pro-preview-tts': [1, 20],
  // Image generation: text and image in, text and image out; the text output rate here, image output
  // tokens at their own rate (IMAGE_OUTPUT below). Google's pricing page (2.5 Flash Image: $0.30 in,
  // $2.50 text out; 2.0 Flash image generation at 2.0 Flash's $0.10 / $0.40); LiteLLM's table
  // (gemini/gemini-2.5-flash-image: input_cost_per_token 3e-07, output_cost_per_token 2.5e-06).
  'gemini-2.5-flash-image': [0.3, 2.5],
  'gemini-2.0-flash-preview-image-generation': [0.1, 0.4],
  'gemini-2.5-flash-lite': [0.1, 0.4, 0.025],
  'gemini-2.0-flash': [0.1, 0.4, 0.025],
  'gemini-2.0-flash-lite': [0.075, 0.3],
  'gemini-1.5-pro': [1.25, 5, 0.3125],
  'gemini-1.5-flash': [0.075, 0.3, 0.01875],
  'gemini-1.5-flash-8b': [0.0375, 0.15, 0.01],
  'text-embedding-004': [0, 0],
  // Vertex AI, where its list price differs from the model's own provider's (Claude on Vertex is
  // priced as on Anthropic's API; Gemini 2.5 as on the Gemini API). Vertex names Claude versions
  // "claude-3-5-sonnet-v2@20241022": the "@date" is dropped when looking up.
  'vertex_ai/gemini-2.0-flash': [0.15, 0.6, 0.0375],
  'vertex_ai/gemini-2.0-flash-lite': [0.075, 0.3],
  'claude-3-5-sonnet-v2': [3, 15, 0.3, 3.75],
  'text-embedding-005': [0.1, 0],
  'text-multilingual-embedding-002': [0.1, 0],
  'gemini-embedding-001': [0.15, 0],
  // Azure AI inference (serverless list prices)
  'azure_ai/llama-3.3-70b-instruct': [0.71, 0.71],
  'azure_ai/llama-4-scout-17b-16e-instruct': [0.2, 0.78],
  'azure_ai/llama-4-maverick-17b-128e-instruct-fp8': [0.25, 1],
  'azure_ai/meta-llama-3.1-70b-instruct': [2.68, 3.54],
  'azure_ai/mistral-large': [4, 12],
  'azure_ai/mistral-large-2407': [2, 6],
  'azure_ai/mistral-large-latest': [2, 6],
  'azure_ai/mistral-small-2503': [0.1, 0.3],
  'azure_ai/mistral-nemo': [0.15, 0.15],
  'azure_ai/ministral-3b': [0.04, 0.04],
  'azure_ai/codestral-2501': [0.3, 0.9],
  'azure_ai/phi-4': [0.125, 0.5],
  'azure_ai/phi-4-mini-instruct': [0.075, 0.3],
  'azure_ai/phi-4-multimodal-instruct': [0.08, 0.32],
  'azure_ai/phi-3.5-mini-instruct': [0.13, 0.52],
  'azure_ai/phi-3.5-moe-instruct': [0.16, 0.64],
  'azure_ai/deepseek-v3': [1.14, 4.56],
  'azure_ai/cohere-command-a': [2.5, 10],
  // OpenAI legacy completions models (text-completion-openai/)
  'davinci-002': [2, 2],
  'babbage-002': [0.4, 0.4],
  // Groq
  'llama-3.1-8b-instant': [0.05, 0.08],
  'llama-3.3-70b-versatile': [0.59, 0.79],
  'llama-3.1-70b-versatile': [0.59, 0.79],
  'mixtral-8x7b-32768': [0.24, 0.24],
  // Mistral
  'mistral-large-latest': [2, 6],
  'mistral-small-latest': [0.1, 0.3],
  // DeepSeek
  'deepseek-chat': [0.27, 1.1, 0.07],
  'deepseek-reasoner': [0.55, 2.19, 0.14],
  // AWS Bedrock on-demand list prices (us-east-1), as in LiteLLM's model_prices_and_context_window.json
  // and aws.amazon.com/bedrock/pricing. Keys are model ids without a cross-region prefix (us., eu., …:
  // see candidates). Claude on Bedrock (anthropic.claude-…-v1:0) is priced as Anthropic lists it, through
  // its family name above.
  'amazon.nova-micro-v1:0': [0.035, 0.14, 0.00875],
  'amazon.nova-lite-v1:0': [0.06, 0.24, 0.015],
  'amazon.nova-pro-v1:0': [0.8, 3.2, 0.2],
  'amazon.nova-premier-v1:0': [2.5, 12.5, 0.625],
  'meta.llama3-8b-instruct-v1:0': [0.3, 0.6],
  'meta.llama3-70b-instruct-v1:0': [2.65, 3.5],
  'meta.llama3-1-8b-instruct-v1:0': [0.22, 0.22],
  'meta.llama3-1-70b-instruct-v1:0': [0.99, 0.99],
  'meta.llama3-1-405b-instruct-v1:0': [5.32, 16],
  'meta.llama3-2-1b-instruct-v1:0': [0.1, 0.1],
  'meta.llama3-2-3b-instruct-v1:0': [0.15, 0.15],
  'meta.llama3-2-11b-instruct-v1:0': [0.35, 0.35],
  'meta.llama3-2-90b-instruct-v1:0': [2, 2],
  'meta.llama3-3-70b-instruct-v1:0': [0.72, 0.72],
  'amazon.titan-embed-text-v1': [0.1, 0],
  'amazon.titan-embed-text-v2:0': [0.02, 0],
  'mistral.mistral-7b-instruct-v0:2': [0.15, 0.2],
  'mistral.mixtral-8x7b-instruct-v0:1': [0.45, 0.7],
  'mistral.mistral-large-2402-v1:0': [8, 24],
  'cohere.command-r-v1:0': [0.5, 1.5],
  'cohere.command-r-plus-v1:0': [3, 15],
  'cohere.embed-english-v3': [0.1, 0],
  'cohere.embed-multilingual-v3': [0.1, 0],
  'cohere.embed-v4:0': [0.12, 0],
  // Cohere (cohere.com/pricing; LiteLLM's table): billed per token of billed_units
  'command-a-03-2025': [2.5, 10],
  'command-a': [2.5, 10],
  'command-r-plus-08-2024': [2.5, 10],
  'command-r-plus': [2.5, 10],
  'command-r-08-2024': [0.15, 0.6],
  'command-r': [0.15, 0.6],
  'command-r7b-12-2024': [0.0375, 0.15],
  'embed-v4.0': [0.12, 0],
  'embed-english-v3.0': [0.1, 0],
  'embed-multilingual-v3.0': [0.1, 0],
  'embed-english-light-v3.0': [0.1, 0],
  'embed-multilingual-light-v3.0': [0.1, 0],
};

/**
 * A 1-hour cache write (`cache_control: {"type": "ephemeral", "ttl": "1h"}`) costs 2× the base input
 * price on every Claude model (5-minute writes 1.25×): Anthropic's pricing page,
 * https://platform.claude.com/docs/en/about-claude/pricing ("1h cache writes" column, e.g. Sonnet 4.5
 * $3 input, $3.75 5m writes, $6 1h writes). Claude on Bedrock and Vertex is priced the same.
 */
const ANTHROPIC_1H_WRITE = 2;
/** Anthropic bills 5-minute cache writes at 1.25× the input price (the table's write column for its own models). */
const ANTHROPIC_5M_WRITE = 1.25;

/**
 * Image input tokens, USD per 1M, where a model bills them above its text input (OpenAI's model pages:
 * gpt-image-1 text $5, image $10, output $40; gpt-image-1-mini text $2, image $2.50, output $8).
 */
const IMAGE_INPUT: Record<string, number> = {
  'gpt-image-1': 10,
  'gpt-image-1-mini': 2.5,
};

/**
 * Audio input tokens, USD per 1M, where a model bills them above its text, image and video input:
 * Google's Gemini API pricing page (ai.google.dev/gemini-api/docs/pricing: 2.0 Flash $0.10 for
 * text, image and video input, $0.70 for audio; 2.5 Flash $0.30 / $1.00; 2.5 Flash-Lite $0.10 /
 * $0.30) and Vertex AI's (cloud.google.com/vertex-ai/generative-ai/pricing: 2.0 Flash $0.15 text,
 * $1.00 audio), as LiteLLM's model_prices_and_context_window.json carries them with those pages as
 * its sources (input_cost_per_audio_token: gemini/gemini-2.0-flash 7e-07, gemini/gemini-2.5-flash
 * 1e-06, gemini/gemini-2.5-flash-lite 3e-07, Vertex gemini-2.0-flash-001 1e-06 beside 1.5e-07 text).
 * 2.0 Flash-Lite, 2.5 Pro and the 1.5 models bill every modality alike (LiteLLM: no audio rate, or
 * the text one): no entry. Vertex prices Gemini 2.5 as the Gemini API does (BUILT_IN above), so the
 * plain names serve both; a `provider/model` key wins as in BUILT_IN. OpenAI's audio models
 * (gpt-4o-audio-preview: $40 audio in beside $2.50 text; LiteLLM's table likewise) are not built
 * in: their audio OUTPUT has its own rate too ($80), which this table does not model — an operator
 * prices them in model_info (input_cost_per_audio_token, and output_cost_per_token at the audio rate).
 */
const AUDIO_INPUT: Record<string, number> = {
  'gemini-2.0-flash': 0.7,
  'gemini-2.5-flash': 1,
  'gemini-2.5-flash-lite': 0.3,
  'vertex_ai/gemini-2.0-flash': 1,
};

/**
 * Image output tokens, USD per 1M, where a model bills the images it generates above its text
 * output: Google's Gemini API pricing page (ai.google.dev/gemini-api/docs/pricing: "Image output is
 * priced at $30 per 1,000,000 tokens. Output images up to 1024x1024px consume 1290 tokens and are
 * equivalent to $0.039 per image", for 2.5 Flash Image and for 2.0 Flash's image generation) and
 * Vertex AI's (the same $30), as LiteLLM's model_prices_and_context_window.json carries it
 * (output_cost_per_image_token: gemini/gemini-2.5-flash-image 3e-05, BerriAI/litellm#18156).
 * Gemini reports them in usageMetadata.candidatesTokensDetails (modality IMAGE).
 */
const IMAGE_OUTPUT: Record<string, number> = {
  'gemini-2.5-flash-image': 30,
  'gemini-2.0-flash-preview-image-generation': 30,
};

/**
 * OpenAI's priority processing rates ([input, output, cached input read] in USD per 1M), billed when
 * an answer reports `service_tier: "priority"` — which a request with no `service_tier` (or "auto")
 * gets when the OpenAI project's default tier is priority. OpenAI's pricing page, Priority tab
 * (openai.com/api/pricing), as LiteLLM's table carries it (input_cost_per_token_priority,
 * output_cost_per_token_priority, cache_read_input_token_cost_priority). A model not listed is billed
 * at twice its standard rates (billing/cost.ts).
 */
const PRIORITY: Record<string, [number, number, number]> = {
  'gpt-5': [2.5, 20, 0.25],
  'gpt-5-mini': [0.45, 3.6, 0.045],
  'gpt-4.1': [3.5, 14, 0.875],
  'gpt-4.1-mini': [0.7, 2.8, 0.175],
  'gpt-4.1-nano': [0.2, 0.8, 0.05],
  'gpt-4o': [4.25, 17, 2.125],
  'gpt-4o-mini': [0.25, 1, 0.125],
  o3: [3.5, 14, 0.875],
  'o4-mini': [2, 8, 0.5],
};

/**
 * Long-context tiers: [prompt tokens above which the whole call is billed at these rates, input,
 * output, cache read, cache write (5-minute)] in USD per 1M. Google's Gemini API pricing page
 * (2.5 Pro: $1.25 / $10 up to 200k prompt tokens, $2.50 / $15 above; context cache $0.31 / $0.625;
 * 1.5 models above 128k at twice their input and output price) and Anthropic's long-context pricing
 * (Sonnet 4 / 4.5 with the 1M-token context window: above 200k input tokens $6 input, $22.50 output,
 * cache writes and reads at the usual multiples of that input price). LiteLLM's table carries the
 * same figures (input_cost_per_token_above_200k_tokens, …).
 */
const LONG_CONTEXT: Record<string, [number, number, number, number?, number?]> = {
  'gemini-2.5-pro': [200_000, 2.5, 15, 0.625],
  'gemini-1.5-pro': [128_000, 2.5, 10, 0.625],
  'gemini-1.5-flash': [128_000, 0.15, 0.6, 0.0375],
  'gemini-1.5-flash-8b': [128_000, 0.075, 0.3, 0.02],
  'claude-sonnet-4-5': [200_000, 6, 22.5, 0.6, 7.5],
  'claude-sonnet-4': [200_000, 6, 22.5, 0.6, 7.5],
};

/** Bedrock's cross-region inference profile prefixes (`us.anthropic.claude-…`). */
const BEDROCK_REGION_PREFIX = /^(us|eu|apac|us-gov|global|jp|au|ca)\./;
/** A Bedrock model id: `vendor.model…` (`anthropic.claude-3-5-haiku-20241022-v1:0`, `amazon.nova-pro-v1:0`). */
const BEDROCK_MODEL_ID = /^[a-z0-9-]+\.[a-z]/;
/** Which provider serves each family of the table, for listing the models a wildcard deployment reaches. */
const FAMILIES: Record<string, RegExp> = {
  openai: /^(?:gpt-|o\d|text-embedding-(?:3|ada))/,
  azure: /^(?:gpt-|o\d|text-embedding-(?:3|ada))/,
  anthropic: /^claude-/,
  gemini: /^(?:gemini-|text-embedding-004$)/,
  groq: /^(?:llama-|mixtral-)/,
  mistral: /^mistral-/,
  deepseek: /^deepseek-/,
};

/** The models of the built-in table a provider serves (none for providers the table has no family for). */
export function knownModelsOf(provider: string): string[] {
  const family = Object.hasOwn(FAMILIES, provider) ? FAMILIES[provider] : undefined;
  return family ? Object.keys(BUILT_IN).filter((name) => family.test(name)) : [];
}

const PICO_PER_USD = 1e12;

/** USD per token (a config value such as 0.0000025) to integer pico-dollars per token. */
export function usdPerTokenToPico(usdPerToken: number): number {
  return Math.round(usdPerToken * PICO_PER_USD);
}

function perMillionToPrices([input, output, cacheRead, cacheWrite]: PerMillion, name = ''): TokenPrices {
  // USD per 1M tokens = 1e6 pico-dollars per token per USD-per-million.
  const pico = (value: number) => Math.round(value * 1e6);
  const claude = name.startsWith('claude-');
  const prices: TokenPrices = {
    inputPerToken: pico(input),
    outputPerToken: pico(output),
    ...(cacheRead !== undefined ? { cacheReadPerToken: pico(cacheRead) } : {}),
    ...(cacheWrite !== undefined ? { cacheWritePerToken: pico(cacheWrite) } : {}),
    ...(claude ? { cacheWrite1hPerToken: pico(input * ANTHROPIC_1H_WRITE) } : {}),
    ...(Object.hasOwn(IMAGE_INPUT, name) ? { imageInputPerToken: pico(IMAGE_INPUT[name]) } : {}),
    ...(Object.hasOwn(IMAGE_OUTPUT, name) ? { imageOutputPerToken: pico(IMAGE_OUTPUT[name]) } : {}),
  };
  const priority = Object.hasOwn(PRIORITY, name) ? PRIORITY[name] : undefined;
  if (priority) prices.priority = { inputPerToken: pico(priority[0]), outputPerToken: pico(priority[1]), cacheReadPerToken: pico(priority[2]) };
  const tier = Object.hasOwn(LONG_CONTEXT, name) ? LONG_CONTEXT[name] : undefined;
  if (tier) {
    const [aboveTokens, longInput, longOutput, longRead, longWrite] = tier;
    prices.longContext = {
      aboveTokens,
      inputPerToken: pico(longInput),
      outputPerToken: pico(longOutput),
      ...(longRead !== undefined ? { cacheReadPerToken: pico(longRead) } : {}),
      ...(longWrite !== undefined ? { cacheWritePerToken: pico(longWrite) } : {}),
      ...(claude ? { cacheWrite1hPerToken: pico(longInput * ANTHROPIC_1H_WRITE) } : {}),
    };
  }
  return prices;
}

/** Normalizes upstream model names so dated or versioned variants find their family's price. */
function candidates(model: string): string[] {
  const names = new Set<string>();
  let name = model.toLowerCase().replace(/^models\//, '').replace(/@[^/]*$/, '');
  names.add(name);
  const slash = name.lastIndexOf('/');
  if (slash >= 0) {
    name = name.slice(slash + 1);
    names.add(name);
  }
  if (BEDROCK_MODEL_ID.test(name)) {
    // us.anthropic.claude-3-5-haiku-20241022-v1:0 → anthropic.claude-3-5-haiku-20241022-v1:0 → claude-3-5-haiku-20241022
    name = name.replace(BEDROCK_REGION_PREFIX, '');
    names.add(name);
    if (name.startsWith('anthropic.')) {
      name = name.slice('anthropic.'.length).replace(/-v\d+(:\d+)?$/, '');
      names.add(name);
    }
  }
  const undated = name
    .replace(/-(latest|preview)$/, '')
    .replace(/-\d{4}-\d{2}-\d{2}$/, '')
    .replace(/-\d{8}$/, '')
    .replace(/-\d{3}$/, '')
    .replace(/-exp(-\d+)?$/, '');
  names.add(undated);
  names.add(undated.replace(/-\d{4}-\d{2}-\d{2}$/, '').replace(/-\d{8}$/, ''));
  return [...names];
}

export function builtInPrices(upstreamModel: string, provider?: string): TokenPrices | undefined {
  const plain = candidates(upstreamModel);
  const names = provider ? [...plain.map((name) => `${provider}/${name}`), ...plain] : plain;
  for (const name of names) {
    // Own properties only: a model named "constructor" has no built-in price.
    const found = Object.hasOwn(BUILT_IN, name) ? BUILT_IN[name] : undefined;
    // The plain model name picks the rates beside the table's (1-hour writes, image input, long
    // context); audio input is looked up under the `provider/model` key first (Vertex's own rate).
    if (!found) continue;
    const plainName = name.slice(name.indexOf('/') + 1);
    const prices = perMillionToPrices(found, plainName);
    const audio = Object.hasOwn(AUDIO_INPUT, name) ? AUDIO_INPUT[name] : Object.hasOwn(AUDIO_INPUT, plainName) ? AUDIO_INPUT[plainName] : undefined;
    if (audio !== undefined) prices.audioInputPerToken = Math.round(audio * 1e6);
    return prices;
  }
  return undefined;
}

/**
 * The prices a deployment is billed at: explicit config costs win, local providers are free,
 * otherwise the built-in table; undefined when nothing is known (cost is then recorded as unknown).
 */
export function resolvePrices(upstreamModel: string, modelInfo: ModelInfo, params: { input_cost_per_token?: number; output_cost_per_token?: number }, free: boolean, provider?: string): TokenPrices | undefined {
  const input = modelInfo.input_cost_per_token ?? params.input_cost_per_token;
  const output = modelInfo.output_cost_per_token ?? params.output_cost_per_token;
  // model_info.base_model names the priced model behind a deployment name (an Azure deployment, say), as in LiteLLM.
  const builtIn = (modelInfo.base_model ? builtInPrices(modelInfo.base_model, provider) : undefined) ?? builtInPrices(upstreamModel, provider);
  const claude = provider === 'anthropic' || /claude/i.test(modelInfo.base_model ?? upstreamModel);
  if (input !== undefined || output !== undefined) {
    const configured: TokenPrices = {
      inputPerToken: usdPerTokenToPico(input ?? 0),
      outputPerToken: usdPerTokenToPico(output ?? 0),
      ...(modelInfo.cache_read_input_token_cost !== undefined ? { cacheReadPerToken: usdPerTokenToPico(modelInfo.cache_read_input_token_cost) } : {}),
      ...(modelInfo.cache_creation_input_token_cost !== undefined ? { cacheWritePerToken: usdPerTokenToPico(modelInfo.cache_creation_input_token_cost) } : {}),
      // A Claude model's cache writes cost 1.25× its input price (5 minutes) and 2× (1 hour), also at a
      // configured input price: without a configured cache_creation_input_token_cost they were billed at 1×.
      ...(claude && modelInfo.cache_creation_input_token_cost === undefined ? { cacheWritePerToken: Math.round(ANTHROPIC_5M_WRITE * usdPerTokenToPico(input ?? 0)) } : {}),
      ...(claude ? { cacheWrite1hPerToken: ANTHROPIC_1H_WRITE * usdPerTokenToPico(input ?? 0) } : {}),
    };
    return withResearchRates(withRateOverrides(configured, modelInfo, claude), modelInfo.base_model || upstreamModel, modelInfo, provider);
  }
  if (free) return { inputPerToken: 0, outputPerToken: 0 };
  if (builtIn) {
    return withResearchRates(
      withRateOverrides(
        {
          ...builtIn,
          ...(modelInfo.cache_read_input_token_cost !== undefined ? { cacheReadPerToken: usdPerTokenToPico(modelInfo.cache_read_input_token_cost) } : {}),
          ...(modelInfo.cache_creation_input_token_cost !== undefined ? { cacheWritePerToken: usdPerTokenToPico(modelInfo.cache_creation_input_token_cost) } : {}),
        },
        modelInfo,
        claude,
      ),
      modelInfo.base_model || upstreamModel,
      modelInfo,
      provider,
    );
  }
  return undefined;
}

/**
 * Perplexity's research usage rates, [citation tokens, reasoning tokens] in USD per 1M: Perplexity's
 * pricing page (https://docs.perplexity.ai/getting-started/pricing, "Token Pricing": Sonar Deep
 * Research $2 input, $8 output, $2 citation tokens, $3 reasoning tokens, $5 per 1,000 search queries
 * — the searches are priced in media-pricing.ts), as LiteLLM's table carries them
 * (perplexity/sonar-deep-research: citation_cost_per_token 2e-06, output_cost_per_reasoning_token
 * 3e-06). Perplexity reports them beside prompt_tokens and completion_tokens (`usage.citation_tokens`,
 * `usage.reasoning_tokens`), not inside them. The other Sonar models list no citation or reasoning
 * price: none is built in for them.
 */
const PERPLEXITY_RESEARCH: Record<string, [number, number]> = {
  'sonar-deep-research': [2, 3],
};

/**
 * A Perplexity deployment's citation and research-reasoning rates: model_info's
 * `citation_cost_per_token` and `output_cost_per_reasoning_token` (USD per token), else the built-in
 * ones of its model (`model_info.base_model`, else the upstream model). Other providers get neither:
 * their reasoning tokens are inside the completion, billed at the output rate.
 */
function withResearchRates(prices: TokenPrices, model: string, info: ModelInfo, provider: string | undefined): TokenPrices {
  if (provider !== 'perplexity') return prices;
  const name = model.toLowerCase().replace(/^.*\//, '');
  const listed = Object.hasOwn(PERPLEXITY_RESEARCH, name) ? PERPLEXITY_RESEARCH[name] : undefined;
  const citation = info.citation_cost_per_token !== undefined ? usdPerTokenToPico(info.citation_cost_per_token) : listed ? Math.round(listed[0] * 1e6) : undefined;
  const reasoning = info.output_cost_per_reasoning_token !== undefined ? usdPerTokenToPico(info.output_cost_per_reasoning_token) : listed ? Math.round(listed[1] * 1e6) : undefined;
  return {
    ...prices,
    ...(citation !== undefined ? { citationPerToken: citation } : {}),
    ...(reasoning !== undefined ? { researchReasoningPerToken: reasoning } : {}),
  };
}

/**
 * model_info's rates for token kinds and tiers, in LiteLLM's names: `cache_creation_input_token_cost_above_1hr`
 * (1-hour cache writes), `input_cost_per_image_token` (image input), `input_cost_per_audio_token`
 * (audio input), `output_cost_per_image_token` (image output), and the long-context tier
 * `*_above_200k_tokens` (input, output, cache read, cache creation) or `*_above_128k_tokens` (input,
 * output). A tier rate not given is the built-in tier's at the same threshold, else the base rate.
 */
function withRateOverrides(prices: TokenPrices, info: ModelInfo, claude: boolean): TokenPrices {
  const pico = (usd: number | undefined) => (usd === undefined ? undefined : usdPerTokenToPico(usd));
  const result: TokenPrices = { ...prices };
  if (info.cache_creation_input_token_cost_above_1hr !== undefined) result.cacheWrite1hPerToken = usdPerTokenToPico(info.cache_creation_input_token_cost_above_1hr);
  if (info.input_cost_per_image_token !== undefined) result.imageInputPerToken = usdPerTokenToPico(info.input_cost_per_image_token);
  if (info.input_cost_per_audio_token !== undefined) result.audioInputPerToken = usdPerTokenToPico(info.input_cost_per_audio_token);
  if (info.output_cost_per_image_token !== undefined) result.imageOutputPerToken = usdPerTokenToPico(info.output_cost_per_image_token);
  const tiers = [
    { aboveTokens: 200_000, input: info.input_cost_per_token_above_200k_tokens, output: info.output_cost_per_token_above_200k_tokens, read: info.cache_read_input_token_cost_above_200k_tokens, write: info.cache_creation_input_token_cost_above_200k_tokens },
    { aboveTokens: 128_000, input: info.input_cost_per_token_above_128k_tokens, output: info.output_cost_per_token_above_128k_tokens, read: undefined, write: undefined },
  ];
  const tier = tiers.find((candidate) => [candidate.input, candidate.output, candidate.read, candidate.write].some((value) => value !== undefined));
  if (!tier) return result;
  const same = prices.longContext?.aboveTokens === tier.aboveTokens ? prices.longContext : undefined;
  const inputPerToken = pico(tier.input) ?? same?.inputPerToken ?? prices.inputPerToken;
  const cacheReadPerToken = pico(tier.read) ?? same?.cacheReadPerToken;
  const cacheWritePerToken = pico(tier.write) ?? same?.cacheWritePerToken;
  const longContext: LongContextPrices = {
    aboveTokens: tier.aboveTokens,
    inputPerToken,
    outputPerToken: pico(tier.output) ?? same?.outputPerToken ?? prices.outputPerToken,
    ...(cacheReadPerToken !== undefined ? { cacheReadPerToken } : {}),
    ...(cacheWritePerToken !== undefined ? { cacheWritePerToken } : {}),
    ...(claude ? { cacheWrite1hPerToken: ANTHROPIC_1H_WRITE * inputPerToken } : {}),
  };
  result.longContext = longContext;
  return result;
}
