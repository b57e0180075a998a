/**
 * Redis for the multi-replica suites: REDIS_URL, else the local default. Each test run uses a key
 * prefix of its own and deletes its keys afterwards. Under CI=true an absent Redis fails the suite.
 */
import { Redis } from 'ioredis';

export const REDIS_URL = process.env.REDIS_URL ?? 'redis://127.0.0.1:6379';

export async function redisUnavailableReason(): Promise<string | undefined> {
  const client = new Redis(REDIS_URL, { lazyConnect: true, connectTimeout: 2_000, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => undefined);
  try {
    await client.connect();
    await client.ping();
    return undefined;
  } catch (error) {
    return `Redis at ${REDIS_URL} is not reachable (${(error as Error).message})`;
  } finally {
    client.disconnect();
  }
}

/** True when the Redis suites should run; prints why not, or throws under CI. */
export async function redisAvailableForTests(): Promise<boolean> {
  const reason = await redisUnavailableReason();
  if (!reason) return true;
  if (process.env.CI === 'true') throw new Error(`CI=true but ${reason}: the Redis suites must run in CI`);
  console.warn(`[skip] Redis suites skipped: ${reason}`);
  return false;
}

export function uniquePrefix(name: string): string {
  return `switchboard-test:${name}:${process.pid}:${Math.random().toString(36).slice(2, 10)}:`;
}

export async function deleteKeys(prefix: string): Promise<void> {
  const client = new Redis(REDIS_URL);
  try {
    const keys = await client.keys(`${prefix}*`);
    if (keys.length > 0) await client.del(...keys);
  } finally {
    client.disconnect();
  }
}
