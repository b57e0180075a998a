/**
 * `switchboard start | migrate | backup | restore | import-litellm | check-config | --help` (bin/switchboard.js calls main()).
 * main() returns the exit code; `start` resolves only when the server stops.
 */
import { unwatchFile, watchFile } from 'node:fs';
import { networkInterfaces } from 'node:os';
import { parseArgs } from 'node:util';
import type { Logger } from 'pino';
import { loadConfigFile, type LoadedConfig } from './config/load.js';
import { checkReport } from './config/check-report.js';
import { createLogger } from './observability/logger.js';
import { ConfigError, configRefusal, createRuntime, type GatewayRuntime } from './runtime/gateway-runtime.js';
import { MasterKeyFileError, storedMasterKey } from './runtime/master-key.js';
import { PID_FILE, readPidFile, removePidFile, writePidFile } from './runtime/pid-file.js';
import { openDatabase, redactUrl } from './storage/db.js';
import { migrateToLatest } from './storage/migrate.js';
import { VERSION } from './version.js';
import { releaseYoungGeneration } from './runtime/young-generation.js';
import { limitOldGenerationGrowth } from './runtime/old-generation.js';
import { keepWebAssemblyBaseline } from './runtime/webassembly-tier.js';
import { stopOnUncaughtError } from './runtime/crash.js';
import { isControl, isWorkerProcess, joinPrimary, runPrimary, workerCount, type ControlMessage } from './runtime/workers.js';
import type { WorkerRole } from './runtime/gateway-runtime.js';
import { backupCommand, restoreCommand } from './runtime/backup-commands.js';
import { importSnapshot } from './runtime/import-litellm.js';
import { readLiteLLM } from './runtime/litellm-source.js';
import { importSpendLogs } from './runtime/litellm-spend-logs.js';
import { defaultUiDirectory, uiIsBuilt } from './http/routes/ui.js';
import { resolveConfigFile, resolveRuntimeSettings, RuntimeSettingsError, type Environment, type RuntimeSettings, type SettingsFlags } from './config/runtime-settings.js';

const HELP = `switchboard ${VERSION} — a self-hosted LLM gateway (OpenAI- and Anthropic-compatible)

Usage:
  switchboard start [--config FILE] [--port N] [--host H] [--data-dir DIR] [--watch] [--workers N|auto]
      Runs the gateway. Defaults: --config $SWITCHBOARD_CONFIG, ./config.yaml or
      ./config.example.yaml; --port $PORT or 4000; --host $HOST or 127.0.0.1 (this
      machine only; 0.0.0.0 for every interface);
      --data-dir $SWITCHBOARD_DATA_DIR or ./data (the embedded SQLite file, spilled usage rows,
      and the master key generated on first start when none is configured).
      --watch re-reads the config file whenever it changes (as SIGHUP does).
      --workers N runs N worker processes on the one port (default 1; auto: one per core). Limits,
      budgets, credits, cooldowns and the local cache stay exact across them (through Redis when
      configured, else through the primary process); needs a database file or PostgreSQL.
      general_settings.global_max_parallel_requests is per process: each worker admits that many.
  switchboard reload [--data-dir DIR]
      Asks the gateway running on DIR to re-read its config file and apply it (SIGHUP): models,
      router settings, routing rules, tiers, agents; a file with errors changes nothing.
  switchboard migrate [--config FILE] [--data-dir DIR]
      Applies database migrations (DATABASE_URL, general_settings.database_url, or the
      embedded SQLite file DIR/switchboard.db) and exits.
  switchboard backup --out FILE|DIR [--force] [--config FILE] [--data-dir DIR]
      Copies the embedded SQLite database while the gateway runs (SQLite's online backup API).
      A directory gets a timestamped file. PostgreSQL: use pg_dump instead.
  switchboard restore --from FILE [--config FILE] [--data-dir DIR]
      Replaces the embedded SQLite database with a backup; refuses while a gateway has it open.
      The replaced file is kept as switchboard.db.before-restore-<timestamp>.
  switchboard import-litellm --database-url postgres://… [--with-spend-logs] [--config FILE] [--data-dir DIR]
      Reads an existing LiteLLM database (budgets, teams, users, virtual keys, end users, with
      their limits and spend) into this gateway's database, in one transaction. Keys keep working
      with their original secrets (LiteLLM stores the same SHA-256 hashes). --with-spend-logs also
      copies LiteLLM_SpendLogs into the usage history. Safe to re-run.
  switchboard check-config FILE [--strict] [--allow-missing-env]
      Validates a config file (LiteLLM config.yaml format). Prints each problem with its line,
      each LiteLLM setting the gateway does not support, and each model that would start
      unavailable (with the reason); exits 1 when there are errors.
      --allow-missing-env: unset environment variables are warnings (check without secrets).
      --strict: every warning is an error (unavailable models, unsupported keys), for CI.
  switchboard --help | --version
`;

