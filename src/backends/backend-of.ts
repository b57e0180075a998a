/**
 * Which deployments run on a local backend, and whether a backend has a deployment's model.
 * Pure functions: the health monitor, the provider health report and the routes all use them.
 */
import { createHash } from 'node:crypto';
import { providerSpec } from '../providers/specs.js';
import type { Deployment } from '../providers/types.js';
import type { BackendKind, BackendModel, BackendRef } from './backend-types.js';

const OLLAMA_PROVIDERS = new Set(['ollama', 'ollama_chat']);
const OPENAI_COMPATIBLE_LOCAL = new Set(['hosted_vllm', 'vllm', 'lm_studio']);


function kindOf(deployment: Deployment): BackendKind | undefined {
  if (OLLAMA_PROVIDERS.has(deployment.provider)) return 'ollama';
  if (OPENAI_COMPATIBLE_LOCAL.has(deployment.provider)) return 'openai';
  // `model_info.local: true` may mark only deployments that speak OpenAI's wire format at their api_base
  // (not anthropic, gemini, vertex_ai, azure, azure_ai, text-completion-openai, bedrock or cohere).
  if (deployment.modelInfo.local === true && providerSpec(deployment.provider)?.format === 'openai') return 'openai';
  return undefined;
}

export function backendId(kind: BackendKind, baseUrl: string): string {
  return createHash('sha256').update(`${kind} ${baseUrl}`).digest('hex').slice(0, 12);
}

/** The local backend a deployment runs on, or undefined for a hosted provider. */
export function backendOf(deployment: Deployment): BackendRef | undefined {
  const kind = kindOf(deployment);
  if (!kind || !deployment.apiBase) return undefined;
  const baseUrl = deployment.apiBase.replace(/\/+$/, '');
  return { id: backendId(kind, baseUrl), kind, baseUrl };
}

/** Ollama names a model without a tag ":latest". */
export function ollamaName(name: string): string {
  const lastSlash = name.lastIndexOf('/');
  return name.slice(lastSlash + 1).includes(':') ? name : `${name}:latest`;
}

/** True when the backend's model list has the model the deployment asks for. */
export function hasModel(kind: BackendKind, models: BackendModel[], upstreamModel: string): boolean {
  if (kind === 'ollama') {
    const wanted = ollamaName(upstreamModel);
    return models.some((model) => ollamaName(model.name) === wanted);
  }
  return models.some((model) => model.name === upstreamModel);
}

/** What the health log and the pages say about a deployment whose model is missing. */
export function missingModelMessage(kind: BackendKind, upstreamModel: string, baseUrl: string): string {
  return kind === 'ollama' ? `model ${upstreamModel} is not pulled on ${baseUrl}` : `model ${upstreamModel} is not served by ${baseUrl}`;
}

/**
 * The text without the deployment's backend URL ("… is not pulled on its backend"), for callers
 * who may not see api_base (API clients, keys without llm.manage_providers).
 */
export function withoutBackendUrl(text: string, deployment: Deployment): string {
  const ref = backendOf(deployment);
  return ref ? text.split(ref.baseUrl).join('its backend') : text;
}
