/**
 * `change_versions`: one number per kind of shared state (keys and principals, stored models,
 * run-time settings, BYOK keys). A writer bumps it in the same transaction as its change; replicas
 * without Redis poll it and reload when it moved.
 */
import type { Kysely, Transaction } from 'kysely';
import type { Database } from '../schema.js';

type Executor = Kysely<Database> | Transaction<Database>;

/** Sets `name`'s version to a fresh value (time-based, so it only grows) and returns it. */
export async function bumpChangeVersion(executor: Executor, name: string, now: number = Date.now()): Promise<number> {
  const version = now * 1000 + Math.floor(Math.random() * 1000);
  await executor
    .insertInto('change_versions')
    .values({ name, version })
    .onConflict((conflict) => conflict.column('name').doUpdateSet({ version }))
    .execute();
  return version;
}

/** `name`'s current version, 0 when it was never bumped. */
export async function readChangeVersion(executor: Executor, name: string): Promise<number> {
  const row = await executor.selectFrom('change_versions').select('version').where('name', '=', name).executeTakeFirst();
  return row ? Number(row.version) : 0;
}
