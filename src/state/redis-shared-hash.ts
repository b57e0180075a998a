/**
 * Records every replica shares through Redis: a hash (`key`) holding the latest record per field,
 * read at start and at every reconnection, and a pub/sub channel of the same name carrying each
 * saved record to the other replicas at once; plus short claims, so that one replica does a
 * shared job. Deployment health and local-backend inventories use it. The connections start in
 * the background (redis-client.ts): without Redis each replica keeps its own records meanwhile.
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { redisClient, subscribeWithin, whenReady } from './redis-client.js';

export class RedisSharedHash<T> {
  private readonly redis: Redis;
  private readonly subscriber: Redis;
  /** Each replica tags what it publishes, so it ignores its own messages. */
  private readonly origin = Math.random().toString(36).slice(2);

  constructor(
    url: string,
    private readonly key: string,
    role: string,
    private readonly logger: Logger,
    /** A record read from Redis, or undefined when the text is not one. */
    private readonly parse: (text: string) => T | undefined,
  ) {
    this.redis = redisClient(url, { role, logger });
    this.subscriber = redisClient(url, { role: `${role} (subscriber)`, logger, queueWhileDisconnected: true });
  }

  /** Delivers the records other replicas saved (before and from now on); waits at most 2 s for Redis. */
  async start(onRemote: (record: T) => void): Promise<void> {
    this.subscriber.on('message', (_channel: string, message: string) => {
      const separator = message.indexOf('\n');
      if (message.slice(0, separator) === this.origin) return;
      const record = this.parse(message.slice(separator + 1));
      if (record) onRemote(record);
    });
    // Subscribed before the hash is read, so a record saved in between arrives one way or the other.
    const subscribed = subscribeWithin(this.subscriber, this.key, 2_000);
    const load = async () => {
      for (const value of Object.values(await this.redis.hgetall(this.key))) {
        const record = this.parse(value);
        if (record) onRemote(record);
      }
    };
    this.redis.on('ready', () => void load().catch((error: Error) => this.logger.debug({ err: error.message, key: this.key }, 'could not load shared records')));
    const [connected] = await Promise.all([whenReady(this.redis, 2_000).then(() => true, () => false), subscribed]);
    if (connected) await load().catch(() => undefined);
  }

  async save(field: string, record: T): Promise<void> {
    const text = JSON.stringify(record);
    await this.redis.multi().hset(this.key, field, text).publish(this.key, `${this.origin}\n${text}`).exec();
  }

  /** Claims `name` for `ttlMs` (true: this replica holds it). While Redis does not answer, every replica does the job itself. */
  async claim(name: string, ttlMs: number): Promise<boolean> {
    try {
      return (await this.redis.set(`${this.key}:${name}`, this.origin, 'PX', ttlMs, 'NX')) === 'OK';
    } catch {
      return true;
    }
  }

  /** Extends this replica's own claim. */
  async renew(name: string, ttlMs: number): Promise<void> {
    await this.redis.eval("if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('pexpire', KEYS[1], ARGV[2]) end return 0", 1, `${this.key}:${name}`, this.origin, String(ttlMs));
  }

  /** Removes this replica's own claim (never another's). */
  async release(name: string): Promise<void> {
    await this.redis.eval("if redis.call('get', KEYS[1]) == ARGV[1] then return redis.call('del', KEYS[1]) end return 0", 1, `${this.key}:${name}`, this.origin);
  }

  async close(): Promise<void> {
    this.subscriber.disconnect();
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

