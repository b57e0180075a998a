/**
 * The two ways replicas share backend inventories and pulls: Redis (hash + pub/sub + claims) and the
 * `backend_state` table (polled), on SQLite and PostgreSQL. Two stores over one backend stand for
 * two replicas.
 */
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { DatabaseBackendStore, RedisBackendStore, type BackendRecord, type BackendStore } from '../../src/backends/backend-store.js';
import { openDatabase } from '../../src/storage/db.js';
import { migrateToLatest } from '../../src/storage/migrate.js';
import { BackendStateRepository } from '../../src/storage/repositories/backend-state.js';
import { dialectsUnderTest } from '../support/databases.js';
import { deleteKeys, REDIS_URL, redisAvailableForTests, uniquePrefix } from '../support/redis.js';

const logger = pino({ level: 'silent' });
const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const cleanup of cleanups) await cleanup();
});

interface Kind {
  name: string;
  /** Three stores sharing one backend, as three replicas would. */
  trio(): Promise<[BackendStore, BackendStore, BackendStore]>;
}

const kinds: Kind[] = [];
const redis = await redisAvailableForTests();
if (redis) {
  kinds.push({
    name: 'redis',
    async trio() {
      const prefix = uniquePrefix('backend-store');
      cleanups.push(() => deleteKeys(prefix));
      return [new RedisBackendStore(REDIS_URL, prefix, logger), new RedisBackendStore(REDIS_URL, prefix, logger), new RedisBackendStore(REDIS_URL, prefix, logger)];
    },
  });
}
for (const { dialect, create } of await dialectsUnderTest()) {
  kinds.push({
    name: `database (${dialect})`,
    async trio() {
      const database = await create();
      const handle = openDatabase(database.url);
      await migrateToLatest(handle);
      cleanups.push(async () => {
        await handle.close();
        await database.drop();
      });
      const repository = new BackendStateRepository(handle.db);
      return [new DatabaseBackendStore(() => repository, logger, 50), new DatabaseBackendStore(() => repository, logger, 50), new DatabaseBackendStore(() => repository, logger, 50)];
    },
  });
}

const inventory = (updatedAt: number): BackendRecord => ({
  type: 'inventory',
  inventory: { backendId: 'b1', kind: 'ollama', baseUrl: 'http://llm02:11434', reachable: true, models: [{ name: 'llama3.1:8b', size: 4661224676, quantization: 'Q4_0' }], loaded: [], checkedAt: updatedAt, updatedAt },
});
const pull = (completed: number, updatedAt: number): BackendRecord => ({
  type: 'pull',
  pull: { backendId: 'b1', model: 'llama3.1:8b', state: 'running', status: 'pulling 6a0746a1ec1a', completed, total: 100, startedAt: 1, updatedAt },
});

async function waitFor(received: BackendRecord[], count: number): Promise<void> {
  const deadline = Date.now() + 5_000;
  while (received.length < count && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
}

describe.each(kinds)('backend store: $name', (kind) => {
  it('delivers inventories and pull progress saved by one replica to the other, and what was saved before a replica started', async () => {
    const [one, two, late] = await kind.trio();
    const received: BackendRecord[] = [];
    const lateReceived: BackendRecord[] = [];
    await one.start(() => undefined);
    await two.start((record) => received.push(record));
    try {
      await one.save(inventory(Date.now()));
      await one.save(pull(40, Date.now() + 1));
      await waitFor(received, 2);
      // The table is read again a few seconds back (clock skew between replicas): a record may come twice.
      expect([...new Set(received.map((record) => record.type))].sort()).toEqual(['inventory', 'pull']);
      expect(received.find((record) => record.type === 'inventory')).toMatchObject({ inventory: { backendId: 'b1', models: [{ name: 'llama3.1:8b' }] } });
      expect(received.find((record) => record.type === 'pull')).toMatchObject({ pull: { model: 'llama3.1:8b', completed: 40 } });
      await late.start((record) => lateReceived.push(record));
      await waitFor(lateReceived, 2);
      expect([...new Set(lateReceived.map((record) => record.type))].sort()).toEqual(['inventory', 'pull']);
    } finally {
      await one.close();
      await two.close();
      await late.close();
    }
  });
});

describe.runIf(redis)('backend store: redis subscription', () => {
  it('is confirmed before start resolves: a record saved right after reaches the new replica by the channel', async () => {
    for (let round = 0; round < 20; round++) {
      const [one, two, other] = await kinds[0].trio();
      await other.close();
      const received: BackendRecord[] = [];
      await one.start(() => undefined);
      await two.start((record) => received.push(record));
      try {
        await one.save(pull(round, Date.now()));
        await waitFor(received, 1);
        expect(received.map((record) => record.type === 'pull' && record.pull.completed)).toEqual([round]);
      } finally {
        await one.close();
        await two.close();
      }
    }
  });
});

describe.runIf(redis)('backend store: redis claims', () => {
  it('claims a pull for one replica only, renews and releases it', async () => {
    const [one, two, other] = await kinds[0].trio();
    await one.start(() => undefined);
    await two.start(() => undefined);
    await other.close();
    try {
      expect(await one.claim!('pull:b1:llama3.1:8b', 200)).toBe(true);
      expect(await two.claim!('pull:b1:llama3.1:8b', 200)).toBe(false);
      await one.renew!('pull:b1:llama3.1:8b', 60_000);
      await new Promise((resolve) => setTimeout(resolve, 300));
      expect(await two.claim!('pull:b1:llama3.1:8b', 200)).toBe(false); // renewed: still held
      await two.release!('pull:b1:llama3.1:8b'); // not its claim: no effect
      expect(await two.claim!('pull:b1:llama3.1:8b', 200)).toBe(false);
      await one.release!('pull:b1:llama3.1:8b');
      expect(await two.claim!('pull:b1:llama3.1:8b', 200)).toBe(true);
    } finally {
      await one.close();
      await two.close();
    }
  });
});
