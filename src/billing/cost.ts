import type { Deployment, MediaUnits, TokenPrices, Usage } from '../providers/types.js';
import { imagePrice } from './media-pricing.js';

const PICO_PER_MICRO = 1_000_000;

/**
 * The rates a call with `promptTokens` prompt tokens is billed at: a long-context tier's when the
 * prompt is above its threshold (the whole call, as Google and Anthropic bill it), else the base ones.
 */
export function tierPrices(prices: TokenPrices, promptTokens: number): TokenPrices {
  const tier = prices.longContext;
  if (!tier || !(promptTokens > tier.aboveTokens)) return prices;
  const { aboveTokens: _above, ...rates } = tier;
  const defined = Object.fromEntries(Object.entries(rates).filter(([, value]) => value !== undefined)) as Partial<TokenPrices>;
  const { longContext: _tier, ...base } = prices;
  return { ...base, ...defined };
}

/**
 * OpenAI's priority tier costs more than its standard one (gpt-5 $2.50 / $20 per 1M beside $1.25 /
 * $10; gpt-4o $4.25 / $17 beside $2.50 / $10): a model's priority rates where known, else twice every
 * standard rate — the largest multiple OpenAI lists for priority processing, so an answer served at
 * priority is never billed below what it cost.
 */
const PRIORITY_MULTIPLE = 2;

/** The rates an answer served at `serviceTier` is billed at (standard prices unless the answer says priority). */
export function serviceTierPrices(prices: TokenPrices, serviceTier: Usage['serviceTier']): TokenPrices {
  if (serviceTier !== 'priority') return prices;
  const { priority, ...standard } = prices;
  if (!priority) return scaledPrices(standard, PRIORITY_MULTIPLE);
  // Long-context, cache-write and per-modality rates have no listed priority figure: they take the
  // model's priority input multiple; the cache read rate its listed one, else that multiple too.
  const scaled = scaledPrices(standard, priority.inputPerToken / Math.max(1, standard.inputPerToken));
  scaled.inputPerToken = priority.inputPerToken;
  scaled.outputPerToken = priority.outputPerToken;
  if (priority.cacheReadPerToken !== undefined) scaled.cacheReadPerToken = priority.cacheReadPerToken;
  return scaled;
}

/**
 * Anthropic's US-only inference (`usage.inference_geo: "us"`, data residency on Claude Opus 4.6 and
 * later models, asked for per request or by the workspace's default) is billed at 1.1× every token
 * rate (platform.claude.com/docs, "Data residency"); the multiple stacks with the others.
 */
const US_INFERENCE_MULTIPLE = 1.1;

/** The rates an answer that ran where `inferenceGeo` says is billed at (unchanged unless US-only). */
export function inferenceGeoPrices(prices: TokenPrices, inferenceGeo: Usage['inferenceGeo']): TokenPrices {
  return inferenceGeo === 'us' ? scaledPrices(prices, US_INFERENCE_MULTIPLE) : prices;
}

function scaledPrices(prices: TokenPrices, multiple: number): TokenPrices {
  const factor = Math.max(1, multiple);
  const scale = (value: number | undefined) => (value === undefined ? undefined : Math.round(value * factor));
  const scaled = Object.fromEntries(Object.entries(prices).map(([key, value]) => [key, typeof value === 'number' ? scale(value) : value])) as unknown as TokenPrices;
  if (prices.longContext) {
    scaled.longContext = Object.fromEntries(Object.entries(prices.longContext).map(([key, value]) => [key, key === 'aboveTokens' ? value : scale(value as number | undefined)])) as unknown as NonNullable<TokenPrices['longContext']>;
  }
  return scaled;
}

