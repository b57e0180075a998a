/** The strategy registry is the one list: the config accepts exactly its names, and each name ranks with its entry. */
import { describe, expect, it } from 'vitest';
import { routerSettingsSchema } from '../../config/schema.js';
import { DEFAULT_ROUTING_STRATEGY, ROUTING_STRATEGIES, ROUTING_STRATEGY_NAMES, routingStrategy, usesUsageWindows } from './index.js';

describe('routing strategy registry', () => {
  it('router_settings.routing_strategy accepts exactly the registered names', () => {
    const accepted = routerSettingsSchema.shape.routing_strategy.unwrap().options;
    expect([...accepted].sort()).toEqual(ROUTING_STRATEGIES.map((entry) => entry.name).sort());
    for (const name of ROUTING_STRATEGY_NAMES) expect(routerSettingsSchema.safeParse({ routing_strategy: name }).success, name).toBe(true);
  });

  it('refuses a name that is not registered, listing the ones that are', () => {
    const result = routerSettingsSchema.safeParse({ routing_strategy: 'round-robin' });
    expect(result.success).toBe(false);
    const message = result.error!.issues[0].message;
    for (const name of ROUTING_STRATEGY_NAMES) expect(message).toContain(name);
  });

  it('names are unique, the default is registered, and each entry answers for its own name', () => {
    expect(new Set(ROUTING_STRATEGY_NAMES).size).toBe(ROUTING_STRATEGIES.length);
    expect(ROUTING_STRATEGY_NAMES).toContain(DEFAULT_ROUTING_STRATEGY);
    for (const entry of ROUTING_STRATEGIES) {
      expect(routingStrategy(entry.name)).toBe(entry);
      expect(usesUsageWindows(entry.name)).toBe(entry.needsUsageWindows);
    }
    expect(ROUTING_STRATEGIES.filter((entry) => entry.needsUsageWindows).map((entry) => entry.name)).toEqual(['usage-based-routing', 'usage-based-routing-v2']);
  });
});
