import type { Kysely } from 'kysely';
import type { DialectName } from '../db.js';

/**
 * Routing rules added at run time (/api/v1/llm/routing/rules), one row per rule named `name`,
 * its `match` and `action` as JSON; and on every usage row the name of the rule that routed the
 * call (`routing_rule`, null when none applied).
 */
export async function up(db: Kysely<unknown>, _dialect: DialectName): Promise<void> {
  await db.schema
    .createTable('routing_rules')
    .addColumn('name', 'text', (column) => column.primaryKey())
    .addColumn('priority', 'integer', (column) => column.notNull())
    .addColumn('enabled', 'integer', (column) => column.notNull())
    .addColumn('match', 'text', (column) => column.notNull())
    .addColumn('action', 'text', (column) => column.notNull())
    .addColumn('created_at', 'bigint', (column) => column.notNull())
    .addColumn('updated_at', 'bigint', (column) => column.notNull())
    .execute();
  await db.schema.alterTable('usage_logs').addColumn('routing_rule', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('usage_logs').dropColumn('routing_rule').execute();
  await db.schema.dropTable('routing_rules').execute();
}
