/**
 * Reads a config file: YAML with line positions, `environment_variables`, `os.environ/VAR`
 * references resolved anywhere, schema validation, and unknown-key warnings, each issue placed at
 * the line it concerns.
 */
import { isJsonObject } from '../json-object.js';
import { guardrailDefinitions, isBuiltInGuardrail } from '../guardrails/definitions.js';
import { readFile } from 'node:fs/promises';
import { isMap, isNode, LineCounter, parseDocument, type Document } from 'yaml';
import type { z } from 'zod';
import { modelProvider } from '../providers/model-provider.js';
import { providerParamWarnings } from './provider-param-warnings.js';
import { configSchema, KNOWN_KEYS, modelEntrySchema, type GatewayConfig, type ModelEntry } from './schema.js';
import { litellmKey } from './litellm-keys.js';
import { defaultsAboveBounds, unknownParamFields } from './key-generate-params.js';
import { unknownKeyGenerationFields } from './key-generation-settings.js';
import { unknownUserParamFields } from './user-defaults.js';
import { invalidRouteEntry } from '../auth/allowed-routes.js';

const EMPTY_WHEN_NULL = ['model_list', 'router_settings', 'litellm_settings', 'general_settings', 'environment_variables'];
import { apiBaseProblem } from '../security/api-base.js';
import { FAIR_SHARE_OF_ORIGIN } from '../auth/default-limits.js';
import { ROLES } from '../auth/permissions.js';
import { listenerSettingsFrom } from '../http/listener-settings.js';
import { callbackSettingsProblems, unsupportedCallbacks } from '../observability/callbacks/callbacks.js';
import { FORBIDDEN_KEYS, resolveReferences, type ConfigPath, type MissingVariable } from './environment-references.js';
import { applyCredentialList } from './credential-list.js';

export type { ConfigPath, MissingVariable } from './environment-references.js';

export interface ConfigIssue {
  severity: 'error' | 'warning';
  message: string;
  path: ConfigPath;
  line?: number;
  column?: number;
  /**
   * False for problems the gateway can start with: an absent environment variable inside a
   * `model_list` entry makes that model unavailable, it does not stop the gateway.
   */
  fatal: boolean;
  /**
   * What kind of problem, for `check-config --strict` / `--allow-missing-env`: an unset environment
   * variable, a model the gateway cannot serve, a LiteLLM key it does not support, a key it does not know.
   */
  kind?: 'missing-env' | 'unavailable-model' | 'unsupported-key' | 'unknown-key';
}

export interface LoadedConfig {
  config: GatewayConfig;
  issues: ConfigIssue[];
  /** `os.environ/VAR` references whose variable is not set, by config path. */
  missingVariables: MissingVariable[];
  /** The environment the config was resolved against (process env + environment_variables). */
  env: Record<string, string | undefined>;
  file?: string;
  /**
   * `model_list` entries that failed validation, by index, with the reason: `config.model_list`
   * holds a stand-in at that index (its name, or "model_list[<index>]" when it has no usable one),
   * built as an unavailable deployment (deployments.ts).
   */
  invalidModels?: ReadonlyMap<number, string>;
  /** credential_list by name, values as written (`os.environ/` unresolved), for models added through the model API. */
  credentials?: ReadonlyMap<string, Record<string, unknown>>;
}

export function formatPath(path: ConfigPath): string {
  return path.map((part, index) => (typeof part === 'number' ? `[${part}]` : index === 0 ? part : `.${part}`)).join('') || '(root)';
}

export function formatIssue(issue: ConfigIssue, file?: string): string {
  const where = issue.line ? `${file ?? 'config'}:${issue.line}:${issue.column ?? 1}` : (file ?? 'config');
  return `${where}: ${issue.severity}: ${formatPath(issue.path)}: ${issue.message}`;
}