/**
 * Cost of one call in integer micro-dollars, or undefined when it cannot be known (no prices, or
 * the token counts are unknown). Cached, cache-creation, image-input and audio-input tokens are
 * subsets of promptTokens (image and audio input of its uncached part), and 1-hour cache writes a subset of cache-creation tokens; each is billed at its own
 * rate when the deployment has one (a 1-hour write else at the cache write rate), else at the input
 * rate. Image output tokens are a subset of completionTokens, billed at the image output rate when
 * the deployment has one, the rest of the completion at the output rate. A prompt above the long-context threshold bills the whole call at that tier's rates.
 * An answer served at OpenAI's priority tier (`usage.serviceTier`) is billed at the priority rates,
 * one Anthropic ran US-only (`usage.inferenceGeo`) at 1.1× its rates.
 * Perplexity's citation tokens and the reasoning tokens it reports beside the completion
 * (`usage.citationTokens`, `usage.researchReasoningTokens`) are neither prompt nor completion: each is
 * billed in addition, at its own rate (TokenPrices.citationPerToken, researchReasoningPerToken), and
 * not at all where the deployment has no such rate.
 */
export function costMicros(usage: Usage | undefined, basePrices: TokenPrices | undefined): number | undefined {
  if (!basePrices || !usage) return undefined;
  if (usage.promptTokens === undefined && usage.completionTokens === undefined) return undefined;
  const prompt = usage.promptTokens ?? 0;
  const completion = usage.completionTokens ?? 0;
  const prices = tierPrices(inferenceGeoPrices(serviceTierPrices(basePrices, usage.serviceTier), usage.inferenceGeo), prompt);
  const cached = Math.min(usage.cachedTokens ?? 0, prompt);
  const creation = Math.min(usage.cacheCreationTokens ?? 0, prompt - cached);
  const creation1h = Math.min(usage.cacheCreation1hTokens ?? 0, creation);
  const image = Math.min(usage.imageInputTokens ?? 0, prompt - cached - creation);
  const audio = Math.min(usage.audioInputTokens ?? 0, prompt - cached - creation - image);
  const uncached = prompt - cached - creation - image - audio;
  const imageOutput = Math.min(usage.imageOutputTokens ?? 0, completion);
  const cacheWrite = prices.cacheWritePerToken ?? prices.inputPerToken;
  const pico =
    uncached * prices.inputPerToken +
    cached * (prices.cacheReadPerToken ?? prices.inputPerToken) +
    (creation - creation1h) * cacheWrite +
    creation1h * (prices.cacheWrite1hPerToken ?? cacheWrite) +
    image * (prices.imageInputPerToken ?? prices.inputPerToken) +
    audio * (prices.audioInputPerToken ?? prices.inputPerToken) +
    (completion - imageOutput) * prices.outputPerToken +
    imageOutput * (prices.imageOutputPerToken ?? prices.outputPerToken) +
    (usage.citationTokens ?? 0) * (prices.citationPerToken ?? 0) +
    (usage.researchReasoningTokens ?? 0) * (prices.researchReasoningPerToken ?? 0);
  // Round half up to the micro-dollar; pico values stay well inside 2^53 for any real request. A
  // call that cost anything costs at least 1 µ$: rounded to 0, a short call on a cheap model (4
  // tokens at $0.10 per million) would be free, however often it is made.
  return pico > 0 ? Math.max(1, Math.floor((pico + PICO_PER_MICRO / 2) / PICO_PER_MICRO)) : 0;
}

/**
 * Pico-dollars of a call's media units, or undefined when one of them has no price. Image, audio,
 * character and search counts are small integers and prices integer pico-dollars: exact.
 */
export function mediaCostPico(units: MediaUnits, deployment: Pick<Deployment, 'mediaPrices'>): number | undefined {
  const prices = deployment.mediaPrices;
  let pico = 0;
  const add = (count: number | undefined, price: number | undefined): boolean => {
    if (!count) return true;
    if (price === undefined) return false;
    pico += count * price;
    return true;
  };
  if (!prices) return Object.values(units).some((value) => typeof value === 'number' && value > 0) ? undefined : 0;
  const priced =
    add(units.images, imagePrice(prices, units.imageVariant)) &&
    add(units.inputImages, prices.inputPerImage) &&
    add(units.inputSeconds, prices.inputPerSecond) &&
    add(units.outputSeconds, prices.outputPerSecond) &&
    add(units.inputCharacters, prices.inputPerCharacter) &&
    add(units.queries, prices.inputPerQuery) &&
    add(units.webSearches, prices.perWebSearch) &&
    add(units.groundedPrompts, prices.perGroundedPrompt) &&
    add(units.fileSearches, prices.perFileSearch);
  return priced ? pico : undefined;
}