/**
 * After the drain grace and shutdown_timeout, what the rest of a stop (writing the queued usage
 * rows, closing connections) gets at most — as for an uncaught error (runtime/crash.ts). Past it the
 * queued rows are spilled to disk synchronously and the process exits with 1: a database that hangs
 * instead of refusing can never keep the process up, nor take the rows down with it at the kill.
 */
const AFTER_SHUTDOWN_TIMEOUT_MS = 10_000;

/**
 * Stopping bounded by `boundMs`: past it the queued usage rows are spilled to disk synchronously
 * and the process exits with 1 (with `code` instead when the close finished and something else
 * still kept the process alive). Returns what to call once the close finished with `code`.
 */
function hardStop(runtime: GatewayRuntime, logger: Logger, boundMs: number): (code: number) => void {
  let closedWith: number | undefined;
  const timer = setTimeout(() => {
    if (closedWith !== undefined) process.exit(closedWith);
    const spilled = runtime.usageWriter.spillNow();
    logger.error({ boundMs, usageRowsSpilled: spilled }, 'stopping took too long: exiting at once, the usage rows still queued spilled to disk first');
    process.exit(1);
  }, boundMs);
  return (code) => {
    closedWith = code;
    timer.unref();
  };
}

/**
 * A second signal: out at once, but the usage rows of calls already answered (and billed upstream)
 * are spilled to disk synchronously first; the calls still in flight are cut and their rows spilled
 * too when they settle within a moment (runtime.abort). A third signal exits after spilling again.
 */
function stopAtOnce(runtime: GatewayRuntime, logger: Logger, signal: string, again: boolean): void {
  if (again) {
    runtime.usageWriter.spillNow();
    process.exit(1);
  }
  logger.warn({ signal }, 'second signal: stopping at once, without waiting for requests in flight (queued usage rows are spilled to disk)');
  runtime.abort().finally(() => process.exit(1));
}

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

/** Shorter than this, an operator's own master key is warned about (the generated one has 38 characters). */
export const SHORT_MASTER_KEY = 32;

/**
 * The master key opens every route, and the gateway answers a wrong key as fast as it can check
 * one: a short key (LiteLLM's docs show `sk-1234`) can be guessed by anyone who reaches the port.
 * Warned about at start, not refused: it is the operator's to choose.
 */
export function warnOnShortMasterKey(key: string, logger: Pick<Logger, 'warn'>): void {
  if (key.length >= SHORT_MASTER_KEY) return;
  logger.warn({ length: key.length }, `the master key (general_settings.master_key, SWITCHBOARD_MASTER_KEY or LITELLM_MASTER_KEY) is ${key.length} characters long: a key this short can be guessed by anyone who can reach the gateway; use at least ${SHORT_MASTER_KEY} random characters (e.g. \`sk-\` followed by the output of \`openssl rand -hex 24\`)`);
}

