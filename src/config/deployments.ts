/**
 * Turns `model_list` entries into deployments: provider, base URL and key resolved (config first,
 * then the provider's environment variables), timeouts in ms, prices in pico-dollars. A deployment
 * whose key or base URL cannot be found is kept but marked unavailable, with the reason.
 */
import { createHash } from 'node:crypto';
import { resolvePrices } from '../billing/pricing.js';
import { resolveMediaPrices } from '../billing/media-pricing.js';
import { modelProvider } from '../providers/model-provider.js';
import type { ProviderSpec } from '../providers/specs.js';
import type { Deployment, JsonObject, ModelInfo, TokenPrices } from '../providers/types.js';
import type { MissingVariable } from './environment-references.js';
import { formatPath, type LoadedConfig } from './load.js';
import { DEFAULT_CALL_PARAMS, type ModelEntry } from './schema.js';
import { apiBaseProblem } from '../security/api-base.js';
import { resolveVertex, vertexApiBase, vertexPublisher } from '../providers/vertex/settings.js';
import { resolveAws } from './aws-credentials.js';
import { deploymentRegionName, regionOfName } from '../routing/region-filter.js';

export const DEFAULT_TIMEOUT_SECONDS = 600;

/** What every deployment is built against: the environment and the config's defaults. */
export interface DeploymentContext {
  env: Record<string, string | undefined>;
  defaultTimeout: number;
  defaultStreamTimeout?: number;
  allowInternalApiBase: boolean;
}

export function deploymentContextOf(loaded: LoadedConfig): DeploymentContext {
  const { config, env } = loaded;
  return {
    env,
    defaultTimeout: config.router_settings.timeout ?? config.litellm_settings.request_timeout ?? DEFAULT_TIMEOUT_SECONDS,
    defaultStreamTimeout: config.router_settings.stream_timeout,
    allowInternalApiBase: config.general_settings.allow_internal_api_base === true,
  };
}

/** The config file's deployments, one per model_list entry; a repeated id gets a -2, -3… suffix. */
export function buildDeployments(loaded: LoadedConfig): Deployment[] {
  const context = deploymentContextOf(loaded);
  const seen = new Map<string, number>();
  const deployments: Deployment[] = [];

  loaded.config.model_list.forEach((entry, index) => {
    const missing = loaded.missingVariables.filter((item) => item.path[0] === 'model_list' && item.path[1] === index).map((item) => ({ ...item, path: item.path.slice(2) }));
    const invalid = loaded.invalidModels?.get(index);
    const deployment = invalid === undefined ? buildDeployment(entry, context, missing) : invalidDeployment(entry, invalid);
    if (!deployment) return;
    const count = seen.get(deployment.id) ?? 0;
    seen.set(deployment.id, count + 1);
    if (count > 0) deployment.id = `${deployment.id}-${count + 1}`;
    deployments.push(deployment);
  });
  return deployments;
}

/**
 * One deployment from one model entry (a config file's or one added through the model API), its
 * `os.environ/` references already resolved; `missing` lists the references whose variable is
 * unset, with paths inside the entry (`litellm_params.api_key`). A model whose provider the gateway
 * does not serve is built too, unavailable with the reason (model-provider.ts), so that it is listed.
 */
export function buildDeployment(entry: ModelEntry, context: DeploymentContext, missing: MissingVariable[] = []): Deployment {
  const params = entry.litellm_params;
  const resolved = modelProvider(params.model, params.custom_llm_provider);
  if (!resolved.spec) return unservedDeployment(entry, resolved.providerId ?? 'unknown', resolved.upstreamModel, resolved.unavailableReason ?? 'provider not served');
  return servedDeployment(entry, context, missing, resolved.spec, resolved.upstreamModel);
}

