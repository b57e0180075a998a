/**
 * Which models a virtual key may use: its own `models` list, its team's and its user's (each
 * non-empty list must allow the model; an empty list allows all). The name the client sent or the
 * group it resolves to (through the key's aliases) may be listed.
 */
import { GatewayError } from '../errors.js';
import type { ResolvedKey } from './key-directory.js';

/** Names that allow every model. */
const ALL_MODELS = new Set(['*', 'all-proxy-models', 'all-team-models']);

function restrictions(principal: ResolvedKey): Array<{ owner: string; models: string[] }> {
  const lists: Array<{ owner: string; models: string[] }> = [];
  const label = principal.key.alias ? `key "${principal.key.alias}"` : `key ${principal.key.prefix}`;
  if (principal.key.models.length > 0) lists.push({ owner: label, models: principal.key.models });
  if (principal.team && principal.team.models.length > 0) lists.push({ owner: `team "${principal.team.teamId}"`, models: principal.team.models });
  if (principal.user && principal.user.models.length > 0) lists.push({ owner: `user "${principal.user.userId}"`, models: principal.user.models });
  return lists;
}

const allows = (models: string[], names: string[]) => models.some((model) => ALL_MODELS.has(model) || names.includes(model));

export function isModelAllowed(principal: ResolvedKey, ...names: string[]): boolean {
  return restrictions(principal).every(({ models }) => allows(models, names));
}

export function assertModelAllowed(principal: ResolvedKey, requested: string, resolved: string): void {
  for (const { owner, models } of restrictions(principal)) {
    if (!allows(models, [requested, resolved])) {
      throw new GatewayError('model_not_allowed', `${owner} may not use model "${requested}"; allowed models: ${models.join(', ')}`, { param: 'model' });
    }
  }
}

/** The model a key's own alias maps `model` to (own properties only: a name like "__proto__" is no alias). */
export function keyAliasTarget(principal: ResolvedKey, model: string): string {
  const aliases = principal.key.aliases;
  return Object.hasOwn(aliases, model) && typeof aliases[model] === 'string' ? aliases[model] : model;
}
