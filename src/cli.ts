/**
 * `switchboard start | migrate | backup | restore | check-config | --help` (bin/switchboard.js calls main()).
 * main() returns the exit code; `start` resolves only when the server stops.
 */
import { parseArgs } from 'node:util';
import { buildDeployments } from './config/deployments.js';
import { formatIssue, loadConfigFile, type LoadedConfig } from './config/load.js';
import { createLogger } from './observability/logger.js';
import { ConfigError, createRuntime } from './runtime/gateway-runtime.js';
import { openDatabase, redactUrl } from './storage/db.js';
import { migrateToLatest } from './storage/migrate.js';
import { VERSION } from './version.js';
import { backupCommand, restoreCommand } from './runtime/backup-commands.js';
import { defaultUiDirectory, uiIsBuilt } from './http/routes/ui.js';
import { resolveConfigFile, resolveRuntimeSettings, RuntimeSettingsError, type Environment, type RuntimeSettings, type SettingsFlags } from './config/runtime-settings.js';

const HELP = `switchboard ${VERSION} — a self-hosted LLM gateway (OpenAI- and Anthropic-compatible)

Usage:
  switchboard start [--config FILE] [--port N] [--host H] [--data-dir DIR]
      Runs the gateway. Defaults: --config $SWITCHBOARD_CONFIG, ./config.yaml or
      ./config.example.yaml; --port $PORT or 4000; --host $HOST or 0.0.0.0;
      --data-dir $SWITCHBOARD_DATA_DIR or ./data (the embedded SQLite file and spilled usage rows).
  switchboard migrate [--config FILE] [--data-dir DIR]
      Applies database migrations (DATABASE_URL, general_settings.database_url, or the
      embedded SQLite file DIR/switchboard.db) and exits.
  switchboard backup --out FILE|DIR [--force] [--config FILE] [--data-dir DIR]
      Copies the embedded SQLite database while the gateway runs (SQLite's online backup API).
      A directory gets a timestamped file. PostgreSQL: use pg_dump instead.
  switchboard restore --from FILE [--config FILE] [--data-dir DIR]
      Replaces the embedded SQLite database with a backup; refuses while a gateway has it open.
      The replaced file is kept as switchboard.db.before-restore-<timestamp>.
  switchboard check-config FILE
      Validates a config file (LiteLLM config.yaml format). Prints each problem with its line;
      exits 1 when there are errors.
  switchboard --help | --version
`;

const SETTINGS_OPTIONS = {
  config: { type: 'string', short: 'c' },
  'data-dir': { type: 'string' },
} as const;

/** The config `start` runs with, and the settings resolved against it (its environment_variables included). */
async function loadConfigAndSettings(env: Environment, flags: SettingsFlags): Promise<{ loaded: LoadedConfig; settings: RuntimeSettings }> {
  const file = resolveConfigFile(env, flags);
  if (!file) throw new ConfigError('no config file: pass --config FILE (or set SWITCHBOARD_CONFIG)');
  const loaded = await loadConfigFile(file, env);
  return { loaded, settings: resolveRuntimeSettings(loaded.env, { ...flags, config: file }, loaded.config) };
}

async function start(args: string[], env: Environment): Promise<number> {
  const { values } = parseArgs({ args, options: { ...SETTINGS_OPTIONS, port: { type: 'string', short: 'p' }, host: { type: 'string' } }, allowPositionals: false });
  const { loaded, settings } = await loadConfigAndSettings(env, { config: values.config, port: values.port, host: values.host, dataDir: values['data-dir'] });
  const logger = createLogger({ level: settings.logLevel, json: settings.jsonLogs });
  const runtime = await createRuntime(loaded, {
    logger,
    databaseUrl: settings.databaseUrl,
    dataDir: settings.dataDir,
    redisUrl: settings.redisUrl,
    redisPrefix: settings.redisPrefix,
    uiDirectory: settings.uiDirectory,
  });
  const address = await runtime.listen(settings.port, settings.host);
  const groups = runtime.catalog.allGroups();
  const uiBuilt = uiIsBuilt(settings.uiDirectory ?? defaultUiDirectory());
  logger.info(
    { config: settings.configFile, dataDir: settings.dataDir, models: groups.length, available: groups.filter((group) => group.available.length > 0).map((group) => group.name) },
    `switchboard ${VERSION} listening on ${address} (OpenAI API at /v1, Anthropic API at /v1/messages, admin UI at ${address}/ui${uiBuilt ? '' : ' — not built: run npm run build'})`,
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

async function migrate(args: string[], env: Environment): Promise<number> {
  const { values } = parseArgs({ args, options: SETTINGS_OPTIONS, allowPositionals: false });
  // The config is read only when named: migrate must work before any config.yaml exists.
  const loaded = values.config ? await loadConfigFile(values.config, env) : undefined;
  const settings = resolveRuntimeSettings(loaded?.env ?? env, { config: values.config, dataDir: values['data-dir'] }, loaded?.config);
  const handle = openDatabase(settings.databaseUrl);
  try {
    const { applied } = await migrateToLatest(handle);
    console.log(applied.length > 0 ? `applied ${applied.length} migration(s) to ${handle.description}: ${applied.join(', ')}` : `${handle.description} is up to date`);
    return 0;
  } catch (error) {
    console.error(`migration failed on ${redactUrl(settings.databaseUrl)}: ${(error as Error).message}`);
    return 1;
  } finally {
    await handle.close();
  }
}

async function checkConfig(args: string[], env: Environment): Promise<number> {
  const { positionals, values } = parseArgs({ args, options: { config: { type: 'string', short: 'c' } }, allowPositionals: true });
  const file = positionals[0] ?? values.config;
  if (!file) {
    console.error('usage: switchboard check-config FILE');
    return 2;
  }
  const loaded = await loadConfigFile(file, env);
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

/** `env` is the process environment (bin/switchboard.js passes it); it is read nowhere else. */
export async function main(argv: string[], env: Environment): Promise<number> {
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
        return await start(rest, env);
      case 'migrate':
        return await migrate(rest, env);
      case 'check-config':
        return await checkConfig(rest, env);
      case 'backup':
        return await backupCommand(rest, env);
      case 'restore':
        return await restoreCommand(rest, env);
      default:
        console.error(`unknown command "${command}"\n\n${HELP}`);
        return 2;
    }
  } catch (error) {
    if (error instanceof ConfigError || error instanceof RuntimeSettingsError || (error as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      console.error(`switchboard: ${(error as Error).message}`);
      return 1;
    }
    throw error;
  }
}
