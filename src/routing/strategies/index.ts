import { lowestCost } from './cost.js';
import { lowestLatency } from './latency.js';
import { leastBusy } from './least-busy.js';
import { simpleShuffle } from './simple-shuffle.js';
import type { Strategy } from './types.js';
import { mostHeadroom } from './usage.js';

export type RoutingStrategyName = 'simple-shuffle' | 'least-busy' | 'latency-based-routing' | 'usage-based-routing' | 'usage-based-routing-v2' | 'cost-based-routing';

export const STRATEGIES: Record<RoutingStrategyName, Strategy> = {
  'simple-shuffle': simpleShuffle,
  'least-busy': leastBusy,
  'latency-based-routing': lowestLatency,
  'usage-based-routing': mostHeadroom,
  'usage-based-routing-v2': mostHeadroom,
  'cost-based-routing': lowestCost,
};

export function usesUsageWindows(name: RoutingStrategyName): boolean {
  return name === 'usage-based-routing' || name === 'usage-based-routing-v2';
}
