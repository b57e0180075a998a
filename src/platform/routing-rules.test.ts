import { describe, expect, it } from 'vitest';
import { fakeDeployment } from '../../test/support/stage-fakes.js';
import { matchesModelPattern, patternsName, ruleLimit } from './model-limits.js';
import { firstMatchingRule, ruleMatches, sortRules, type RoutingRule, type RuleFacts } from './routing-rules.js';
import { routingRuleSchema } from './rule-schema.js';

const facts = (extra: Partial<RuleFacts> = {}): RuleFacts => ({
  tier: 'pro',
  powerLevel: undefined,
  team: 'team-a',
  user: 'u1',
  keyAlias: 'app-key',
  tags: ['prod'],
  metadata: { app: 'mobile', version: 2 },
  models: ['gpt-4o'],
  task: undefined,
  hasTools: true,
  hasImages: false,
  promptTokens: async () => 100,
  ...extra,
});

const rule = (fields: Record<string, unknown>, source: RoutingRule['source'] = 'api'): RoutingRule => ({ ...routingRuleSchema.parse({ action: { max_tokens_cap: 10 }, ...fields }), source, createdAt: null, updatedAt: null });

describe('model patterns', () => {
  it.each([
    ['groq/*', 'groq/llama', true],
    ['groq/*', 'openai/gpt', false],
    ['ollama*', 'ollama-llama', true],
    ['*mini', 'gpt-4o-mini', true],
    ['gpt-*-mini', 'gpt-4o-mini', true],
    ['gpt-*-mini', 'gpt-mini', false],
    ['exact', 'exact', true],
    ['exact', 'exactly', false],
    ['*', 'anything', true],
  ])('%s vs %s → %s', (pattern, name, expected) => {
    expect(matchesModelPattern(pattern, name)).toBe(expected);
  });

  it('names a group by its own name or when every deployment is provider/upstream it matches; an alias name alone allows nothing', () => {
    const group = { name: 'fast', deployments: [fakeDeployment('d1', 'fast', { provider: 'groq', upstreamModel: 'llama' })], available: [] };
    expect(patternsName(['groq/*'], ['fast'], group)).toBe(true);
    expect(patternsName(['fa*'], ['alias'], group)).toBe(true);
    expect(patternsName(['alias'], ['alias'], group)).toBe(false);
    const mixed = { ...group, deployments: [...group.deployments, fakeDeployment('d2', 'fast')] };
    expect(patternsName(['groq/*'], ['fast'], mixed)).toBe(false);
  });

  it('deny_models refuses a group any of whose deployments matches', () => {
    const group = { name: 'mixed', deployments: [fakeDeployment('d1', 'mixed', { provider: 'anthropic', upstreamModel: 'claude' }), fakeDeployment('d2', 'mixed')], available: [] };
    expect(ruleLimit('r', undefined, ['anthropic/*'])!.allows(['mixed'], group)).toBe(false);
    expect(ruleLimit('r', ['mix*'], undefined)!.allows(['mixed'], group)).toBe(true);
  });
});

describe('rule matching', () => {
  it('holds when every condition given holds; a list holds when any entry does', async () => {
    const match = routingRuleSchema.parse({ name: 'r', match: { tiers: ['free', 'pro'], teams: ['team-a'], users: ['u1', 'u2'], key_aliases: ['app-key'], tags: ['x', 'prod'], metadata: { app: 'mobile' }, model: 'gpt-*', has_tools: true, has_images: false, max_prompt_tokens: 100 }, action: { max_tokens_cap: 5 } }).match;
    expect(await ruleMatches(match, facts())).toBe(true);
    for (const miss of [{ tier: 'free2' }, { team: null }, { user: 'u3' }, { keyAlias: null }, { tags: [] }, { metadata: { app: 'web' } }, { models: ['claude'] }, { hasTools: false }, { hasImages: true }, { promptTokens: async () => 101 }] as Array<Partial<RuleFacts>>) {
      expect(await ruleMatches(match, facts(miss))).toBe(false);
    }
  });

  it('counts the prompt only when a rule has a token bound', async () => {
    let counted = 0;
    const counting = facts({ promptTokens: async () => ++counted });
    await ruleMatches(rule({ name: 'a', match: { tiers: ['pro'] } }).match, counting);
    expect(counted).toBe(0);
    await ruleMatches(rule({ name: 'b', match: { min_prompt_tokens: 1 } }).match, counting);
    expect(counted).toBe(1);
  });

  it('tries rules by priority (config.yaml first on a tie, then by name) and skips disabled ones', async () => {
    const ordered = sortRules([rule({ name: 'z', priority: 5 }), rule({ name: 'b', priority: 1 }), rule({ name: 'a', priority: 5 }, 'config'), rule({ name: 'off', priority: 0, enabled: false })]);
    expect(ordered.map((item) => item.name)).toEqual(['off', 'b', 'a', 'z']);
    expect((await firstMatchingRule(ordered, facts()))?.name).toBe('b');
  });

  it('refuses a rule that does nothing, a bad name, unknown keys and min above max', () => {
    expect(routingRuleSchema.safeParse({ name: 'r', action: {} }).success).toBe(false);
    expect(routingRuleSchema.safeParse({ name: 'has space', action: { max_tokens_cap: 1 } }).success).toBe(false);
    expect(routingRuleSchema.safeParse({ name: 'r', match: { tier: ['free'] }, action: { max_tokens_cap: 1 } }).success).toBe(false);
    expect(routingRuleSchema.safeParse({ name: 'r', match: { min_prompt_tokens: 5, max_prompt_tokens: 1 }, action: { max_tokens_cap: 1 } }).success).toBe(false);
  });
});
