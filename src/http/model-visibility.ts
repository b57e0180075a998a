/**
 * Which models a caller sees on the discovery routes (/model/info, /v2/model/info,
 * /model_group/info, /health/latest, GET /health for callers who do not manage providers): the
 * ones it may use — its key's, user's and team's lists (model-access.ts) and its user's platform
 * tier, by the rule GET /v1/models lists with (PlatformLayer.tierAllows). Otherwise a free-tier
 * user would read the names, prices and upstream models of the tiers above it. Admin keys (the
 * master key, proxy_admin users) are not held to a tier here: they manage every model.
 */
import { isModelAllowed } from '../auth/model-access.js';
import type { Caller } from '../auth/caller.js';
import type { PlatformLayer } from '../platform/layer.js';
import type { Deployment } from '../providers/types.js';
import type { ModelCatalog, ModelGroup } from '../routing/catalog.js';

export interface ModelVisibility {
  catalog: ModelCatalog;
  platform?: PlatformLayer;
}

/** Whether the caller may see a deployment's model group. */
export function visibleTo(caller: Caller | undefined, visibility: ModelVisibility | undefined): (deployment: Deployment) => boolean {
  const principal = caller?.principal;
  if (!principal) return () => true;
  const platform = caller.isAdmin ? undefined : visibility?.platform;
  const groups = platform ? new Map(visibility!.catalog.allGroups().map((group) => [group.name, group])) : undefined;
  return (deployment) => {
    const name = deployment.modelName;
    if (!isModelAllowed(principal, name)) return false;
    if (!platform) return true;
    // A disabled group is not in the catalog: its own deployments stand for it.
    const group: ModelGroup = groups!.get(name) ?? { name, deployments: [deployment], available: [] };
    return platform.tierAllows(principal, name, group);
  };
}

/**
 * Whether the caller may see the model group a name resolves to (some deployment of it visibleTo
 * the caller): the routes that answer about a model without calling it (token counting) treat one
 * it may not see as one that does not exist.
 */
export function groupVisibleTo(caller: Caller | undefined, visibility: ModelVisibility, model: string): boolean {
  const group = visibility.catalog.resolve(model);
  return group !== undefined && group.deployments.some(visibleTo(caller, visibility));
}
