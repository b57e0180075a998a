/**
 * LiteLLM's reusable credentials: a top-level `credential_list` of `{credential_name,
 * credential_values, credential_info}`, and `litellm_params.litellm_credential_name` on a model_list
 * entry. As LiteLLM's load_credentials_from_list, the credential's values fill the litellm_params the
 * entry does not set itself (the entry's own values win). They are copied into the entries as
 * written, before `os.environ/` references are resolved, so a credential's values get the entry's
 * own resolution, api_base checks, masking and unavailable-model reasons. Credentials created at
 * runtime (LiteLLM's /credentials API) are not served.
 */
import { isJsonObject } from '../json-object.js';
import type { ConfigPath } from './environment-references.js';
import { FORBIDDEN_KEYS } from './environment-references.js';

export interface CredentialProblem {
  path: ConfigPath;
  message: string;
  /** The model_list index the problem makes unavailable, when it concerns one. */
  model?: number;
}

/**
 * `raw` without its credential_list, each model_list entry that names a credential given that
 * credential's values for the litellm_params it does not set (null counts as not set); `raw` itself
 * is not changed. A name not in credential_list is a problem of that model (left unavailable).
 */
export function applyCredentialList(raw: Record<string, unknown>): { raw: Record<string, unknown>; problems: CredentialProblem[]; credentials?: ReadonlyMap<string, Record<string, unknown>> } {
  const problems: CredentialProblem[] = [];
  const uses = Array.isArray(raw.model_list) && raw.model_list.some((entry) => isJsonObject(entry) && isJsonObject(entry.litellm_params) && entry.litellm_params.litellm_credential_name !== undefined);
  if (!('credential_list' in raw) && !uses) return { raw, problems };
  // The list itself is not kept (nor resolved): its values live on in the entries that use them, and
  // an unset variable of a credential no model uses matters to nobody.
  const { credential_list: list, ...rest } = raw;

  const credentials = new Map<string, Record<string, unknown>>();
  if (list !== undefined && list !== null && !Array.isArray(list)) problems.push({ path: ['credential_list'], message: 'expected a list of {credential_name, credential_values, credential_info}' });
  (Array.isArray(list) ? list : []).forEach((item, index) => {
    const name = isJsonObject(item) ? item.credential_name : undefined;
    if (typeof name !== 'string' || name === '') return problems.push({ path: ['credential_list', index, 'credential_name'], message: 'is required (a string): the credential is ignored' });
    if (!isJsonObject(item!.credential_values)) return problems.push({ path: ['credential_list', index, 'credential_values'], message: 'expected a mapping of litellm_params (api_key, api_base, ...): the credential is ignored' });
    // LiteLLM takes the first credential of a name.
    if (credentials.has(name)) return problems.push({ path: ['credential_list', index, 'credential_name'], message: `credential "${name}" is defined twice: the first one is used` });
    credentials.set(name, item!.credential_values as Record<string, unknown>);
  });
  if (!uses) return { raw: rest, problems, credentials };

  const modelList = (raw.model_list as unknown[]).map((entry, index) => {
    if (!isJsonObject(entry) || !isJsonObject(entry.litellm_params)) return entry;
    const named = withCredential(entry.litellm_params, credentials);
    if (named.problem) problems.push({ path: ['model_list', index, 'litellm_params', 'litellm_credential_name'], message: named.problem, model: index });
    return named.params === entry.litellm_params ? entry : { ...entry, litellm_params: named.params };
  });
  return { raw: { ...rest, model_list: modelList }, problems, credentials };
}

/**
 * `params` with the values of the credential its litellm_credential_name names, for the fields it
 * does not set (null counts as not set); `params` itself when it names none, and a problem when the
 * name is not a credential. Used for config entries and for models added through the model API.
 */
export function withCredential(params: Record<string, unknown>, credentials: ReadonlyMap<string, Record<string, unknown>> | undefined): { params: Record<string, unknown>; problem?: string } {
  const name = params.litellm_credential_name;
  if (name === undefined || name === null) return { params };
  const values = typeof name === 'string' ? credentials?.get(name) : undefined;
  if (!values) {
    const known = credentials && credentials.size > 0 ? `: credential_list defines ${[...credentials.keys()].map((known) => `"${known}"`).join(', ')}` : ': the config has no credential_list';
    return { params, problem: `credential ${JSON.stringify(name)} is not in credential_list${known}` };
  }
  const merged: Record<string, unknown> = { ...params };
  for (const [key, value] of Object.entries(values)) {
    if (FORBIDDEN_KEYS.has(key)) continue;
    if (merged[key] === undefined || merged[key] === null) merged[key] = value;
  }
  return { params: merged };
}
