/**
 * The databases a contract suite runs on: always an embedded SQLite file, and PostgreSQL when one is
 * reachable (DATABASE_URL, else the local default). Each run gets a database of its own, created
 * and dropped here, so runs never collide or depend on leftovers. Under CI=true PostgreSQL must be
 * there: a missing server fails the suite instead of skipping it.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';

export const POSTGRES_URL = process.env.DATABASE_URL && /^postgres/.test(process.env.DATABASE_URL) ? process.env.DATABASE_URL : 'postgres://postgres@127.0.0.1:5432/test';

export interface TestDatabase {
  dialect: 'sqlite' | 'postgres';
  url: string;
  drop(): Promise<void>;
}

let postgresReachable: Promise<string | undefined> | undefined;

/** undefined when PostgreSQL answers; otherwise why not. */
export function postgresUnavailableReason(): Promise<string | undefined> {
  postgresReachable ??= (async () => {
    const client = new pg.Client({ connectionString: POSTGRES_URL, connectionTimeoutMillis: 2_000 });
    try {
      await client.connect();
      await client.query('select 1');
      return undefined;
    } catch (error) {
      return `PostgreSQL at ${POSTGRES_URL.replace(/:[^:@/]+@/, ':***@')} is not reachable (${(error as Error).message})`;
    } finally {
      await client.end().catch(() => undefined);
    }
  })();
  return postgresReachable;
}

/** True when the PostgreSQL suites should run; prints why not, or throws under CI (they must run there). */
export async function postgresAvailableForTests(): Promise<boolean> {
  const reason = await postgresUnavailableReason();
  if (!reason) return true;
  if (process.env.CI === 'true') throw new Error(`CI=true but ${reason}: the PostgreSQL suites must run in CI`);
  console.warn(`[skip] PostgreSQL suites skipped: ${reason}`);
  return false;
}

export async function createSqliteDatabase(): Promise<TestDatabase> {
  const directory = mkdtempSync(join(tmpdir(), 'switchboard-db-'));
  return { dialect: 'sqlite', url: `sqlite:${join(directory, 'test.db')}`, drop: async () => rmSync(directory, { recursive: true, force: true }) };
}

export async function createPostgresDatabase(): Promise<TestDatabase> {
  const name = `switchboard_test_${process.pid}_${Math.random().toString(36).slice(2, 10)}`;
  const admin = new pg.Client({ connectionString: POSTGRES_URL });
  await admin.connect();
  try {
    await admin.query(`create database ${name}`);
  } finally {
    await admin.end();
  }
  const url = new URL(POSTGRES_URL);
  url.pathname = `/${name}`;
  return {
    dialect: 'postgres',
    url: url.toString(),
    drop: async () => {
      const dropper = new pg.Client({ connectionString: POSTGRES_URL });
      await dropper.connect();
      try {
        await dropper.query(`drop database if exists ${name} with (force)`);
      } finally {
        await dropper.end();
      }
    },
  };
}

/**
 * The dialects to run a suite on. PostgreSQL is left out (with the reason printed) only when it is
 * unreachable and CI is not set.
 */
export async function dialectsUnderTest(): Promise<Array<{ dialect: 'sqlite' | 'postgres'; create: () => Promise<TestDatabase> }>> {
  const dialects: Array<{ dialect: 'sqlite' | 'postgres'; create: () => Promise<TestDatabase> }> = [{ dialect: 'sqlite', create: createSqliteDatabase }];
  const reason = await postgresUnavailableReason();
  if (!reason) dialects.push({ dialect: 'postgres', create: createPostgresDatabase });
  else if (process.env.CI === 'true') throw new Error(`CI=true but ${reason}: the PostgreSQL suites must run in CI`);
  else console.warn(`[skip] PostgreSQL suites skipped: ${reason}`);
  return dialects;
}
