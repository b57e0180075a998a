/**
 * List prices of media models (images, audio, rerank, moderation), in USD as the providers publish
 * them, and the `model_info` keys that override them (LiteLLM's names: `output_cost_per_image`,
 * `input_cost_per_image`, `input_cost_per_second`, `output_cost_per_second`,
 * `input_cost_per_character`, `input_cost_per_query`). Held as integer pico-dollars per unit.
 *
 * - dall-e-2 / dall-e-3: per image, by quality and size (OpenAI's pricing page);
 * - gpt-image-1: billed in tokens (its answers carry usage), in the token table (pricing.ts);
 * - whisper-1, gpt-4o-transcribe, gpt-4o-mini-transcribe: per second of audio ($0.006, $0.006,
 *   $0.003 per minute);
 * - tts-1, tts-1-hd: per input character ($15, $30 per million);
 * - Cohere rerank 3.x: per search ($2 per 1000); a search unit is one query over up to 100 documents;
 * - omni-moderation, text-moderation: free;
 * - Google Imagen (Gemini API and Vertex AI): per image at any size, as LiteLLM's price table
 *   (model_prices_and_context_window.json, `output_cost_per_image`) and Google's pricing pages list
 *   them: imagen-3.0-generate-001/-002 and imagen-4.0-generate $0.04, the -fast models $0.02,
 *   imagen-4.0-ultra $0.06, imagegeneration@006 $0.02.
 */
import type { MediaPrices, ModelInfo } from '../providers/types.js';

const PICO_PER_USD = 1e12;
const pico = (usd: number) => Math.round(usd * PICO_PER_USD);

const BUILT_IN: Record<string, MediaPrices> = {
  'dall-e-3': {
    outputPerImage: { 'standard/1024x1024': pico(0.04), 'standard/1024x1792': pico(0.08), 'standard/1792x1024': pico(0.08), 'hd/1024x1024': pico(0.08), 'hd/1024x1792': pico(0.12), 'hd/1792x1024': pico(0.12), '*': pico(0.12) },
  },
  'dall-e-2': { outputPerImage: { 'standard/256x256': pico(0.016), 'standard/512x512': pico(0.018), 'standard/1024x1024': pico(0.02), '*': pico(0.02) } },
  'whisper-1': { inputPerSecond: pico(0.0001) },
  'gpt-4o-transcribe': { inputPerSecond: pico(0.0001) },
  'gpt-4o-mini-transcribe': { inputPerSecond: pico(0.00005) },
  'tts-1': { inputPerCharacter: pico(0.000015) },
  'tts-1-hd': { inputPerCharacter: pico(0.00003) },
  'rerank-v3.5': { inputPerQuery: pico(0.002) },
  'rerank-english-v3.0': { inputPerQuery: pico(0.002) },
  'rerank-multilingual-v3.0': { inputPerQuery: pico(0.002) },
  'imagen-3.0-generate-001': { outputPerImage: { '*': pico(0.04) } },
  'imagen-3.0-generate-002': { outputPerImage: { '*': pico(0.04) } },
  'imagen-3.0-fast-generate-001': { outputPerImage: { '*': pico(0.02) } },
  'imagen-4.0-generate-001': { outputPerImage: { '*': pico(0.04) } },
  'imagen-4.0-generate-preview-06-06': { outputPerImage: { '*': pico(0.04) } },
  'imagen-4.0-fast-generate-001': { outputPerImage: { '*': pico(0.02) } },
  'imagen-4.0-fast-generate-preview-06-06': { outputPerImage: { '*': pico(0.02) } },
  'imagen-4.0-ultra-generate-001': { outputPerImage: { '*': pico(0.06) } },
  'imagen-4.0-ultra-generate-preview-06-06': { outputPerImage: { '*': pico(0.06) } },
  'imagegeneration@006': { outputPerImage: { '*': pico(0.02) } },
  'omni-moderation-latest': { inputPerCharacter: 0 },
  'omni-moderation': { inputPerCharacter: 0 },
  'text-moderation-latest': { inputPerCharacter: 0 },
  'text-moderation-stable': { inputPerCharacter: 0 },
};

/** Free models: every unit costs nothing. */
const FREE: MediaPrices = { outputPerImage: { '*': 0 }, inputPerImage: 0, inputPerSecond: 0, outputPerSecond: 0, inputPerCharacter: 0, inputPerQuery: 0, perWebSearch: 0, perGroundedPrompt: 0, perFileSearch: 0 };

