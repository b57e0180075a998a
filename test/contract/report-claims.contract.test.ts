/** The spend reports' claims (report_claims) on SQLite and PostgreSQL: the first claim wins, concurrent claims too. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type DatabaseHandle } from '../../src/storage/db.js';
import { migrateToLatest } from '../../src/storage/migrate.js';
import { ReportClaimRepository } from '../../src/storage/repositories/report-claims.js';
import { dialectsUnderTest, type TestDatabase } from '../support/databases.js';

const dialects = await dialectsUnderTest();

describe.each(dialects)('report claims repository ($dialect)', ({ create }) => {
  let database: TestDatabase;
  let handle: DatabaseHandle;
  let repository: ReportClaimRepository;

  beforeAll(async () => {
    database = await create();
    handle = openDatabase(database.url);
    await migrateToLatest(handle);
    repository = new ReportClaimRepository(handle.db);
  });
  afterAll(async () => {
    await handle?.close();
    await database?.drop();
  });

  it('lets one claimant win each report, among concurrent claims, and prunes only old claims of the given report', async () => {
    const wins = await Promise.all(['a', 'b', 'c', 'd'].map((by) => repository.claim('weekly-report:2026-11-23', by, 1_000)));
    expect(wins.filter(Boolean)).toHaveLength(1);
    expect(await repository.claim('weekly-report:2026-11-30', 'a', 2_000)).toBe(true);
    expect(await repository.claim('monthly-report:2026-11-01', 'a', 1_000)).toBe(true);
    await repository.prune('weekly-report:', 1_500);
    expect(await repository.claim('weekly-report:2026-11-23', 'b', 3_000)).toBe(true);
    expect(await repository.claim('weekly-report:2026-11-30', 'b', 3_000)).toBe(false);
    expect(await repository.claim('monthly-report:2026-11-01', 'b', 3_000)).toBe(false);
  });
});