async function start(args: string[], env: Environment): Promise<number> {
  const { values } = parseArgs({ args, options: { ...SETTINGS_OPTIONS, port: { type: 'string', short: 'p' }, host: { type: 'string' }, watch: { type: 'boolean' }, workers: { type: 'string' } }, allowPositionals: false });
  const workers = workerCount(values.workers);
  const { loaded, settings } = await loadConfigAndSettings(env, { config: values.config, port: values.port, host: values.host, dataDir: values['data-dir'] });
  // A config the gateway cannot start with is refused before anything is generated or stored.
  const refusal = configRefusal(loaded);
  if (refusal) throw refusal;
  const logger = createLogger({ level: settings.logLevel, json: settings.jsonLogs });
  // Workers read the key the primary generated (quietly); the primary says where it is.
  const masterKey = settings.masterKey ?? (isWorkerProcess() ? storedMasterKey(settings.dataDir).key : generatedMasterKey(settings.dataDir, logger));
  if (settings.masterKey !== undefined && !isWorkerProcess()) warnOnShortMasterKey(settings.masterKey, logger);
  if (workers > 1 && !isWorkerProcess()) return startPrimary(workers, loaded, settings, logger, values.watch === true);
  const joined = isWorkerProcess() ? await joinPrimary(env) : undefined;
  keepWebAssemblyBaseline(); // before undici compiles its HTTP parser (runtime/webassembly-tier.ts)
  const runtime = await createRuntime(loaded, {
    worker: joined?.role,
    masterKey,
    logger,
    databaseUrl: settings.databaseUrl,
    dataDir: settings.dataDir,
    redisUrl: settings.redisUrl,
    redisPrefix: settings.redisPrefix,
    uiDirectory: settings.uiDirectory,
  });
  const address = await runtime.listen(settings.port, settings.host);
  releaseYoungGeneration();
  limitOldGenerationGrowth();
  // A bug's uncaught error stops the process after writing the queued usage rows (runtime/crash.ts).
  stopOnUncaughtError(runtime, logger, {
    shutdownTimeoutMs: settings.shutdownTimeoutMs,
    beforeClose: () => {
      if (joined) return;
      unwatchFile(settings.configFile!);
      removePidFile(settings.dataDir);
    },
  });
  if (joined) return serveAsWorker(joined.role, runtime, address, settings, env, logger);
  try {
    writePidFile(settings.dataDir);
  } catch (error) {
    logger.warn({ err: (error as Error).message }, 'could not write the pid file: `switchboard reload` will not find this gateway (SIGHUP still reloads it)');
  }
  const addresses = listeningAddresses(settings.host, address);
  const groups = runtime.catalog.allGroups();
  const uiBuilt = uiIsBuilt(settings.uiDirectory ?? defaultUiDirectory());
  logger.info(
    { config: settings.configFile, dataDir: settings.dataDir, models: groups.length, available: groups.filter((group) => group.available.length > 0).map((group) => group.name) },
    `switchboard ${VERSION} listening on ${addresses.join(' and ')} (OpenAI API at /v1, Anthropic API at /v1/messages, admin UI at ${addresses[0]}/ui${uiBuilt ? '' : ' — not built: run npm run build'})`,
  );

  return new Promise<number>((resolve) => {
    let stopping = false;
    let aborting = false;
    const stop = (signal: string) => {
      if (stopping) {
        // A second signal: the operator wants out now.
        stopAtOnce(runtime, logger, signal, aborting);
        aborting = true;
        return;
      }
      stopping = true;
      unwatchFile(settings.configFile!);
      removePidFile(settings.dataDir);
      runtime.drain();
      const { drainGraceMs, shutdownTimeoutMs } = settings;
      logger.info(
        { signal, drainGraceSeconds: drainGraceMs / 1000, shutdownTimeoutSeconds: shutdownTimeoutMs / 1000 },
        drainGraceMs > 0
          ? 'draining: readiness answers 503 while requests are still served; then finishing requests in flight and flushing usage records'
          : 'shutting down: finishing requests in flight and flushing usage records',
      );
      const closed = hardStop(runtime, logger, drainGraceMs + shutdownTimeoutMs + AFTER_SHUTDOWN_TIMEOUT_MS);
      const grace = new Promise<void>((done) => setTimeout(done, drainGraceMs));
      grace
        .then(() => runtime.close({ timeoutMs: shutdownTimeoutMs }))
        .then(
          () => 0,
          (error) => {
            logger.error({ err: error }, 'shutdown failed');
            return 1;
          },
        )
        .then((code) => {
          closed(code);
          resolve(code);
        });
    };
    process.on('SIGINT', () => stop('SIGINT'));
    process.on('SIGTERM', () => stop('SIGTERM'));
    // SIGHUP (also `switchboard reload`) and, with --watch, a changed file re-read and apply config.yaml.
    const file = settings.configFile!;
    process.on('SIGHUP', () => void reloadFromFile(file, env, runtime, logger, 'SIGHUP'));
    if (values.watch) {
      watchFile(file, { interval: 1_000 }, (now, before) => {
        if (now.mtimeMs !== before.mtimeMs) void reloadFromFile(file, env, runtime, logger, 'config file changed');
      });
    }
  });
}