/**
 * Server-side tools the providers bill per use, beside the tokens (the units are read from the
 * answer: anthropic/usage.ts, gemini/native.ts, shared/openai-native.ts). Prices by provider, in USD:
 * - Anthropic web search: $10 per 1,000 searches, counted in `usage.server_tool_use.web_search_requests`
 *   (https://docs.anthropic.com/en/docs/build-with-claude/tool-use/web-search-tool, "Usage and pricing";
 *   https://docs.claude.com/en/docs/about-claude/pricing).
 * - Gemini grounding with Google Search: $35 per 1,000 grounded prompts on Gemini 2.x, the Gemini API and
 *   Vertex AI alike (https://ai.google.dev/gemini-api/docs/pricing; the daily free allowance belongs to the
 *   Google project, not to a key, so every grounded prompt is charged). Gemini 3 (and later) bills $14 per 1,000 search
 *   queries instead (distinct non-empty `groundingMetadata.webSearchQueries`, counted as webSearches).
 * - OpenAI Responses tools (https://platform.openai.com/docs/pricing, "Built-in tools"): web search $10 per
 *   1,000 calls, $25 per 1,000 on the non-reasoning gpt-4o / gpt-4.1 models (web_search_preview); file search
 *   $2.50 per 1,000 calls.
 * `model_info.search_context_cost_per_query` (USD per search or grounded prompt; LiteLLM's object by context
 * size is taken at its dearest size) and `file_search_cost_per_1k_calls` override them.
 */
