/**
 * Cached answers in Redis, shared by every replica: one string per entry under the gateway's key
 * prefix, expiring with the entry's ttl. Flushing deletes this prefix's entries only.
 */
import type { Redis } from 'ioredis';
import { redisClient, whenReady } from '../state/redis-client.js';
import type { Logger } from 'pino';
import type { CacheStore } from './store.js';

export class RedisCacheStore implements CacheStore {
  readonly kind = 'redis' as const;

  private constructor(
    readonly client: Redis,
    /** Every key of this cache starts with it, e.g. "switchboard:cache:". */
    readonly prefix: string,
  ) {}

  /** Connects in the background (redis-client.ts): while Redis does not answer, lookups miss and stores fail (counted). */
  static async connect(options: { url: string; prefix: string; logger: Logger }): Promise<RedisCacheStore> {
    const client = redisClient(options.url, { role: 'response cache', logger: options.logger });
    await whenReady(client, 2_000).catch(() => undefined);
    return new RedisCacheStore(client, options.prefix);
  }

  async get(key: string): Promise<string | undefined> {
    return (await this.client.get(this.prefix + key)) ?? undefined;
  }

  async set(key: string, value: string, ttlMs: number): Promise<void> {
    await this.client.set(this.prefix + key, value, 'PX', Math.max(1, Math.round(ttlMs)));
  }

  async delete(keys: readonly string[]): Promise<number> {
    if (keys.length === 0) return 0;
    return this.client.del(...keys.map((key) => this.prefix + key));
  }

  async flush(): Promise<void> {
    let cursor = '0';
    do {
      const [next, keys] = await this.client.scan(cursor, 'MATCH', `${this.prefix}*`, 'COUNT', 500);
      cursor = next;
      if (keys.length > 0) await this.client.unlink(...keys);
    } while (cursor !== '0');
  }

  async ping(): Promise<void> {
    await this.client.ping();
  }

  bytes(): undefined {
    return undefined;
  }

  evictions(): number {
    return 0;
  }

  async close(): Promise<void> {
    this.client.disconnect();
  }
}
