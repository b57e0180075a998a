/**
 * Routing rules: ordered by priority (lower first; config.yaml's before stored ones on a tie, then
 * by name), the first enabled rule whose `match` holds applies its `action` (rule-plan.ts). Every
 * condition given must hold; a list condition holds when any of its entries does. Evaluation reads
 * only the request and the caller: no I/O, and the prompt is counted only when a rule asks for it.
 */
import { isJsonObject } from '../json-object.js';
import { comparableModelName } from '../routing/model-names.js';
import type { PowerLevel } from './power-level-names.js';
import { matchesModelPattern } from './model-limits.js';
import type { RoutingRuleConfig, RuleMatch } from './rule-schema.js';

export interface RoutingRule extends RoutingRuleConfig {
  /** config.yaml's rules are read-only; the API's are stored. */
  source: 'config' | 'api';
  createdAt: number | null;
  updatedAt: number | null;
}

/** What a rule can match on, read from one call. */
export interface RuleFacts {
  tier: string | undefined;
  /** The power level the request asked for (body or header). */
  powerLevel: PowerLevel | undefined;
  team: string | null;
  user: string | null;
  keyAlias: string | null;
  tags: readonly string[];
  metadata: Readonly<Record<string, unknown>>;
  /**
   * The names the requested model goes by (as sent, what the key's alias makes of it, its group and
   * every name the group's deployments answer to), as comparableModelName gives them (rule-plan.ts).
   */
  models: readonly string[];
  task: string | undefined;
  hasTools: boolean;
  hasImages: boolean;
  /** The locally estimated prompt tokens; called only when a rule has a token bound. */
  promptTokens: () => Promise<number>;
}

export function sortRules<T extends Pick<RoutingRule, 'priority' | 'source' | 'name'>>(rules: T[]): T[] {
  return rules.sort((a, b) => a.priority - b.priority || (a.source === b.source ? 0 : a.source === 'config' ? -1 : 1) || a.name.localeCompare(b.name));
}

const anyOf = (wanted: readonly string[] | undefined, value: string | null | undefined) => !wanted || (value != null && wanted.includes(value));

const namesModel = (pattern: string, names: readonly string[]) => names.some((name) => matchesModelPattern(pattern, name));

/** Whether every condition given holds (the prompt is counted last, and only if needed). */
export async function ruleMatches(match: RuleMatch, facts: RuleFacts): Promise<boolean> {
  if (!anyOf(match.tiers, facts.tier) || !anyOf(match.power_levels, facts.powerLevel)) return false;
  if (!anyOf(match.teams, facts.team) || !anyOf(match.users, facts.user) || !anyOf(match.key_aliases, facts.keyAlias)) return false;
  if (match.tags && !match.tags.some((tag) => facts.tags.includes(tag))) return false;
  if (match.metadata && !Object.entries(match.metadata).every(([name, value]) => Object.hasOwn(facts.metadata, name) && facts.metadata[name] === value)) return false;
  // A pattern is compared as the names are (ignoring case): a wildcard serves `GPT-4o` as gpt-4o.
  if (match.model && !match.model.some((pattern) => namesModel(comparableModelName(pattern), facts.models))) return false;
  if (match.task && !anyOf(match.task, facts.task)) return false;
  if (match.has_tools !== undefined && match.has_tools !== facts.hasTools) return false;
  if (match.has_images !== undefined && match.has_images !== facts.hasImages) return false;
  if (match.min_prompt_tokens === undefined && match.max_prompt_tokens === undefined) return true;
  const tokens = await facts.promptTokens();
  return (match.min_prompt_tokens === undefined || tokens >= match.min_prompt_tokens) && (match.max_prompt_tokens === undefined || tokens <= match.max_prompt_tokens);
}

/** Who calls, as a rule's conditions on the caller read it (the other conditions read the request). */
export interface RuleCaller {
  tier: string | undefined;
  team: string | null;
  user: string | null;
  keyAlias: string | null;
}

/**
 * Whether the rule could limit which models this caller reaches, whatever it sends: enabled, with a
 * model action (allow_models, deny_models, route_to), and its conditions on the caller holding. Its
 * conditions on the request (model, tags, metadata, task, tools, images, prompt size, power level)
 * are taken to hold, and rule order is not weighed: for a route whose body is never read
 * (http/routes/pass-through.ts), where a rule that may apply must be assumed to.
 */
export function mayLimitModels(rule: RoutingRule, caller: RuleCaller): boolean {
  const { action } = rule;
  if (action.allow_models === undefined && action.deny_models === undefined && action.route_to === undefined) return false;
  return mayApplyTo(rule, caller);
}

/** The same for a rule's max_tokens_cap: whether it could cap this caller's output, whatever it sends. */
export function mayCapTokens(rule: RoutingRule, caller: RuleCaller): boolean {
  return rule.action.max_tokens_cap !== undefined && mayApplyTo(rule, caller);
}

/** Enabled, and its conditions on the caller holding (those on the request taken to hold). */
function mayApplyTo(rule: RoutingRule, caller: RuleCaller): boolean {
  const { match } = rule;
  return rule.enabled && anyOf(match.tiers, caller.tier) && anyOf(match.teams, caller.team) && anyOf(match.users, caller.user) && anyOf(match.key_aliases, caller.keyAlias);
}

/** The first enabled rule (in the order given) that matches, if any. */
export async function firstMatchingRule<T extends RoutingRule>(rules: readonly T[], facts: RuleFacts): Promise<T | undefined> {
  for (const rule of rules) if (rule.enabled && (await ruleMatches(rule.match, facts))) return rule;
  return undefined;
}

// ---- facts from a request body

/** `tags` and `metadata.tags` (strings only). */
export function requestTags(request: Readonly<Record<string, unknown>>): string[] {
  const tags: string[] = [];
  const metadata = request.metadata;
  for (const list of [request.tags, isJsonObject(metadata) ? metadata.tags : undefined]) {
    if (Array.isArray(list)) for (const tag of list) if (typeof tag === 'string') tags.push(tag);
  }
  return tags;
}

/** The task: the x-switchboard-task header, else a `task:<name>` tag. Lower case. */
export function requestTask(tags: readonly string[], header: string | undefined): string | undefined {
  const fromHeader = header?.trim().toLowerCase();
  if (fromHeader) return fromHeader;
  const tag = tags.find((item) => item.toLowerCase().startsWith('task:'));
  return tag ? tag.slice(5).trim().toLowerCase() || undefined : undefined;
}

export function hasTools(request: Readonly<Record<string, unknown>>): boolean {
  return (Array.isArray(request.tools) && request.tools.length > 0) || (Array.isArray(request.functions) && request.functions.length > 0);
}

const IMAGE_PARTS = new Set(['image_url', 'image', 'input_image']);

/** Whether any message carries an image part (OpenAI's image_url; the Messages API's are converted to it). */
export function hasImages(request: Readonly<Record<string, unknown>>): boolean {
  const messages = request.messages;
  if (!Array.isArray(messages)) return false;
  return messages.some((message) => isJsonObject(message) && Array.isArray(message.content) && message.content.some((part) => isJsonObject(part) && typeof part.type === 'string' && IMAGE_PARTS.has(part.type)));
}