/** `env` is the process environment as the CLI resolved it (runtime-settings.ts); `os.environ/VAR` reads it. */
export async function loadConfigFile(file: string, env: Record<string, string | undefined>): Promise<LoadedConfig> {
  let source: string;
  try {
    source = await readFile(file, 'utf8');
  } catch (error) {
    const reason = (error as NodeJS.ErrnoException).code === 'ENOENT' ? 'file not found' : (error as Error).message;
    return failed(`cannot read config file: ${reason}`, env, file);
  }
  return parseConfig(source, env, file);
}

/** Without `env`, `os.environ/VAR` references resolve against an empty environment (reported as missing). */
export function parseConfig(source: string, env: Record<string, string | undefined> = {}, file?: string): LoadedConfig {
  const lineCounter = new LineCounter();
  const document = parseDocument(source, { lineCounter, prettyErrors: false, uniqueKeys: true });
  if (document.errors.length > 0) {
    const issues = document.errors.map<ConfigIssue>((error) => {
      const position = lineCounter.linePos(error.pos[0]);
      return { severity: 'error', message: `invalid YAML: ${error.message.split('\n')[0]}`, path: [], line: position.line, column: position.col, fatal: true };
    });
    return { config: configSchema.parse({}), issues, missingVariables: [], env: { ...env }, file };
  }

  const locate = (path: ConfigPath) => locateNode(document, lineCounter, path);
  const issues: ConfigIssue[] = [];
  const raw: unknown = document.toJS() ?? {};
  if (!isJsonObject(raw)) {
    return failed('the config must be a mapping of sections (model_list, router_settings, ...)', env, file);
  }

  // environment_variables are set before any os.environ/ reference is resolved (LiteLLM's order).
  const resolvedEnv: Record<string, string | undefined> = { ...env };
  if (isJsonObject(raw.environment_variables)) {
    for (const [name, value] of Object.entries(raw.environment_variables)) {
      if (value !== null && value !== undefined) resolvedEnv[name] = String(value);
    }
  }

  for (const path of forbiddenKeyPaths(raw)) {
    issues.push({ severity: 'error', message: `the key "${path[path.length - 1]}" is not allowed in a config: it would change what every setting reads (prototype pollution); remove it`, path, ...locate(path), fatal: true });
  }

  // credential_list values are copied into the entries naming them, then resolved there (credential-list.ts).
  const credentials = applyCredentialList(raw);
  for (const problem of credentials.problems) {
    const unavailable = problem.model !== undefined ? ' (the gateway starts, with this model unavailable)' : '';
    issues.push({ severity: unavailable ? 'error' : 'warning', message: `${problem.message}${unavailable}`, path: problem.path, ...locate(problem.path), fatal: false, ...(unavailable ? { kind: 'unavailable-model' as const } : {}) });
  }
  const missingVariables: MissingVariable[] = [];
  const resolved = resolveReferences(credentials.raw, [], resolvedEnv, missingVariables) as Record<string, unknown>;
  for (const missing of missingVariables) {
    const inModel = missing.path[0] === 'model_list';
    const unused = inModel ? undefined : (unbuiltGuardrail(raw, missing.path) ?? unusedSetting(missing.path));
    issues.push({
      severity: unused ? 'warning' : 'error',
      message: inModel
        ? `environment variable ${missing.variable} is not set (the gateway starts, with this model unavailable)`
        : unused
          ? `environment variable ${missing.variable} is not set (not needed: ${unused})`
          : `environment variable ${missing.variable} is not set`,
      path: missing.path,
      ...locate(missing.path),
      fatal: !inModel && !unused,
      kind: 'missing-env',
    });
  }

  // A section left with nothing but comments (`general_settings:` and commented-out keys) is empty, not an error.
  for (const section of EMPTY_WHEN_NULL) if (resolved[section] === null) resolved[section] = section === 'model_list' ? [] : {};
  // Each model_list entry is validated on its own: one that fails is listed as an unavailable model
  // with its reasons, and the gateway starts (check-config --strict makes these errors).
  const modelEntries = Array.isArray(resolved.model_list) ? (resolved.model_list as unknown[]) : undefined;
  const invalidModels = new Map<number, string>();
  modelEntries?.forEach((entry, index) => {
    const checked = modelEntrySchema.safeParse(entry);
    if (checked.success) return;
    const reasons: string[] = [];
    for (const zodIssue of checked.error.issues) {
      const path: ConfigPath = ['model_list', index, ...zodIssue.path];
      const message = describeZodIssue(zodIssue);
      reasons.push(zodIssue.path.length > 0 ? `${formatPath(zodIssue.path)}: ${message}` : message);
      issues.push({ severity: 'warning', message: `${message} (the gateway starts, with this model unavailable)`, path, ...locate(path), fatal: false, kind: 'unavailable-model' });
    }
    invalidModels.set(index, `invalid model entry: ${reasons.join('; ')}`);
  });
  for (const { model, message } of credentials.problems) if (model !== undefined) invalidModels.set(model, [invalidModels.get(model), `litellm_params.litellm_credential_name: ${message}`].filter(Boolean).join('; '));
  const valid = modelEntries?.filter((_, index) => !invalidModels.has(index));
  const parsed = configSchema.safeParse(valid ? { ...resolved, model_list: valid } : resolved);
  if (!parsed.success) {
    for (const zodIssue of parsed.error.issues) {
      issues.push({ severity: 'error', message: describeZodIssue(zodIssue), path: zodIssue.path, ...locate(zodIssue.path), fatal: true });
    }
  }
  // Checked on the raw entries, so that one run reports every problem, type errors or not.
  const entries = Array.isArray(resolved.model_list) ? resolved.model_list : [];
  entries.forEach((entry: unknown, index: number) => {
    const params = isJsonObject(entry) && isJsonObject(entry.litellm_params) ? entry.litellm_params : undefined;
    if (!params || typeof params.model !== 'string') return;
    const path: ConfigPath = ['model_list', index, 'litellm_params', 'model'];
    const provider = modelProvider(params.model, typeof params.custom_llm_provider === 'string' ? params.custom_llm_provider : undefined);
    if (!provider.spec) {
      issues.push({ severity: 'warning', message: `${provider.unavailableReason} (the gateway starts, with this model unavailable)`, path, ...locate(path), fatal: false, kind: 'unavailable-model' });
    } else if (params.organization !== undefined && provider.spec.format !== 'openai' && provider.spec.format !== 'azure') {
      const organizationPath: ConfigPath = ['model_list', index, 'litellm_params', 'organization'];
      issues.push({ severity: 'warning', message: `"organization" is not sent to ${provider.spec.id}: only OpenAI-format APIs read the OpenAI-Organization header`, path: organizationPath, ...locate(organizationPath), fatal: false, kind: 'unsupported-key' });
    }
  });
  issues.push(...apiBaseIssues(entries, allowsInternalApiBase(resolved.general_settings), locate));
  issues.push(...providerParamWarnings(entries, locate));
  const config = parsed.success ? parsed.data : configSchema.parse({});
  if (parsed.success && modelEntries && invalidModels.size > 0) {
    // Back in their places, so that model_list[i] is still the i-th entry of the file.
    const parsedEntries = config.model_list[Symbol.iterator]();
    config.model_list = modelEntries.map((entry, index) => (invalidModels.has(index) ? standInEntry(entry, index) : parsedEntries.next().value!));
  }
  issues.push(...fairShareWarnings(config, locate));
  issues.push(...listenerIssues(config, locate));
  issues.push(...tagRoutingWarnings(config, locate));
  issues.push(...guardrailIssues(config, locate));
  issues.push(...unusedRoleWarnings(config, locate));
  const keyParams = { upperbound: config.litellm_settings.upperbound_key_generate_params, defaults: config.litellm_settings.default_key_generate_params };
  for (const { field, message } of defaultsAboveBounds(keyParams)) {
    const path: ConfigPath = ['litellm_settings', 'default_key_generate_params', field];
    issues.push({ severity: 'error', message, path, ...locate(path), fatal: true });
  }
  for (const { setting, field, message } of unknownParamFields(keyParams)) {
    const path: ConfigPath = ['litellm_settings', setting, field];
    issues.push({ severity: 'warning', message, path, ...locate(path), fatal: false, kind: 'unknown-key' });
  }
  for (const { path: under, message } of unknownKeyGenerationFields(config.litellm_settings.key_generation_settings)) {
    const path: ConfigPath = ['litellm_settings', 'key_generation_settings', ...under];
    issues.push({ severity: 'warning', message, path, ...locate(path), fatal: false, kind: 'unknown-key' });
  }
  if (config.litellm_settings.budget_duration != null && config.litellm_settings.max_budget == null) {
    const path: ConfigPath = ['litellm_settings', 'budget_duration'];
    issues.push({ severity: 'warning', message: 'litellm_settings.budget_duration is the period of the proxy-wide max_budget, which is not set: it changes nothing', path, ...locate(path), fatal: false, kind: 'unknown-key' });
  }
  for (const setting of ['allowed_routes', 'admin_only_routes'] as const) {
    (config.general_settings[setting] ?? []).forEach((entry, index) => {
      const problem = invalidRouteEntry(entry);
      if (!problem) return;
      const path: ConfigPath = ['general_settings', setting, index];
      issues.push({ severity: 'error', message: problem, path, ...locate(path), fatal: true });
    });
  }
  for (const { field, message } of unknownUserParamFields(config.litellm_settings.default_internal_user_params)) {
    const path: ConfigPath = ['litellm_settings', 'default_internal_user_params', field];
    issues.push({ severity: 'warning', message, path, ...locate(path), fatal: false, kind: 'unknown-key' });
  }
  for (const unsupported of unsupportedCallbacks(config.litellm_settings)) {
    const path: ConfigPath = unsupported.index === undefined ? ['litellm_settings', unsupported.key] : ['litellm_settings', unsupported.key, unsupported.index];
    issues.push({ severity: 'warning', message: unsupported.message, path, ...locate(path), fatal: false, kind: 'unsupported-key' });
  }
  for (const problem of callbackSettingsProblems(config.callback_settings, config.litellm_settings)) {
    issues.push({ severity: 'warning', message: problem.message, path: problem.path, ...locate(problem.path), fatal: false, kind: 'unsupported-key' });
  }

  // On the keys as written: a key whose os.environ/ variable is unset is still a key the config uses.
  issues.push(...unknownKeyWarnings(raw, locate));
  return { config, issues: sortIssues(issues), missingVariables, env: resolvedEnv, file, ...(invalidModels.size > 0 ? { invalidModels } : {}), ...(credentials.credentials?.size ? { credentials: credentials.credentials } : {}) };
}

