/**
 * `switchboard start --workers N`: N worker processes serving one port (node:cluster; the primary
 * accepts connections and hands them to the workers in turn). The primary serves no HTTP: it runs
 * the migrations once before forking, owns the state that must be exact across workers when there
 * is no Redis (limits, budgets, credits and rpm/tpm counters; router cooldowns and per-minute
 * usage; the local response cache — ipc-state.ts), forwards reloads and shutdowns to every
 * worker, and starts a new worker when one dies. With Redis, limits and router state go to Redis
 * as with separate replicas, and only a local-type response cache stays with the primary.
 *
 * Each worker is a whole gateway (createRuntime) with its own database connection and SQLite
 * writer thread: the file is in WAL mode with a busy timeout, so the workers' batched writes take
 * turns; every usage row is written once, by the worker that served its call.
 */
import cluster, { type Worker } from 'node:cluster';
import { availableParallelism } from 'node:os';
import { unwatchFile, watchFile } from 'node:fs';
import type { Logger } from 'pino';
import { cacheSettingsFrom } from '../cache/settings.js';
import { LocalCacheStore, type CacheStore } from '../cache/store.js';
import type { LoadedConfig } from '../config/load.js';
import type { RuntimeSettings } from '../config/runtime-settings.js';
import { answerCalls, Outbox, SharedStateClient, type IpcPort } from '../state/ipc-state.js';
import { primaryRouterState, workerRouterState } from '../state/ipc-router-state.js';
import type { LimitsState } from '../state/limits-state.js';
import { LocalLimitsState } from '../state/local-limits-state.js';
import { WorkerHeldLimits } from '../state/worker-held-limits.js';
import { LocalRouterState } from '../state/local-router-state.js';
import { openDatabase, redactUrl } from '../storage/db.js';
import { migrateToLatest } from '../storage/migrate.js';
import { ConfigError, type WorkerRole } from './gateway-runtime.js';

/**
 * Control messages between the primary and a worker (shared-state calls are in ipc-state.ts).
 * A stop's `nth` is the primary's stop signal it passes on: 1 drains and closes, 2 stops at once
 * (queued usage rows spilled to disk, calls in flight cut), 3 spills and exits without waiting.
 */
export type ControlMessage = { sb: 'ready'; address: string } | { sb: 'stop'; signal: string; nth: number } | { sb: 'reload'; trigger: string };

export function isControl(message: unknown): message is ControlMessage {
  const kind = (message as { sb?: unknown } | null)?.sb;
  return kind === 'ready' || kind === 'stop' || kind === 'reload';
}

/** `--workers`: a whole number from 1, or `auto` (the machine's cores). Absent: 1. */
export function workerCount(value: string | undefined, cores = availableParallelism()): number {
  if (value === undefined) return 1;
  if (value === 'auto') return cores;
  const count = Number(value);
  if (value.trim() === '' || !Number.isInteger(count) || count < 1) throw new ConfigError(`--workers must be a whole number from 1, or auto (${cores} on this machine), got "${value}"`);
  return count;
}

/** After the primary's second signal: how long the workers have to spill their queued usage rows and exit before they are killed. */
const STOP_AT_ONCE_BOUND_MS = 5_000;

const ENV_INDEX = 'SWITCHBOARD_WORKER_INDEX';
const ENV_COUNT = 'SWITCHBOARD_WORKER_COUNT';
const ENV_SHARED = 'SWITCHBOARD_WORKER_SHARED';

export interface PrimaryOptions {
  count: number;
  logger: Logger;
  loaded: LoadedConfig;
  settings: RuntimeSettings;
  /** Re-read the config when the file changes (--watch): the primary tells every worker. */
  watch: boolean;
  /** Called once every worker listens, with the address the first one bound. */
  announce: (address: string) => void;
  /** Called when the primary begins to stop (the pid file goes). */
  stopping: () => void;
}

