/**
 * LiteLLM's `os.environ/VAR` references: a config value (or a litellm_params value sent to the model
 * API) written as `os.environ/OPENAI_API_KEY` is read from the environment instead. This is the one
 * resolver for both: the config loader and the model registry resolve references the same way, at
 * any depth, and report each unset variable with the path of the value that named it.
 */
import { isJsonObject } from '../json-object.js';

export type ConfigPath = Array<string | number>;

export interface MissingVariable {
  path: ConfigPath;
  variable: string;
}

const ENV_PREFIX = 'os.environ/';

/** Keys that reach an object's prototype when assigned: never copied by the resolver. */
export const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** True for a value written as `os.environ/VAR`. */
export function isEnvironmentReference(value: unknown): value is string {
  return typeof value === 'string' && value.startsWith(ENV_PREFIX);
}

/**
 * `value` with every `os.environ/VAR` replaced by the variable's value. An unset (or empty)
 * variable is left out — the key disappears from its object — and added to `missing`.
 */
export function resolveReferences(value: unknown, path: ConfigPath, env: Record<string, string | undefined>, missing: MissingVariable[]): unknown {
  if (isEnvironmentReference(value)) {
    const variable = value.slice(ENV_PREFIX.length).trim();
    const found = env[variable];
    if (found === undefined || found === '') {
      missing.push({ path, variable });
      return undefined;
    }
    return found;
  }
  if (Array.isArray(value)) return value.map((item, index) => resolveReferences(item, [...path, index], env, missing));
  if (isJsonObject(value)) {
    const out: Record<string, unknown> = {};
    for (const [key, item] of Object.entries(value)) {
      // The config loader reports these keys; never assigned, so they cannot become a prototype.
      if (FORBIDDEN_KEYS.has(key)) continue;
      const resolvedItem = resolveReferences(item, [...path, key], env, missing);
      if (resolvedItem !== undefined) out[key] = resolvedItem;
    }
    return out;
  }
  return value;
}