function servedDeployment(entry: ModelEntry, context: DeploymentContext, missing: MissingVariable[], spec: ProviderSpec, upstreamModel: string): Deployment {
  const { env, ...defaults } = context;
  const params = entry.litellm_params;
  const modelInfo: ModelInfo = { ...(entry.model_info ?? {}) };

  const firstEnv = (names: string[] | undefined) => names?.map((name) => env[name]).find((value) => value !== undefined && value !== '');
  const apiKey = params.api_key ?? firstEnv(spec.apiKeyEnv);
  const vertex = spec.format === 'vertex_ai' ? resolveVertex(params, env) : undefined;
  const aws = spec.format === 'bedrock' ? resolveAws(params, env) : undefined;
  const apiBase = (aws ? aws.apiBase : (params.api_base ?? params.base_url ?? firstEnv(spec.apiBaseEnv) ?? spec.defaultApiBase ?? (vertex?.target ? vertexApiBase(vertex.target.location) : undefined)))?.replace(/\/+$/, '');
  const apiVersion = params.api_version ?? (spec.format === 'azure' ? (env.AZURE_API_VERSION ?? '2024-10-21') : undefined);

  let available = true;
  let unavailableReason: string | undefined;
  // Whether what is missing is only a value the environment would supply (check-config --allow-missing-env).
  let forEnvironment = false;
  // The config's api_base / base_url (reported at their line by the loader) and one from a provider
  // environment variable: the model is unavailable, and the address is not kept (nothing, not even
  // a local backend's model list, is ever read from it).
  const apiBaseRefusal = [params.api_base, params.base_url, apiBase].map((value) => (value ? apiBaseProblem(value, { allowInternal: defaults.allowInternalApiBase }) : undefined)).find((problem) => problem !== undefined);
  if (vertex && (vertex.problem || !vertexPublisher(upstreamModel))) {
    available = false;
    unavailableReason = vertex.problem ?? `Vertex AI model "${upstreamModel}" is not served: the gateway calls Google's Gemini, embedding and Imagen models, Anthropic's Claude models and the partner models of the OpenAI-compatible endpoint (publisher/model-maas) on Vertex`;
    forEnvironment = vertex.problem !== undefined && vertex.fromEnvironment === true;
  } else if (apiBaseRefusal) {
    available = false;
    unavailableReason = `api_base refused: ${apiBaseRefusal}`;
  } else if (aws && 'problem' in aws) {
    available = false;
    unavailableReason = aws.problem;
    forEnvironment = aws.fromEnvironment;
  } else if (!apiBase) {
    available = false;
    unavailableReason = `no api_base: ${spec.id} deployments need litellm_params.api_base${spec.apiBaseEnv ? ` or ${spec.apiBaseEnv.join(' / ')}` : ''}`;
    forEnvironment = true;
  } else if (spec.requiresApiKey && !apiKey) {
    available = false;
    unavailableReason = `no API key: set litellm_params.api_key or ${spec.apiKeyEnv.join(' / ')}`;
    forEnvironment = true;
  }
  // An explicit os.environ/ reference that is unset makes the deployment unavailable even when a
  // provider default variable is set: silently using another key could bill another account.
  if (missing.length > 0) {
    available = false;
    unavailableReason = missing.map((item) => `environment variable ${item.variable} is not set (${formatPath(item.path)})`).join('; ');
    forEnvironment = true;
  }

  const defaultParams: JsonObject = {};
  for (const name of DEFAULT_CALL_PARAMS) {
    if (params[name] !== undefined) defaultParams[name] = params[name];
  }

  // Vertex deployments of one group often differ only by project or region (multi-region balancing).
  const credentials = aws && 'aws' in aws ? aws.aws : undefined;
  const identity = JSON.stringify([entry.model_name, params.model, apiBase ?? '', hashSecret(apiKey ?? credentials?.accessKeyId), params.api_version ?? '', ...(vertex?.target ? [vertex.target.project, vertex.target.location] : [])]);
  const id = modelInfo.id ?? createHash('sha256').update(identity).digest('hex').slice(0, 16);
  const prices = resolvePrices(upstreamModel, modelInfo, params, spec.local === true, spec.format === 'vertex_ai' ? 'vertex_ai' : spec.id);

  return {
    id,
    modelName: entry.model_name,
    provider: spec.id,
    upstreamModel,
    apiBase: apiBaseRefusal ? '' : (apiBase ?? ''),
    apiKey,
    apiVersion,
    headers: { ...organizationHeader(params.organization, spec), ...(params.headers ?? {}), ...(params.extra_headers ?? {}) },
    rpm: params.rpm,
    tpm: params.tpm,
    timeoutMs: Math.round((params.timeout ?? defaults.defaultTimeout) * 1000),
    timeoutFromParams: params.timeout !== undefined,
    streamTimeoutMs: params.stream_timeout !== undefined || defaults.defaultStreamTimeout !== undefined ? Math.round((params.stream_timeout ?? defaults.defaultStreamTimeout ?? 0) * 1000) : undefined,
    maxStreamDurationMs: params.max_stream_duration !== undefined ? Math.round(params.max_stream_duration * 1000) : undefined,
    weight: params.weight,
    order: params.order,
    dropParams: params.drop_params,
    tags: params.tags && params.tags.length > 0 ? params.tags : undefined,
    region: regionOfName(deploymentRegionName(params.region_name, { vertex: vertex?.target, aws: credentials })),
    defaultParams,
    modelInfo: { ...modelInfo, id },
    prices,
    ...(vertex?.target ? { vertex: vertex.target } : {}),
    mediaPrices: resolveMediaPrices(upstreamModel, modelInfo, spec.local === true, spec.format === 'vertex_ai' ? 'vertex_ai' : spec.id),
    ...perSecondPrice(params, prices),
    available,
    unavailableReason,
    ...(forEnvironment ? { unavailableForEnvironment: true } : {}),
    maxRetries: params.max_retries,
    ...(credentials ? { aws: credentials } : {}),
  };
}