/** Runs the primary until every worker has stopped; resolves with the exit code. */
export async function runPrimary(options: PrimaryOptions): Promise<number> {
  const { count, logger, settings } = options;
  if (settings.databaseUrl.endsWith(':memory:')) {
    throw new ConfigError('--workers above 1 needs a database every worker can open (a SQLite file or PostgreSQL); sqlite::memory: would be one database per worker');
  }
  await migrateOnce(settings.databaseUrl, logger);

  const targets: Record<string, object> = {};
  const shared: string[] = [];
  const workers = new Map<number, Worker>();
  const broadcast = (target: string, name: string, args: unknown[]) => {
    for (const worker of workers.values()) send(worker, { sb: 'event', target, name, args });
  };
  if (!settings.redisUrl) {
    targets.limits = new LocalLimitsState();
    targets.router = primaryRouterState(new LocalRouterState(), broadcast);
    shared.push('limits', 'router');
  }
  const cache = cacheSettingsFrom(options.loaded.config).settings;
  if (cache && (cache.type === 'local' || cache.type === 'local-semantic')) {
    targets.cache = new LocalCacheStore(cache.maxBytes);
    shared.push('cache');
  }

  cluster.setupPrimary({ serialization: 'advanced' });
  let stopping = false;
  let announced = false;
  const ready = new Set<number>();
  let firstAddress: string | undefined;
  let failed = false;

  return new Promise<number>((resolve) => {
    const finishIfDone = () => {
      if (stopping && workers.size === 0) {
        unwatchFile(settings.configFile!);
        logger.info({ workers: count }, 'every worker stopped');
        resolve(failed ? 1 : 0);
      }
    };
    const stopAll = (signal: string) => {
      stopping = true;
      options.stopping();
      for (const worker of workers.values()) send(worker, { sb: 'stop', signal, nth: 1 });
      finishIfDone();
    };
    const fork = (index: number) => {
      // Two glibc malloc arenas per worker unless the operator chose (bench/README.md, "Memory"): as the image and the systemd unit run the gateway.
      const worker = cluster.fork({ MALLOC_ARENA_MAX: process.env.MALLOC_ARENA_MAX ?? '2', [ENV_INDEX]: String(index), [ENV_COUNT]: String(count), [ENV_SHARED]: shared.join(',') });
      workers.set(index, worker);
      // The limits as this worker reaches them: what it holds is given back if it dies (worker-held-limits.ts).
      const held = targets.limits ? new WorkerHeldLimits(targets.limits as LimitsState) : undefined;
      const workerTargets = held ? { ...targets, limits: held } : targets;
      // Replies of one event-loop turn leave in one write (ipc-state.ts).
      const replies = new Outbox((message) => send(worker, message as object));
      // A channel closing under a send (the worker is exiting): its exit is handled below.
      worker.on('error', (error: Error) => logger.debug({ worker: index, err: error.message }, 'worker channel error'));
      worker.on('message', (message: unknown) => {
        for (const other of answerCalls(workerTargets, message, (reply) => replies.push(reply))) {
          if (!isControl(other) || other.sb !== 'ready') continue;
          ready.add(index);
          firstAddress ??= other.address;
          if (!announced && ready.size === count) {
            announced = true;
            options.announce(firstAddress);
          }
        }
      });
      worker.on('exit', (code, signal) => {
        if (workers.get(index) === worker) workers.delete(index);
        ready.delete(index);
        // Its calls in flight died with it: their reservations, slots and token holds are free again.
        if (held && held.held > 0) {
          held.releaseAll().then(
            (released) => logger.warn({ worker: index, released }, `worker ${index} exited holding limits of calls in flight: given back`),
            (error: Error) => logger.error({ worker: index, err: error.message }, 'could not give back the limits a worker held'),
          );
        }
        if (stopping) {
          if (code !== 0) failed = true;
          finishIfDone();
          return;
        }
        if (!announced) {
          logger.error({ worker: index, code, signal }, `worker ${index} exited before it was ready: stopping the others`);
          failed = true;
          stopAll('start-up failure');
          return;
        }
        logger.error({ worker: index, pid: worker.process.pid, code, signal }, `worker ${index} exited unexpectedly: starting a new one`);
        setTimeout(() => stopping || fork(index), 1_000).unref();
      });
    };
    for (let index = 1; index <= count; index++) fork(index);

    const reloadAll = (trigger: string) => {
      for (const worker of workers.values()) send(worker, { sb: 'reload', trigger });
    };
    let signals = 0;
    const onSignal = (signal: string) => {
      signals++;
      if (signals > 1) {
        // Passed on, not a SIGKILL: a worker killed now would lose the usage rows it still has queued.
        // A worker that had the same signal itself (Ctrl-C reaches the whole process group) ignores the copy.
        const nth = Math.min(signals, 3);
        for (const worker of workers.values()) send(worker, { sb: 'stop', signal, nth });
        if (signals > 2) return;
        failed = true;
        logger.warn({ signal, workers: workers.size, boundMs: STOP_AT_ONCE_BOUND_MS }, 'second signal: every worker stops at once, without waiting for requests in flight (queued usage rows are spilled to disk); those still running after the bound are killed');
        setTimeout(() => {
          if (workers.size === 0) return;
          logger.error({ workers: [...workers.keys()], boundMs: STOP_AT_ONCE_BOUND_MS }, 'workers still running after the second signal: killed');
          for (const worker of workers.values()) worker.process.kill('SIGKILL');
          process.exit(1);
        }, STOP_AT_ONCE_BOUND_MS).unref();
        return;
      }
      logger.info({ signal, workers: workers.size }, 'stopping: every worker drains its requests in flight and flushes its usage records');
      stopAll(signal);
    };
    process.on('SIGINT', () => onSignal('SIGINT'));
    process.on('SIGTERM', () => onSignal('SIGTERM'));
    process.on('SIGHUP', () => reloadAll('SIGHUP'));
    if (options.watch) {
      watchFile(settings.configFile!, { interval: 1_000 }, (now, before) => {
        if (now.mtimeMs !== before.mtimeMs) reloadAll('config file changed');
      });
    }
  });
}

