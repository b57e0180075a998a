import { describe, expect, it } from 'vitest';
import type { Deployment } from '../../providers/types.js';
import { seededRandom } from '../../../test/support/random.js';
import { DeploymentStats } from '../deployment-stats.js';
import { lowestCost } from './cost.js';
import { lowestLatency } from './latency.js';
import { leastBusy } from './least-busy.js';
import { simpleShuffle } from './simple-shuffle.js';
import type { StrategyInput } from './types.js';
import { mostHeadroom } from './usage.js';

function deployment(id: string, extra: Partial<Deployment> = {}): Deployment {
  return { id, modelName: 'group', provider: 'openai', upstreamModel: id, apiBase: 'http://x', headers: {}, defaultParams: {}, modelInfo: {}, available: true, ...extra };
}

function input(extra: Partial<StrategyInput> = {}): StrategyInput {
  return { stream: false, random: seededRandom(42), stats: new DeploymentStats(), latencyBuffer: 0.1, ...extra };
}

function firstPicks(strategy: typeof simpleShuffle, deployments: Deployment[], runs: number, base: StrategyInput): Map<string, number> {
  const counts = new Map<string, number>();
  for (let run = 0; run < runs; run++) {
    const [first] = strategy(deployments, base);
    counts.set(first.id, (counts.get(first.id) ?? 0) + 1);
  }
  return counts;
}

describe('simple-shuffle', () => {
  it('distributes by weight within tolerance over 1,000 picks (fixed seed)', () => {
    const deployments = [deployment('a', { weight: 6 }), deployment('b', { weight: 3 }), deployment('c', { weight: 1 })];
    const counts = firstPicks(simpleShuffle, deployments, 1000, input());
    expect(counts.get('a')! / 1000).toBeCloseTo(0.6, 1);
    expect(counts.get('b')! / 1000).toBeCloseTo(0.3, 1);
    expect(counts.get('c')! / 1000).toBeCloseTo(0.1, 1);
    for (const [id, expected] of [['a', 600], ['b', 300], ['c', 100]] as const) expect(Math.abs(counts.get(id)! - expected)).toBeLessThan(50);
  });

  it('uses rpm as the weight when no weight is set, and lists every deployment once', () => {
    const deployments = [deployment('a', { rpm: 900 }), deployment('b', { rpm: 100 })];
    const counts = firstPicks(simpleShuffle, deployments, 1000, input());
    expect(Math.abs(counts.get('a')! - 900)).toBeLessThan(40);
    const order = simpleShuffle(deployments, input());
    expect(order.map((item) => item.id).sort()).toEqual(['a', 'b']);
  });
});

describe('least-busy', () => {
  it('puts the deployment with the fewest requests in flight first', () => {
    const stats = new DeploymentStats();
    stats.begin('a');
    stats.begin('a');
    stats.begin('b');
    const order = leastBusy([deployment('a'), deployment('b'), deployment('c')], input({ stats }));
    expect(order.map((item) => item.id)).toEqual(['c', 'b', 'a']);
    stats.end('a');
    stats.end('a');
    stats.begin('c');
    expect(leastBusy([deployment('a'), deployment('b'), deployment('c')], input({ stats }))[0].id).toBe('a');
  });
});

describe('latency-based', () => {
  it('prefers the fastest, shares load among near-equals, and uses time to first token for streams', () => {
    const stats = new DeploymentStats();
    stats.recordLatency('fast', 100, 500);
    stats.recordLatency('near', 105, 20);
    stats.recordLatency('slow', 400, 30);
    const deployments = [deployment('slow'), deployment('fast'), deployment('near')];
    const counts = firstPicks(lowestLatency, deployments, 1000, input({ stats }));
    expect(counts.get('slow')).toBeUndefined();
    expect(counts.get('fast')! / 1000).toBeGreaterThan(0.4);
    expect(counts.get('near')! / 1000).toBeGreaterThan(0.4);
    expect(lowestLatency(deployments, input({ stats, stream: true })).map((item) => item.id)).toEqual(expect.arrayContaining(['near', 'slow']));
    expect(lowestLatency(deployments, input({ stats, stream: true })).at(-1)!.id).toBe('fast');
  });

  it('tries a deployment without samples first', () => {
    const stats = new DeploymentStats();
    stats.recordLatency('known', 50);
    expect(lowestLatency([deployment('known'), deployment('new')], input({ stats }))[0].id).toBe('new');
  });
});

describe('usage-based', () => {
  it('puts the deployment with the most rpm/tpm headroom first', () => {
    const usage = new Map([
      ['a', { requests: 90, tokens: 0 }],
      ['b', { requests: 10, tokens: 9_500 }],
      ['c', { requests: 10, tokens: 1_000 }],
    ]);
    const deployments = [deployment('a', { rpm: 100 }), deployment('b', { rpm: 100, tpm: 10_000 }), deployment('c', { rpm: 100, tpm: 10_000 })];
    expect(mostHeadroom(deployments, input({ usage })).map((item) => item.id)).toEqual(['c', 'a', 'b']);
  });
});

describe('cost-based', () => {
  it('puts the cheapest first and unknown prices last', () => {
    const deployments = [
      deployment('pricey', { prices: { inputPerToken: 5_000_000, outputPerToken: 15_000_000 } }),
      deployment('unknown'),
      deployment('cheap', { prices: { inputPerToken: 150_000, outputPerToken: 600_000 } }),
    ];
    expect(lowestCost(deployments, input()).map((item) => item.id)).toEqual(['cheap', 'pricey', 'unknown']);
  });
});