/**
 * What stands for a model_list entry that failed validation: its name (or "model_list[<index>]"
 * when it has no usable one, so that it can be listed) and its model when that is a string; none
 * of its other settings, which are never used.
 */
function standInEntry(entry: unknown, index: number): ModelEntry {
  const fields = isJsonObject(entry) ? entry : {};
  const params = isJsonObject(fields.litellm_params) ? fields.litellm_params : {};
  const name = fields.model_name;
  const modelName = typeof name === 'number' || (typeof name === 'string' && name.trim() !== '') ? String(name) : `model_list[${index}]`;
  return { model_name: modelName, litellm_params: { model: typeof params.model === 'string' ? params.model : '' } };
}

function allowsInternalApiBase(generalSettings: unknown): boolean {
  const value = isJsonObject(generalSettings) ? generalSettings.allow_internal_api_base : undefined;
  return value === true || value === 'true' || value === 'True';
}

/**
 * api_base / base_url values the gateway must not call (security/api-base.ts): the model is
 * unavailable (deployments.ts keeps no such address), the gateway starts; --strict makes it an error.
 */
function apiBaseIssues(entries: unknown[], allowInternal: boolean, locate: (path: ConfigPath) => { line?: number; column?: number }): ConfigIssue[] {
  const issues: ConfigIssue[] = [];
  entries.forEach((entry, index) => {
    const params = isJsonObject(entry) && isJsonObject(entry.litellm_params) ? entry.litellm_params : undefined;
    for (const field of ['api_base', 'base_url']) {
      const value = params?.[field];
      // A value that is not a URL at all is reported by the schema.
      if (typeof value !== 'string' || !URL.canParse(value)) continue;
      const problem = apiBaseProblem(value, { allowInternal });
      if (!problem) continue;
      const path: ConfigPath = ['model_list', index, 'litellm_params', field];
      issues.push({ severity: 'warning', message: `${problem} (the gateway starts, with this model unavailable; nothing is ever sent there)`, path, ...locate(path), fatal: false, kind: 'unavailable-model' });
    }
  });
  return issues;
}

