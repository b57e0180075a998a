/**
 * Hot reload: a re-read config.yaml applied to the running gateway (SIGHUP, `switchboard reload`,
 * `start --watch`). Everything the file holds is checked first — the YAML, every model, the
 * platform settings, the agents — and only a file without errors is applied; then the model list
 * (deployments, prices, aliases), router settings, routing rules, tiers and power levels, agents
 * and drop_params change together, synchronously between two requests. Calls in flight keep the
 * deployment and plan they were routed with. Settings read once at start (database, Redis, the
 * listener, caching, the master key, …) are named in the outcome as needing a restart.
 */
import { maxEndUserBudgetMicrosOf } from '../auth/customers.js';
import type { AgentDirectory } from '../agents/directory.js';
import { configuredAgents } from '../agents/configured.js';
import { buildDeployments } from '../config/deployments.js';
import { formatIssue, type LoadedConfig } from '../config/load.js';
import type { GatewayConfig } from '../config/schema.js';
import type { RoutingRuleStore } from '../platform/rule-store.js';
import { platformSettingsFrom, type PlatformSettings } from '../platform/settings.js';
import type { ModelRegistry } from '../routing/model-registry.js';
import type { RouterSettingsStore } from '../routing/router-settings-store.js';

export interface ReloadTargets {
  models: ModelRegistry;
  routerSettings: RouterSettingsStore;
  agents: AgentDirectory;
  rules: RoutingRuleStore;
  /** The running platform settings (changed in place, so every holder sees the new values at once). */
  platform: PlatformSettings | undefined;
  /** The request path's settings read per call. */
  gatewaySettings: { dropParams: boolean; maxEndUserBudgetMicros?: number };
}

export type ReloadOutcome =
  | { applied: false; errors: string[] }
  | { applied: true; deployments: number; added: number; removed: number; restartNeeded: string[]; warnings: string[] };

/** litellm_settings keys a reload applies (the router policy and the request path read them); the others need a restart. */
const RELOADED_LITELLM = new Set(['num_retries', 'fallbacks', 'context_window_fallbacks', 'content_policy_fallbacks', 'default_fallbacks', 'request_timeout', 'drop_params', 'max_end_user_budget']);
/** router_settings keys read once at start. */
const RESTART_ROUTER = new Set(['redis_host', 'redis_port', 'redis_password', 'redis_url']);
/** platform keys read once at start. */
const RESTART_PLATFORM = new Set(['stripe', 'roles']);

export async function reloadConfig(current: LoadedConfig, next: LoadedConfig, targets: ReloadTargets): Promise<ReloadOutcome> {
  const errors = next.issues.filter((issue) => issue.severity === 'error' && issue.fatal).map((issue) => formatIssue(issue, next.file));
  let platform: PlatformSettings | undefined;
  let agents: ReturnType<typeof configuredAgents> = [];
  if (errors.length === 0) {
    try {
      platform = platformSettingsFrom(next.config.platform);
    } catch (error) {
      errors.push(`platform: ${(error as Error).message}`);
    }
    try {
      agents = configuredAgents(next.config.agents);
    } catch (error) {
      errors.push(`agents: ${(error as Error).message}`);
    }
  }
  if (errors.length > 0) return { applied: false, errors };

  const restartNeeded = restartNeededFor(current.config, next.config);
  if ((platform === undefined) !== (targets.platform === undefined)) restartNeeded.push('platform (turning the platform layer on or off)');

  // Everything checked: apply in one synchronous step (no await until the agents are stored).
  const deployments = buildDeployments(next);
  const { added, removed } = targets.models.replaceConfig(next, deployments);
  targets.routerSettings.replaceConfig(next);
  if (platform && targets.platform) {
    Object.assign(targets.platform, { ...platform, stripe: targets.platform.stripe, roles: targets.platform.roles });
    targets.rules.replaceConfigRules(platform.routingRules);
  }
  targets.gatewaySettings.dropParams = next.config.litellm_settings.drop_params ?? false;
  targets.gatewaySettings.maxEndUserBudgetMicros = maxEndUserBudgetMicrosOf(next.config);
  await targets.agents.replaceConfigured(agents);
  const warnings = next.issues.filter((issue) => !issue.fatal).map((issue) => formatIssue(issue, next.file));
  return { applied: true, deployments: deployments.length, added, removed, restartNeeded, warnings };
}

/** The keys whose new value a reload cannot apply, as `section.key`. */
export function restartNeededFor(current: GatewayConfig, next: GatewayConfig): string[] {
  const changed: string[] = [];
  const compare = (section: string, before: Record<string, unknown> | undefined, after: Record<string, unknown> | undefined, applies: (key: string) => boolean) => {
    for (const key of new Set([...Object.keys(before ?? {}), ...Object.keys(after ?? {})])) {
      if (applies(key)) continue;
      if (JSON.stringify(before?.[key]) !== JSON.stringify(after?.[key])) changed.push(`${section}.${key}`);
    }
  };
  compare('general_settings', current.general_settings, next.general_settings, () => false);
  compare('litellm_settings', current.litellm_settings, next.litellm_settings, (key) => RELOADED_LITELLM.has(key));
  compare('router_settings', current.router_settings, next.router_settings, (key) => !RESTART_ROUTER.has(key));
  compare('platform', current.platform, next.platform, (key) => !RESTART_PLATFORM.has(key));
  if (JSON.stringify(current.guardrails) !== JSON.stringify(next.guardrails)) changed.push('guardrails');
  return changed;
}
