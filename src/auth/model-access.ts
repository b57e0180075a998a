/**
 * Which models a virtual key may use: its own `models` list, its team's and its user's (each
 * non-empty list must allow the model; an empty list allows all). The key's list may name the
 * name the client sent or the group it resolves to (through the key's aliases); the team's and the
 * user's must allow what a key alias leads to. A name the key's aliases send to another model
 * means, in the key's own list, that other model: it never allows the model group of that name
 * reached some other way (a fallback, a power level's choice).
 */
import { GatewayError } from '../errors.js';
import type { ResolvedKey } from './key-directory.js';

/** Names that allow every model. */
export const ALL_MODELS = new Set(['*', 'all-proxy-models', 'all-team-models']);

interface Restriction {
  owner: string;
  /** The key's own list (which may name the key's aliases), or its team's or user's. */
  ofKey: boolean;
  models: string[];
}

function restrictions(principal: ResolvedKey): Restriction[] {
  const lists: Restriction[] = [];
  const label = principal.key.alias ? `key "${principal.key.alias}"` : `key ${principal.key.prefix}`;
  if (principal.key.models.length > 0) lists.push({ owner: label, ofKey: true, models: principal.key.models });
  if (principal.team && principal.team.models.length > 0) lists.push({ owner: `team "${principal.team.teamId}"`, ofKey: false, models: principal.team.models });
  if (principal.user && principal.user.models.length > 0) lists.push({ owner: `user "${principal.user.userId}"`, ofKey: false, models: principal.user.models });
  return lists;
}

const allows = (models: string[], names: string[]) => models.some((model) => ALL_MODELS.has(model) || names.includes(model));

export function isModelAllowed(principal: ResolvedKey, ...names: string[]): boolean {
  return restrictions(principal).every(({ models }) => allows(models, names));
}

/**
 * The names that, in the key's own list, speak of `model`: each name the key's aliases leave alone
 * or send to `model`. A name an alias sends elsewhere is that alias in the list (README: a key's
 * `models` may name one of its `aliases`, `{"gpt-4": "gpt-4o-mini"}`), so it does not allow a
 * group of that very name that a call reaches without the alias.
 */
function ownMeaning(principal: ResolvedKey, names: readonly string[], model: string): string[] {
  return names.filter((name) => {
    const target = keyAliasTarget(principal, name);
    return target === name || target === model;
  });
}

/**
 * Whether the caller may be served by the model group `group`, reached by `name` without the key's
 * aliases: a fallback (the request's own or configured), a routing rule's target, a power level's
 * choice. As isModelAllowed, except that the key's own list does not count a name its aliases send
 * to another model.
 */
export function isGroupAllowed(principal: ResolvedKey, name: string, group: string): boolean {
  return restrictions(principal).every(({ ofKey, models }) => allows(models, ofKey ? ownMeaning(principal, [name, group], group) : [name, group]));
}

/**
 * `requested` is the name the client sent, `resolved` the model it means. A key alias's name counts
 * only for the key's own list: the key's aliases are the key's, so its team's and user's lists must
 * allow the model the alias leads to (an alias never widens what the team or user may use).
 */
export function assertModelAllowed(principal: ResolvedKey, requested: string, resolved: string): void {
  const viaKeyAlias = requested !== resolved && keyAliasTarget(principal, requested) === resolved;
  for (const { owner, ofKey, models } of restrictions(principal)) {
    const names = ofKey ? ownMeaning(principal, [requested, resolved], resolved) : viaKeyAlias ? [resolved] : [requested, resolved];
    if (!allows(models, names)) {
      const own = keyAliasTarget(principal, requested);
      const meaning = ofKey && own !== requested && own !== resolved ? ` (for this key "${requested}" is its alias for "${own}")` : '';
      throw new GatewayError('model_not_allowed', `${owner} may not use model "${requested}"${meaning}; allowed models: ${models.join(', ')}`, { param: 'model' });
    }
  }
}

/** The model a key's own alias maps `model` to (own properties only: a name like "__proto__" is no alias). */
export function keyAliasTarget(principal: ResolvedKey, model: string): string {
  const aliases = principal.key.aliases;
  return Object.hasOwn(aliases, model) && typeof aliases[model] === 'string' ? aliases[model] : model;
}
