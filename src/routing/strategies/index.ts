/**
 * The routing strategies, listed once: the config schema's routing_strategy enum, the router, and
 * the names GET /router/settings offers the admin UI are all derived from this registry.
 */
import { lowestCost } from './cost.js';
import { lowestLatency } from './latency.js';
import { leastBusy } from './least-busy.js';
import { simpleShuffle } from './simple-shuffle.js';
import type { Strategy } from './types.js';
import { mostHeadroom } from './usage.js';

export interface RoutingStrategyEntry {
  /** The routing_strategy value, as LiteLLM names it. */
  readonly name: string;
  /** Whether ranking needs each deployment's current-minute usage (loaded from state before ranking). */
  readonly needsUsageWindows: boolean;
  readonly rank: Strategy;
}

/** In the order the admin UI lists them; the first is the default. */
export const ROUTING_STRATEGIES = [
  { name: 'simple-shuffle', needsUsageWindows: false, rank: simpleShuffle },
  { name: 'least-busy', needsUsageWindows: false, rank: leastBusy },
  { name: 'latency-based-routing', needsUsageWindows: false, rank: lowestLatency },
  // LiteLLM has two generations of usage-based routing; both rank by headroom here.
  { name: 'usage-based-routing', needsUsageWindows: true, rank: mostHeadroom },
  { name: 'usage-based-routing-v2', needsUsageWindows: true, rank: mostHeadroom },
  { name: 'cost-based-routing', needsUsageWindows: false, rank: lowestCost },
] as const satisfies readonly RoutingStrategyEntry[];

export type RoutingStrategyName = (typeof ROUTING_STRATEGIES)[number]['name'];

/** Every name, as a non-empty tuple (what z.enum takes). */
export const ROUTING_STRATEGY_NAMES = ROUTING_STRATEGIES.map((entry) => entry.name) as [RoutingStrategyName, ...RoutingStrategyName[]];

export const DEFAULT_ROUTING_STRATEGY: RoutingStrategyName = ROUTING_STRATEGIES[0].name;

const byName = new Map<RoutingStrategyName, RoutingStrategyEntry>(ROUTING_STRATEGIES.map((entry) => [entry.name, entry]));

export function routingStrategy(name: RoutingStrategyName): RoutingStrategyEntry {
  const entry = byName.get(name);
  // The config schema only accepts registered names, so a miss is a programming error.
  if (!entry) throw new Error(`unknown routing strategy "${name}"`);
  return entry;
}

export function usesUsageWindows(name: RoutingStrategyName): boolean {
  return routingStrategy(name).needsUsageWindows;
}
