/**
 * Thin queries over `gateway_settings` (settings changed at run time, on top of config.yaml) and
 * their change version, which replicas poll when there is no Redis.
 */
import type { Kysely } from 'kysely';
import type { Database } from '../schema.js';
import { bumpChangeVersion, readChangeVersion } from './change-versions.js';

export const SETTINGS_VERSION = 'gateway_settings';

export interface StoredSetting {
  name: string;
  value: unknown;
  updatedAt: number;
}

export class GatewaySettingsRepository {
  constructor(private readonly db: Kysely<Database>) {}

  /** The stored settings whose name starts with `prefix` (e.g. "router_settings."). */
  async list(prefix: string): Promise<StoredSetting[]> {
    // Filtered here rather than with LIKE, where "_" in a prefix would match any character.
    const rows = (await this.db.selectFrom('gateway_settings').selectAll().orderBy('name').execute()).filter((row) => row.name.startsWith(prefix));
    return rows.flatMap((row) => {
      try {
        return [{ name: row.name, value: JSON.parse(row.value) as unknown, updatedAt: Number(row.updated_at) }];
      } catch {
        return [];
      }
    });
  }

  /** Sets (value given) or removes (value undefined) settings in one transaction, and bumps the version. */
  apply(changes: Array<{ name: string; value: unknown }>, now: number): Promise<number> {
    return this.db.transaction().execute(async (transaction) => {
      for (const { name, value } of changes) {
        if (value === undefined) {
          await transaction.deleteFrom('gateway_settings').where('name', '=', name).execute();
        } else {
          const text = JSON.stringify(value);
          await transaction
            .insertInto('gateway_settings')
            .values({ name, value: text, updated_at: now })
            .onConflict((conflict) => conflict.column('name').doUpdateSet({ value: text, updated_at: now }))
            .execute();
        }
      }
      return bumpChangeVersion(transaction, SETTINGS_VERSION, now);
    });
  }

  /** Removes every stored setting under `prefix` and bumps the version. */
  clear(prefix: string, now: number): Promise<number> {
    return this.db.transaction().execute(async (transaction) => {
      const names = (await transaction.selectFrom('gateway_settings').select('name').execute()).map((row) => row.name).filter((name) => name.startsWith(prefix));
      if (names.length > 0) await transaction.deleteFrom('gateway_settings').where('name', 'in', names).execute();
      return bumpChangeVersion(transaction, SETTINGS_VERSION, now);
    });
  }

  version(): Promise<number> {
    return readChangeVersion(this.db, SETTINGS_VERSION);
  }
}