/** A default in-flight cap that lets one key take more than half of an origin's connections. */
function fairShareWarnings(config: GatewayConfig, locate: (path: ConfigPath) => { line?: number; column?: number }): ConfigIssue[] {
  const limit = config.general_settings.default_key_max_parallel_requests;
  if (limit === undefined || (limit > 0 && limit <= FAIR_SHARE_OF_ORIGIN)) return [];
  const path: ConfigPath = ['general_settings', 'default_key_max_parallel_requests'];
  const what = limit === 0 ? 'keys without max_parallel_requests have no in-flight cap' : `a key without max_parallel_requests may hold ${limit} requests in flight`;
  return [{ severity: 'warning', message: `${what}: one key can then take more than half (${FAIR_SHARE_OF_ORIGIN}) of an upstream's ${FAIR_SHARE_OF_ORIGIN * 2} connections and make every other key wait`, path, ...locate(path), fatal: false }];
}

/** Deployment tags route only with router_settings.enable_tag_filtering: said, not silently ignored. */
function tagRoutingWarnings(config: GatewayConfig, locate: (path: ConfigPath) => { line?: number; column?: number }): ConfigIssue[] {
  if (config.router_settings.enable_tag_filtering) return [];
  const index = config.model_list.findIndex((entry) => (entry.litellm_params.tags?.length ?? 0) > 0);
  if (index < 0) return [];
  const path: ConfigPath = ['model_list', index, 'litellm_params', 'tags'];
  return [{ severity: 'warning', message: 'litellm_params.tags route requests only with router_settings.enable_tag_filtering: true; without it they are not used for routing (request tags are still recorded and reported)', path, ...locate(path), fatal: false }];
}

