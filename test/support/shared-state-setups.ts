/**
 * The two ways a gateway keeps its limits and records: one process (SQLite, limits in memory), and
 * replicas sharing PostgreSQL and Redis. Suites that must hold on both run once per setup; the
 * shared one is left out, with the reason printed, only when PostgreSQL or Redis is unreachable
 * and CI is not set (under CI=true their absence fails the suite).
 */
import { createPostgresDatabase, postgresAvailableForTests, type TestDatabase } from './databases.js';
import type { StartOptions } from './gateway.js';
import { deleteKeys, REDIS_URL, redisAvailableForTests, uniquePrefix } from './redis.js';

export interface StateSetup {
  name: string;
  /** Options for startGateway, and a cleanup once the suite's gateways are closed. */
  prepare(): Promise<{ options: StartOptions; cleanup(): Promise<void> }>;
}

const local: StateSetup = {
  name: 'one process (SQLite, limits in memory)',
  prepare: async () => ({ options: {}, cleanup: async () => undefined }),
};

const shared: StateSetup = {
  name: 'replicas sharing PostgreSQL and Redis',
  async prepare() {
    const database: TestDatabase = await createPostgresDatabase();
    const prefix = uniquePrefix('security');
    return {
      options: { databaseUrl: database.url, redisUrl: REDIS_URL, redisPrefix: prefix },
      async cleanup() {
        await deleteKeys(prefix);
        await database.drop();
      },
    };
  },
};

export async function stateSetups(): Promise<StateSetup[]> {
  const postgres = await postgresAvailableForTests();
  const redis = await redisAvailableForTests();
  return postgres && redis ? [local, shared] : [local];
}
