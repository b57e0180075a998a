/** Display formats shared by the pages. */
export function usd(value: number | null | undefined, digits?: number): string {
  if (value === null || value === undefined) return '—';
  const places = digits ?? (value !== 0 && Math.abs(value) < 0.01 ? 6 : 2);
  return `$${value.toLocaleString('en-US', { minimumFractionDigits: Math.min(2, places), maximumFractionDigits: places })}`;
}

export function count(value: number | null | undefined): string {
  if (value === null || value === undefined) return '—';
  return value.toLocaleString('en-US');
}

export function compact(value: number): string {
  return Intl.NumberFormat('en-US', { notation: 'compact', maximumFractionDigits: 1 }).format(value);
}

export function ms(value: number | null | undefined): string {
  if (value === null || value === undefined) return '—';
  return value >= 10_000 ? `${(value / 1000).toFixed(1)} s` : `${Math.round(value)} ms`;
}

export function dateTime(value: string | null | undefined): string {
  if (!value) return '—';
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? value : date.toLocaleString(undefined, { dateStyle: 'medium', timeStyle: 'medium' });
}

export function perMillion(costPerToken: number | null): string {
  return costPerToken === null ? '—' : usd(costPerToken * 1_000_000, 2);
}

/** YYYY-MM-DD in UTC: the gateway's usage reports count days in UTC. */
export function isoDay(date: Date): string {
  return date.toISOString().slice(0, 10);
}

export function daysAgo(days: number): string {
  return isoDay(new Date(Date.now() - days * 86_400_000));
}

export function percentile(values: number[], p: number): number | null {
  if (values.length === 0) return null;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil((p / 100) * sorted.length) - 1)];
}
