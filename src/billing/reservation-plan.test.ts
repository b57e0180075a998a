import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { Admission } from '../auth/admission.js';
import type { ResolvedKey } from '../auth/key-directory.js';
import { CreditGate } from '../platform/credit-gate.js';
import type { PlatformSettings } from '../platform/settings.js';
import type { Deployment } from '../providers/types.js';
import { LocalLimitsState } from '../state/local-limits-state.js';
import { MINIMUM_ANSWER_TOKENS, outputCapField, reservationPlan, withOutputCap, withoutOutputCap } from './reservation-plan.js';

const logger = pino({ level: 'silent' });
/** gpt-4o's list prices: $2.50 / $10 per million tokens (pico-dollars per token). */
const GPT_4O = { inputPerToken: 2_500_000, outputPerToken: 10_000_000 };

function deployment(extra: Partial<Deployment> = {}): Deployment {
  return { id: 'd', modelName: 'gpt-4o', provider: 'openai', upstreamModel: 'gpt-4o', apiBase: 'https://api.openai.com/v1', headers: {}, defaultParams: {}, modelInfo: { max_output_tokens: 16_384 }, prices: GPT_4O, available: true, ...extra };
}

const chat = (body: Record<string, unknown> = {}) => ({ kind: 'chat' as const, body: { model: 'gpt-4o', messages: [{ role: 'user', content: 'hi' }], ...body } });
/** 2 content bytes + 8 framing + 8 request framing = 18 prompt tokens at most: 45 µ$. */
const PROMPT_MICROS = 45;

function key(maxBudgetMicros: number | null): ResolvedKey {
  const now = Date.now();
  return {
    key: {
      id: 'k', hash: 'h'.repeat(64), prefix: 'sk-...abcd', alias: 'small', userId: null, teamId: null, aliases: {}, expiresAt: null, models: [], maxBudgetMicros, softBudgetMicros: null,
      budgetDuration: null, budgetPeriodStart: now, spendMicros: 0, rpmLimit: null, tpmLimit: null, maxParallelRequests: null, metadata: {}, blocked: false, createdAt: now, updatedAt: now,
    },
  };
}

describe('the reservation plan', () => {
  it('without max_tokens: the prompt plus the configured output allowance, not the model\'s whole window', () => {
    const plan = reservationPlan(chat(), [deployment()], 1024);
    expect(plan.outputTokens).toBe(1024);
    expect(plan.costMicros(1024)).toBe(PROMPT_MICROS + 10_240);
    expect(plan.costMicros()).toBe(PROMPT_MICROS + 163_840); // the worst case, kept for budgets that cannot run out
  });

  it('without max_tokens: what the call bills beyond tokens too (a search model\'s per-call search, media units)', () => {
    // $0.03 a search (media-pricing.ts fills mediaPrices from model_info.search_context_cost_per_query at load).
    const search = deployment({ upstreamModel: 'gpt-4o-mini-search-preview', modelInfo: { max_output_tokens: 16_384 }, mediaPrices: { perWebSearch: 30_000_000_000 } });
    const flexible = reservationPlan(chat(), [search], 1024);
    const capped = reservationPlan(chat({ max_tokens: 1024 }), [search], 1024);
    // Before: the flexible plan left the $0.03 search out (it held 10,285 µ$ where the capped one held 40,285).
    expect(flexible.costMicros(1024)).toBe(capped.costMicros());
    expect(flexible.costMicros(1024)).toBe(PROMPT_MICROS + 10_240 + 30_000);
    // What a budget can pay for after the prompt and the search.
    expect(flexible.affordableOutputTokens(PROMPT_MICROS + 30_000 + 100)).toBe(10);
    expect(flexible.affordableOutputTokens(30_000)).toBe(0);
  });

  it('with max_tokens: fixed by the client, never chosen by the gateway', () => {
    const plan = reservationPlan(chat({ max_tokens: 50 }), [deployment()], 1024);
    expect(plan.outputTokens).toBeUndefined();
    expect(plan.costMicros()).toBe(PROMPT_MICROS + 500);
  });

  it('the allowance never exceeds a deployment\'s own output limit', () => {
    expect(reservationPlan(chat(), [deployment({ defaultParams: { max_tokens: 300 } })], 1024).outputTokens).toBe(300);
  });

  it('affordable output: what is left after the prompt, per choice, at the dearest deployment', () => {
    const plan = reservationPlan(chat({ n: 2 }), [deployment(), deployment({ prices: { inputPerToken: 1, outputPerToken: 1 } })], 1024);
    expect(plan.affordableOutputTokens(500)).toBe(Math.floor((500 - PROMPT_MICROS) / 20));
    expect(plan.affordableOutputTokens(PROMPT_MICROS)).toBe(0);
  });

  it('a completions prompt array or best_of: the output of every completion generated, capped or not', () => {
    const prompts = Array.from({ length: 50 }, (_, index) => `Say hi ${index}`);
    const completion = (body: Record<string, unknown>) => ({ kind: 'completion' as const, body: { model: 'gpt-3.5-turbo-instruct', ...body } });
    const many = reservationPlan(completion({ prompt: prompts, max_tokens: 100 }), [deployment()], 1024);
    const promptMicros = Math.ceil((many.promptBound! * GPT_4O.inputPerToken) / 1_000_000);
    // 50 prompts × 100 tokens at $10/M.
    expect(many.costMicros()).toBe(promptMicros + 50 * 100 * 10);
    expect(reservationPlan(completion({ prompt: 'Say hi', max_tokens: 100, best_of: 20 }), [deployment()], 1024).costMicros()).toBe(Math.ceil((7 * GPT_4O.inputPerToken) / 1_000_000) + 20 * 100 * 10);
    // Without max_tokens the gateway's cap applies to each of the 50 × 2 completions, and what is left is shared among them.
    const capped = reservationPlan(completion({ prompt: prompts, n: 2 }), [deployment()], 1024);
    expect(capped.costMicros(10)).toBe(promptMicros + 100 * 10 * 10);
    expect(capped.affordableOutputTokens(promptMicros + 100 * 10 * 10)).toBe(10);
  });

  it('the cap goes in max_completion_tokens for OpenAI, max_tokens elsewhere, on a copy', () => {
    const request = { model: 'x', messages: [] };
    expect(withOutputCap(request, 42, outputCapField('chat', [deployment()]))).toEqual({ model: 'x', messages: [], max_completion_tokens: 42 });
    expect(withOutputCap(request, 42, outputCapField('chat', [deployment({ provider: 'anthropic' })]))).toEqual({ model: 'x', messages: [], max_tokens: 42 });
    expect(withoutOutputCap({ ...request, max_tokens: 42 }, { field: 'max_tokens' })).toEqual(request);
    expect(request).toEqual({ model: 'x', messages: [] });
  });
});