/** The primary of `start --workers N`: forks the workers and owns the state they share (runtime/workers.ts). */
async function startPrimary(count: number, loaded: LoadedConfig, settings: RuntimeSettings, logger: Logger, watch: boolean): Promise<number> {
  return runPrimary({
    count,
    logger,
    loaded,
    settings,
    watch,
    announce: (address) => {
      try {
        writePidFile(settings.dataDir);
      } catch (error) {
        logger.warn({ err: (error as Error).message }, 'could not write the pid file: `switchboard reload` will not find this gateway (SIGHUP to the primary still reloads it)');
      }
      const addresses = listeningAddresses(settings.host, address);
      logger.info(
        { config: settings.configFile, dataDir: settings.dataDir, workers: count, primaryPid: process.pid, shared: settings.redisUrl ? 'redis' : 'the primary process' },
        `switchboard ${VERSION} listening on ${addresses.join(' and ')} with ${count} workers (OpenAI API at /v1, Anthropic API at /v1/messages, admin UI at ${addresses[0]}/ui)`,
      );
    },
    stopping: () => removePidFile(settings.dataDir),
  });
}

/**
 * A worker of `start --workers N`: tells the primary it listens, then stops when the primary says
 * so (or on its own SIGTERM/SIGINT, or when the primary is gone) — at once, its queued usage rows
 * spilled to disk, on a second request — and reloads when told to.
 */
function serveAsWorker(role: WorkerRole, runtime: GatewayRuntime, address: string, settings: RuntimeSettings, env: Environment, logger: Logger): Promise<number> {
  process.send?.({ sb: 'ready', address } satisfies ControlMessage);
  logger.info({ worker: role.index, pid: process.pid }, `worker ${role.index} of ${role.count} ready`);
  return new Promise<number>((resolve) => {
    // How far stopping went: 1 draining and closing, 2 stopping at once, 3 exiting at once. A request
    // comes as a signal of the worker's own (its nth) or from the primary (the nth it passes on); a
    // signal sent to the whole process group (Ctrl-C) comes by both routes, so a request no further
    // than what was already acted on is that copy and changes nothing.
    let reached = 0;
    let ownSignals = 0;
    const stop = (reason: string, nth: number) => {
      if (nth <= reached) return;
      reached = Math.min(nth, 3);
      if (reached > 1) {
        // Out at once, the queued usage rows spilled first (a third request: without waiting for the calls cut).
        stopAtOnce(runtime, logger, reason, reached > 2);
        return;
      }
      runtime.drain();
      const { drainGraceMs, shutdownTimeoutMs } = settings;
      logger.info({ worker: role.index, reason }, 'worker stopping: finishing requests in flight and flushing usage records');
      const closed = hardStop(runtime, logger, drainGraceMs + shutdownTimeoutMs + AFTER_SHUTDOWN_TIMEOUT_MS);
      new Promise<void>((done) => setTimeout(done, drainGraceMs))
        .then(() => runtime.close({ timeoutMs: shutdownTimeoutMs }))
        .then(
          () => 0,
          (error) => {
            logger.error({ err: error }, 'shutdown failed');
            return 1;
          },
        )
        .then((code) => {
          closed(code);
          // The IPC channel would keep this process alive.
          process.disconnect?.();
          resolve(code);
        });
    };
    process.on('SIGINT', () => stop('SIGINT', ++ownSignals));
    process.on('SIGTERM', () => stop('SIGTERM', ++ownSignals));
    process.on('SIGHUP', () => void reloadFromFile(settings.configFile!, env, runtime, logger, 'SIGHUP'));
    process.on('message', (message: unknown) => {
      if (!isControl(message)) return;
      if (message.sb === 'stop') stop(message.signal, message.nth);
      else if (message.sb === 'reload') void reloadFromFile(settings.configFile!, env, runtime, logger, message.trigger);
    });
    process.on('disconnect', () => {
      if (reached > 0) return;
      logger.error({ worker: role.index }, 'the primary process is gone: calls that need the shared limits are refused (503); stopping');
      stop('primary gone', 1);
    });
  });
}