/** litellm_params.organization, sent as OpenAI sends it: only OpenAI-format APIs read it. */
function organizationHeader(organization: string | undefined, spec: ProviderSpec): Record<string, string> {
  return organization && (spec.format === 'openai' || spec.format === 'azure') ? { 'OpenAI-Organization': organization } : {};
}

/**
 * A model_list entry that failed validation (config/load.ts stands in its name and model): listed
 * unavailable with the reasons, under its name or "model_list[<index>]".
 */
function invalidDeployment(entry: ModelEntry, reason: string): Deployment {
  const resolved = entry.litellm_params.model ? modelProvider(entry.litellm_params.model, undefined) : undefined;
  return unservedDeployment(entry, resolved?.providerId ?? 'unknown', resolved?.upstreamModel ?? entry.litellm_params.model, reason);
}

/** A model the gateway cannot call: listed (model info, UI, check-config) but never routed to. */
function unservedDeployment(entry: ModelEntry, provider: string, upstreamModel: string, reason: string): Deployment {
  const params = entry.litellm_params;
  const modelInfo: ModelInfo = { ...(entry.model_info ?? {}) };
  const identity = JSON.stringify([entry.model_name, params.model, params.api_base ?? params.base_url ?? '', hashSecret(params.api_key), params.api_version ?? '']);
  const id = modelInfo.id ?? createHash('sha256').update(identity).digest('hex').slice(0, 16);
  return {
    id,
    modelName: entry.model_name,
    provider,
    upstreamModel,
    apiBase: params.api_base ?? params.base_url ?? '',
    apiKey: undefined,
    headers: {},
    timeoutMs: DEFAULT_TIMEOUT_SECONDS * 1000,
    timeoutFromParams: false,
    defaultParams: {},
    modelInfo: { ...modelInfo, id },
    prices: resolvePrices(upstreamModel, modelInfo, params, false),
    available: false,
    unavailableReason: reason,
    tags: params.tags,
    region: regionOfName(params.region_name),
  };
}

function hashSecret(secret: string | undefined): string {
  return secret ? createHash('sha256').update(secret).digest('hex').slice(0, 12) : '';
}

/**
 * LiteLLM's per-second pricing (litellm_params input_cost_per_second / output_cost_per_second, e.g.
 * SageMaker or self-hosted): as LiteLLM's cost_calculator, it applies only when the deployment has no
 * per-token rate above 0, and both rates are charged for the call's duration.
 */
function perSecondPrice(params: { input_cost_per_second?: number; output_cost_per_second?: number }, prices: TokenPrices | undefined): { perSecondPico?: number } {
  if (params.input_cost_per_second === undefined && params.output_cost_per_second === undefined) return {};
  if (prices && (prices.inputPerToken > 0 || prices.outputPerToken > 0)) return {};
  return { perSecondPico: Math.round(((params.input_cost_per_second ?? 0) + (params.output_cost_per_second ?? 0)) * 1e12) };
}
