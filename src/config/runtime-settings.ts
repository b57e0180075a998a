/**
 * Every process-level setting the gateway takes from its command line, its environment and its
 * config file, resolved in one place with one precedence: flag > environment > config > default.
 * The CLI resolves them once and hands them down; nothing else reads the process environment.
 */
import { existsSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { GatewayConfig } from './schema.js';

export type Environment = Record<string, string | undefined>;

/** The command-line options that override settings (`start` and `migrate`). */
export interface SettingsFlags {
  config?: string;
  port?: string;
  host?: string;
  dataDir?: string;
}

export interface RuntimeSettings {
  /** The config file to read; undefined when none was named and no default file exists. */
  configFile: string | undefined;
  port: number;
  host: string;
  /** Absolute; the embedded SQLite file and the usage spill files live here. */
  dataDir: string;
  /** The database to open: DATABASE_URL, general_settings.database_url, else the SQLite file in dataDir. */
  databaseUrl: string;
  redisUrl: string | undefined;
  redisPrefix: string | undefined;
  logLevel: string;
  jsonLogs: boolean;
  /** The admin UI build to serve; undefined means the package's own dist/ui. */
  uiDirectory: string | undefined;
  /** general_settings.master_key, else SWITCHBOARD_MASTER_KEY, else LITELLM_MASTER_KEY; undefined: none named. */
  masterKey: string | undefined;
  /** On SIGTERM: readiness answers 503 for this long while requests are still served (drain_grace_seconds). */
  drainGraceMs: number;
  /** Then requests and streams in flight get this long to finish before their connections are cut (shutdown_timeout). */
  shutdownTimeoutMs: number;
}

export class RuntimeSettingsError extends Error {}

export const DEFAULT_PORT = 4000;
/** Loopback: a gateway is reachable from other machines only when --host / HOST says so. */
export const DEFAULT_HOST = '127.0.0.1';
export const DEFAULT_DATA_DIR = 'data';
export const DEFAULT_SHUTDOWN_TIMEOUT_SECONDS = 30;
export const SQLITE_FILE_NAME = 'switchboard.db';
const DEFAULT_CONFIG_FILES = ['config.yaml', 'config.example.yaml'];

/**
 * The config file: --config, else SWITCHBOARD_CONFIG, else ./config.yaml or ./config.example.yaml
 * (the first that exists). Needed before the config can be read, hence apart from the rest.
 */
export function resolveConfigFile(env: Environment, flags: SettingsFlags, fileExists: (path: string) => boolean = existsSync): string | undefined {
  return flags.config ?? nonEmpty(env.SWITCHBOARD_CONFIG) ?? DEFAULT_CONFIG_FILES.find((file) => fileExists(file));
}

/**
 * `env` is the environment the config was resolved against (the process environment plus the
 * config's `environment_variables`); `config` is absent for commands that run without one.
 */
export function resolveRuntimeSettings(env: Environment, flags: SettingsFlags, config?: GatewayConfig, workingDirectory = process.cwd()): RuntimeSettings {
  const dataDir = resolve(workingDirectory, flags.dataDir ?? nonEmpty(env.SWITCHBOARD_DATA_DIR) ?? DEFAULT_DATA_DIR);
  const uiDirectory = nonEmpty(env.SWITCHBOARD_UI_DIR);
  return {
    configFile: resolveConfigFile(env, flags, (file) => existsSync(resolve(workingDirectory, file))),
    port: parsePort(flags.port ?? nonEmpty(env.PORT)),
    host: flags.host ?? nonEmpty(env.HOST) ?? DEFAULT_HOST,
    dataDir,
    databaseUrl: nonEmpty(env.DATABASE_URL) ?? nonEmpty(config?.general_settings.database_url) ?? `sqlite:${join(dataDir, SQLITE_FILE_NAME)}`,
    redisUrl: config ? redisUrlFrom(config, env) : nonEmpty(env.REDIS_URL),
    redisPrefix: nonEmpty(env.SWITCHBOARD_REDIS_PREFIX),
    logLevel: nonEmpty(env.LOG_LEVEL) ?? (config?.litellm_settings.set_verbose === true ? 'debug' : 'info'),
    jsonLogs: parseBoolean('JSON_LOGS', env.JSON_LOGS) ?? config?.litellm_settings.json_logs ?? config?.general_settings.json_logs ?? false,
    uiDirectory: uiDirectory ? resolve(workingDirectory, uiDirectory) : undefined,
    masterKey: nonEmpty(config?.general_settings.master_key) ?? nonEmpty(env.SWITCHBOARD_MASTER_KEY) ?? nonEmpty(env.LITELLM_MASTER_KEY),
    drainGraceMs: Math.round((config?.general_settings.drain_grace_seconds ?? 0) * 1000),
    shutdownTimeoutMs: Math.round((config?.general_settings.shutdown_timeout ?? DEFAULT_SHUTDOWN_TIMEOUT_SECONDS) * 1000),
  };
}

/** REDIS_URL wins; else LiteLLM's router_settings.redis_url or redis_host/redis_port/redis_password. */
export function redisUrlFrom(config: GatewayConfig, env: Environment): string | undefined {
  if (env.REDIS_URL) return env.REDIS_URL;
  const settings = config.router_settings;
  if (settings.redis_url) return settings.redis_url;
  if (!settings.redis_host) return undefined;
  const password = settings.redis_password ? `:${encodeURIComponent(settings.redis_password)}@` : '';
  return `redis://${password}${settings.redis_host}:${settings.redis_port ?? 6379}`;
}

function parsePort(value: string | undefined): number {
  if (value === undefined) return DEFAULT_PORT;
  const port = Number(value);
  if (value.trim() === '' || !Number.isInteger(port) || port < 0 || port > 65535) {
    throw new RuntimeSettingsError(`--port (or PORT) must be a number from 0 to 65535, got "${value}"`);
  }
  return port;
}

/** LiteLLM writes `JSON_LOGS=True`; accept the usual spellings and refuse anything else. */
function parseBoolean(name: string, value: string | undefined): boolean | undefined {
  const text = nonEmpty(value)?.toLowerCase();
  if (text === undefined) return undefined;
  if (['true', '1', 'yes', 'on'].includes(text)) return true;
  if (['false', '0', 'no', 'off'].includes(text)) return false;
  throw new RuntimeSettingsError(`${name} must be true or false, got "${value}"`);
}

/** An empty variable (`PORT=`) counts as unset, as shells make it easy to export one by mistake. */
function nonEmpty(value: string | undefined): string | undefined {
  return value === undefined || value === '' ? undefined : value;
}
