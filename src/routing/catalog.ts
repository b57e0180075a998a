/**
 * The models the gateway serves: deployments grouped by `model_name`, plus aliases
 * (`router_settings.model_group_alias`). Lookups are in-memory and O(1) on the request path;
 * `replace` swaps the whole set at once when models change at runtime.
 */
import type { Deployment } from '../providers/types.js';
import { isWildcard, WildcardRoutes } from './wildcards.js';

export interface ModelGroup {
  name: string;
  deployments: Deployment[];
  /** Deployments that can be called now. */
  available: Deployment[];
}

export class ModelCatalog {
  private groups = new Map<string, ModelGroup>();
  /** Groups whose model_name has a `*` (wildcards.ts): never resolved by their literal name. */
  private wildcards = new WildcardRoutes([]);
  private aliases = new Map<string, { target: string; hidden: boolean }>();
  /** Model names whose every deployment an operator disabled (see model-registry.ts). */
  private disabled = new Set<string>();
  readonly createdAt = Math.floor(Date.now() / 1000);

  constructor(deployments: Deployment[] = [], aliases: Record<string, string | { model: string; hidden?: boolean }> = {}) {
    this.replace(deployments, aliases);
  }

  replace(deployments: Deployment[], aliases: Record<string, string | { model: string; hidden?: boolean }> = {}): void {
    const groups = new Map<string, ModelGroup>();
    for (const deployment of deployments) {
      let group = groups.get(deployment.modelName);
      if (!group) {
        group = { name: deployment.modelName, deployments: [], available: [] };
        groups.set(deployment.modelName, group);
      }
      group.deployments.push(deployment);
      if (deployment.available) group.available.push(deployment);
    }
    this.wildcards = new WildcardRoutes([...groups.values()].filter((group) => isWildcard(group.name)));
    this.groups = groups;
    this.aliases = new Map(
      Object.entries(aliases).map(([alias, value]) => [alias, typeof value === 'string' ? { target: value, hidden: false } : { target: value.model, hidden: value.hidden === true }]),
    );
  }

  /** Names the groups that exist but were disabled at runtime (they resolve to nothing). */
  setDisabledGroups(names: Iterable<string>): void {
    this.disabled = new Set(names);
  }

  /** The disabled group a client's `model` names (directly or through an alias), if any. */
  disabledGroup(model: string): string | undefined {
    if (this.disabled.has(model)) return model;
    const alias = this.aliases.get(model);
    return alias && this.disabled.has(alias.target) && !this.groups.has(alias.target) ? alias.target : undefined;
  }

  /** The group a client's `model` names, following one level of alias, else the concrete group a wildcard gives it. */
  resolve(model: string): ModelGroup | undefined {
    const group = this.groups.get(model) ?? this.groupOfAlias(model);
    if (group) return isWildcard(group.name) ? undefined : group;
    return this.wildcards.resolve(model);
  }

  private groupOfAlias(model: string): ModelGroup | undefined {
    const alias = this.aliases.get(model);
    return alias ? (this.groups.get(alias.target) ?? this.wildcards.resolve(alias.target)) : undefined;
  }

  /** Whether `group` is one the configuration names, not a concrete group a wildcard made for a client's name. */
  isConfigured(group: ModelGroup): boolean {
    // By name: a configured name always wins over a wildcard, and stages may pass a filtered copy of a group.
    return this.groups.has(group.name) && !isWildcard(group.name);
  }

  /** The router's alias names (`model_group_alias`). */
  aliasNames(): string[] {
    return [...this.aliases.keys()];
  }

  allGroups(): ModelGroup[] {
    return [...this.groups.values()];
  }

  allDeployments(): Deployment[] {
    return this.allGroups().flatMap((group) => group.deployments);
  }

  /**
   * Names a client may use: groups with a callable deployment, their visible aliases, and for a
   * wildcard the concrete models the pricing table knows for its provider (not the pattern).
   */
  listedModels(): Array<{ id: string; group: ModelGroup }> {
    const listed: Array<{ id: string; group: ModelGroup }> = [];
    for (const group of this.groups.values()) if (group.available.length > 0 && !isWildcard(group.name)) listed.push({ id: group.name, group });
    if (this.wildcards.size > 0) listed.push(...this.wildcards.listed((name) => this.groups.has(name) || this.aliases.has(name)));
    for (const [alias, { target, hidden }] of this.aliases) {
      const group = this.groups.get(target);
      if (!hidden && group && group.available.length > 0 && !this.groups.has(alias)) listed.push({ id: alias, group });
    }
    return listed;
  }
}
