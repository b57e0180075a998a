import { Histogram, Registry } from 'prom-client';
import { describe, expect, it } from 'vitest';
import { SeriesHistogram } from './series-histogram.js';

describe('SeriesHistogram', () => {
  it("exposes exactly what prom-client's Histogram exposes for the same observations", async () => {
    const ours = new Registry();
    const theirs = new Registry();
    const buckets = [0.005, 0.01, 0.1, 1, 10];
    const histogram = new SeriesHistogram('demo_seconds', 'A demo.', buckets, [ours]);
    const reference = new Histogram({ name: 'demo_seconds', help: 'A demo.', labelNames: ['model_group', 'deployment'], buckets, registers: [theirs] });
    const a = { model_group: 'gpt-4o', deployment: 'd1' };
    const b = { model_group: 'llama "3"', deployment: 'd2' };
    const seriesA = histogram.seriesOf(a);
    const seriesB = histogram.seriesOf(b);
    histogram.seriesOf({ model_group: 'never', deployment: 'observed' });
    expect(histogram.seriesOf({ deployment: 'd1', model_group: 'gpt-4o' })).toBe(seriesA);
    for (const [labels, series, value] of [[a, seriesA, 0.005], [a, seriesA, 0.0051], [a, seriesA, 0.5], [a, seriesA, 99], [b, seriesB, 0], [b, seriesB, 10]] as const) {
      histogram.observe(series, value);
      reference.observe(labels, value);
    }
    expect(await ours.metrics()).toBe(await theirs.metrics());
  });
});
