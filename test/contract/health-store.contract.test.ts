/**
 * The two ways replicas share deployment health: Redis (hash + pub/sub + round claims) and the
 * database table (polled), on SQLite and PostgreSQL. Two stores over one backend stand for two replicas.
 */
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import type { DeploymentHealth, HealthStore } from '../../src/routing/health-monitor.js';
import { DatabaseHealthStore, RedisHealthStore } from '../../src/state/health-store.js';
import { openDatabase, type DatabaseHandle } from '../../src/storage/db.js';
import { migrateToLatest } from '../../src/storage/migrate.js';
import { ModelRepository } from '../../src/storage/repositories/models.js';
import { dialectsUnderTest, type TestDatabase } from '../support/databases.js';
import { deleteKeys, REDIS_URL, redisAvailableForTests, uniquePrefix } from '../support/redis.js';

const logger = pino({ level: 'silent' });
const redis = await redisAvailableForTests();
const dialects = await dialectsUnderTest();
const cleanups: Array<() => Promise<void>> = [];
afterAll(async () => {
  for (const cleanup of cleanups) await cleanup();
});

interface Backend {
  name: string;
  /** Two stores sharing one backend, as two replicas would. */
  pair(): Promise<[HealthStore, HealthStore]>;
}

const backends: Backend[] = [];
if (redis) {
  backends.push({
    name: 'redis',
    async pair() {
      const prefix = uniquePrefix('health');
      cleanups.push(() => deleteKeys(prefix));
      return [new RedisHealthStore(REDIS_URL, prefix, logger), new RedisHealthStore(REDIS_URL, prefix, logger)];
    },
  });
}
for (const { dialect, create } of dialects) {
  backends.push({
    name: `database (${dialect})`,
    async pair() {
      const database: TestDatabase = await create();
      const handle: DatabaseHandle = openDatabase(database.url);
      await migrateToLatest(handle);
      cleanups.push(async () => {
        await handle.close();
        await database.drop();
      });
      const repository = new ModelRepository(handle.db);
      return [new DatabaseHealthStore(() => repository, logger, 50), new DatabaseHealthStore(() => repository, logger, 50)];
    },
  });
}

const record = (deploymentId: string, status: DeploymentHealth['status'], updatedAt: number): DeploymentHealth => ({
  deploymentId,
  status,
  responseTimeMs: 42,
  lastCheckedAt: updatedAt,
  lastError: status === 'down' ? '502: bad gateway' : undefined,
  consecutiveFailures: status === 'down' ? 2 : 0,
  updatedAt,
});

async function until(check: () => boolean, withinMs = 2_000): Promise<void> {
  const deadline = Date.now() + withinMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error('not delivered in time');
    await new Promise((resolve) => setTimeout(resolve, 10));
  }
}

describe.each(backends)('health store ($name)', ({ pair }) => {
  it('delivers what one replica saves to the other, and what was saved before a replica started', async () => {
    const [first, second] = await pair();
    const seenBySecond: DeploymentHealth[] = [];
    try {
      await first.start(() => undefined);
      const now = Date.now();
      await first.save(record('early', 'healthy', now));
      await second.start((item) => seenBySecond.push(item));
      await until(() => seenBySecond.some((item) => item.deploymentId === 'early'));
      await first.save(record('d1', 'down', now + 1));
      await until(() => seenBySecond.some((item) => item.deploymentId === 'd1'));
      expect(seenBySecond.find((item) => item.deploymentId === 'd1')).toEqual(record('d1', 'down', now + 1));
    } finally {
      await first.close();
      await second.close();
    }
  });

  it('lets one replica claim a round (Redis), or every replica run its own (database)', async () => {
    const [first, second] = await pair();
    try {
      await first.start(() => undefined);
      await second.start(() => undefined);
      if (!first.claim) {
        expect(second.claim).toBeUndefined();
        return;
      }
      expect(await first.claim('round', 300)).toBe(true);
      expect(await second.claim!('round', 300)).toBe(false);
      expect(await second.claim!('probe', 300)).toBe(true);
      await new Promise((resolve) => setTimeout(resolve, 350));
      expect(await second.claim!('round', 300)).toBe(true);
    } finally {
      await first.close();
      await second.close();
    }
  });
});
