import type { Kysely } from 'kysely';
import type { DialectName } from '../db.js';

/**
 * Per-model rate limits on keys (LiteLLM's `model_rpm_limit` / `model_tpm_limit`):
 * `api_keys.model_rpm_limit` and `api_keys.model_tpm_limit` hold them as JSON ({model: limit});
 * null: none.
 */
export async function up(db: Kysely<unknown>, _dialect: DialectName): Promise<void> {
  await db.schema.alterTable('api_keys').addColumn('model_rpm_limit', 'text').execute();
  await db.schema.alterTable('api_keys').addColumn('model_tpm_limit', 'text').execute();
}

export async function down(db: Kysely<unknown>): Promise<void> {
  await db.schema.alterTable('api_keys').dropColumn('model_tpm_limit').execute();
  await db.schema.alterTable('api_keys').dropColumn('model_rpm_limit').execute();
}
