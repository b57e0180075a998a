/**
 * The models one caller's request can reach: the model it resolved to, and every fallback the
 * router may move to after a failure (the request's own `fallbacks`, or the config's general,
 * context-window and content-policy fallbacks). Admission bounds the call's cost over exactly these
 * groups, and the fallback loop walks only these, so a failure can never carry a call to a model
 * the key, its user or its team may not use.
 *
 * A model a request names itself (in `model` or in `fallbacks`) that the caller may not use is
 * refused up front; a configured fallback the caller may not use is skipped for this caller.
 */
import type { Logger } from 'pino';
import { GatewayError } from '../errors.js';
import type { Deployment } from '../providers/types.js';
import type { ModelCatalog, ModelGroup } from '../routing/catalog.js';
import { fallbackGroups, type FallbackKind, type RouterPolicy } from '../routing/policy.js';
import type { ResolvedKey } from './key-directory.js';
import { assertModelAllowed, isGroupAllowed, isModelAllowed, keyAliasTarget } from './model-access.js';
import { configuredGroupsServedBy, limitsAllow, type ModelLimit } from '../platform/model-limits.js';

const FALLBACK_KINDS: readonly FallbackKind[] = ['general', 'context_window', 'content_policy'];

export interface ReachableModelsOptions {
  catalog: ModelCatalog;
  policy: RouterPolicy;
  /** The virtual key calling; absent (master key, open gateway), every model is reachable. */
  principal: ResolvedKey | undefined;
  /** The group the request's `model` resolved to (already checked against the allow-lists). */
  requested: ModelGroup;
  /** The request's own `fallbacks`, when it sent some (they replace the configured ones). */
  requestFallbacks: string[] | undefined;
  logger: Logger;
  callId: string;
  /** The call's tier and routing-rule limits (platform/model-limits.ts), if any. */
  limits?: readonly ModelLimit[];
}

/**
 * A name is usable when the caller's lists allow the name itself or the group it resolves to
 * (model_group_alias), the same rule as the requested `model`. The group is reached without the
 * key's aliases, so a name they send elsewhere does not count for the key's own list
 * (model-access.ts, isGroupAllowed).
 */
export function mayUseModel(catalog: ModelCatalog, principal: ResolvedKey | undefined, name: string): boolean {
  if (!principal) return true;
  const group = catalog.resolve(name);
  return group ? isGroupAllowed(principal, name, group.name) : isModelAllowed(principal, name);
}

/** Refuses (403, like an unallowed `model`) a request whose own `fallbacks` name a model the caller may not use. */
export function assertRequestFallbacksAllowed(catalog: ModelCatalog, principal: ResolvedKey | undefined, fallbacks: string[] | undefined): void {
  if (!principal || !fallbacks) return;
  for (const name of fallbacks) {
    if (mayUseModel(catalog, principal, name)) continue;
    try {
      assertModelAllowed(principal, name, catalog.resolve(name)?.name ?? name);
    } catch (error) {
      if (error instanceof GatewayError) throw new GatewayError(error.code, `"fallbacks": ${error.message}`, { param: 'fallbacks' });
      throw error;
    }
  }
}

export class ReachableModels {
  constructor(private readonly options: ReachableModelsOptions) {}

  /**
   * The fallback chain after the requested group failed with an error of `kind`: the request's
   * own list or the configured one, without the models this caller may not use (each skipped one
   * logged), at most max_fallbacks long. A fresh array: the loop consumes it.
   */
  fallbackChain(kind: FallbackKind): string[] {
    const { logger, callId } = this.options;
    for (const name of this.configuredChain(kind)) {
      if (!this.mayUse(name)) logger.warn({ callId, fallback: name }, 'fallback model is not allowed for this key (or its user or team); skipped');
    }
    return this.usableChain(kind);
  }

  /** Every group the call can be served by: the requested one and each fallback of any kind. */
  groups(): ModelGroup[] {
    const { requested, catalog } = this.options;
    // Built only when some chain names a group (most calls have none): a call without fallbacks allocates one array.
    let groups: Set<ModelGroup> | undefined;
    for (const kind of FALLBACK_KINDS) {
      if (this.configuredChain(kind).length === 0) continue;
      for (const name of this.usableChain(kind)) {
        const group = catalog.resolve(name);
        if (group) (groups ??= new Set([requested])).add(group);
      }
    }
    return groups ? [...groups] : [requested];
  }

  /**
   * The deployments of every reachable group (the set the call's maximum cost is taken over). Read
   * only: for a call that can reach its requested group alone, that group's own list.
   */
  deployments(): readonly Deployment[] {
    const groups = this.groups();
    return groups.length === 1 ? groups[0].available : groups.flatMap((group) => group.available);
  }

  /**
   * The group a name sends calls to through the key's aliases and the config's model_group_alias
   * (or the group of that name), undefined when it names none: how a model_max_budget entry named
   * after an alias finds the group it covers.
   */
  aliasTarget(name: string): string | undefined {
    const { catalog, principal } = this.options;
    return catalog.resolve(principal ? keyAliasTarget(principal, name) : name)?.name;
  }

  /**
   * The configured groups whose upstream model the group of this name serves through a wildcard
   * (none for a configured group): the groups a model_max_budget entry may name for that call.
   */
  sameModelGroups(name: string): string[] {
    const { catalog } = this.options;
    const group = catalog.resolve(name);
    return group ? configuredGroupsServedBy(catalog, group).map((configured) => configured.name) : [];
  }

  private mayUse(name: string): boolean {
    const { catalog, principal, limits } = this.options;
    return mayUseModel(catalog, principal, name) && limitsAllow(limits, [name], catalog.resolve(name));
  }

  private configuredChain(kind: FallbackKind): string[] {
    const { policy, requested, requestFallbacks } = this.options;
    return requestFallbacks ?? fallbackGroups(policy, requested.name, kind);
  }

  private usableChain(kind: FallbackKind): string[] {
    const { policy } = this.options;
    return this.configuredChain(kind)
      .filter((name) => this.mayUse(name))
      .slice(0, policy.maxFallbacks);
  }
}
