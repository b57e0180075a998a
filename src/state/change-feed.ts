/**
 * How a replica learns that another one changed something it caches (keys and principals, models,
 * router settings): a Redis pub/sub message when there is Redis (milliseconds), and in any case a
 * change version in the database polled every 500 ms (under a second, and the fallback when Redis
 * drops a message or is absent). The owner reloads its cache whenever either says so; a message
 * may say what changed, so the owner can drop just that.
 */
import { Redis } from 'ioredis';
import type { Logger } from 'pino';

export interface VersionSource {
  version(): Promise<number>;
}

export interface ChangeFeedOptions {
  /** The channel's name under the Redis prefix, and the log label. */
  name: string;
  logger: Logger;
  /**
   * Rebuilds the owner's cache; called with another replica's message (what it published), or
   * with no message when the polled version moved (anything may have changed).
   */
  reload: (message?: string) => unknown;
  redisUrl?: string;
  redisPrefix?: string;
  pollIntervalMs?: number;
}

export class ChangeFeed {
  private version = 0;
  private source: VersionSource | undefined;
  private poller: NodeJS.Timeout | undefined;
  private publisher: Redis | undefined;
  private subscriber: Redis | undefined;
  private readonly channel: string;

  constructor(private readonly options: ChangeFeedOptions) {
    this.channel = `${options.redisPrefix ?? 'switchboard:'}${options.name}`;
  }

  /** Starts the Redis subscription (if any). */
  async start(): Promise<void> {
    if (!this.options.redisUrl) return;
    const onError = (error: Error) => this.options.logger.warn({ err: error.message }, `redis error (${this.options.name} changes)`);
    this.publisher = new Redis(this.options.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2 });
    this.subscriber = new Redis(this.options.redisUrl, { lazyConnect: true, maxRetriesPerRequest: 2 });
    this.publisher.on('error', onError);
    this.subscriber.on('error', onError);
    await this.publisher.connect();
    await this.subscriber.connect();
    this.subscriber.on('message', (_channel: string, message: string) => void this.options.reload(message));
    await this.subscriber.subscribe(this.channel);
  }

  /** Once the database is ready: remembers its current version and starts polling it. */
  async attach(source: VersionSource): Promise<void> {
    this.source = source;
    this.version = await source.version().catch(() => 0);
    this.poller = setInterval(() => void this.poll(), this.options.pollIntervalMs ?? 500);
    this.poller.unref();
  }

  /** A change made here reached the database at `version`: the poll need not reload for it. */
  noteVersion(version: number): void {
    this.version = version;
  }

  /** Tells the other replicas at once (they would otherwise see the version on their next poll). */
  async publish(message = 'changed'): Promise<void> {
    await this.publisher?.publish(this.channel, message).catch((error: Error) => this.options.logger.warn({ err: error.message }, `could not publish a ${this.options.name} change`));
  }

  private async poll(): Promise<void> {
    if (!this.source) return;
    try {
      const version = await this.source.version();
      if (version !== this.version) {
        this.version = version;
        await this.options.reload();
      }
    } catch {
      // the database is unreachable: keep serving what is cached
    }
  }

  async close(): Promise<void> {
    clearInterval(this.poller);
    this.subscriber?.disconnect();
    await this.publisher?.quit().catch(() => this.publisher?.disconnect());
  }
}
