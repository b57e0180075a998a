/**
 * A Prometheus histogram whose label sets are resolved once, when a series is first seen, instead
 * of on every observation: prom-client's Histogram hashes the label object on each `observe`,
 * which was a measurable share of the request path. Observing is then a short bucket scan and two
 * additions on a plain object; the exposition (buckets cumulative, `+Inf`, `_sum`, `_count`) is
 * built at scrape time in prom-client's format, through its Registry.
 */
import type { Registry } from 'prom-client';

export interface HistogramSeries {
  readonly labels: Record<string, string>;
  /** Observations per bucket (not cumulative); the last slot is above every bound (+Inf). */
  readonly counts: number[];
  sum: number;
  count: number;
}

interface MetricValue {
  labels: Record<string, string | number>;
  value: number;
  metricName: string;
}

export class SeriesHistogram {
  readonly type = 'histogram';
  readonly aggregator = 'sum';
  private readonly series = new Map<string, HistogramSeries>();

  constructor(
    readonly name: string,
    readonly help: string,
    private readonly buckets: readonly number[],
    registers: Registry[],
  ) {
    for (const registry of registers) registry.registerMetric(this as never);
  }

  /** The series of a label set (created on first use); keep it and pass it to `observe`. */
  seriesOf(labels: Record<string, string>): HistogramSeries {
    const key = Object.keys(labels)
      .sort()
      .map((name) => `${name}\u0000${labels[name]}`)
      .join('\u0001');
    let series = this.series.get(key);
    if (!series) {
      series = { labels, counts: new Array<number>(this.buckets.length + 1).fill(0), sum: 0, count: 0 };
      this.series.set(key, series);
    }
    return series;
  }

  observe(series: HistogramSeries, value: number): void {
    const { buckets } = this;
    let index = 0;
    while (index < buckets.length && value > buckets[index]) index++;
    series.counts[index]++;
    series.sum += value;
    series.count++;
  }

  /** prom-client's metric interface: what the Registry formats. */
  async get(): Promise<{ name: string; help: string; type: string; values: MetricValue[]; aggregator: string }> {
    const values: MetricValue[] = [];
    for (const series of this.series.values()) {
      if (series.count === 0) continue; // as prom-client: a label set appears once observed
      let cumulative = 0;
      this.buckets.forEach((bound, index) => {
        cumulative += series.counts[index];
        values.push({ labels: { le: bound, ...series.labels }, value: cumulative, metricName: `${this.name}_bucket` });
      });
      values.push({ labels: { le: '+Inf', ...series.labels }, value: series.count, metricName: `${this.name}_bucket` });
      values.push({ labels: series.labels, value: series.sum, metricName: `${this.name}_sum` });
      values.push({ labels: series.labels, value: series.count, metricName: `${this.name}_count` });
    }
    return { name: this.name, help: this.help, type: this.type, values, aggregator: this.aggregator };
  }

  reset(): void {
    this.series.clear();
  }
}
