/** The model store (runtime-managed models, config-model overrides, shared health) on SQLite and PostgreSQL. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type DatabaseHandle } from '../../src/storage/db.js';
import { migrateToLatest } from '../../src/storage/migrate.js';
import { ModelRepository, type StoredModelRow } from '../../src/storage/repositories/models.js';
import { dialectsUnderTest, type TestDatabase } from '../support/databases.js';

const dialects = await dialectsUnderTest();

const apiRow = (id: string, overrides: Partial<StoredModelRow> = {}): StoredModelRow => ({
  id,
  origin: 'api',
  model_name: 'added',
  litellm_params: JSON.stringify({ model: 'openai/gpt-4o-mini' }),
  secrets: JSON.stringify({ api_key: 'v1.k1.iv.tag.ciphertext' }),
  model_info: '{}',
  enabled: 1,
  created_at: 1_795_000_000_000,
  updated_at: 1_795_000_000_000,
  ...overrides,
});

describe.each(dialects)('model repository ($dialect)', ({ create }) => {
  let database: TestDatabase;
  let handle: DatabaseHandle;
  let repository: ModelRepository;

  beforeAll(async () => {
    database = await create();
    handle = openDatabase(database.url);
    await migrateToLatest(handle);
    repository = new ModelRepository(handle.db);
  });
  afterAll(async () => {
    await handle?.close();
    await database?.drop();
  });

  it('inserts, lists in creation order, finds, updates and deletes models', async () => {
    await repository.insert(apiRow('m-2', { created_at: 1_795_000_000_002 }));
    await repository.insert(apiRow('m-1', { created_at: 1_795_000_000_001 }));
    expect((await repository.list()).map((row) => row.id)).toEqual(['m-1', 'm-2']);
    const found = await repository.find('m-1');
    expect(found).toEqual(apiRow('m-1', { created_at: 1_795_000_000_001 }));
    expect(typeof found!.created_at).toBe('number');
    expect(await repository.update('m-1', { enabled: 0, model_name: 'renamed', updated_at: 1_795_000_000_010 })).toBe(true);
    expect(await repository.find('m-1')).toMatchObject({ enabled: 0, model_name: 'renamed', updated_at: 1_795_000_000_010 });
    expect(await repository.update('missing', { enabled: 0 })).toBe(false);
    expect(await repository.delete('m-2')).toBe(true);
    expect(await repository.delete('m-2')).toBe(false);
    expect(await repository.find('m-2')).toBeUndefined();
  });

  it('keeps one override row per config model and flips it', async () => {
    await repository.setOverride('config-dep', false, 1_795_000_000_100);
    expect(await repository.find('config-dep')).toMatchObject({ origin: 'config', enabled: 0, model_name: null, created_at: 1_795_000_000_100 });
    await repository.setOverride('config-dep', true, 1_795_000_000_200);
    expect(await repository.find('config-dep')).toMatchObject({ origin: 'config', enabled: 1, created_at: 1_795_000_000_100, updated_at: 1_795_000_000_200 });
    expect((await repository.list()).filter((row) => row.id === 'config-dep')).toHaveLength(1);
  });

  it('bumps the models version to a new value every time', async () => {
    const before = await repository.version();
    const first = await repository.bumpVersion();
    const second = await repository.bumpVersion();
    expect(first).not.toBe(before);
    expect(second).not.toBe(first);
    expect(await repository.version()).toBe(second);
  });

  it('saves deployment health and reads the rows changed after a time', async () => {
    await repository.saveHealth({ deployment_id: 'd1', status: 'healthy', response_time_ms: 12, last_checked_at: 1000, last_error: null, consecutive_failures: 0, updated_at: 1000 });
    await repository.saveHealth({ deployment_id: 'd2', status: 'down', response_time_ms: null, last_checked_at: 1500, last_error: '502: bad gateway', consecutive_failures: 3, updated_at: 1500 });
    await repository.saveHealth({ deployment_id: 'd1', status: 'degraded', response_time_ms: 9000, last_checked_at: 2000, last_error: null, consecutive_failures: 0, updated_at: 2000 });
    expect((await repository.healthSince(0)).map((row) => [row.deployment_id, row.status]).sort()).toEqual([
      ['d1', 'degraded'],
      ['d2', 'down'],
    ]);
    expect(await repository.healthSince(1500)).toEqual([
      { deployment_id: 'd1', status: 'degraded', response_time_ms: 9000, last_checked_at: 2000, last_error: null, consecutive_failures: 0, updated_at: 2000 },
    ]);
  });
});
