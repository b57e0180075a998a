/** The run-time settings store (gateway_settings and its change version) on SQLite and PostgreSQL. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openDatabase, type DatabaseHandle } from '../../src/storage/db.js';
import { migrateToLatest } from '../../src/storage/migrate.js';
import { GatewaySettingsRepository } from '../../src/storage/repositories/gateway-settings.js';
import { dialectsUnderTest, type TestDatabase } from '../support/databases.js';

const dialects = await dialectsUnderTest();

describe.each(dialects)('gateway settings repository ($dialect)', ({ create }) => {
  let database: TestDatabase;
  let handle: DatabaseHandle;
  let repository: GatewaySettingsRepository;

  beforeAll(async () => {
    database = await create();
    handle = openDatabase(database.url);
    await migrateToLatest(handle);
    repository = new GatewaySettingsRepository(handle.db);
  });
  afterAll(async () => {
    await handle?.close();
    await database?.drop();
  });

  it('sets, replaces and removes settings as JSON, bumping the version each time', async () => {
    expect(await repository.version()).toBe(0);
    const first = await repository.apply(
      [
        { name: 'router_settings.num_retries', value: 2 },
        { name: 'router_settings.fallbacks', value: [{ a: ['b', 'c'] }] },
        { name: 'other.setting', value: { nested: true } },
      ],
      1_795_000_000_000,
    );
    expect(await repository.version()).toBe(first);
    expect(await repository.list('router_settings.')).toEqual([
      { name: 'router_settings.fallbacks', value: [{ a: ['b', 'c'] }], updatedAt: 1_795_000_000_000 },
      { name: 'router_settings.num_retries', value: 2, updatedAt: 1_795_000_000_000 },
    ]);

    const second = await repository.apply([{ name: 'router_settings.num_retries', value: 5 }, { name: 'router_settings.fallbacks', value: undefined }], 1_795_000_000_500);
    expect(second).not.toBe(first);
    expect(await repository.version()).toBe(second);
    expect(await repository.list('router_settings.')).toEqual([{ name: 'router_settings.num_retries', value: 5, updatedAt: 1_795_000_000_500 }]);
  });

  it('clears one prefix only ("_" in it is no wildcard), and bumps the version', async () => {
    await repository.apply([{ name: 'routerXsettings.lookalike', value: 1 }], 1_795_000_001_000);
    const before = await repository.version();
    const cleared = await repository.clear('router_settings.', 1_795_000_002_000);
    expect(cleared).not.toBe(before);
    expect(await repository.list('router_settings.')).toEqual([]);
    expect((await repository.list('')).map((setting) => setting.name)).toEqual(['other.setting', 'routerXsettings.lookalike']);
  });
});