describe('budget admission with the plan', () => {
  it('a $0.0005 key is admitted on gpt-4o without max_tokens, capped at what its budget pays for', async () => {
    const admission = new Admission(new LocalLimitsState(), logger);
    const ticket = await admission.admit(key(500), 'c1', reservationPlan(chat(), [deployment()], 1024));
    expect(ticket.outputCap).toBe(Math.floor((500 - PROMPT_MICROS) / 10)); // 45 tokens
  });

  it('a big budget keeps the configured allowance as the cap; a key without a hard budget is not capped', async () => {
    const admission = new Admission(new LocalLimitsState(), logger);
    expect((await admission.admit(key(10_000_000), 'c1', reservationPlan(chat(), [deployment()], 1024))).outputCap).toBe(1024);
    expect((await admission.admit(key(null), 'c2', reservationPlan(chat(), [deployment()], 1024))).outputCap).toBeUndefined();
  });

  it('concurrent calls share what is left; once not even a minimal answer fits the refusal says what is left and what is needed', async () => {
    const admission = new Admission(new LocalLimitsState(), logger);
    const plan = reservationPlan(chat(), [deployment()], 1024);
    const small = key(500);
    const first = await admission.admit(small, 'c1', plan);
    expect(first.outputCap).toBe(45);
    // 495 of 500 µ$ held by the first call (45 prompt + 45 tokens × 10): the second is refused, told what a minimal answer costs.
    const refusal = admission.admit(small, 'c2', plan);
    await expect(refusal).rejects.toMatchObject({ code: 'budget_exceeded', status: 400 });
    await expect(refusal).rejects.toThrow(`$0.000005 of its $0.0005 budget is left ($0.000495 more is held by requests in flight) after $0 spent; this request needs $${(PROMPT_MICROS + MINIMUM_ANSWER_TOKENS * 10) / 1_000_000} even for a minimal answer`);
    first.settle(PROMPT_MICROS + 100, 28);
    await new Promise((resolve) => setImmediate(resolve));
    // 355 µ$ left: 31 tokens of output fit.
    expect((await admission.admit(small, 'c3', plan)).outputCap).toBe(Math.floor((500 - PROMPT_MICROS - 100 - PROMPT_MICROS) / 10));
  });

  it('a client max_tokens that does not fit is refused naming max_tokens as the knob', async () => {
    const admission = new Admission(new LocalLimitsState(), logger);
    await expect(admission.admit(key(500), 'c1', reservationPlan(chat({ max_tokens: 100 }), [deployment()], 1024))).rejects.toThrow(/\$0\.0005 of its \$0\.0005 budget is left after \$0 spent; this request needs \$0\.001045 .* lower max_tokens/);
  });
});

describe('credits with the plan', () => {
  const settings = {
    creditsPerUsd: 1000, defaultTier: 'free', tiers: new Map([['free', { name: 'free', markup: 0 }]]), levels: new Map(), routingRules: [],
  } as unknown as PlatformSettings;
  const user = (credited: number) => ({ userId: 'u', createdAt: 1, tier: null, creditBalanceMillicredits: credited, creditsUsedMillicredits: 0 }) as never;

  it('a small balance gets a capped answer instead of a refusal; the refusal of a minimal one names it', async () => {
    const gate = new CreditGate(new LocalLimitsState(), settings, logger);
    // 500 millicredits at 1000 credits per USD = $0.0005.
    const ticket = await gate.reserve(user(500), undefined, reservationPlan(chat(), [deployment()], 1024));
    expect(ticket.outputCap).toBe(45);
    expect(ticket.reservedMillicredits).toBe(PROMPT_MICROS + 450);
    await expect(gate.reserve(user(500), undefined, reservationPlan(chat(), [deployment()], 1024))).rejects.toThrow(/0\.005 credits left .*even for a minimal answer/);
  });
});
