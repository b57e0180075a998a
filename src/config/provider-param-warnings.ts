/**
 * litellm_params keys that only one provider uses, set on a deployment that does not use them:
 * reported as warnings (the gateway still starts), so that nothing is silently ignored.
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
