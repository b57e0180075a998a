import { describe, expect, it } from 'vitest';
import { costMicros } from '../billing/cost.js';
import { creditCostMillicredits } from './credits.js';
import { platformSettingsFrom, platformSchema } from './settings.js';

describe('credit cost', () => {
  const settings = platformSettingsFrom(platformSchema.parse({}))!;

  it('a starter user, 1,000 tokens at $0.002/1K, balanced: $0.0007 → 0.7 credits', () => {
    // $0.002 per 1K tokens = 2e-6 USD per token = 2,000,000 pico-dollars per token.
    const cost = costMicros({ promptTokens: 1000, completionTokens: 0, totalTokens: 1000 }, { inputPerToken: 2_000_000, outputPerToken: 2_000_000 });
    expect(cost).toBe(2000); // $0.002
    const rate = { markup: settings.tiers.get('starter')!.markup, multiplier: settings.powerLevels.balanced.multiplier, creditsPerUsd: settings.creditsPerUsd };
    expect(rate).toEqual({ markup: 0.4, multiplier: 0.25, creditsPerUsd: 1000 });
    // 0.002 × 1.4 × 0.25 = $0.0007; × 1000 credits/USD = 0.7 credits = 700 millicredits.
    expect(creditCostMillicredits(cost, rate)).toBe(700);
  });

  it('uses each tier markup and level multiplier', () => {
    expect(creditCostMillicredits(1_000_000, { markup: 0, multiplier: 1, creditsPerUsd: 1000 })).toBe(1_000_000); // $1 = 1000 credits
    expect(creditCostMillicredits(1_000_000, { markup: 0.8, multiplier: 0.1, creditsPerUsd: 1000 })).toBe(180_000);
    expect(creditCostMillicredits(1_000_000, { markup: 0.6, multiplier: 1, creditsPerUsd: 500 })).toBe(800_000);
  });

  it('free and unknown costs are free; any cost costs at least a millicredit', () => {
    expect(creditCostMillicredits(0, { markup: 0.4, multiplier: 1, creditsPerUsd: 1000 })).toBe(0);
    expect(creditCostMillicredits(undefined, { markup: 0.4, multiplier: 1, creditsPerUsd: 1000 })).toBe(0);
    expect(creditCostMillicredits(1, { markup: 0, multiplier: 0.1, creditsPerUsd: 1000 })).toBe(1);
  });

  it('defaults: tiers, power levels, roles', () => {
    expect([...settings.tiers.keys()]).toEqual(['free', 'starter', 'professional', 'enterprise']);
    expect(settings.tiers.get('enterprise')!.markup).toBe(0.8);
    expect(settings.powerLevels.eco).toEqual({ maxTokens: 2000, multiplier: 0.1 });
    expect(settings.powerLevels.precision).toEqual({ maxTokens: 16000, multiplier: 1 });
    expect(settings.roles.user).toEqual(['llm.read', 'llm.execute']);
  });

  it('refuses a default tier that names no tier', () => {
    const parsed = platformSchema.safeParse({ default_tier: 'gold' });
    expect(parsed.success).toBe(false);
    expect(parsed.error!.issues[0].message).toContain('names no tier');
  });
});
