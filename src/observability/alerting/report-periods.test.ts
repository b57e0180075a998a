import { describe, expect, it } from 'vitest';
import { CALENDAR_MONTH, CALENDAR_WEEK, dayBlocks } from './report-periods.js';

const at = (iso: string) => Date.parse(iso);

describe('report periods', () => {
  it('the daily report covers yesterday and opens at midnight', () => {
    expect(dayBlocks(1, 'daily_reports').previous(at('2026-12-05T03:00:00Z'))).toEqual({ start: '2026-12-04', end: '2026-12-04', opensAt: at('2026-12-05T00:00:00Z') });
  });

  it('blocks of N days are counted from 1970-01-01, so every replica cuts them alike', () => {
    // 2026-12-05 is day 20792 since the epoch: 4-day blocks open on days divisible by 4 (20792 is).
    const period = dayBlocks(4, 'spend_reports');
    expect(period.previous(at('2026-12-05T10:00:00Z'))).toEqual({ start: '2026-12-01', end: '2026-12-04', opensAt: at('2026-12-05T00:00:00Z') });
    expect(period.previous(at('2026-12-08T23:59:00Z'))).toEqual({ start: '2026-12-01', end: '2026-12-04', opensAt: at('2026-12-05T00:00:00Z') });
    expect(period.previous(at('2026-12-09T00:00:00Z')).start).toBe('2026-12-05');
    expect(period.name).toBe('4-day');
    expect(dayBlocks(4, 'daily_reports').name).toBe('daily-4-day');
  });

  it('the week is the last completed Monday to Sunday', () => {
    // 2026-12-05 is a Saturday; 2026-12-07 a Monday.
    expect(CALENDAR_WEEK.previous(at('2026-12-05T12:00:00Z'))).toEqual({ start: '2026-11-23', end: '2026-11-29', opensAt: at('2026-11-30T00:00:00Z') });
    expect(CALENDAR_WEEK.previous(at('2026-12-06T23:59:59Z')).start).toBe('2026-11-23');
    expect(CALENDAR_WEEK.previous(at('2026-12-07T00:00:00Z'))).toEqual({ start: '2026-11-30', end: '2026-12-06', opensAt: at('2026-12-07T00:00:00Z') });
  });

  it('the month is the last completed calendar month, across years and leap days', () => {
    expect(CALENDAR_MONTH.previous(at('2026-12-05T12:00:00Z'))).toEqual({ start: '2026-11-01', end: '2026-11-30', opensAt: at('2026-12-01T00:00:00Z') });
    expect(CALENDAR_MONTH.previous(at('2027-01-01T06:00:00Z'))).toEqual({ start: '2026-12-01', end: '2026-12-31', opensAt: at('2027-01-01T00:00:00Z') });
    expect(CALENDAR_MONTH.previous(at('2028-03-10T00:00:00Z'))).toEqual({ start: '2028-02-01', end: '2028-02-29', opensAt: at('2028-03-01T00:00:00Z') });
    expect(CALENDAR_MONTH.title(CALENDAR_MONTH.previous(at('2026-12-05T12:00:00Z')))).toBe('Monthly spend report for 2026-11 (2026-11-01 – 2026-11-30)');
  });
});