/**
 * platform.roles entries no caller acts in: roleOf assigns only admin and user (LiteLLM's
 * proxy_admin users act as admin, every other user role as user), so a name such as
 * internal_user_viewer grants or withholds nothing — said, not silently dropped.
 */
function unusedRoleWarnings(config: GatewayConfig, locate: (path: ConfigPath) => { line?: number; column?: number }): ConfigIssue[] {
  const roles: readonly string[] = ROLES;
  return Object.keys(config.platform?.roles ?? {})
    .filter((role) => !roles.includes(role))
    .map((role) => {
      const path: ConfigPath = ['platform', 'roles', role];
      return { severity: 'warning' as const, message: `role "${role}" is never a caller's role, so its permissions are ignored: callers act as "admin" (the master key, proxy_admin users) or "user" (every other key and user); set permissions under those names`, path, ...locate(path), fatal: false, kind: 'unknown-key' as const };
    });
}

/** The guardrails list beyond its types (src/guardrails/definitions.ts): an error stops start-up, a warning names what will not run. */
function guardrailIssues(config: GatewayConfig, locate: (path: ConfigPath) => { line?: number; column?: number }): ConfigIssue[] {
  const path: ConfigPath = ['guardrails'];
  try {
    return guardrailDefinitions(config.guardrails).warnings.map((message) => ({ severity: 'warning' as const, message, path, ...locate(path), fatal: false }));
  } catch (error) {
    return [{ severity: 'error', message: (error as Error).message, path, ...locate(path), fatal: true }];
  }
}

