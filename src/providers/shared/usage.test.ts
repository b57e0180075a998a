import { describe, expect, it } from 'vitest';
import { usageFromOpenAI } from './usage.js';

describe("Perplexity's research usage", () => {
  // The official SDK's UsageInfo (perplexityai/perplexity-node, src/resources/shared.ts): the counts,
  // citation_tokens, num_search_queries, reasoning_tokens, search_context_size and a cost breakdown.
  const deepResearch = {
    prompt_tokens: 19,
    completion_tokens: 4781,
    total_tokens: 4800,
    citation_tokens: 11914,
    num_search_queries: 22,
    reasoning_tokens: 136902,
    search_context_size: 'low',
    cost: { input_tokens_cost: 0.000038, output_tokens_cost: 0.038248, citation_tokens_cost: 0.023828, reasoning_tokens_cost: 0.410706, search_queries_cost: 0.11, total_cost: 0.58282 },
  };

  it('reads citation tokens, reasoning tokens and searches beside the counts, which they are not part of', () => {
    expect(usageFromOpenAI(deepResearch)).toEqual({ promptTokens: 19, completionTokens: 4781, totalTokens: 4800, citationTokens: 11914, researchReasoningTokens: 136902, searchQueries: 22 });
    // Absent, zero, null or no count: left out.
    expect(usageFromOpenAI({ prompt_tokens: 10, completion_tokens: 50, total_tokens: 60, search_context_size: 'high', cost: { total_cost: 0.01206 } })).toEqual({ promptTokens: 10, completionTokens: 50, totalTokens: 60 });
    expect(usageFromOpenAI({ prompt_tokens: 1, completion_tokens: 2, citation_tokens: 0, reasoning_tokens: null, num_search_queries: -3 })).toEqual({ promptTokens: 1, completionTokens: 2, totalTokens: 3 });
    expect(usageFromOpenAI({ prompt_tokens: 1, completion_tokens: 2, citation_tokens: '500', num_search_queries: Number.NaN })).toEqual({ promptTokens: 1, completionTokens: 2, totalTokens: 3 });
    // OpenAI-style reasoning stays inside the completion.
    expect(usageFromOpenAI({ prompt_tokens: 5, completion_tokens: 100, total_tokens: 105, completion_tokens_details: { reasoning_tokens: 60 } })).toEqual({ promptTokens: 5, completionTokens: 100, totalTokens: 105, reasoningTokens: 60 });
  });
});
