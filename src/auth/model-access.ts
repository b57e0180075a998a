/**
 * Which models a virtual key may use: its own `models` list, its team's and its user's (each
 * non-empty list must allow the model; an empty list allows all). The key's list may name the
 * name the client sent or the group it resolves to (through the key's aliases); the team's and the
 * user's must allow what a key alias leads to.
 */
import { GatewayError } from '../errors.js';
import type { ResolvedKey } from './key-directory.js';

/** Names that allow every model. */
const ALL_MODELS = new Set(['*', 'all-proxy-models', 'all-team-models']);

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
 * `requested` is the name the client sent, `resolved` the model it means. A key alias's name counts
 * only for the key's own list: the key's aliases are the key's, so its team's and user's lists must
 * allow the model the alias leads to (an alias never widens what the team or user may use).
 */
export function assertModelAllowed(principal: ResolvedKey, requested: string, resolved: string): void {
  const viaKeyAlias = requested !== resolved && keyAliasTarget(principal, requested) === resolved;
  for (const { owner, ofKey, models } of restrictions(principal)) {
    const names = viaKeyAlias && !ofKey ? [resolved] : [requested, resolved];
    if (!allows(models, names)) {
      throw new GatewayError('model_not_allowed', `${owner} may not use model "${requested}"; allowed models: ${models.join(', ')}`, { param: 'model' });
    }
  }
}

/** The model a key's own alias maps `model` to (own properties only: a name like "__proto__" is no alias). */
export function keyAliasTarget(principal: ResolvedKey, model: string): string {
  const aliases = principal.key.aliases;
  return Object.hasOwn(aliases, model) && typeof aliases[model] === 'string' ? aliases[model] : model;
}
