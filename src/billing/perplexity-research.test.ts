/**
 * Perplexity's research usage (sonar-deep-research): citation tokens, reasoning tokens beside the
 * completion and search queries, priced (pricing.ts, media-pricing.ts), billed (cost.ts), bounded
 * (usage-bounds.ts) and reserved (max-cost.ts).
 */
import { describe, expect, it } from 'vitest';
import type { Deployment, ModelInfo, Usage } from '../providers/types.js';
import { callCostMicros } from './cost.js';
import { beyondTokensPico, DEFAULT_INPUT_WINDOW, MAX_RESEARCH_SEARCHES, maxCostMicros, RESEARCH_TOKEN_BOUND, type CostInput } from './max-cost.js';
import { billsReportedSearches, chatSearchesPerCall, resolveMediaPrices } from './media-pricing.js';
import { resolvePrices } from './pricing.js';
import { reservationPlan } from './reservation-plan.js';
import { boundUsage, exceedsLimits, usageLimits } from './usage-bounds.js';

const TOKENS = { input_cost_per_token: 0.000002, output_cost_per_token: 0.000008 };

function deployment(upstreamModel: string, modelInfo: ModelInfo = TOKENS, provider = 'perplexity'): Deployment {
  return {
    id: 'd', modelName: 'deep', provider, upstreamModel, apiBase: '', headers: {}, defaultParams: {}, modelInfo, available: true,
    prices: resolvePrices(upstreamModel, modelInfo, {}, false, provider),
    mediaPrices: resolveMediaPrices(upstreamModel, modelInfo, false, provider),
  } as Deployment;
}

/** Perplexity's example deep research usage, as usageFromOpenAI reads it. */
const EXAMPLE: Usage = { promptTokens: 19, completionTokens: 4781, totalTokens: 4800, citationTokens: 11914, researchReasoningTokens: 136902, searchQueries: 22 };
const chat: CostInput = { kind: 'chat', body: { model: 'deep', max_tokens: 8000, messages: [{ role: 'user', content: 'research' }] } };

describe('prices', () => {
  it('sonar-deep-research: $2 per 1M citation tokens, $3 per 1M reasoning tokens, $0.005 a search (built in)', () => {
    const deep = deployment('sonar-deep-research');
    expect(deep.prices).toMatchObject({ inputPerToken: 2_000_000, outputPerToken: 8_000_000, citationPerToken: 2_000_000, researchReasoningPerToken: 3_000_000 });
    expect(deep.mediaPrices?.perWebSearch).toBe(5_000_000_000);
    expect(billsReportedSearches(deep)).toBe(true);
    expect(chatSearchesPerCall(deep)).toBe(0);
  });

  it('model_info overrides them: citation_cost_per_token, output_cost_per_reasoning_token, search_context_cost_per_query', () => {
    const deep = deployment('sonar-deep-research', { ...TOKENS, citation_cost_per_token: 0.000004, output_cost_per_reasoning_token: 0.000005, search_context_cost_per_query: 0.01 });
    expect(deep.prices).toMatchObject({ citationPerToken: 4_000_000, researchReasoningPerToken: 5_000_000 });
    expect(deep.mediaPrices?.perWebSearch).toBe(10_000_000_000);
  });

  it('by model_info.base_model too; the request-fee Sonar models keep one fee a call and no research rates unless given', () => {
    expect(deployment('my-research', { ...TOKENS, base_model: 'sonar-deep-research' }).prices).toMatchObject({ citationPerToken: 2_000_000, researchReasoningPerToken: 3_000_000 });
    const pro = deployment('sonar-reasoning-pro');
    expect(pro.prices?.citationPerToken).toBeUndefined();
    expect(pro.prices?.researchReasoningPerToken).toBeUndefined();
    expect(billsReportedSearches(pro)).toBe(false);
    expect(chatSearchesPerCall(pro)).toBe(1);
    expect(deployment('sonar-reasoning-pro', { ...TOKENS, output_cost_per_reasoning_token: 0.000003 }).prices?.researchReasoningPerToken).toBe(3_000_000);
  });

  it('other providers ignore the keys: their reasoning tokens are priced as output tokens', () => {
    const openai = deployment('o3', { ...TOKENS, citation_cost_per_token: 0.000004, output_cost_per_reasoning_token: 0.000005 }, 'openai');
    expect(openai.prices?.citationPerToken).toBeUndefined();
    expect(openai.prices?.researchReasoningPerToken).toBeUndefined();
    expect(billsReportedSearches(deployment('sonar-deep-research', TOKENS, 'openai'))).toBe(false);
  });
});

