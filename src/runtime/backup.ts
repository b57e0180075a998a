/**
 * `switchboard backup` and `switchboard restore` for the embedded SQLite database.
 *
 * Backup uses SQLite's online backup API (better-sqlite3's `db.backup()`), copying every page in one
 * step, i.e. inside one read transaction: the copy is the database as of one commit, however many
 * rows the running gateway writes meanwhile (WAL readers do not block its writers). The copy is
 * written next to the destination, switched to a self-contained rollback-journal file, checked
 * (integrity_check, migrations table) and only then renamed into place, mode 0600.
 *
 * Restore refuses while any process holds the database open. It detects that through SQLite's own
 * file locks: leaving WAL mode needs exclusive access, which SQLite refuses while another
 * connection (a running gateway, its usage writer, a backup in progress) has the file open. These
 * are POSIX locks: they see every process on this machine, and vanish with a crashed process, but
 * not processes on other hosts sharing the file over a network filesystem.
 */
import { chmodSync, closeSync, existsSync, fsyncSync, mkdirSync, openSync, renameSync, rmSync, statSync } from 'node:fs';
import { basename, dirname, join, resolve } from 'node:path';
import SQLite from 'better-sqlite3';
import { isPostgresUrl, redactUrl } from '../storage/db.js';
import { migrationProvider } from '../storage/migrations/index.js';

export class BackupError extends Error {}

const MIGRATIONS_TABLE = 'switchboard_migrations';
/** Pages per backup step: all of them, so the copy is taken inside one read transaction. */
const ALL_PAGES = 0x7fffffff;

/** The SQLite file a database URL names; refuses PostgreSQL (pg_dump's job) and in-memory databases. */
export function sqliteFileFrom(databaseUrl: string): string {
  if (isPostgresUrl(databaseUrl)) {
    throw new BackupError(
      `the database is PostgreSQL (${redactUrl(databaseUrl)}): back it up with PostgreSQL's own tools, e.g. \`pg_dump --format=custom --file=switchboard.dump "$DATABASE_URL"\`, and restore with pg_restore; switchboard backup/restore handle the embedded SQLite database only`,
    );
  }
  const path = databaseUrl.replace(/^(sqlite|file):(\/\/)?/i, '');
  if (path === ':memory:' || path === '') throw new BackupError('the database is in memory: there is nothing on disk to back up or restore');
  return resolve(path);
}

/** `20261204T220501Z`: sorts by time and is safe in a file name. */
export function fileTimestamp(now: Date): string {
  return now.toISOString().replace(/\.\d+Z$/, 'Z').replace(/[-:]/g, '');
}

export interface DatabaseFileSummary {
  migrations: string[];
  usageRows: number;
}

/**
 * Checks that FILE is a sound Switchboard database this version can run: a SQLite file whose
 * integrity_check passes, with the migrations table, and no migration this version does not know.
 */
export function inspectDatabaseFile(file: string): DatabaseFileSummary {
  let database: SQLite.Database;
  try {
    database = new SQLite(file, { readonly: true, fileMustExist: true });
  } catch (error) {
    throw new BackupError(`cannot open ${file}: ${(error as Error).message}`);
  }
  try {
    return summarize(database, file);
  } finally {
    database.close();
  }
}

function summarize(database: SQLite.Database, file: string): DatabaseFileSummary {
  let integrity: string[];
  try {
    integrity = (database.pragma('integrity_check') as Array<{ integrity_check: unknown }>).map((row) => String(row.integrity_check));
  } catch (error) {
    throw new BackupError(`${file} is not a SQLite database: ${(error as Error).message}`);
  }
  if (integrity.length !== 1 || integrity[0] !== 'ok') throw new BackupError(`${file} failed SQLite's integrity check: ${integrity.slice(0, 5).join('; ')}`);
  const table = database.prepare(`select name from sqlite_master where type = 'table' and name = ?`).get(MIGRATIONS_TABLE);
  if (!table) throw new BackupError(`${file} is a SQLite database but not a Switchboard one (it has no ${MIGRATIONS_TABLE} table)`);
  const migrations = (database.prepare(`select name from ${MIGRATIONS_TABLE} order by name`).all() as Array<{ name: string }>).map((row) => row.name);
  const usage = database.prepare(`select name from sqlite_master where type = 'table' and name = 'usage_logs'`).get();
  const usageRows = usage ? (database.prepare('select count(*) as n from usage_logs').get() as { n: number }).n : 0;
  return { migrations, usageRows };
}

async function knownMigrations(): Promise<Set<string>> {
  return new Set(Object.keys(await migrationProvider('sqlite').getMigrations()));
}

export interface BackupOutcome extends DatabaseFileSummary {
  file: string;
  bytes: number;
}

/**
 * Copies the SQLite database at SOURCE to OUT. OUT may be an existing directory (the copy is then
 * named switchboard-<timestamp>.db in it); an existing file is replaced only with `force`.
 */
