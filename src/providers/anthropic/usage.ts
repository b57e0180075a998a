/**
 * Anthropic usage to the canonical and OpenAI shapes. Anthropic's `input_tokens` excludes cached
 * tokens (the API reference: total input = input_tokens + cache_creation_input_tokens +
 * cache_read_input_tokens), while OpenAI's prompt_tokens includes them, so the three are summed.
 * `cache_creation` splits the writes by lifetime: 1-hour writes (`ttl: "1h"`) are billed at 2× the
 * input price, 5-minute ones at 1.25× (https://platform.claude.com/docs/en/about-claude/pricing), so
 * the 1-hour part is kept (Usage.cacheCreation1hTokens). `inference_geo: "us"` (US-only inference,
 * Opus 4.6 and later) bills every token at 1.1× (Usage.inferenceGeo).
 */
import type { OpenAIUsage, Usage } from '../types.js';
import type { AnthropicUsage } from './wire.js';

const count = (value: unknown): number | undefined => (typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined);

export function usageFromAnthropic(raw: AnthropicUsage): Usage {
  const input = count(raw.input_tokens);
  const cacheRead = count(raw.cache_read_input_tokens);
  const write5m = count(raw.cache_creation?.ephemeral_5m_input_tokens);
  const write1h = count(raw.cache_creation?.ephemeral_1h_input_tokens);
  // The writes are never fewer than their parts: a total below the breakdown's sum bills the sum.
  const reportedCreation = count(raw.cache_creation_input_tokens);
  const parts = write5m === undefined && write1h === undefined ? undefined : (write5m ?? 0) + (write1h ?? 0);
  const cacheCreation = parts !== undefined && (reportedCreation === undefined || reportedCreation < parts) ? parts : reportedCreation;
  const output = count(raw.output_tokens);
  const promptTokens = input === undefined && cacheRead === undefined && cacheCreation === undefined ? undefined : (input ?? 0) + (cacheRead ?? 0) + (cacheCreation ?? 0);
  const usage: Usage = {
    promptTokens,
    completionTokens: output,
    totalTokens: promptTokens === undefined && output === undefined ? undefined : (promptTokens ?? 0) + (output ?? 0),
  };
  if (cacheRead !== undefined) usage.cachedTokens = cacheRead;
  if (cacheCreation !== undefined) usage.cacheCreationTokens = cacheCreation;
  if (write1h !== undefined && write1h > 0) usage.cacheCreation1hTokens = write1h;
  const thinking = count(raw.output_tokens_details?.thinking_tokens);
  if (thinking !== undefined) usage.reasoningTokens = thinking;
  // Web searches are billed per search beside the tokens ($10 per 1,000: billing/media-pricing.ts).
  const searches = count(raw.server_tool_use?.web_search_requests);
  if (searches) usage.units = { webSearches: Math.ceil(searches) };
  // US-only inference (asked for by the request or the workspace's default) costs 1.1× every token.
  if (raw.inference_geo === 'us') usage.inferenceGeo = 'us';
  return usage;
}

/** The usage a Messages answer reports (`usage`), however odd the rest of it; undefined when it has none. */
export function usageOfAnthropicAnswer(body: unknown): Usage | undefined {
  const usage = typeof body === 'object' && body !== null ? (body as { usage?: unknown }).usage : undefined;
  return typeof usage === 'object' && usage !== null ? usageFromAnthropic(usage as AnthropicUsage) : undefined;
}

/** `us` when a Messages answer says it ran US-only (`usage.inference_geo`), billed at 1.1× (billing/cost.ts). */
export function inferenceGeoOfAnthropicAnswer(body: unknown): Usage['inferenceGeo'] {
  const usage = typeof body === 'object' && body !== null ? (body as { usage?: unknown }).usage : undefined;
  return typeof usage === 'object' && usage !== null && (usage as AnthropicUsage).inference_geo === 'us' ? 'us' : undefined;
}

/** The OpenAI usage object, with LiteLLM's `cache_creation_input_tokens` extra field. */
export function openAIUsageFromAnthropic(raw: AnthropicUsage): OpenAIUsage {
  const usage = usageFromAnthropic(raw);
  const prompt = usage.promptTokens ?? 0;
  const completion = usage.completionTokens ?? 0;
  const result: OpenAIUsage = { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
  if (usage.cachedTokens !== undefined) result.prompt_tokens_details = { cached_tokens: usage.cachedTokens };
  if (usage.cacheCreationTokens !== undefined) result.cache_creation_input_tokens = usage.cacheCreationTokens;
  // LiteLLM's shape of the split by lifetime: prompt_tokens_details.cache_creation_token_details.
  if (usage.cacheCreation1hTokens !== undefined) result.prompt_tokens_details = { ...result.prompt_tokens_details, cache_creation_tokens: usage.cacheCreationTokens, cache_creation_token_details: cacheCreationDetails(usage) };
  if (usage.reasoningTokens !== undefined) result.completion_tokens_details = { reasoning_tokens: usage.reasoningTokens };
  return result;
}

const INPUT_FIELDS = ['input_tokens', 'cache_creation_input_tokens', 'cache_read_input_tokens'] as const;

/**
 * Folds a message_delta's usage into message_start's (or a repeated message_start's into the
 * first). message_delta counts are cumulative; older API versions send only `output_tokens` there
 * (null or absent input fields keep the start values). The input side of a message is read once, so
 * a later report never lowers it: Anthropic-compatible servers have sent `input_tokens: 0` in
 * message_delta (SGLang), which replaced a whole prompt with nothing. A later report whose input
 * counts add up to the same or more (Anthropic's own repeat, a server that sent 0 at message_start,
 * a different split of the same total between fresh and cached input) is taken as it is.
 */
export function mergeAnthropicUsage(start: AnthropicUsage, delta: AnthropicUsage): AnthropicUsage {
  const later: AnthropicUsage = { ...start };
  for (const key of INPUT_FIELDS) {
    const value = count(delta[key]);
    if (value !== undefined) later[key] = value;
  }
  if (delta.cache_creation && typeof delta.cache_creation === 'object') {
    const split = { ...(start.cache_creation ?? {}) };
    for (const key of ['ephemeral_5m_input_tokens', 'ephemeral_1h_input_tokens'] as const) {
      const value = count(delta.cache_creation[key]);
      if (value !== undefined) split[key] = value;
    }
    later.cache_creation = split;
  }
  const merged = inputSide(later) < inputSide(start) ? { ...start } : later;
  const output = count(delta.output_tokens);
  if (output !== undefined) merged.output_tokens = output;
  if (delta.output_tokens_details) merged.output_tokens_details = delta.output_tokens_details;
  if (delta.server_tool_use) merged.server_tool_use = delta.server_tool_use;
  if (typeof delta.inference_geo === 'string') merged.inference_geo = delta.inference_geo;
  return merged;
}

/** The input tokens a usage object reports in all (fresh, cache writes, cache reads), as usageFromAnthropic bills them. */
function inputSide(usage: AnthropicUsage): number {
  return usageFromAnthropic(usage).promptTokens ?? 0;
}

/** The cache writes by lifetime, as Anthropic and LiteLLM report them. */
export function cacheCreationDetails(usage: Usage): { ephemeral_5m_input_tokens: number; ephemeral_1h_input_tokens: number } {
  const oneHour = usage.cacheCreation1hTokens ?? 0;
  return { ephemeral_5m_input_tokens: Math.max(0, (usage.cacheCreationTokens ?? oneHour) - oneHour), ephemeral_1h_input_tokens: oneHour };
}
