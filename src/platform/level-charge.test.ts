import { describe, expect, it } from 'vitest';
import { chargedLevel, fullPriceLevel, multiplierOf, servesLevelChoice } from './level-charge.js';
import { DEFAULT_POWER_LEVELS, type PowerLevel } from './settings.js';

const levels = (overrides: Partial<Record<PowerLevel, number>>) => ({
  powerLevels: Object.fromEntries(Object.entries(DEFAULT_POWER_LEVELS).map(([level, value]) => [level, { ...value, multiplier: overrides[level as PowerLevel] ?? value.multiplier }])) as typeof DEFAULT_POWER_LEVELS,
});

describe('the level a call is charged at', () => {
  const defaults = { powerLevels: DEFAULT_POWER_LEVELS };

  it('the requested level, when it chose the model that served', () => {
    expect(chargedLevel(defaults, 'eco', 'cheap', 'cheap')).toBe('eco');
  });

  it('full price for a model the level did not choose, or a fallback', () => {
    expect(chargedLevel(defaults, 'eco', undefined, 'premium')).toBe('custom');
    expect(chargedLevel(defaults, 'eco', 'cheap', 'premium')).toBe('custom');
    expect(chargedLevel(defaults, 'custom', undefined, 'premium')).toBe('custom');
  });

  it('no level asked: none charged (multiplier 1)', () => {
    expect(chargedLevel(defaults, undefined, undefined, 'premium')).toBeUndefined();
    expect(multiplierOf(defaults, undefined)).toBe(1);
  });

  it('full price is the highest multiplier, custom on a tie, and never below 1', () => {
    expect(fullPriceLevel(defaults)).toBe('custom');
    expect(fullPriceLevel(levels({ precision: 2, custom: 0.05 }))).toBe('precision');
    expect(fullPriceLevel(levels({ eco: 0.1, balanced: 0.2, precision: 0.5, custom: 0.9 }))).toBeUndefined();
  });
});

describe('the deployment a level chose (every price compared)', () => {
  const base = { inputPerToken: 1_000_000, outputPerToken: 2_000_000 };
  const choice = { levelModel: 'group', levelPrices: base };
  const served = (prices: object, mediaPrices?: object) => ({ modelName: 'group', prices: { ...base, ...prices }, mediaPrices });

  it('the same or lower prices earn the discount; another group does not', () => {
    expect(servesLevelChoice(choice, served({}))).toBe(true);
    expect(servesLevelChoice(choice, served({ cacheReadPerToken: 100_000 }))).toBe(true);
    expect(servesLevelChoice(choice, { ...served({}), modelName: 'other' })).toBe(false);
  });

  it('dearer only by a cache, modality, long-context or priority rate earns none', () => {
    expect(servesLevelChoice({ ...choice, levelPrices: { ...base, cacheReadPerToken: 100_000 } }, served({ cacheReadPerToken: 10_000_000 }))).toBe(false);
    expect(servesLevelChoice(choice, served({ cacheWritePerToken: 1_250_000 }))).toBe(false);
    expect(servesLevelChoice(choice, served({ cacheWrite1hPerToken: 2_000_000 }))).toBe(false);
    expect(servesLevelChoice(choice, served({ audioInputPerToken: 3_000_000 }))).toBe(false);
    expect(servesLevelChoice(choice, served({ imageOutputPerToken: 30_000_000 }))).toBe(false);
    expect(servesLevelChoice(choice, served({ longContext: { aboveTokens: 200_000, inputPerToken: 2_000_000, outputPerToken: 2_000_000 } }))).toBe(false);
    expect(servesLevelChoice(choice, served({ priority: { inputPerToken: 5_000_000, outputPerToken: 4_000_000 } }))).toBe(false);
    // Priority rates count only where the served deployment can bill them (OpenAI, Azure, or its own priority prices).
    const cheapPriority = { ...choice, levelPrices: { ...base, priority: { inputPerToken: 1_500_000, outputPerToken: 3_000_000 } } };
    expect(servesLevelChoice(cheapPriority, { ...served({}), provider: 'openai' })).toBe(false);
    expect(servesLevelChoice(cheapPriority, { ...served({}), provider: 'anthropic' })).toBe(true);
    // The chosen one's own tier applies past its threshold: a served one without a tier is dearer below it only if its base is.
    expect(servesLevelChoice({ ...choice, levelPrices: { ...base, longContext: { aboveTokens: 128_000, inputPerToken: 2_000_000, outputPerToken: 4_000_000 } } }, served({}))).toBe(true);
  });

  it('dearer by a media price, or priced where the chosen one is not, earns none', () => {
    expect(servesLevelChoice({ ...choice, levelMediaPrices: { perWebSearch: 10_000_000_000 } }, served({}, { perWebSearch: 10_000_000_000 }))).toBe(true);
    expect(servesLevelChoice({ ...choice, levelMediaPrices: { perWebSearch: 10_000_000_000 } }, served({}, { perWebSearch: 25_000_000_000 }))).toBe(false);
    expect(servesLevelChoice(choice, served({}, { perWebSearch: 10_000_000_000 }))).toBe(false);
    expect(servesLevelChoice({ ...choice, levelMediaPrices: { outputPerImage: { '*': 40_000 } } }, served({}, { outputPerImage: { 'hd/1024x1024': 80_000 } }))).toBe(false);
  });
});