/** Request timeouts that contradict each other (listener-settings.ts says which). */
function listenerIssues(config: GatewayConfig, locate: (path: ConfigPath) => { line?: number; column?: number }): ConfigIssue[] {
  try {
    listenerSettingsFrom(config);
    return [];
  } catch (error) {
    const path: ConfigPath = ['general_settings', 'request_headers_timeout'];
    return [{ severity: 'error', message: (error as Error).message, path, ...locate(path), fatal: true }];
  }
}

function failed(message: string, env: Record<string, string | undefined>, file?: string): LoadedConfig {
  return { config: configSchema.parse({}), issues: [{ severity: 'error', message, path: [], fatal: true }], missingVariables: [], env: { ...env }, file };
}


/** Paths of every forbidden key in the parsed YAML (walked with a stack: no recursion limit). */
export function forbiddenKeyPaths(root: unknown): ConfigPath[] {
  const found: ConfigPath[] = [];
  const stack: Array<{ value: unknown; path: ConfigPath }> = [{ value: root, path: [] }];
  while (stack.length > 0) {
    const { value, path } = stack.pop()!;
    if (Array.isArray(value)) value.forEach((item, index) => stack.push({ value: item, path: [...path, index] }));
    else if (isJsonObject(value)) {
      for (const key of Object.keys(value)) {
        if (FORBIDDEN_KEYS.has(key)) found.push([...path, key]);
        else stack.push({ value: value[key], path: [...path, key] });
      }
    }
  }
  return found.reverse();
}

/**
 * One warning per key the gateway does nothing with: a LiteLLM key marked not supported in
 * litellm-keys.ts (with its reason), or a key neither the schema nor LiteLLM knows. A not-supported
 * key that closes access or caps spend in LiteLLM (`leavesOpen`) and is set says what is left open.
 */
function unknownKeyWarnings(resolved: Record<string, unknown>, locate: (path: ConfigPath) => { line?: number; column?: number }): ConfigIssue[] {
  const warnings: ConfigIssue[] = [];
  for (const { path, schema, section } of KNOWN_KEYS) {
    const known = new Set(Object.keys(schema.shape as Record<string, unknown>));
    for (const { value, at } of expand(resolved, path)) {
      if (!isJsonObject(value)) continue;
      for (const key of Object.keys(value)) {
        if (FORBIDDEN_KEYS.has(key)) continue; // reported as an error
        const keyPath = [...at, key];
        const litellm = section ? litellmKey(section, key) : undefined;
        if (litellm && !litellm.honoured) {
          // A key that closes access or caps spend in LiteLLM says what ignoring it leaves open.
          const open = litellm.leavesOpen && !isEmptyDefault(value[key]) ? `: ignoring it leaves ${litellm.leavesOpen} open here, so restrict that another way` : '';
          warnings.push({ severity: 'warning', message: `"${key}" is not supported: ${litellm.note}${open}`, path: keyPath, ...locate(keyPath), fatal: false, kind: 'unsupported-key' });
        } else if (!known.has(key)) {
          warnings.push({ severity: 'warning', message: `unknown key "${key}" is ignored`, path: keyPath, ...locate(keyPath), fatal: false, kind: 'unknown-key' });
        }
      }
    }
  }
  return warnings;
}

/**
 * Why the setting at `path` is not read by the gateway (a key it does not support or know), or
 * undefined when it is: an unset variable there cannot matter.
 */
