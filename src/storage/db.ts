/**
 * One query layer over two dialects: embedded SQLite (better-sqlite3, the default, a file under
 * ./data/) and PostgreSQL (`postgres://` URLs). Times are integer epoch milliseconds and money is
 * integer micro-dollars on both, so queries and results read the same everywhere.
 */
import { mkdirSync } from 'node:fs';
import { dirname, resolve } from 'node:path';
import SQLite from 'better-sqlite3';
import { Kysely, PostgresDialect, SqliteDialect } from 'kysely';
import type pgType from 'pg';
import { lazyModule } from '../lazy-module.js';
import type { Database } from './schema.js';

export type DialectName = 'sqlite' | 'postgres';

export interface DatabaseHandle {
  db: Kysely<Database>;
  dialect: DialectName;
  /** Where it points, with any password removed (for logs and /health/readiness). */
  description: string;
  /** The better-sqlite3 connection behind `db`, for SQLite (prepared statements on hot write paths). */
  sqlite?: SQLite.Database;
  close(): Promise<void>;
}

export const DEFAULT_SQLITE_PATH = './data/switchboard.db';

/** The size an SQLite WAL file is truncated back to once checkpointed (64 MiB). */
export const WAL_SIZE_LIMIT_BYTES = 64 * 1024 * 1024;

/**
 * The page cache of the usage writer thread's connection, in KiB (SQLite's own default).
 * better-sqlite3 builds SQLite with 16,000 KiB per connection, and the writer filled it as the
 * usage table grew: 15 MB of its pages resident after 40,000 rows (heaptrack of the gateway under
 * load). Its inserts append to the table and to indexes ordered by time, and the rollups touch a
 * few rows per key and day, so the pages it reuses fit in 2 MB (bench/README.md, "Memory").
 */
export const WRITER_CACHE_KIB = 2_000;

export function isPostgresUrl(url: string): boolean {
  return /^postgres(ql)?:\/\//i.test(url);
}

/**
 * `postgres://…` → PostgreSQL; `sqlite:PATH`, `file:PATH`, a path, or nothing → SQLite.
 * `sqliteCacheKib`: the SQLite connection's page cache (better-sqlite3's 16,000 KiB otherwise).
 */
export function openDatabase(url: string | undefined, options: { sqliteCacheKib?: number } = {}): DatabaseHandle {
  if (url && isPostgresUrl(url)) return openPostgres(url);
  const path = url ? url.replace(/^(sqlite|file):(\/\/)?/i, '') : DEFAULT_SQLITE_PATH;
  return openSqlite(path, options.sqliteCacheKib);
}

function openSqlite(path: string, cacheKib: number | undefined): DatabaseHandle {
  const inMemory = path === ':memory:';
  const absolute = inMemory ? path : resolve(path);
  if (!inMemory) mkdirSync(dirname(absolute), { recursive: true });
  const database = new SQLite(absolute);
  database.pragma('journal_mode = WAL');
  // Checkpoints reuse the WAL file from its start but never shrink it: after one large transaction
  // (a migration rebuilding indexes on millions of usage rows, a bulk import) it would keep that size
  // for good. Past this bound it is truncated once a checkpoint has emptied it.
  database.pragma(`journal_size_limit = ${WAL_SIZE_LIMIT_BYTES}`);
  database.pragma('synchronous = NORMAL');
  database.pragma('busy_timeout = 5000');
  database.pragma('foreign_keys = ON');
  if (cacheKib !== undefined) database.pragma(`cache_size = ${-Math.max(1, Math.floor(cacheKib))}`);
  const db = new Kysely<Database>({ dialect: new SqliteDialect({ database }) });
  return { db, dialect: 'sqlite', description: `sqlite:${absolute}`, sqlite: database, close: () => db.destroy() };
}

/** pg is loaded with the first PostgreSQL connection: an embedded database never loads it. */
const loadPg = lazyModule<typeof pgType>('pg');

const INT8_OID = 20;
const NUMERIC_OID = 1700;

function openPostgres(url: string): DatabaseHandle {
  const pg = loadPg();
  const pool = new pg.Pool({
    connectionString: url,
    max: 10,
    connectionTimeoutMillis: 5_000,
    idleTimeoutMillis: 30_000,
    // Counters and money are bigint columns; their values stay within 2^53, so read them as numbers.
    types: {
      getTypeParser: ((oid: number, format?: string) => {
        if (oid === INT8_OID || oid === NUMERIC_OID) return (value: string) => Number(value);
        return pg.types.getTypeParser(oid, format as 'text');
      }) as typeof pgType.types.getTypeParser,
    },
  });
  // A client losing its connection must not crash the process; the next query reconnects. The
  // pool hears the errors of its idle clients only: a client checked out for a query (a failover,
  // a restarted server, a network cut while it runs) emits its own, which with no listener would be
  // an uncaught exception — its query fails with the error, that is all.
  pool.on('error', () => undefined);
  pool.on('connect', (client) => {
    client.on('error', () => undefined);
  });
  const db = new Kysely<Database>({ dialect: new PostgresDialect({ pool }) });
  return { db, dialect: 'postgres', description: redactUrl(url), close: () => db.destroy() };
}

export function redactUrl(url: string): string {
  try {
    const parsed = new URL(url);
    if (parsed.password) parsed.password = '***';
    return parsed.toString();
  } catch {
    return url.replace(/:[^:@/]+@/, ':***@');
  }
}