/** Re-reads config.yaml and applies it (config-reload.ts), saying in the log what happened. */
async function reloadFromFile(file: string, env: Environment, runtime: GatewayRuntime, logger: Logger, trigger: string): Promise<void> {
  try {
    const outcome = await runtime.reload(await loadConfigFile(file, env));
    if (!outcome.applied) {
      for (const error of outcome.errors) logger.error({ file }, error);
      logger.error({ file, errors: outcome.errors.length }, `${trigger}: ${file} has ${outcome.errors.length} error(s); the running config is kept`);
      return;
    }
    for (const warning of outcome.warnings) logger.warn({ file }, warning);
    logger.info({ file, deployments: outcome.deployments, added: outcome.added, removed: outcome.removed }, `${trigger}: config reloaded from ${file}`);
    if (outcome.restartNeeded.length > 0) {
      logger.warn({ file, settings: outcome.restartNeeded }, `${trigger}: these changed settings are read at start only and apply after a restart: ${outcome.restartNeeded.join(', ')}`);
    }
  } catch (error) {
    logger.error({ file, err: (error as Error).message }, `${trigger}: could not reload the config; the running config is kept`);
  }
}

/** The master key kept in the data directory (generated, and printed this once, on first start). */
function generatedMasterKey(dataDir: string, logger: Logger): string {
  const stored = storedMasterKey(dataDir);
  if (stored.created) {
    logger.warn(
      { file: stored.path },
      `no master key is configured (general_settings.master_key or SWITCHBOARD_MASTER_KEY): generated one and stored it in ${stored.path} (readable by this user only). It is printed only this once: ${stored.key}`,
    );
  } else {
    logger.info({ file: stored.path }, `no master key is configured: using the one stored in ${stored.path}`);
  }
  if (stored.tightened) logger.warn({ file: stored.path }, 'the master key file was readable by other users: made it owner-only (mode 0600)');
  return stored.key;
}

/**
 * The addresses clients can use. On a wildcard host (0.0.0.0, ::) that is every interface's
 * address, loopback first; otherwise the one address bound.
 */
export function listeningAddresses(host: string, bound: string, interfaces: ReturnType<typeof networkInterfaces> = networkInterfaces()): string[] {
  if (host !== '0.0.0.0' && host !== '::') return [bound];
  const port = new URL(bound).port;
  const found: { url: string; internal: boolean }[] = [];
  for (const list of Object.values(interfaces)) {
    for (const item of list ?? []) {
      if (host === '0.0.0.0' && item.family !== 'IPv4') continue;
      if (item.family === 'IPv6' && item.scopeid) continue; // link-local: not usable without a zone
      found.push({ url: item.family === 'IPv6' ? `http://[${item.address}]:${port}` : `http://${item.address}:${port}`, internal: item.internal });
    }
  }
  found.sort((left, right) => Number(right.internal) - Number(left.internal));
  return found.length > 0 ? found.map((item) => item.url) : [bound];
}

