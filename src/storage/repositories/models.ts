/**
 * Thin queries over `model_deployments` (runtime-managed models and config-model overrides),
 * `deployment_health` (health shared without Redis) and the `models` change version.
 */
import type { Kysely } from 'kysely';
import type { Database, DeploymentHealthTable, ModelDeploymentTable } from '../schema.js';
import { bumpChangeVersion, readChangeVersion } from './change-versions.js';

export type StoredModelRow = ModelDeploymentTable;
export type StoredHealthRow = DeploymentHealthTable;

export const MODELS_VERSION = 'models';

export class ModelRepository {
  constructor(private readonly db: Kysely<Database>) {}

  async list(): Promise<StoredModelRow[]> {
    return this.db.selectFrom('model_deployments').selectAll().orderBy('created_at').orderBy('id').execute();
  }

  async find(id: string): Promise<StoredModelRow | undefined> {
    return this.db.selectFrom('model_deployments').selectAll().where('id', '=', id).executeTakeFirst();
  }

  async insert(row: StoredModelRow): Promise<void> {
    await this.db.insertInto('model_deployments').values(row).execute();
  }

  async update(id: string, changes: Partial<Omit<StoredModelRow, 'id' | 'created_at'>>): Promise<boolean> {
    const result = await this.db.updateTable('model_deployments').set(changes).where('id', '=', id).executeTakeFirst();
    return Number(result.numUpdatedRows) > 0;
  }

  /** An enable/disable override of a config-file model (inserted, or its flag changed). */
  async setOverride(id: string, enabled: boolean, now: number): Promise<void> {
    await this.db
      .insertInto('model_deployments')
      .values({ id, origin: 'config', model_name: null, litellm_params: '{}', secrets: '{}', model_info: '{}', enabled: enabled ? 1 : 0, created_at: now, updated_at: now })
      .onConflict((conflict) => conflict.column('id').doUpdateSet({ enabled: enabled ? 1 : 0, updated_at: now }))
      .execute();
  }

  async delete(id: string): Promise<boolean> {
    const result = await this.db.deleteFrom('model_deployments').where('id', '=', id).executeTakeFirst();
    return Number(result.numDeletedRows) > 0;
  }

  bumpVersion(): Promise<number> {
    return bumpChangeVersion(this.db, MODELS_VERSION);
  }

  version(): Promise<number> {
    return readChangeVersion(this.db, MODELS_VERSION);
  }

  // ---- deployment health (replicas without Redis)
  async saveHealth(row: StoredHealthRow): Promise<void> {
    const { deployment_id: _id, ...changes } = row;
    await this.db.insertInto('deployment_health').values(row).onConflict((conflict) => conflict.column('deployment_id').doUpdateSet(changes)).execute();
  }

  async healthSince(updatedAfter: number): Promise<StoredHealthRow[]> {
    return this.db.selectFrom('deployment_health').selectAll().where('updated_at', '>', updatedAfter).execute();
  }
}
