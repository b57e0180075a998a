/**
 * Thin queries over `routing_rules` (the rules added through the API) and their change version,
 * which replicas poll when there is no Redis.
 */
import type { Kysely } from 'kysely';
import type { Database, RoutingRuleTable } from '../schema.js';
import { bumpChangeVersion, readChangeVersion } from './change-versions.js';

export const ROUTING_RULES_VERSION = 'routing_rules';

export class RoutingRuleRepository {
  constructor(private readonly db: Kysely<Database>) {}

  list(): Promise<RoutingRuleTable[]> {
    return this.db.selectFrom('routing_rules').selectAll().orderBy('priority').orderBy('name').execute();
  }

  /** Inserts a rule; false when one of that name exists. */
  insert(row: RoutingRuleTable): Promise<boolean> {
    return this.db.transaction().execute(async (transaction) => {
      const inserted = await transaction.insertInto('routing_rules').values(row).onConflict((conflict) => conflict.column('name').doNothing()).executeTakeFirst();
      if (Number(inserted.numInsertedOrUpdatedRows ?? 0) === 0) return false;
      await bumpChangeVersion(transaction, ROUTING_RULES_VERSION, row.updated_at);
      return true;
    });
  }

  /** Replaces the rule stored under `name` (which `row.name` may rename); false when there is none. */
  replace(name: string, row: RoutingRuleTable): Promise<boolean> {
    return this.db.transaction().execute(async (transaction) => {
      const updated = await transaction.updateTable('routing_rules').set(row).where('name', '=', name).executeTakeFirst();
      if (Number(updated.numUpdatedRows) === 0) return false;
      await bumpChangeVersion(transaction, ROUTING_RULES_VERSION, row.updated_at);
      return true;
    });
  }

  delete(name: string, now: number): Promise<boolean> {
    return this.db.transaction().execute(async (transaction) => {
      const deleted = await transaction.deleteFrom('routing_rules').where('name', '=', name).executeTakeFirst();
      if (Number(deleted.numDeletedRows) === 0) return false;
      await bumpChangeVersion(transaction, ROUTING_RULES_VERSION, now);
      return true;
    });
  }

  find(name: string): Promise<RoutingRuleTable | undefined> {
    return this.db.selectFrom('routing_rules').selectAll().where('name', '=', name).executeTakeFirst();
  }

  version(): Promise<number> {
    return readChangeVersion(this.db, ROUTING_RULES_VERSION);
  }
}
