/**
 * litellm_params keys that only one provider uses, set on a deployment that does not use them:
 * reported as warnings (the gateway still starts), so that nothing is silently ignored. Also a
 * deployment whose model bills more than the gateway can count: Groq's Compound systems.
 */
import { isJsonObject } from '../json-object.js';
import { providerSpec, splitModelString } from '../providers/specs.js';
import type { ConfigPath } from './environment-references.js';

/** A ConfigIssue (load.ts) of severity warning. */
export interface ProviderParamWarning {
  severity: 'warning';
  message: string;
  path: ConfigPath;
  line?: number;
  column?: number;
  fatal: false;
}

/** Groq's Compound systems (`groq/compound`, `groq/compound-mini`, the earlier `compound-beta`…), as the deployment's upstream model. */
const GROQ_COMPOUND = /^(groq\/)?compound(-|$)/i;

const VERTEX_ONLY = ['vertex_project', 'vertex_location', 'vertex_credentials', 'vertex_ai_project', 'vertex_ai_location', 'vertex_ai_credentials'];

export function providerParamWarnings(entries: unknown[], locate: (path: ConfigPath) => { line?: number; column?: number }): ProviderParamWarning[] {
  const issues: ProviderParamWarning[] = [];
  entries.forEach((entry, index) => {
    const params = isJsonObject(entry) && isJsonObject(entry.litellm_params) ? entry.litellm_params : undefined;
    if (!params || typeof params.model !== 'string') return;
    const providerId = typeof params.custom_llm_provider === 'string' ? params.custom_llm_provider : splitModelString(params.model)?.provider;
    const spec = providerId ? providerSpec(providerId) : undefined;
    if (!spec) return; // reported as an unknown provider
    const warn = (field: string, message: string) => {
      const path: ConfigPath = ['model_list', index, 'litellm_params', field];
      issues.push({ severity: 'warning', message, path, ...locate(path), fatal: false });
    };
    const upstreamModel = providerId === params.custom_llm_provider ? params.model : splitModelString(params.model)?.upstreamModel;
    if (spec.id === 'groq' && typeof upstreamModel === 'string' && GROQ_COMPOUND.test(upstreamModel)) {
      warn(
        'model',
        `${upstreamModel}: Groq Compound runs web searches, website visits and code execution on its own and bills each use beside the tokens; the gateway charges this deployment's tokens only, so those tools run unbilled — price its tokens (model_info) to cover them, or keep the model group to keys you trust`,
      );
    }
    if (spec.format === 'vertex_ai') {
      if (params.api_key !== undefined) warn('api_key', `api_key is not used by ${spec.id} deployments: they authenticate with an OAuth token from vertex_credentials (or Application Default Credentials)`);
      return;
    }
    for (const field of VERTEX_ONLY) {
      if (params[field] !== undefined) warn(field, `${field} is used only by vertex_ai/ deployments; ${spec.id} ignores it`);
    }
  });
  return issues;
}