/** `switchboard reload`: asks the gateway running on this data directory to re-read its config (SIGHUP). */
function reload(args: string[], env: Environment): number {
  const { values } = parseArgs({ args, options: { 'data-dir': { type: 'string' } }, allowPositionals: false });
  const settings = resolveRuntimeSettings(env, { dataDir: values['data-dir'] });
  const pid = readPidFile(settings.dataDir);
  if (pid === undefined) {
    console.error(`switchboard reload: no running gateway found (${settings.dataDir}/${PID_FILE} is missing); pass the --data-dir it was started with`);
    return 1;
  }
  try {
    process.kill(pid, 'SIGHUP');
  } catch (error) {
    console.error(`switchboard reload: the gateway with pid ${pid} (${settings.dataDir}/${PID_FILE}) is not running (${(error as NodeJS.ErrnoException).code})`);
    return 1;
  }
  console.log(`asked the gateway (pid ${pid}) to reload its config; its log says what was applied`);
  return 0;
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

/** `import-litellm --database-url postgres://…`: a LiteLLM database's budgets, teams, users, keys and end users into this gateway's. */
async function importLiteLLM(args: string[], env: Environment): Promise<number> {
  const { values } = parseArgs({ args, options: { ...SETTINGS_OPTIONS, 'database-url': { type: 'string' }, 'with-spend-logs': { type: 'boolean' } }, allowPositionals: false });
  const source = values['database-url'];
  if (!source || !/^postgres(ql)?:\/\//.test(source)) {
    console.error('usage: switchboard import-litellm --database-url postgres://… [--with-spend-logs] [--config FILE] [--data-dir DIR]  (the LiteLLM database to read)');
    return 2;
  }
  const loaded = values.config ? await loadConfigFile(values.config, env) : undefined;
  const settings = resolveRuntimeSettings(loaded?.env ?? env, { config: values.config, dataDir: values['data-dir'] }, loaded?.config);
  let snapshot;
  try {
    snapshot = await readLiteLLM(source);
  } catch (error) {
    console.error(`could not read the LiteLLM database at ${redactUrl(source)}: ${(error as Error).message}`);
    return 1;
  }
  const handle = openDatabase(settings.databaseUrl);
  try {
    await migrateToLatest(handle);
    const counts = await importSnapshot(handle.db, snapshot);
    for (const warning of counts.warnings) console.warn(`warning: ${warning}`);
    const line = (name: string, count: { created: number; updated: number }) => `${name}: ${count.created} created, ${count.updated} updated`;
    console.log(`imported from ${redactUrl(source)} into ${handle.description} — ${[line('budgets', counts.budgets), line('teams', counts.teams), line('users', counts.users), line('keys', counts.keys), line('end users', counts.endUsers)].join('; ')}`);
    if (values['with-spend-logs']) {
      const logs = await importSpendLogs(source, handle.db);
      console.log(`spend logs: ${logs.read} read, ${logs.stored} stored as usage history (${logs.read - logs.stored} already there)`);
    }
    return 0;
  } catch (error) {
    console.error(`the import into ${redactUrl(settings.databaseUrl)} failed (nothing was written): ${(error as Error).message}`);
    return 1;
  } finally {
    await handle.close();
  }
}

async function checkConfig(args: string[], env: Environment): Promise<number> {
  const { positionals, values } = parseArgs({ args, options: { config: { type: 'string', short: 'c' }, strict: { type: 'boolean' }, 'allow-missing-env': { type: 'boolean' } }, allowPositionals: true });
  const file = positionals[0] ?? values.config;
  if (!file) {
    console.error('usage: switchboard check-config FILE [--strict] [--allow-missing-env]');
    return 2;
  }
  const loaded = await loadConfigFile(file, env);
  const report = checkReport(loaded, { strict: values.strict === true, allowMissingEnv: values['allow-missing-env'] === true });
  for (const line of report.lines) console.log(line);
  return report.errors > 0 ? 1 : 0;
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
      case 'reload':
        return reload(rest, env);
      case 'check-config':
        return await checkConfig(rest, env);
      case 'import-litellm':
        return await importLiteLLM(rest, env);
      case 'backup':
        return await backupCommand(rest, env);
      case 'restore':
        return await restoreCommand(rest, env);
      default:
        console.error(`unknown command "${command}"\n\n${HELP}`);
        return 2;
    }
  } catch (error) {
    if (error instanceof ConfigError || error instanceof RuntimeSettingsError || error instanceof MasterKeyFileError || (error as { code?: string }).code === 'ERR_PARSE_ARGS_UNKNOWN_OPTION') {
      console.error(`switchboard: ${(error as Error).message}`);
      return 1;
    }
    throw error;
  }
}