function serverToolPrices(provider: string | undefined, model: string): MediaPrices {
  const name = model.toLowerCase().replace(/^.*\//, '');
  switch (provider) {
    case 'anthropic':
      return { perWebSearch: pico(0.01) };
    case 'gemini':
    case 'vertex_ai':
      // Gemini 3 and later bill each distinct search query the model runs (webSearches), Gemini 2.x each grounded prompt.
      if (/^gemini-(?:[3-9]|\d{2,})/.test(name)) return { perWebSearch: pico(0.014), perGroundedPrompt: 0 };
      return /^gemini/.test(name) ? { perGroundedPrompt: pico(0.035), perWebSearch: 0 } : {};
    case 'openai':
    case 'azure':
      return { perWebSearch: pico(/^(gpt-4o|gpt-4\.1)/.test(name) ? 0.025 : 0.01), perFileSearch: pico(0.0025) };
    case 'perplexity':
      // Deep research: $5 per 1,000 search queries it reports running (num_search_queries).
      if (SONAR_PER_QUERY.test(name)) return { perWebSearch: pico(0.005) };
      // The request fee of a Sonar call, at its dearest search context size (high): $12 per 1,000 on
      // sonar and sonar-reasoning, $14 on sonar-pro and sonar-reasoning-pro (docs.perplexity.ai, pricing).
      if (!SONAR_REQUEST_FEE.test(name)) return {};
      return { perWebSearch: pico(/-pro$/.test(name) ? 0.014 : 0.012) };
    default:
      return {};
  }
}

/**
 * OpenAI's search models on Chat Completions (gpt-4o-search-preview, gpt-4o-mini-search-preview,
 * gpt-5-search-api) search the web for every call ("the model always retrieves information from the
 * web before responding": https://platform.openai.com/docs/guides/tools-web-search, Chat
 * Completions), billed per search beside the tokens (perWebSearch above, or
 * search_context_cost_per_query). By the model's name or model_info.base_model.
 */
const SEARCH_MODEL = /(?:^|\/)gpt-[\w.-]+?-search-(?:preview|api)(?:-\d{4}-\d{2}-\d{2})?$/i;

/**
 * Perplexity's Sonar models bill a fee per request beside the tokens, by the search context size
 * (`web_search_options.search_context_size`, low by default): every call searches. Deep research is
 * billed per search query it reports instead (SONAR_PER_QUERY: `usage.num_search_queries`, $5 per
 * 1,000 on Perplexity's pricing page, https://docs.perplexity.ai/getting-started/pricing), beside its
 * citation and reasoning tokens (pricing.ts).
 */
const SONAR_REQUEST_FEE = /^sonar(?:-pro|-reasoning|-reasoning-pro)?$/;
const SONAR_PER_QUERY = /^sonar-deep-research$/;

/**
 * Whether a chat call to the deployment is billed per search query its answer reports running
 * (Perplexity's `usage.num_search_queries`): Perplexity's sonar-deep-research, by the model's name
 * or model_info.base_model. Settlement bills that many web searches; the reservation holds
 * MAX_RESEARCH_SEARCHES of them (max-cost.ts).
 */
export function billsReportedSearches(deployment: { provider?: string; upstreamModel: string; modelInfo: ModelInfo }): boolean {
  if (deployment.provider !== 'perplexity') return false;
  return SONAR_PER_QUERY.test((deployment.modelInfo.base_model || deployment.upstreamModel).toLowerCase().replace(/^.*\//, ''));
}

/** Web searches one chat call to the deployment runs by itself: 1 for OpenAI's search models and Perplexity's Sonar models, else 0. */
export function chatSearchesPerCall(deployment: { provider?: string; upstreamModel: string; modelInfo: ModelInfo }): number {
  const base = deployment.modelInfo.base_model;
  if (deployment.provider === 'perplexity' && SONAR_REQUEST_FEE.test((base || deployment.upstreamModel).toLowerCase().replace(/^.*\//, ''))) return 1;
  return SEARCH_MODEL.test(deployment.upstreamModel) || (typeof base === 'string' && SEARCH_MODEL.test(base)) ? 1 : 0;
}

/** `search_context_cost_per_query` in USD: a number, or the dearest size of LiteLLM's object. */
function perSearchOverride(value: ModelInfo['search_context_cost_per_query']): number | undefined {
  if (typeof value === 'number') return value;
  if (typeof value !== 'object' || value === null) return undefined;
  const sizes = Object.values(value).filter((size): size is number => typeof size === 'number' && Number.isFinite(size));
  return sizes.length > 0 ? Math.max(...sizes) : undefined;
}

function builtIn(model: string): MediaPrices | undefined {
  const name = model.toLowerCase().replace(/^.*\//, '');
  const undated = name.replace(/-\d{4}-\d{2}-\d{2}$/, '');
  for (const candidate of [name, undated]) if (Object.hasOwn(BUILT_IN, candidate)) return BUILT_IN[candidate];
  if (/^(omni|text)-moderation/.test(undated)) return FREE;
  return undefined;
}

/**
 * The media prices of a deployment: `model_info` overrides win per unit, then the built-in list (of
 * `model_info.base_model`, else the upstream model) and the `provider`'s server-tool prices (of the
 * same model); local providers are free.
 */
export function resolveMediaPrices(upstreamModel: string, modelInfo: ModelInfo, free: boolean, provider?: string): MediaPrices | undefined {
  if (free) return FREE;
  // model_info.base_model names the priced model behind a deployment name (an Azure deployment
  // `prod-dalle` running dall-e-3), as for token prices (pricing.ts resolvePrices): without it such
  // a deployment's images, speech and audio would be unpriced, reserved and charged as nothing, and
  // a gpt-4o named `prod-4o` charged $0.010 a web search instead of gpt-4o's $0.025.
  const tools = serverToolPrices(provider, modelInfo.base_model || upstreamModel);
  const listed = (modelInfo.base_model ? builtIn(modelInfo.base_model) : undefined) ?? builtIn(upstreamModel);
  const base = listed || Object.keys(tools).length > 0 ? { ...tools, ...listed } : undefined;
  const overrides: MediaPrices = {};
  if (modelInfo.output_cost_per_image !== undefined) overrides.outputPerImage = { '*': pico(modelInfo.output_cost_per_image) };
  if (modelInfo.input_cost_per_image !== undefined) overrides.inputPerImage = pico(modelInfo.input_cost_per_image);
  if (modelInfo.input_cost_per_second !== undefined) overrides.inputPerSecond = pico(modelInfo.input_cost_per_second);
  if (modelInfo.output_cost_per_second !== undefined) overrides.outputPerSecond = pico(modelInfo.output_cost_per_second);
  if (modelInfo.input_cost_per_character !== undefined) overrides.inputPerCharacter = pico(modelInfo.input_cost_per_character);
  if (modelInfo.input_cost_per_query !== undefined) overrides.inputPerQuery = pico(modelInfo.input_cost_per_query);
  const perSearch = perSearchOverride(modelInfo.search_context_cost_per_query);
  // The override prices the unit the provider bills (a Gemini 2.x prompt, a Gemini 3 query), not both.
  if (perSearch !== undefined) {
    overrides.perWebSearch = tools.perWebSearch === 0 ? 0 : pico(perSearch);
    overrides.perGroundedPrompt = tools.perGroundedPrompt === 0 ? 0 : pico(perSearch);
  }
  if (modelInfo.file_search_cost_per_1k_calls !== undefined) overrides.perFileSearch = pico(modelInfo.file_search_cost_per_1k_calls / 1000);
  if (!base && Object.keys(overrides).length === 0) return undefined;
  return { ...base, ...overrides };
}

/** The price of one generated image of `variant` (`<quality>/<size>`), or undefined when not priced. */
export function imagePrice(prices: MediaPrices, variant: string | undefined): number | undefined {
  const table = prices.outputPerImage;
  if (!table) return undefined;
  return (variant !== undefined && Object.hasOwn(table, variant) ? table[variant] : undefined) ?? table['*'];
}
