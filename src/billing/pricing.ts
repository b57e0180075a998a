/**
 * Built-in list prices for common models, in USD per million tokens as the providers publish them.
 * `model_info` (input_cost_per_token, output_cost_per_token, cache_*), or the same keys in
 * `litellm_params`, override these. Prices are held as integer pico-dollars per token so that cost
 * arithmetic stays in integers.
 */
import type { ModelInfo, TokenPrices } from '../providers/types.js';

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
  'gpt-4o-mini': [0.15, 0.6, 0.075],
  'gpt-4-turbo': [10, 30],
  'gpt-4': [30, 60],
  'gpt-3.5-turbo': [0.5, 1.5],
  'gpt-3.5-turbo-instruct': [1.5, 2],
  o1: [15, 60, 7.5],
  'o1-mini': [1.1, 4.4, 0.55],
  o3: [2, 8, 0.5],
  'o3-mini': [1.1, 4.4, 0.55],
  'o4-mini': [1.1, 4.4, 0.275],
  'text-embedding-3-small': [0.02, 0],
  'text-embedding-3-large': [0.13, 0],
  'text-embedding-ada-002': [0.1, 0],
  // Anthropic (cache read, cache write at the 5-minute rate)
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
  // Google Gemini (prompts up to 128k/200k tokens)
  'gemini-2.5-pro': [1.25, 10, 0.31],
  'gemini-2.5-flash': [0.3, 2.5, 0.075],
  'gemini-2.5-flash-lite': [0.1, 0.4, 0.025],
  'gemini-2.0-flash': [0.1, 0.4, 0.025],
  'gemini-2.0-flash-lite': [0.075, 0.3],
  'gemini-1.5-pro': [1.25, 5, 0.3125],
  'gemini-1.5-flash': [0.075, 0.3, 0.01875],
  'gemini-1.5-flash-8b': [0.0375, 0.15, 0.01],
  'text-embedding-004': [0, 0],
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
};

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

function perMillionToPrices([input, output, cacheRead, cacheWrite]: PerMillion): TokenPrices {
  // USD per 1M tokens = 1e6 pico-dollars per token per USD-per-million.
  const pico = (value: number) => Math.round(value * 1e6);
  return {
    inputPerToken: pico(input),
    outputPerToken: pico(output),
    ...(cacheRead !== undefined ? { cacheReadPerToken: pico(cacheRead) } : {}),
    ...(cacheWrite !== undefined ? { cacheWritePerToken: pico(cacheWrite) } : {}),
  };
}

/** Normalizes upstream model names so dated or versioned variants find their family's price. */
function candidates(model: string): string[] {
  const names = new Set<string>();
  let name = model.toLowerCase().replace(/^models\//, '');
  names.add(name);
  const slash = name.lastIndexOf('/');
  if (slash >= 0) {
    name = name.slice(slash + 1);
    names.add(name);
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

export function builtInPrices(upstreamModel: string): TokenPrices | undefined {
  for (const name of candidates(upstreamModel)) {
    // Own properties only: a model named "constructor" has no built-in price.
    const found = Object.hasOwn(BUILT_IN, name) ? BUILT_IN[name] : undefined;
    if (found) return perMillionToPrices(found);
  }
  return undefined;
}

/**
 * The prices a deployment is billed at: explicit config costs win, local providers are free,
 * otherwise the built-in table; undefined when nothing is known (cost is then recorded as unknown).
 */
export function resolvePrices(upstreamModel: string, modelInfo: ModelInfo, params: { input_cost_per_token?: number; output_cost_per_token?: number }, free: boolean): TokenPrices | undefined {
  const input = modelInfo.input_cost_per_token ?? params.input_cost_per_token;
  const output = modelInfo.output_cost_per_token ?? params.output_cost_per_token;
  const builtIn = builtInPrices(upstreamModel);
  if (input !== undefined || output !== undefined) {
    return {
      inputPerToken: usdPerTokenToPico(input ?? 0),
      outputPerToken: usdPerTokenToPico(output ?? 0),
      ...(modelInfo.cache_read_input_token_cost !== undefined ? { cacheReadPerToken: usdPerTokenToPico(modelInfo.cache_read_input_token_cost) } : {}),
      ...(modelInfo.cache_creation_input_token_cost !== undefined ? { cacheWritePerToken: usdPerTokenToPico(modelInfo.cache_creation_input_token_cost) } : {}),
    };
  }
  if (free) return { inputPerToken: 0, outputPerToken: 0 };
  if (builtIn) {
    return {
      ...builtIn,
      ...(modelInfo.cache_read_input_token_cost !== undefined ? { cacheReadPerToken: usdPerTokenToPico(modelInfo.cache_read_input_token_cost) } : {}),
      ...(modelInfo.cache_creation_input_token_cost !== undefined ? { cacheWritePerToken: usdPerTokenToPico(modelInfo.cache_creation_input_token_cost) } : {}),
    };
  }
  return undefined;
}
