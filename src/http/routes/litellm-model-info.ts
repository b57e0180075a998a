/**
 * LiteLLM's model discovery routes: /model_group/info (one ModelGroupInfo per model name: its
 * providers, limits, prices, mode and capabilities), /v2/model/info (/model/info paginated and
 * filtered) and /health/latest (the monitor's last check of each deployment). A virtual key sees
 * only the models it may use; api_base and credentials only callers who manage models.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { can, requirePermission } from '../../auth/permissions.js';
import { parseInput } from '../../parse-input.js';
import type { HealthMonitor } from '../../routing/health-monitor.js';
import type { ModelRegistry, RegistryEntry } from '../../routing/model-registry.js';
import { publicModelView } from '../admin-view.js';
import { callOf } from '../context.js';
import { visibleTo, type ModelVisibility } from '../model-visibility.js';
import { oneValue, positiveInteger } from '../query-fields.js';

/** Capability flags of LiteLLM's ModelGroupInfo, true when any deployment of the group declares them in model_info. */
const CAPABILITIES = ['supports_parallel_function_calling', 'supports_vision', 'supports_function_calling', 'supports_web_search', 'supports_reasoning'] as const;

const v2Query = z.object({
  model: oneValue().optional(),
  modelId: oneValue().optional(),
  search: oneValue().optional(),
  page: positiveInteger(1_000_000).optional(),
  size: positiveInteger(100).optional(),
});

function numberOr(value: unknown): number | null {
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}

export function registerLitellmModelInfoRoutes(app: FastifyInstance, models: ModelRegistry, health?: HealthMonitor, visibility?: ModelVisibility): void {
  const read = { preHandler: requirePermission('llm.read') };

  /** The enabled-or-not models this caller may see (model-visibility.ts: its lists and its tier). */
  const visible = (request: FastifyRequest): RegistryEntry[] => {
    const mayUse = visibleTo(callOf(request).caller, visibility);
    return models.entries().filter((entry) => mayUse(entry.deployment));
  };

  app.get('/model_group/info', read, async (request) => {
    const wanted = parseInput(z.object({ model_group: oneValue().optional() }), request.query, 'query').model_group;
    const groups = new Map<string, RegistryEntry[]>();
    for (const entry of visible(request)) {
      if (!entry.enabled || (wanted && entry.deployment.modelName !== wanted)) continue;
      const list = groups.get(entry.deployment.modelName) ?? [];
      list.push(entry);
      groups.set(entry.deployment.modelName, list);
    }
    const data = [...groups].map(([name, entries]) => {
      const infos = entries.map((entry) => models.view(entry).model_info as Record<string, unknown>);
      const largest = (field: string) => infos.reduce<number | null>((best, info) => (numberOr(info[field]) !== null && (best === null || numberOr(info[field])! > best) ? numberOr(info[field]) : best), null);
      const sum = (values: Array<number | undefined>) => (values.every((value) => typeof value === 'number') ? values.reduce<number>((total, value) => total + value!, 0) : null);
      const group: Record<string, unknown> = {
        model_group: name,
        providers: [...new Set(entries.map((entry) => entry.deployment.provider))],
        max_input_tokens: largest('max_input_tokens'),
        max_output_tokens: largest('max_output_tokens'),
        // The dearest deployment's price: what a call to the group may cost.
        input_cost_per_token: largest('input_cost_per_token'),
        output_cost_per_token: largest('output_cost_per_token'),
        mode: (infos.find((info) => typeof info.mode === 'string')?.mode as string | undefined) ?? 'chat',
        tpm: sum(entries.map((entry) => entry.deployment.tpm)),
        rpm: sum(entries.map((entry) => entry.deployment.rpm)),
        // Only what model_info declares: the gateway keeps no catalogue of provider parameters.
        supported_openai_params: (infos.find((info) => Array.isArray(info.supported_openai_params))?.supported_openai_params as string[] | undefined) ?? null,
      };
      for (const capability of CAPABILITIES) group[capability] = infos.some((info) => info[capability] === true);
      return group;
    });
    return { data };
  });

  app.get('/v2/model/info', read, async (request) => {
    const query = parseInput(v2Query, request.query, 'query');
    const page = query.page ?? 1;
    const size = query.size ?? 50;
    const search = query.search?.toLowerCase();
    const admin = can(request, 'llm.manage_models');
    const entries = visible(request).filter(
      (entry) => (!query.model || entry.deployment.modelName === query.model) && (!query.modelId || entry.deployment.id === query.modelId) && (!search || entry.deployment.modelName.toLowerCase().includes(search)),
    );
    const data = entries.slice((page - 1) * size, page * size).map((entry) => (admin ? models.view(entry) : publicModelView(models.view(entry))));
    return { data, total_count: entries.length, current_page: page, size, total_pages: Math.max(1, Math.ceil(entries.length / size)) };
  });

  if (health) {
    app.get('/health/latest', read, async (request) => {
      const admin = can(request, 'llm.manage_providers');
      const checks: Record<string, Record<string, unknown>> = {};
      for (const entry of visible(request)) {
        const record = health.statusOf(entry.deployment.id);
        if (!record?.lastCheckedAt) continue;
        const healthy = record.status === 'healthy';
        checks[entry.deployment.id] = {
          model_name: entry.deployment.modelName,
          model_id: entry.deployment.id,
          status: healthy ? 'healthy' : 'unhealthy',
          healthy_count: healthy ? 1 : 0,
          unhealthy_count: healthy ? 0 : 1,
          // The error may name the upstream's address: for those who manage providers only.
          error_message: admin ? (record.lastError ?? null) : record.lastError ? 'the last check failed' : null,
          response_time_ms: record.responseTimeMs ?? null,
          details: { status: record.status, consecutive_failures: record.consecutiveFailures },
          checked_by: 'health_monitor',
          checked_at: new Date(record.lastCheckedAt).toISOString(),
        };
      }
      return { latest_health_checks: checks, total_models: Object.keys(checks).length };
    });
  }
}
