/**
 * Resolve: the model the call routes to. The key's alias, then the platform's power level (which
 * may choose the model, for "auto"), then the allow-lists of the requested model and of every
 * fallback the call may reach, each also held to the call's tier and routing-rule limits (set by
 * the rules stage before this one).
 */
import { assertModelAllowed, keyAliasTarget } from '../../auth/model-access.js';
import { assertRequestFallbacksAllowed, ReachableModels } from '../../auth/reachable-models.js';
import { GatewayError, toGatewayError } from '../../errors.js';
import type { LevelChoice } from '../../platform/layer.js';
import { assertLimitsAllow } from '../../platform/model-limits.js';
import type { ModelCatalog, ModelGroup } from '../../routing/catalog.js';
import { costKindOf } from '../cost-input.js';
import { failedWith, type Stage } from '../call.js';
import type { GatewayDependencies } from '../dependencies.js';
import { applyModelChoice, splitRequestFallbacks } from '../request-body.js';

export function resolveStage(deps: Pick<GatewayDependencies, 'catalog' | 'platform' | 'router' | 'logger'>): Stage {
  return (call, next) => {
    const { context } = call;
    const principal = context.caller.principal;
    const { platform } = deps;
    let modelName = principal ? keyAliasTarget(principal, call.operation.request.model) : call.operation.request.model;
    let level: LevelChoice | undefined;
    let resolved: Pick<typeof call, 'operation' | 'resolution'>;
    try {
      const split = splitRequestFallbacks(call.operation);
      const { operation } = split;
      if (platform) {
        const choice = platform.resolveModel(costKindOf(operation), operation.request as Record<string, unknown>, modelName, context.requestedPowerLevel, principal, call.limits);
        level = { level: choice.level, levelModel: choice.levelModel, levelPrices: choice.levelPrices, levelMediaPrices: choice.levelMediaPrices };
        applyModelChoice(operation.request as Record<string, unknown>, choice);
        modelName = choice.modelName;
      }
      if (principal) assertModelAllowed(principal, operation.request.model, modelName);
      assertLimitsAllow(call.limits, [operation.request.model, modelName], deps.catalog.resolve(modelName));
      const group = resolveGroup(deps.catalog, modelName, context.caller.isAdmin);
      assertRequestFallbacksAllowed(deps.catalog, principal, split.fallbacks);
      for (const name of split.fallbacks ?? []) assertLimitsAllow(call.limits, [name], deps.catalog.resolve(name), 'fallbacks');
      const reachable = new ReachableModels({ catalog: deps.catalog, policy: deps.router.policy, principal, requested: group, requestFallbacks: split.fallbacks, logger: deps.logger, callId: context.callId, limits: call.limits });
      resolved = { operation, resolution: { group, reachable } };
    } catch (caught) {
      // A rejected promise, as every stage answers: callers need not expect a synchronous throw.
      return Promise.reject(failedWith(toGatewayError(caught), { ...call, modelName, level }));
    }
    // One spread (a second one copies property by property, the slow way: bench/README.md).
    return next({ ...call, operation: resolved.operation, resolution: resolved.resolution, modelName, level });
  };
}

/**
 * The configured, callable group a model name leads to, or the 4xx that says why there is none.
 * `showReasons`: why each deployment cannot be called (admins only).
 */
export function resolveGroup(catalog: ModelCatalog, model: string, showReasons: boolean): ModelGroup {
  const group = catalog.resolve(model);
  if (!group) {
    const disabled = catalog.disabledGroup(model);
    if (disabled) throw new GatewayError('model_disabled', `model "${model}" is disabled on this gateway by an operator; GET /v1/models lists the models you can use`, { param: 'model' });
    throw new GatewayError('model_not_found', `model "${model}" is not configured on this gateway; GET /v1/models lists the models you can use`, { param: 'model' });
  }
  if (group.available.length === 0) {
    // The reasons name credential files, refused api_base addresses and environment variables:
    // operator detail that /model/info keeps from non-admins too, and that only an operator can fix.
    if (!showReasons) throw new GatewayError('model_unavailable', `model "${model}" is configured but unavailable: none of its deployments can be called as configured; an administrator sees why in GET /model/info`, { param: 'model' });
    const reasons = [...new Set(group.deployments.map((deployment) => deployment.unavailableReason).filter(Boolean))].join('; ');
    throw new GatewayError('model_unavailable', `model "${model}" is configured but unavailable: ${reasons || 'no deployment can be called'}`, { param: 'model' });
  }
  return group;
}
