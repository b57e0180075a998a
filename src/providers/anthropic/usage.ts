/**
 * Anthropic usage to the canonical and OpenAI shapes. Anthropic's `input_tokens` excludes cached
 * tokens (the API reference: total input = input_tokens + cache_creation_input_tokens +
 * cache_read_input_tokens), while OpenAI's prompt_tokens includes them, so the three are summed.
 */
import type { OpenAIUsage, Usage } from '../types.js';
import type { AnthropicUsage } from './wire.js';

const count = (value: unknown): number | undefined => (typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined);

export function usageFromAnthropic(raw: AnthropicUsage): Usage {
  const input = count(raw.input_tokens);
  const cacheRead = count(raw.cache_read_input_tokens);
  const cacheCreation = count(raw.cache_creation_input_tokens);
  const output = count(raw.output_tokens);
  const promptTokens = input === undefined && cacheRead === undefined && cacheCreation === undefined ? undefined : (input ?? 0) + (cacheRead ?? 0) + (cacheCreation ?? 0);
  const usage: Usage = {
    promptTokens,
    completionTokens: output,
    totalTokens: promptTokens === undefined && output === undefined ? undefined : (promptTokens ?? 0) + (output ?? 0),
  };
  if (cacheRead !== undefined) usage.cachedTokens = cacheRead;
  if (cacheCreation !== undefined) usage.cacheCreationTokens = cacheCreation;
  const thinking = count(raw.output_tokens_details?.thinking_tokens);
  if (thinking !== undefined) usage.reasoningTokens = thinking;
  return usage;
}

/** The OpenAI usage object, with LiteLLM's `cache_creation_input_tokens` extra field. */
export function openAIUsageFromAnthropic(raw: AnthropicUsage): OpenAIUsage {
  const usage = usageFromAnthropic(raw);
  const prompt = usage.promptTokens ?? 0;
  const completion = usage.completionTokens ?? 0;
  const result: OpenAIUsage = { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
  if (usage.cachedTokens !== undefined) result.prompt_tokens_details = { cached_tokens: usage.cachedTokens };
  if (usage.cacheCreationTokens !== undefined) result.cache_creation_input_tokens = usage.cacheCreationTokens;
  if (usage.reasoningTokens !== undefined) result.completion_tokens_details = { reasoning_tokens: usage.reasoningTokens };
  return result;
}

/**
 * Folds a message_delta's usage into message_start's. message_delta counts are cumulative; older
 * API versions send only `output_tokens` there (null or absent input fields keep the start values).
 */
export function mergeAnthropicUsage(start: AnthropicUsage, delta: AnthropicUsage): AnthropicUsage {
  const merged: AnthropicUsage = { ...start };
  for (const key of ['input_tokens', 'output_tokens', 'cache_creation_input_tokens', 'cache_read_input_tokens'] as const) {
    const value = count(delta[key]);
    if (value !== undefined) merged[key] = value;
  }
  if (delta.output_tokens_details) merged.output_tokens_details = delta.output_tokens_details;
  return merged;
}