/**
 * Cost of a call in micro-dollars: its tokens at the token prices, plus its media units at the
 * media prices; undefined when any billed part has no price, or nothing is known.
 */
/** Providers that sell a priority tier billed above standard (OpenAI's priority processing, on OpenAI and Azure). */
const PRIORITY_PROVIDERS = new Set(['openai', 'azure']);

/** Whether an answer of this deployment that says "priority" is billed at priority rates (see withBillableTier). */
export function billsPriority(deployment: { provider?: string; prices?: Deployment['prices'] }): boolean {
  return deployment.provider === undefined || PRIORITY_PROVIDERS.has(deployment.provider) || deployment.prices?.priority !== undefined;
}

/**
 * The usage with its `serviceTier` only where it can be true: an answer from a provider without a
 * priority tier (a self-hosted OpenAI-compatible server, another vendor) that says "priority" is
 * billed at standard rates — a lying upstream cannot double a call's price.
 */
function withBillableTier(usage: Usage, deployment: { provider?: string; prices?: Deployment['prices'] }): Usage {
  if (usage.serviceTier === undefined || billsPriority(deployment)) return usage;
  const { serviceTier: _ignored, ...standard } = usage;
  return standard;
}

export function callCostMicros(given: Usage | undefined, deployment: Pick<Deployment, 'prices' | 'mediaPrices'> & { provider?: string }): number | undefined {
  if (!given) return undefined;
  const usage = withBillableTier(given, deployment);
  const units = usage.units;
  if (!units) return costMicros(usage, deployment.prices);
  const media = mediaCostPico(units, deployment);
  if (media === undefined) return undefined;
  const hasTokens = (usage.promptTokens ?? 0) > 0 || (usage.completionTokens ?? 0) > 0 || (usage.citationTokens ?? 0) > 0 || (usage.researchReasoningTokens ?? 0) > 0;
  const tokens = hasTokens ? costMicros(usage, deployment.prices) : 0;
  if (tokens === undefined) return undefined;
  return tokens + Math.floor((media + PICO_PER_MICRO / 2) / PICO_PER_MICRO);
}

/** Micro-dollars as a USD decimal string without float noise (1234 -> "0.001234"). */
export function formatUsd(micros: number): string {
  const negative = micros < 0;
  const absolute = Math.abs(micros);
  const whole = Math.floor(absolute / 1_000_000);
  const fraction = String(absolute % 1_000_000).padStart(6, '0').replace(/0+$/, '');
  return `${negative ? '-' : ''}${whole}${fraction ? `.${fraction}` : ''}`;
}

/** The default upstream timeout (config/deployments.ts DEFAULT_TIMEOUT_SECONDS), for a deployment without one. */
const DEFAULT_ATTEMPT_MS = 600_000;

/**
 * Micro-dollars of an attempt of `durationMs` (from sending the upstream request to the end of its
 * answer) on a deployment priced per second (Deployment.perSecondPico), rounded up; undefined on
 * other deployments.
 */
export function durationCostMicros(deployment: Pick<Deployment, 'perSecondPico'>, durationMs: number): number | undefined {
  if (deployment.perSecondPico === undefined) return undefined;
  return Math.ceil((Math.max(0, durationMs) * deployment.perSecondPico) / 1000 / PICO_PER_MICRO);
}

/**
 * The longest an attempt on the deployment can run before the gateway cuts it: its whole-request
 * timeout, or its stream's maximum duration when longer (a stream is cut at max_stream_duration).
 */
export function attemptDurationBoundMs(deployment: Pick<Deployment, 'timeoutMs' | 'maxStreamDurationMs'>): number {
  return Math.max(deployment.timeoutMs ?? DEFAULT_ATTEMPT_MS, deployment.maxStreamDurationMs ?? 0);
}

/** Pico-dollars the longest attempt on a per-second deployment costs (0 on other deployments). */
export function durationBoundPico(deployment: Pick<Deployment, 'perSecondPico' | 'timeoutMs' | 'maxStreamDurationMs'>): number {
  return deployment.perSecondPico === undefined ? 0 : Math.ceil((attemptDurationBoundMs(deployment) * deployment.perSecondPico) / 1000);
}
