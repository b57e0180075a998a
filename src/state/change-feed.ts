/**
 * How a replica learns that another one changed something it caches (keys and principals, models,
 * router settings): a Redis pub/sub message when there is Redis (milliseconds), and in any case a
 * change version in the database polled every 500 ms (under a second, and the fallback when Redis
 * drops a message or is absent). The owner reloads its cache whenever either says so; a message
 * may say what changed, so the owner can drop just that.
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { redisClient, subscribeWithin, whenReady } from './redis-client.js';

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
    // Connects in the background: without Redis, the database version poll carries every change.
    const { name, logger } = this.options;
    this.publisher = redisClient(this.options.redisUrl, { role: `${name} changes`, logger });
    this.subscriber = redisClient(this.options.redisUrl, { role: `${name} changes (subscriber)`, logger, queueWhileDisconnected: true });
    this.subscriber.on('message', (_channel: string, message: string) => void this.options.reload(message));
    const subscribed = subscribeWithin(this.subscriber, this.channel, 2_000);
    // Messages sent while this replica was disconnected are lost: reload everything on reconnection.
    let connectedBefore = false;
    this.subscriber.on('ready', () => {
      if (connectedBefore) void this.options.reload();
      connectedBefore = true;
    });
    // A normal start is subscribed before it serves; an unreachable Redis delays it at most 2 s.
    await Promise.all([whenReady(this.publisher, 2_000).catch(() => undefined), subscribed]);
  }

  /** Once the database is ready: remembers its current version and starts polling it. */
  async attach(source: VersionSource): Promise<void> {
    this.source = source;
    this.version = await source.version().catch(() => 0);
    this.poller = setInterval(() => void this.poll(), this.options.pollIntervalMs ?? 500);
    this.poller.unref();
  }

  /**
   * A change made here reached the database at `version`: the poll need not reload for it. Only
   * for an owner that reloads everything after noting it: the version row holds only the latest
   * version, so another replica's change stored since the last poll is taken as seen too.
   */
  noteVersion(version: number): void {
    this.version = version;
  }

  /** Tells the other replicas at once (they would otherwise see the version on their next poll). */
  async publish(message = 'changed'): Promise<void> {
    // Unreachable Redis: the other replicas see the change through the database version within a second.
    await this.publisher?.publish(this.channel, message).catch((error: Error) => this.options.logger.debug({ err: error.message }, `could not publish a ${this.options.name} change`));
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
