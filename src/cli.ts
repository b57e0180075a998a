/**
 * `switchboard start | migrate | check-config | --help` (bin/switchboard.js calls main()).
 * main() returns the exit code; `start` resolves only when the server stops.
 */
import { existsSync } from 'node:fs';
import { parseArgs } from 'node:util';
import { buildDeployments } from './config/deployments.js';
import { formatIssue, loadConfigFile, type LoadedConfig } from './config/load.js';
import { createLogger } from './observability/logger.js';
import { ConfigError, createRuntime } from './runtime/gateway-runtime.js';
import { openDatabase, redactUrl } from './storage/db.js';
import { migrateToLatest } from './storage/migrate.js';
import { VERSION } from './version.js';
import { uiIsBuilt } from './http/routes/ui.js';

const HELP = `switchboard ${VERSION} — a self-hosted LLM gateway (OpenAI- and Anthropic-compatible)

Usage:
  switchboard start [--config FILE] [--port N] [--host H]
      Runs the gateway. Defaults: --config $SWITCHBOARD_CONFIG, ./config.yaml or
      ./config.example.yaml; --port $PORT or 4000; --host $HOST or 0.0.0.0.
  switchboard migrate [--config FILE]
      Applies database migrations (DATABASE_URL, general_settings.database_url, or the
      embedded SQLite file ./data/switchboard.db) and exits.
  switchboard check-config FILE
      Validates a config file (LiteLLM config.yaml format). Prints each problem with its line;
      exits 1 when there are errors.
  switchboard --help | --version
`;

function defaultConfigFile(): string | undefined {
  if (process.env.SWITCHBOARD_CONFIG) return process.env.SWITCHBOARD_CONFIG;
  return ['config.yaml', 'config.example.yaml'].find((file) => existsSync(file));
}

function parsePort(value: string | undefined): number {
  const port = Number(value ?? process.env.PORT ?? 4000);
  if (!Number.isInteger(port) || port < 0 || port > 65535) throw new ConfigError(`--port must be a number from 0 to 65535, got "${value}"`);
  return port;
}

async function loadOrEmpty(file: string | undefined): Promise<LoadedConfig> {
  if (!file) throw new ConfigError('no config file: pass --config FILE (or set SWITCHBOARD_CONFIG)');
  return loadConfigFile(file);
}

async function start(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { config: { type: 'string', short: 'c' }, port: { type: 'string', short: 'p' }, host: { type: 'string' } }, allowPositionals: false });
  const file = values.config ?? defaultConfigFile();
  const loaded = await loadOrEmpty(file);
  const logger = createLogger({ json: loaded.config.litellm_settings.json_logs });
  const runtime = await createRuntime(loaded, { logger });
  const port = parsePort(values.port);
  const host = values.host ?? process.env.HOST ?? '0.0.0.0';
  const address = await runtime.listen(port, host);
  const groups = runtime.catalog.allGroups();
  logger.info(
    { config: file, models: groups.length, available: groups.filter((group) => group.available.length > 0).map((group) => group.name) },
    `switchboard ${VERSION} listening on ${address} (OpenAI API at /v1, Anthropic API at /v1/messages, admin UI at ${address}/ui${uiIsBuilt() ? '' : ' — not built: run npm run build'})`,
  );

  return new Promise<number>((resolve) => {
    let stopping = false;
    const stop = (signal: string) => {
      if (stopping) return;
      stopping = true;
      logger.info({ signal }, 'shutting down: finishing requests and flushing usage records');
      runtime.close().then(
        () => resolve(0),
        (error) => {
          logger.error({ err: error }, 'shutdown failed');
          resolve(1);
        },
      );
    };
    process.once('SIGINT', () => stop('SIGINT'));
    process.once('SIGTERM', () => stop('SIGTERM'));
  });
}

async function migrate(args: string[]): Promise<number> {
  const { values } = parseArgs({ args, options: { config: { type: 'string', short: 'c' } }, allowPositionals: false });
  let url = process.env.DATABASE_URL;
  if (!url && values.config) {
    const loaded = await loadConfigFile(values.config);
    url = loaded.config.general_settings.database_url;
  }
  const handle = openDatabase(url);
  try {
    const { applied } = await migrateToLatest(handle);
    console.log(applied.length > 0 ? `applied ${applied.length} migration(s) to ${handle.description}: ${applied.join(', ')}` : `${handle.description} is up to date`);
    return 0;
  } catch (error) {
    console.error(`migration failed on ${url ? redactUrl(url) : handle.description}: ${(error as Error).message}`);
    return 1;
  } finally {
    await handle.close();
  }
}

async function checkConfig(args: string[]): Promise<number> {
  const { positionals, values } = parseArgs({ args, options: { config: { type: 'string', short: 'c' } }, allowPositionals: true });
  const file = positionals[0] ?? values.config;
  if (!file) {
    console.error('usage: switchboard check-config FILE');
    return 2;
  }
  const loaded = await loadConfigFile(file);
  for (const issue of loaded.issues) console.log(formatIssue(issue, file));
  const errors = loaded.issues.filter((issue) => issue.severity === 'error');
  const warnings = loaded.issues.length - errors.length;
  if (errors.length > 0) {
    console.log(`${file}: ${errors.length} error(s), ${warnings} warning(s)`);
    return 1;
  }
  const deployments = buildDeployments(loaded);
  const groups = new Set(deployments.map((deployment) => deployment.modelName));
  console.log(`${file}: ok — ${groups.size} model(s), ${deployments.length} deployment(s), ${warnings} warning(s)`);
  return 0;
}

export async function main(argv: string[]): Promise<number> {
  const [command, ...rest] = argv;
  try {
    switch (command) {
      case undefined:
      case '--help':
      case '-h':
      case 'help':
        console.log(HELP);
        return command === undefined ? 1 : 0;
      case '--version':
      case '-v':
        console.log(VERSION);
        return 0;
      case 'start':
        return await start(rest);
      case 'migrate':
        return await migrate(rest);
      case 'check-config':
        return await checkConfig(rest);
      default:
        console.error(`unknown command "${command}"\n\n${HELP}`);
        return 2;
    }
  } catch (error) {
    if (error instanceof ConfigError || (error as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      console.error(`switchboard: ${(error as Error).message}`);
      return 1;
    }
    throw error;
  }
}
