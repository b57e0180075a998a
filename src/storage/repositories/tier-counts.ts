/** How many users each platform tier has (users without a tier are counted under `defaultTier`). */
import type { Kysely } from 'kysely';
import type { Database } from '../schema.js';

export async function usersPerTier(db: Kysely<Database>, defaultTier: string): Promise<Map<string, number>> {
  const rows = await db
    .selectFrom('users')
    .select((eb) => ['tier', eb.fn.countAll<number>().as('count')])
    .groupBy('tier')
    .execute();
  const counts = new Map<string, number>();
  for (const row of rows) {
    const tier = row.tier ?? defaultTier;
    counts.set(tier, (counts.get(tier) ?? 0) + Number(row.count));
  }
  return counts;
}
