/**
 * `vectorStoreGranted`: whether any key or team grants a vector store (object_permission
 * .vector_stores; auth/vector-store-access.ts), on each dialect. The lookup reads a LIKE over the
 * granting rows, then each list exactly: an id that only matches as a LIKE pattern (`_` any
 * character, `%` anything, another case on SQLite, a prefix of a granted id) is not granted.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KeyRecord, TeamRecord } from '../../src/auth/principals.js';
import { openDatabase, type DatabaseHandle } from '../../src/storage/db.js';
import { migrateToLatest } from '../../src/storage/migrate.js';
import { PrincipalRepository } from '../../src/storage/repositories/principals.js';
import { dialectsUnderTest, type TestDatabase } from '../support/databases.js';

const dialects = await dialectsUnderTest();
const NOW = Date.UTC(2026, 11, 7);
const limits = { models: [], maxBudgetMicros: null, softBudgetMicros: null, budgetDuration: null, budgetPeriodStart: null, spendMicros: 0, rpmLimit: null, tpmLimit: null, maxParallelRequests: null, metadata: {}, blocked: false, createdAt: NOW, updatedAt: NOW };

function key(id: string, vectorStores: string[]): KeyRecord {
  return { ...limits, id, hash: id.padEnd(64, '0'), prefix: 'sk-...test', alias: null, userId: null, teamId: null, aliases: {}, expiresAt: null, vectorStores };
}

describe.each(dialects)('vector store grants on $dialect', ({ create }) => {
  let database: TestDatabase;
  let handle: DatabaseHandle;
  let principals: PrincipalRepository;

  beforeAll(async () => {
    database = await create();
    handle = openDatabase(database.url);
    await migrateToLatest(handle);
    principals = new PrincipalRepository(handle.db);
    await principals.insertKey(key('a1', ['vs_Key_Store', 'vs_shared']));
    await principals.insertKey(key('b2', []));
    const team: TeamRecord = { ...limits, teamId: 'support', alias: null, members: [], vectorStores: ['vs_team.store'] };
    await principals.insertTeam(team);
  });

  afterAll(async () => {
    await handle.close();
    await database.drop();
  });

  it('finds a store granted to a key or a team, exactly', async () => {
    expect(await principals.vectorStoreGranted('vs_Key_Store')).toBe(true);
    expect(await principals.vectorStoreGranted('vs_shared')).toBe(true);
    expect(await principals.vectorStoreGranted('vs_team.store')).toBe(true);
    for (const id of ['vs_key_store', 'vsXKey_Store', 'vs_%', 'vs_Key', 'Key_Store', 'vs_team_store', 'vs_nobody']) expect(await principals.vectorStoreGranted(id), id).toBe(false);
  });

  it('an emptied list grants nothing (stored as null), and the records read back their lists', async () => {
    await principals.updateKey('a1'.padEnd(64, '0'), { vectorStores: [] });
    expect(await principals.vectorStoreGranted('vs_shared')).toBe(false);
    expect((await principals.findKey('a1'.padEnd(64, '0')))?.vectorStores).toEqual([]);
    expect((await principals.findTeam('support'))?.vectorStores).toEqual(['vs_team.store']);
    const raw = await handle.db.selectFrom('api_keys').select('vector_stores').execute();
    expect(raw.map((row) => row.vector_stores)).toEqual([null, null]);
  });
});
