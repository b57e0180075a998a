import type { OpenAIUsage, Usage } from '../types.js';

/**
 * Fields of an OpenAI-format message or delta whose text the provider bills as output beside its
 * `content`: reasoning (DeepSeek's and the native adapters' `reasoning_content`, OpenRouter's and
 * Groq's `reasoning`) and refusals. One list for every local count of output (the chat route's
 * streamed answer, the /openai/v1 relay).
 */
export const BILLED_BESIDE_CONTENT = ['reasoning_content', 'reasoning', 'refusal'] as const;

const count = (value: unknown): number | undefined => (typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined);

/**
 * Normalizes an OpenAI-format `usage` object; absent fields stay undefined (unknown, not zero).
 * `serviceTier` is the answer's (or chunk's) `service_tier`: OpenAI states there the tier that
 * served the call, which may differ from the one asked for ("auto" and no field take the project's
 * default, which may be priority); a priority answer is billed at the priority rates.
 */
export function usageFromOpenAI(raw: unknown, serviceTier?: unknown): Usage | undefined {
  if (typeof raw !== 'object' || raw === null) return undefined;
  const result = openAIUsage(raw);
  if (serviceTier === 'priority') result.serviceTier = 'priority';
  return result;
}

/** The `service_tier` an OpenAI answer or chunk states, read without trusting its shape. */
export function serviceTierOf(answer: unknown): unknown {
  return typeof answer === 'object' && answer !== null ? (answer as { service_tier?: unknown }).service_tier : undefined;
}

function openAIUsage(raw: object): Usage {
  const usage = raw as Partial<OpenAIUsage> & { prompt_cache_hit_tokens?: number };
  const promptTokens = count(usage.prompt_tokens);
  const completionTokens = count(usage.completion_tokens);
  const totalTokens = count(usage.total_tokens) ?? (promptTokens !== undefined || completionTokens !== undefined ? (promptTokens ?? 0) + (completionTokens ?? 0) : undefined);
  const details = usage.prompt_tokens_details;
  const completionDetails = usage.completion_tokens_details;
  const result: Usage = { promptTokens, completionTokens, totalTokens };
  // DeepSeek reports cache hits as prompt_cache_hit_tokens.
  const cached = count(details?.cached_tokens) ?? count(usage.prompt_cache_hit_tokens);
  if (cached !== undefined) result.cachedTokens = cached;
  // Anthropic-style cache writes, as LiteLLM reports them in OpenAI usage objects.
  const creation = count((usage as { cache_creation_input_tokens?: unknown }).cache_creation_input_tokens) ?? count((details as { cache_creation_tokens?: unknown } | null | undefined)?.cache_creation_tokens);
  if (creation !== undefined) result.cacheCreationTokens = creation;
  // LiteLLM's split of Anthropic cache writes by lifetime (1-hour writes cost more).
  const creationDetails = (details as { cache_creation_token_details?: { ephemeral_1h_input_tokens?: unknown } | null } | null | undefined)?.cache_creation_token_details;
  const oneHour = count(creationDetails?.ephemeral_1h_input_tokens);
  if (oneHour !== undefined && oneHour > 0) {
    result.cacheCreation1hTokens = oneHour;
    if ((result.cacheCreationTokens ?? 0) < oneHour) result.cacheCreationTokens = oneHour;
  }
  // Audio input (OpenAI's audio models; Gemini's AUDIO modality as usageToOpenAI writes it), billed at its own rate.
  const audio = count((details as { audio_tokens?: unknown } | null | undefined)?.audio_tokens);
  if (audio !== undefined && audio > 0) result.audioInputTokens = audio;
  const reasoning = count(completionDetails?.reasoning_tokens);
  if (reasoning !== undefined) result.reasoningTokens = reasoning;
  // Generated images (Gemini's IMAGE modality as usageToOpenAI and LiteLLM write it), billed at their own rate.
  const imageOutput = count((completionDetails as { image_tokens?: unknown } | null | undefined)?.image_tokens);
  if (imageOutput !== undefined && imageOutput > 0) result.imageOutputTokens = imageOutput;
  // Perplexity's research usage, top-level fields beside the counts (its SDK's UsageInfo:
  // `citation_tokens`, `reasoning_tokens`, `num_search_queries`): search results read, reasoning
  // through them (not part of completion_tokens), searches run. Kept apart from the prompt and
  // completion; billed where the deployment prices them (billing/cost.ts, settle.ts).
  const perplexity = raw as { citation_tokens?: unknown; reasoning_tokens?: unknown; num_search_queries?: unknown };
  const citation = count(perplexity.citation_tokens);
  if (citation !== undefined && citation > 0) result.citationTokens = citation;
  const research = count(perplexity.reasoning_tokens);
  if (research !== undefined && research > 0) result.researchReasoningTokens = research;
  const searches = count(perplexity.num_search_queries);
  if (searches !== undefined && searches > 0) result.searchQueries = searches;
  // xAI reports a reasoning model's thinking outside completion_tokens (total = prompt + completion
  // + reasoning) and bills it as output. OpenAI counts it inside completion_tokens (total = prompt +
  // completion), so reasoning above the completion, or a total of exactly prompt + completion +
  // reasoning, means it is outside.
  if (reasoning !== undefined && reasoning > 0 && completionTokens !== undefined) {
    const beside = count(usage.total_tokens) === (promptTokens ?? 0) + completionTokens + reasoning;
    if (beside || reasoning > completionTokens) {
      result.completionTokens = completionTokens + reasoning;
      result.totalTokens = Math.max(result.totalTokens ?? 0, (promptTokens ?? 0) + result.completionTokens);
    }
  }
  return result;
}

/** The canonical usage as the OpenAI `usage` object clients expect. */
export function usageToOpenAI(usage: Usage): OpenAIUsage {
  const prompt = usage.promptTokens ?? 0;
  const completion = usage.completionTokens ?? 0;
  const result: OpenAIUsage = { prompt_tokens: prompt, completion_tokens: completion, total_tokens: usage.totalTokens ?? prompt + completion };
  if (usage.cachedTokens !== undefined) result.prompt_tokens_details = { cached_tokens: usage.cachedTokens };
  if (usage.cacheCreationTokens !== undefined) result.cache_creation_input_tokens = usage.cacheCreationTokens;
  if (usage.cacheCreation1hTokens !== undefined) {
    const oneHour = usage.cacheCreation1hTokens;
    result.prompt_tokens_details = { ...result.prompt_tokens_details, cache_creation_tokens: usage.cacheCreationTokens, cache_creation_token_details: { ephemeral_5m_input_tokens: Math.max(0, (usage.cacheCreationTokens ?? oneHour) - oneHour), ephemeral_1h_input_tokens: oneHour } };
  }
  if (usage.audioInputTokens !== undefined) result.prompt_tokens_details = { ...result.prompt_tokens_details, audio_tokens: usage.audioInputTokens };
  if (usage.reasoningTokens !== undefined) result.completion_tokens_details = { reasoning_tokens: usage.reasoningTokens };
  if (usage.imageOutputTokens !== undefined) result.completion_tokens_details = { ...result.completion_tokens_details, image_tokens: usage.imageOutputTokens };
  return result;
}
