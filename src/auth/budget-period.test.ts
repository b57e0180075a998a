import { describe, expect, it } from 'vitest';
import { addDuration, parseDuration, periodStart } from './budget-period.js';

describe('budget periods', () => {
  it('parses LiteLLM durations', () => {
    expect(parseDuration('30s')).toEqual({ amount: 30, unit: 's' });
    expect(parseDuration('1mo')).toEqual({ amount: 1, unit: 'mo' });
    expect(parseDuration('30d')).toEqual({ amount: 30, unit: 'd' });
    expect(parseDuration('abc')).toBeUndefined();
    expect(parseDuration('0d')).toBeUndefined();
  });

  it('parses weeks and LiteLLM\'s duration words', () => {
    expect(parseDuration('1w')).toEqual({ amount: 1, unit: 'w' });
    expect(addDuration(0, parseDuration('2w')!)).toBe(14 * 86_400_000);
    expect(parseDuration('weekly')).toEqual({ amount: 7, unit: 'd' });
    expect(parseDuration('Daily')).toEqual({ amount: 24, unit: 'h' });
    expect(parseDuration('monthly')).toEqual({ amount: 30, unit: 'd' });
    expect(parseDuration('hourly')).toEqual({ amount: 1, unit: 'h' });
    expect(parseDuration('1y')).toBeUndefined();
  });

  it('takes at most 100 years: every duration must lead to a date', () => {
    expect(parseDuration('36525d')).toEqual({ amount: 36_525, unit: 'd' });
    expect(parseDuration('1200mo')).toEqual({ amount: 1_200, unit: 'mo' });
    for (const text of ['36526d', '1201mo', '5218w', '876601h', '99999999999d', '99999999999999999999s']) expect(parseDuration(text), text).toBeUndefined();
  });

  it('finds the period an instant falls in', () => {
    const day = parseDuration('1d')!;
    const anchor = Date.UTC(2026, 0, 1);
    expect(periodStart(anchor, day, anchor + 36 * 3_600_000)).toBe(anchor + 86_400_000);
    const month = parseDuration('1mo')!;
    expect(periodStart(Date.UTC(2026, 0, 31), month, Date.UTC(2026, 2, 5))).toBe(addDuration(Date.UTC(2026, 0, 31), month));
    expect(addDuration(Date.UTC(2026, 0, 15), month)).toBe(Date.UTC(2026, 1, 15));
  });
});
