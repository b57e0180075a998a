import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config/load.js';
import { platformSettingsFrom } from './settings.js';

const config = (platform: string) => `model_list: []\nplatform:\n${platform}`;

describe('platform tiers and routing rules in config.yaml', () => {
  it('reads tier models, byok (false by default for free only) and power levels, and the rules', () => {
    const loaded = parseConfig(
      config(`  tiers:
    free: {markup: 0, models: ["local-*"], power_levels: [eco]}
    gold: {markup: 1}
  routing_rules:
    - name: code
      match: {task: code}
      action: {route_to: coder}
`),
    );
    const settings = platformSettingsFrom(loaded.config.platform)!;
    expect(settings.tiers.get('free')).toMatchObject({ models: ['local-*'], byok: false, powerLevels: ['eco'] });
    expect(settings.tiers.get('gold')).toMatchObject({ models: undefined, byok: true, powerLevels: undefined });
    expect(settings.tiers.get('starter')).toMatchObject({ byok: true });
    expect(settings.routingRules).toEqual([{ name: 'code', priority: 100, enabled: true, match: { task: ['code'] }, action: { route_to: ['coder'] } }]);
  });

  it.each([
    ['an unknown tier key', `  tiers:\n    free: {markup: 0, model: [x]}\n`, 'model'],
    ['an unknown power level', `  tiers:\n    free: {markup: 0, power_levels: [turbo]}\n`, 'power_levels'],
    ['an unknown match key', `  routing_rules:\n    - {name: r, match: {tier: [free]}, action: {max_tokens_cap: 5}}\n`, 'tier'],
    ['a rule that does nothing', `  routing_rules:\n    - {name: r, match: {task: code}, action: {}}\n`, 'must do something'],
    ['a rule without a name', `  routing_rules:\n    - {action: {max_tokens_cap: 5}}\n`, 'name'],
  ])('refuses %s, saying where', (_label, platform, says) => {
    const errors = parseConfig(config(platform)).issues.filter((issue) => issue.severity === 'error');
    expect(errors.length).toBeGreaterThan(0);
    expect(errors.map((issue) => `${issue.path?.join('.')}: ${issue.message}`).join('\n')).toContain(says);
    expect(errors[0]).toMatchObject({ fatal: true });
    expect(errors[0].line).toBeGreaterThan(2);
  });
});
