import { describe, expect, it } from 'vitest';
import { GatewayError } from '../errors.js';
import { effectiveModelBudgets, entriesFor, modelBudgetPeriod, modelSpendThisPeriod, parseModelBudgets, storedModelBudgets, toLiteLLM } from './model-budgets.js';

function refusal(value: unknown): GatewayError {
  try {
    parseModelBudgets(value);
  } catch (error) {
    return error as GatewayError;
  }
  throw new Error('expected a refusal');
}

describe('model_max_budget', () => {
  it("reads LiteLLM's BudgetConfig shape (budget_limit / time_period, and the max_budget / budget_duration spellings)", () => {
    expect(parseModelBudgets({ 'gpt-4o': { budget_limit: 0.0005, time_period: '1d' }, cheap: { max_budget: 2, budget_duration: '30d' } })).toEqual({
      'gpt-4o': { budgetMicros: 500, timePeriod: '1d' },
      cheap: { budgetMicros: 2_000_000, timePeriod: '30d' },
    });
    expect(parseModelBudgets({ 'gpt-4o': { budget_limit: 1, time_period: null, tpm_limit: null, rpm_limit: null } })).toEqual({ 'gpt-4o': { budgetMicros: 1_000_000, timePeriod: null } });
  });

  it('reads the older shape: a bare number of USD, no period', () => {
    expect(parseModelBudgets({ 'gpt-4o': 10.0, free: 0 })).toEqual({ 'gpt-4o': { budgetMicros: 10_000_000, timePeriod: null }, free: { budgetMicros: 0, timePeriod: null } });
  });

  it('null and undefined are "not given"; {} is no per-model budget', () => {
    expect(parseModelBudgets(null)).toBeUndefined();
    expect(parseModelBudgets(undefined)).toBeUndefined();
    expect(parseModelBudgets({})).toEqual({});
  });

  it('refuses malformed values with 400 naming the field and the entry', () => {
    const cases: Array<[unknown, RegExp]> = [
      [[1, 2], /^model_max_budget: expected an object/],
      ['10', /^model_max_budget: expected an object/],
      [{ 'gpt-4o': -1 }, /^model_max_budget\.gpt-4o: expected a budget in USD/],
      [{ 'gpt-4o': '10' }, /^model_max_budget\.gpt-4o: expected a budget in USD or/],
      [{ 'gpt-4o': { time_period: '1d' } }, /^model_max_budget\.gpt-4o\.budget_limit: is required/],
      [{ 'gpt-4o': { budget_limit: 'lots' } }, /^model_max_budget\.gpt-4o\.budget_limit: expected a budget in USD/],
      [{ 'gpt-4o': { budget_limit: 1, time_period: 'fortnightly' } }, /^model_max_budget\.gpt-4o\.time_period: expected a duration/],
      [{ 'gpt-4o': { budget_limit: 1, budget_duration: 5 } }, /^model_max_budget\.gpt-4o\.budget_duration: expected a duration/],
      [{ 'gpt-4o': { budget_limit: 1, tpm_limit: 100 } }, /^model_max_budget\.gpt-4o\.tpm_limit: per-model rate limits are not supported/],
      [{ 'gpt-4o': { budget_limit: 1, limit: 2 } }, /^model_max_budget\.gpt-4o\.limit: unknown field/],
      [{ 'gpt-4o': { budget_limit: 1, max_budget: 2 } }, /^model_max_budget\.gpt-4o: give budget_limit or max_budget, not both/],
      [{ '': 1 }, /^model_max_budget\.: a model name must be/],
    ];
    for (const [value, message] of cases) {
      const error = refusal(value);
      expect(error).toBeInstanceOf(GatewayError);
      expect(error.status).toBe(400);
      expect(error.param).toBe('model_max_budget');
      expect(error.message).toMatch(message);
    }
  });

  it('is stored and returned in LiteLLM\'s current shape, whichever shape was sent', () => {
    const budgets = parseModelBudgets({ 'gpt-4o': 10, cheap: { budget_limit: 0.5, time_period: '1d' } })!;
    expect(toLiteLLM(budgets)).toEqual({ 'gpt-4o': { budget_limit: 10, time_period: null }, cheap: { budget_limit: 0.5, time_period: '1d' } });
    expect(storedModelBudgets(JSON.stringify(toLiteLLM(budgets)))).toEqual(budgets);
    expect(storedModelBudgets(null)).toEqual({});
  });

  it("covers the served group, the deployment's upstream model with or without its provider, and names that alias the served group", () => {
    const budgets = parseModelBudgets({ 'gpt-4o': 1, 'openai/gpt-4o-mini': 1, 'claude-3-haiku': 1, fast: 1, other: 1 })!;
    const aliases: Record<string, string> = { fast: 'smart-group' };
    const target = (name: string) => aliases[name];
    expect(entriesFor(budgets, { group: 'gpt-4o', provider: 'openai', upstreamModel: 'gpt-4o-2024-08-06' }, target)).toEqual(['gpt-4o']);
    expect(entriesFor(budgets, { group: 'mini', provider: 'openai', upstreamModel: 'gpt-4o-mini' }, target)).toEqual(['openai/gpt-4o-mini']);
    expect(entriesFor(budgets, { group: 'haiku', provider: 'anthropic', upstreamModel: 'claude-3-haiku' }, target)).toEqual(['claude-3-haiku']);
    expect(entriesFor(budgets, { group: 'smart-group', provider: 'openai', upstreamModel: 'gpt-4.1' }, target)).toEqual(['fast']);
    expect(entriesFor(budgets, { group: 'unrelated', provider: 'openai', upstreamModel: 'gpt-3.5-turbo' }, target)).toEqual([]);
  });

  it('periods repeat every time_period from the anchor; a recorded spend counts only in its own period', () => {
    const day = 86_400_000;
    const anchor = Date.UTC(2026, 0, 1);
    const daily = { budgetMicros: 1, timePeriod: '1d' };
    expect(modelBudgetPeriod(daily, anchor, anchor + 2.5 * day)).toBe(anchor + 2 * day);
    expect(modelBudgetPeriod({ budgetMicros: 1, timePeriod: null }, anchor, anchor + 2.5 * day)).toBe(0);
    expect(modelSpendThisPeriod({ period: anchor + 2 * day, spendMicros: 7 }, anchor + 2 * day)).toBe(7);
    expect(modelSpendThisPeriod({ period: anchor + day, spendMicros: 7 }, anchor + 2 * day)).toBe(0);
  });

  it("a key's own entries win; without any, the linked budget's are used (and a malformed one is refused naming the budget)", () => {
    const own = parseModelBudgets({ a: 1 })!;
    expect(effectiveModelBudgets(own, { budgetId: 'b', modelMaxBudget: { c: 2 } })).toBe(own);
    expect(effectiveModelBudgets({}, { budgetId: 'b', modelMaxBudget: { c: 2 } })).toEqual({ c: { budgetMicros: 2_000_000, timePeriod: null } });
    expect(effectiveModelBudgets(undefined, undefined)).toEqual({});
    expect(() => effectiveModelBudgets({}, { budgetId: 'b', modelMaxBudget: { c: 'x' } })).toThrow(/model_max_budget of budget "b"\.c/);
  });
});
