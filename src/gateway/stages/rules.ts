/**
 * Rules: tier gating and routing rules, before resolve. Reads the caller's tier (the power levels
 * it may ask for, the models it may reach) and the first routing rule that matches the call
 * (platform/routing-rules.ts), and hands resolve a copy of the call with the rule's model,
 * fallbacks, power level and max_tokens cap applied to the request, and the tier's and rule's
 * model limits, which resolve holds the model, every fallback and automatic choice to. The
 * response names the rule in x-switchboard-rule; the usage row in `routing_rule`.
 */
import { keyAliasTarget } from '../../auth/model-access.js';
import { toGatewayError } from '../../errors.js';
import type { PlatformLayer } from '../../platform/layer.js';
import { planRules } from '../../platform/rule-plan.js';
import type { ModelCatalog } from '../../routing/catalog.js';
import type { GatewayResult, Operation } from '../call-context.js';
import { costKindOf } from '../cost-input.js';
import { failedWith, type Call, type Stage } from '../call.js';
import { estimateUsage } from '../usage-estimate.js';

export const RULE_HEADER = 'x-switchboard-rule';

export function rulesStage(deps: { catalog: ModelCatalog; platform?: PlatformLayer }): Stage {
  const { platform, catalog } = deps;
  if (!platform) return (call, next) => next(call);
  return async (call, next) => {
    let decided: Call;
    try {
      decided = await decide(platform, catalog, call);
    } catch (caught) {
      throw failedWith(toGatewayError(caught), call);
    }
    const result = await next(decided);
    return decided.rule ? withRuleHeader(result, decided.rule.name) : result;
  };
}

async function decide(platform: PlatformLayer, catalog: ModelCatalog, call: Call): Promise<Call> {
  const { context, operation } = call;
  const { caller } = context;
  const principal = caller.principal;
  const request = operation.request as Record<string, unknown>;
  const model = typeof request.model === 'string' ? request.model : '';
  let tokens: Promise<number> | undefined;
  const plan = await planRules({
    kind: costKindOf(operation),
    catalog,
    rules: platform.rules.rules(),
    tier: platform.tierOf(principal),
    principal,
    caller,
    request,
    aliasTarget: principal ? keyAliasTarget(principal, model) : model,
    headerPowerLevel: context.requestedPowerLevel,
    headerTask: context.requestedTask,
    // Read at the edge and taken off the body (request-options.ts), with the x-litellm-tags header's;
    // a call made in-process without the edge still has them on its body.
    tags: context.requestTags,
    metadata: context.requestMetadata,
    promptTokens: () => (tokens ??= estimateUsage(operation, '').then((usage) => usage.promptTokens ?? 0)),
  });
  if (!plan.rule && plan.limits.length === 0 && plan.request.power_level === request.power_level) return call;
  const decided: Call = { ...call, operation: { ...operation, request: plan.request } as Operation, limits: plan.limits };
  return plan.rule ? { ...decided, rule: { name: plan.rule.name } } : decided;
}

function withRuleHeader(result: GatewayResult, name: string): GatewayResult {
  return { ...result, headers: { ...result.headers, [RULE_HEADER]: name } };
}
