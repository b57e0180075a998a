import { describe, expect, it } from 'vitest';
import { chargedLevel, fullPriceLevel, multiplierOf } from './level-charge.js';
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
