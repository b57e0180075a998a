/**
 * Budget periods and key lifetimes (LiteLLM's budget_duration and duration): "30s", "30m", "30h",
 * "30d", "1w", "1mo", and LiteLLM's words "hourly" (1h), "daily" (24h), "weekly" (7d), "monthly"
 * (30d). Spend resets when a period ends; the period an instant falls in is computed, never stored
 * per request.
 */

const UNIT_MS: Record<string, number> = { s: 1_000, m: 60_000, h: 3_600_000, d: 86_400_000, w: 604_800_000 };

/** LiteLLM's word durations and what they mean. */
const WORDS: Record<string, string> = { hourly: '1h', daily: '24h', weekly: '7d', monthly: '30d' };

export interface ParsedDuration {
  amount: number;
  unit: 's' | 'm' | 'h' | 'd' | 'w' | 'mo';
}

/**
 * The longest duration taken: 100 years (36,525 days, 1,200 months). Every duration becomes a date
 * (`expires`, `budget_reset_at`); a longer one could lead past the last date JavaScript holds
 * (year 275760), and a key stored with it made every view listing the key fail.
 */
export const MAX_DURATION_TEXT = 'at most 100 years (36525d, 1200mo)';
const MAX_DURATION_MS = 36_525 * UNIT_MS.d;
const MAX_DURATION_MONTHS = 1_200;

export function parseDuration(text: string): ParsedDuration | undefined {
  const word = WORDS[text.trim().toLowerCase()];
  const match = /^\s*(\d+)\s*(mo|s|m|h|d|w)\s*$/.exec(word ?? text);
  if (!match) return undefined;
  const amount = Number(match[1]);
  if (amount <= 0) return undefined;
  const unit = match[2] as ParsedDuration['unit'];
  if (unit === 'mo' ? amount > MAX_DURATION_MONTHS : amount * UNIT_MS[unit] > MAX_DURATION_MS) return undefined;
  return { amount, unit };
}

export function addDuration(fromMs: number, duration: ParsedDuration): number {
  if (duration.unit === 'mo') {
    const date = new Date(fromMs);
    date.setUTCMonth(date.getUTCMonth() + duration.amount);
    return date.getTime();
  }
  return fromMs + duration.amount * UNIT_MS[duration.unit];
}

/** The start of the period containing `now`, for periods that began at `anchor`. */
export function periodStart(anchor: number, duration: ParsedDuration, now: number): number {
  if (now < anchor) return anchor;
  if (duration.unit !== 'mo') {
    const length = duration.amount * UNIT_MS[duration.unit];
    return anchor + Math.floor((now - anchor) / length) * length;
  }
  let start = anchor;
  for (let next = addDuration(start, duration); next <= now; next = addDuration(start, duration)) start = next;
  return start;
}