/** A variable inside a guardrail of a type the gateway does not run is not needed: the guardrail never calls out. */
function unbuiltGuardrail(raw: Record<string, unknown>, path: ConfigPath): string | undefined {
  if (path[0] !== 'guardrails' || typeof path[1] !== 'number' || !Array.isArray(raw.guardrails)) return undefined;
  const entry = raw.guardrails[path[1]] as { litellm_params?: { guardrail?: unknown } } | undefined;
  const type = entry?.litellm_params?.guardrail;
  return isBuiltInGuardrail(type) ? undefined : `guardrail type "${String(type)}" is not built in`;
}

function unusedSetting(path: ConfigPath): string | undefined {
  const known = KNOWN_KEYS.filter((entry) => entry.path.length < path.length && entry.path.every((part, index) => part === '*' ? typeof path[index] === 'number' : part === path[index]));
  // The deepest section the path lies in, and the key of that section it goes through.
  const deepest = known.sort((a, b) => b.path.length - a.path.length)[0];
  if (!deepest) return undefined;
  const key = String(path[deepest.path.length]);
  const litellm = deepest.section ? litellmKey(deepest.section, key) : undefined;
  if (litellm && !litellm.honoured) return `"${key}" is not supported`;
  if (!Object.hasOwn(deepest.schema.shape as Record<string, unknown>, key)) return `"${key}" is not a setting the gateway reads`;
  return undefined;
}

/** A LiteLLM setting left at its empty default (null, false, "", [] or {}): it restricts nothing. */
function isEmptyDefault(value: unknown): boolean {
  return value === undefined || value === null || value === false || value === '' || (Array.isArray(value) && value.length === 0) || (isJsonObject(value) && Object.keys(value).length === 0);
}

function expand(root: unknown, pattern: Array<string | '*'>): Array<{ value: unknown; at: ConfigPath }> {
  let current: Array<{ value: unknown; at: ConfigPath }> = [{ value: root, at: [] }];
  for (const part of pattern) {
    const next: typeof current = [];
    for (const { value, at } of current) {
      if (part === '*') {
        if (Array.isArray(value)) value.forEach((item, index) => next.push({ value: item, at: [...at, index] }));
      } else if (isJsonObject(value) && part in value) {
        next.push({ value: value[part], at: [...at, part] });
      }
    }
    current = next;
  }
  return current;
}

function locateNode(document: Document, lineCounter: LineCounter, path: ConfigPath): { line?: number; column?: number } {
  // A missing key (e.g. a required field) is reported at its nearest existing parent.
  for (let length = path.length; length >= 0; length--) {
    const node = length === 0 ? document.contents : document.getIn(path.slice(0, length), true);
    if (isNode(node) && node.range) {
      let offset = node.range[0];
      // Point at the key rather than the value where we can.
      if (length > 0 && length === path.length) {
        const parent = length === 1 ? document.contents : document.getIn(path.slice(0, length - 1), true);
        if (isMap(parent)) {
          const pair = parent.items.find((item) => isNode(item.key) && String((item.key as { value?: unknown }).value) === String(path[length - 1]));
          if (pair && isNode(pair.key) && pair.key.range) offset = pair.key.range[0];
        }
      }
      const position = lineCounter.linePos(offset);
      return { line: position.line, column: position.col };
    }
  }
  return {};
}

function describeZodIssue(issue: z.ZodIssue): string {
  if (issue.code === 'invalid_type' && issue.received === 'undefined') return issue.message === 'Required' ? 'is required' : issue.message;
  if (issue.code === 'invalid_type') return issue.message === 'Required' || issue.message.startsWith('Expected') ? `expected ${issue.expected}, got ${issue.received}` : issue.message;
  if (issue.code === 'invalid_enum_value') return `must be one of ${issue.options.map((option) => JSON.stringify(option)).join(', ')}`;
  return issue.message;
}

function sortIssues(issues: ConfigIssue[]): ConfigIssue[] {
  return issues.sort((a, b) => (a.line ?? 0) - (b.line ?? 0));
}