export async function backupDatabase(source: string, out: string, options: { force?: boolean; now?: Date } = {}): Promise<BackupOutcome> {
  if (!existsSync(source)) throw new BackupError(`no database at ${source}: nothing to back up (check --data-dir / DATABASE_URL)`);
  let target = resolve(out);
  if (existsSync(target) && statSync(target).isDirectory()) target = join(target, `switchboard-${fileTimestamp(options.now ?? new Date())}.db`);
  if (target === source) throw new BackupError('--out names the live database itself');
  if (existsSync(target) && !options.force) throw new BackupError(`${target} exists: pass --force to replace it, or name a directory to get a timestamped file`);
  if (!existsSync(dirname(target))) throw new BackupError(`directory ${dirname(target)} does not exist`);

  const partial = join(dirname(target), `.${basename(target)}.partial-${process.pid}`);
  rmSync(partial, { force: true });
  try {
    await copyDatabase(source, partial);
  } catch (error) {
    rmSync(partial, { force: true });
    throw new BackupError(`backup of ${source} failed: ${(error as Error).message}`);
  }
  try {
    chmodSync(partial, 0o600);
    selfContained(partial);
    const copy = new SQLite(partial, { readonly: true, fileMustExist: true });
    let summary: DatabaseFileSummary;
    try {
      summary = summarize(copy, source);
    } finally {
      copy.close();
    }
    syncFile(partial);
    renameSync(partial, target);
    return { file: target, bytes: statSync(target).size, ...summary };
  } finally {
    rmSync(partial, { force: true });
  }
}

export interface RestoreOutcome extends DatabaseFileSummary {
  file: string;
  /** Where the database that was replaced now is; undefined when there was none. */
  previous: string | undefined;
}

/**
 * Replaces the SQLite database at TARGET with the backup FROM. Refuses while another process has
 * TARGET open; keeps the replaced file as `<TARGET>.before-restore-<timestamp>`.
 */
export async function restoreDatabase(target: string, from: string, options: { now?: Date } = {}): Promise<RestoreOutcome> {
  const source = resolve(from);
  if (!existsSync(source)) throw new BackupError(`no backup at ${source}`);
  if (source === target) throw new BackupError('--from names the live database itself');
  const summary = inspectDatabaseFile(source);
  const known = await knownMigrations();
  const unknown = summary.migrations.filter((name) => !known.has(name));
  if (unknown.length > 0) {
    throw new BackupError(`${source} was written by a newer Switchboard (migrations this version does not know: ${unknown.join(', ')}); restore it with that version`);
  }

  mkdirSync(dirname(target), { recursive: true });
  const held = existsSync(target) ? holdExclusively(target) : undefined;
  const incoming = join(dirname(target), `.${basename(target)}.restore-${process.pid}`);
  let previous: string | undefined;
  try {
    // Through SQLite, not a file copy: a source in WAL mode may hold committed pages in its -wal file.
    await copyDatabase(source, incoming);
    selfContained(incoming);
    chmodSync(incoming, 0o600);
    syncFile(incoming);
    if (held) {
      previous = `${target}.before-restore-${fileTimestamp(options.now ?? new Date())}`;
      renameSync(target, previous);
    }
    renameSync(incoming, target);
    for (const sidecar of ['-wal', '-shm', '-journal']) rmSync(`${target}${sidecar}`, { force: true });
  } finally {
    for (const leftover of ['', '-wal', '-shm', '-journal']) rmSync(`${incoming}${leftover}`, { force: true });
    held?.close();
  }
  return { file: target, previous, ...summary };
}

/**
 * Opens FILE and takes SQLite's exclusive lock on it, folding its WAL into the file, so that the
 * file can be moved whole. Throws when another connection has it open.
 */
function holdExclusively(file: string): SQLite.Database {
  const database = new SQLite(file, { fileMustExist: true, timeout: 0 });
  try {
    database.pragma('locking_mode = EXCLUSIVE');
    const mode = database.pragma('journal_mode = DELETE', { simple: true });
    if (mode !== 'delete') throw new Error(`journal mode stayed "${String(mode)}"`);
    database.exec('begin exclusive; commit');
    return database;
  } catch (error) {
    database.close();
    const busy = (error as { code?: string }).code === 'SQLITE_BUSY' || /locked|journal mode stayed/.test((error as Error).message);
    if (busy) {
      throw new BackupError(
        `${file} is open in another process (a running gateway, or a backup in progress): stop the gateway first (e.g. systemctl stop switchboard), then restore`,
      );
    }
    throw new BackupError(`cannot open ${file} to replace it: ${(error as Error).message}`);
  }
}

/** SQLite's online backup of FROM into the new file TO, all pages in one step (one read transaction). */
async function copyDatabase(from: string, to: string): Promise<void> {
  const database = new SQLite(from, { fileMustExist: true, timeout: 5_000 });
  try {
    await database.backup(to, { progress: () => ALL_PAGES });
  } finally {
    database.close();
  }
}

/** Switches FILE to a rollback journal: one file, no -wal/-shm beside it when it is opened, copied or moved. */
function selfContained(file: string): void {
  const database = new SQLite(file, { fileMustExist: true });
  try {
    database.pragma('journal_mode = DELETE');
  } finally {
    database.close();
  }
}

function syncFile(file: string): void {
  const descriptor = openSync(file, 'r');
  try {
    fsyncSync(descriptor);
  } finally {
    closeSync(descriptor);
  }
}