describe('cost', () => {
  it("charges Perplexity's example answer $0.58282: 38 + 38,248 + 23,828 + 410,706 µ$ of tokens, 110,000 of searches", () => {
    const deep = deployment('sonar-deep-research');
    // Settlement moves the reported searches to units.webSearches (settle.ts withOwnSearches).
    expect(callCostMicros({ ...EXAMPLE, units: { webSearches: 22 } }, deep)).toBe(582_820);
    expect(callCostMicros(EXAMPLE, deep)).toBe(472_820);
    // Nothing for the fields where the deployment has no rate (another provider reporting them).
    expect(callCostMicros(EXAMPLE, deployment('m', TOKENS, 'openai'))).toBe(38_286);
  });
});

describe('usage bounds', () => {
  const deep = deployment('sonar-deep-research');
  const limits = usageLimits(chat, deep);

  it("accept Perplexity's example as reported, and hold a report above the bounds to them: 2,000,000 tokens each, 1,000 searches", () => {
    expect(exceedsLimits(EXAMPLE, limits)).toBe(false);
    expect(RESEARCH_TOKEN_BOUND).toBe(DEFAULT_INPUT_WINDOW);
    const lying: Usage = { ...EXAMPLE, citationTokens: 1e12, researchReasoningTokens: Number.POSITIVE_INFINITY, searchQueries: 1e9 };
    expect(exceedsLimits(lying, limits)).toBe(true);
    const { usage, adjusted } = boundUsage(lying, limits, { promptTokens: 19, completionTokens: 4781 });
    // A count over the bound is held to it; one that is no count (not finite) is 0, as for the other fields.
    expect(usage).toMatchObject({ promptTokens: 19, completionTokens: 4781, citationTokens: 2_000_000, researchReasoningTokens: 0, searchQueries: MAX_RESEARCH_SEARCHES });
    expect(adjusted).toEqual(['citation_tokens', 'research_reasoning_tokens', 'num_search_queries']);
    const over = boundUsage({ ...EXAMPLE, citationTokens: 3_000_000, researchReasoningTokens: 2_500_000 }, limits, { promptTokens: 19, completionTokens: 4781 }).usage;
    expect(over).toMatchObject({ citationTokens: 2_000_000, researchReasoningTokens: 2_000_000, searchQueries: 22 });
  });
});

describe('reservation', () => {
  it('holds 2,000,000 citation and reasoning tokens and 1,000 searches beside the prompt and output: $15', () => {
    const deep = deployment('sonar-deep-research');
    expect(beyondTokensPico(chat, deep)).toBe(2_000_000 * 2_000_000 + 2_000_000 * 3_000_000 + 1_000 * 5_000_000_000);
    const tokens = maxCostMicros(chat, [deployment('sonar-deep-research', { ...TOKENS, citation_cost_per_token: 0, output_cost_per_reasoning_token: 0, search_context_cost_per_query: 0 })]);
    expect(maxCostMicros(chat, [deep])).toBe(tokens + 15_000_000);
    expect(reservationPlan(chat, [deep]).costMicros()).toBe(tokens + 15_000_000);
    // A call with no output limit of its own reserves the research usage beside the output the gateway sends.
    const open: CostInput = { kind: 'chat', body: { model: 'deep', messages: [{ role: 'user', content: 'research' }] } };
    expect(reservationPlan(open, [deep]).costMicros(1024)).toBeGreaterThan(15_000_000 + 1024 * 8);
    // No research usage on other deployments.
    expect(beyondTokensPico(chat, deployment('m', TOKENS, 'openai'))).toBe(0);
    expect(beyondTokensPico(chat, deployment('sonar-reasoning-pro'))).toBe(14_000_000_000);
  });
});
