import type { Kysely } from 'kysely';
import type { DialectName } from '../db.js';

/**
 * Agents: named model settings services call as `agent/<name>` or through POST /agents/{name}/run.
 *
 * - `agents`: one row per agent, its definition as JSON (`definition`), where it came from
 *   (`source`: "config" seeded from config.yaml, or "api").
 * - `agent_executions`: what a run of POST /agents/{name}/run concluded (status, confidence,
 *   output); its tokens and cost are those of its usage rows, never stored twice.
 * - `usage_logs.agent` / `usage_logs.agent_execution`: the agent a call was made for, and the run it
 *   belongs to (null for a call made through the OpenAI or Anthropic API, which is its own execution).
 */
export async function up(db: Kysely<unknown>, _dialect: DialectName): Promise<void> {
  await db.schema
    .createTable('agents')
    .addColumn('name', 'text', (column) => column.primaryKey())
    .addColumn('definition', 'text', (column) => column.notNull())
    .addColumn('source', 'text', (column) => column.notNull())
    .addColumn('created_at', 'bigint', (column) => column.notNull())
    .addColumn('updated_at', 'bigint', (column) => column.notNull())
    .execute();
  await db.schema
    .createTable('agent_executions')
    .addColumn('execution_id', 'text', (column) => column.primaryKey())
    .addColumn('agent', 'text', (column) => column.notNull())
    .addColumn('created_at', 'bigint', (column) => column.notNull())
    .addColumn('entity_type', 'text')
    .addColumn('status', 'text', (column) => column.notNull())
    .addColumn('confidence', 'double precision')
    .addColumn('input', 'text')
    .addColumn('output', 'text')
    .addColumn('error', 'text')
    .addColumn('execution_time_ms', 'integer', (column) => column.notNull())
    .execute();
  await db.schema.createIndex('agent_executions_agent_created').on('agent_executions').columns(['agent', 'created_at']).execute();
  await db.schema.alterTable('usage_logs').addColumn('agent', 'text').execute();
  await db.schema.alterTable('usage_logs').addColumn('agent_execution', 'text').execute();
  await db.schema.createIndex('usage_logs_agent_created').on('usage_logs').columns(['agent', 'created_at']).execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.dropIndex('usage_logs_agent_created').execute();
  await db.schema.alterTable('usage_logs').dropColumn('agent_execution').execute();
  await db.schema.alterTable('usage_logs').dropColumn('agent').execute();
  await db.schema.dropTable('agent_executions').execute();
  await db.schema.dropTable('agents').execute();
}
