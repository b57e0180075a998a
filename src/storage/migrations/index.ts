/**
 * The one migration set for both dialects, applied in name order on start and by
 * `switchboard migrate`. Names are timestamps so that later work appends without conflicts.
 */
import type { Kysely, Migration, MigrationProvider } from 'kysely';
import type { DialectName } from '../db.js';
import * as usageLogs from './2026-11-23-0001-usage-logs.js';
import * as keysUsersTeams from './2026-11-23-0002-keys-users-teams.js';
import * as keyIds from './2026-11-23-0003-key-ids.js';
import * as leanUsageIndexes from './2026-11-23-0004-lean-usage-indexes.js';
import * as usageBillingColumns from './2026-11-23-0005-usage-billing-columns.js';
import * as modelsAndHealth from './2026-11-23-0006-models-and-health.js';
import * as usageAnalytics from './2026-11-23-0007-usage-analytics.js';
import * as creditsByok from './2026-11-23-0008-credits-byok.js';
import * as gatewaySettings from './2026-11-23-0009-gateway-settings.js';
import * as usageIntegrity from './2026-12-04-0010-usage-integrity.js';
import * as allowancesPurchases from './2026-12-05-0013-allowances-purchases.js';
import * as responseCache from './2026-12-05-0014-response-cache.js';
import * as backendState from './2026-12-05-0015-backend-state.js';
import * as agents from './2026-12-05-0011-agents.js';
import * as routingRules from './2026-12-05-0012-routing-rules.js';
import * as usageRequestFields from './2026-12-05-0016-usage-request-fields.js';
import * as tagRollups from './2026-12-05-0017-tag-rollups.js';
import * as storedResponses from './2026-12-05-0018-stored-responses.js';
import * as customersBudgets from './2026-12-05-0021-customers-budgets.js';
import * as keyLitellmFields from './2026-12-05-0020-key-litellm-fields.js';
import * as reportClaims from './2026-12-05-0022-report-claims.js';
import * as partialUsageIndexes from './2026-12-05-0023-partial-usage-indexes.js';
import * as keyModelBudgets from './2026-12-05-0026-key-model-budgets.js';
import * as proxySpend from './2026-12-07-0027-proxy-spend.js';
import * as vectorStoreGrants from './2026-12-07-0028-vector-store-grants.js';
import * as keyModelRateLimits from './2026-12-07-0029-key-model-rate-limits.js';
import * as keyOwnerSince from './2026-12-07-0030-key-owner-since.js';

interface DialectMigration {
  up(db: Kysely<unknown>, dialect: DialectName): Promise<void>;
  down(db: Kysely<unknown>, dialect: DialectName): Promise<void>;
}

const MIGRATIONS: Record<string, DialectMigration> = {
  '2026-11-23-0001-usage-logs': usageLogs,
  '2026-11-23-0002-keys-users-teams': keysUsersTeams,
  '2026-11-23-0003-key-ids': keyIds,
  '2026-11-23-0004-lean-usage-indexes': leanUsageIndexes,
  '2026-11-23-0005-usage-billing-columns': usageBillingColumns,
  '2026-11-23-0006-models-and-health': modelsAndHealth,
  '2026-11-23-0007-usage-analytics': usageAnalytics,
  '2026-11-23-0008-credits-byok': creditsByok,
  '2026-11-23-0009-gateway-settings': gatewaySettings,
  '2026-12-04-0010-usage-integrity': usageIntegrity,
  '2026-12-05-0013-allowances-purchases': allowancesPurchases,
  '2026-12-05-0014-response-cache': responseCache,
  '2026-12-05-0015-backend-state': backendState,
  '2026-12-05-0011-agents': agents,
  '2026-12-05-0012-routing-rules': routingRules,
  '2026-12-05-0016-usage-request-fields': usageRequestFields,
  '2026-12-05-0017-tag-rollups': tagRollups,
  '2026-12-05-0018-stored-responses': storedResponses,
  '2026-12-05-0021-customers-budgets': customersBudgets,
  '2026-12-05-0020-key-litellm-fields': keyLitellmFields,
  '2026-12-05-0022-report-claims': reportClaims,
  '2026-12-05-0023-partial-usage-indexes': partialUsageIndexes,
  '2026-12-05-0026-key-model-budgets': keyModelBudgets,
  '2026-12-07-0027-proxy-spend': proxySpend,
  '2026-12-07-0028-vector-store-grants': vectorStoreGrants,
  '2026-12-07-0029-key-model-rate-limits': keyModelRateLimits,
  '2026-12-07-0030-key-owner-since': keyOwnerSince,
};

export function migrationProvider(dialect: DialectName): MigrationProvider {
  const bound: Record<string, Migration> = {};
  for (const [name, migration] of Object.entries(MIGRATIONS)) {
    bound[name] = { up: (db) => migration.up(db, dialect), down: (db) => migration.down(db, dialect) };
  }
  return { getMigrations: async () => bound };
}