/** Sends to a worker unless its channel is closed; a send that fails as the worker exits is dropped. */
function send(worker: Worker, message: object): void {
  if (worker.isConnected()) worker.send(message, undefined, undefined, () => undefined);
}

/** The migrations, run once by the primary before any worker opens the database. */
async function migrateOnce(databaseUrl: string, logger: Logger): Promise<void> {
  let handle;
  try {
    handle = openDatabase(databaseUrl);
    const { applied } = await migrateToLatest(handle);
    logger.info({ database: handle.description, applied }, applied.length > 0 ? 'database migrated (once, before the workers start)' : 'database ready');
  } catch (error) {
    // The workers open it themselves and keep retrying, serving traffic meanwhile (database-state.ts).
    logger.error({ err: (error as Error).message, database: redactUrl(databaseUrl) }, 'could not migrate the database before starting the workers; each worker retries');
  } finally {
    await handle?.close().catch(() => undefined);
  }
}

/** In a worker: its place, and proxies to the state the primary owns. */
export async function joinPrimary(env: Record<string, string | undefined>): Promise<{ role: WorkerRole; client: SharedStateClient }> {
  const client = new SharedStateClient(process as unknown as IpcPort);
  const shared = new Set((env[ENV_SHARED] ?? '').split(',').filter(Boolean));
  const role: WorkerRole = { index: Number(env[ENV_INDEX]), count: Number(env[ENV_COUNT]) };
  const keep = () => Promise.resolve();
  if (shared.has('limits')) role.limits = client.proxy<LimitsState>('limits', { close: keep });
  if (shared.has('router')) role.router = await workerRouterState(client);
  // bytes() and evictions() are the primary's, not known here without a call: reported as for Redis.
  if (shared.has('cache')) role.cacheStore = client.proxy<CacheStore>('cache', { kind: 'local', bytes: () => undefined, evictions: () => 0, close: keep });
  return { role, client };
}

export function isWorkerProcess(): boolean {
  return cluster.isWorker;
}
