/**
 * Redis connections that never hold the gateway up: they connect in the background and keep
 * retrying while Redis is unreachable (a gateway starts without it and connects when it comes),
 * fail commands fast while disconnected instead of queueing them (callers fall back to this
 * replica's memory, see resilient-limits-state.ts), and log connection errors at debug level only:
 * the outage itself is logged once per transition by SharedStateStatus.
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { lazyModule } from '../lazy-module.js';

/** ioredis is loaded with the first connection: a gateway without Redis never loads it. */
const ioredis = lazyModule<typeof import('ioredis')>('ioredis');

export interface RedisClientOptions {
  /** What the connection is for, in debug lines. */
  role: string;
  logger: Logger;
  /**
   * Queue commands while disconnected (default false: they fail at once). Subscribers set it, so
   * that SUBSCRIBE issued before the first connection is sent once connected (ioredis resubscribes
   * after every reconnect).
   */
  queueWhileDisconnected?: boolean;
  /** A command that gets no answer within this fails (a hung server counts as down); default 5 s, well above a slow moment of a healthy server. */
  commandTimeoutMs?: number;
}

export function redisClient(url: string, options: RedisClientOptions): Redis {
  const client = new (ioredis().Redis)(url, {
    lazyConnect: true,
    enableOfflineQueue: options.queueWhileDisconnected ?? false,
    // A command in flight when the connection drops fails instead of waiting for the reconnect.
    maxRetriesPerRequest: options.queueWhileDisconnected ? 2 : 0,
    commandTimeout: options.queueWhileDisconnected ? undefined : (options.commandTimeoutMs ?? 5_000),
    // Reconnect forever, at most every 2 s.
    retryStrategy: (times) => Math.min(100 * times, 2_000),
  });
  client.on('error', (error: Error) => options.logger.debug({ err: error.message, role: options.role }, 'redis connection error'));
  client.connect().catch(() => undefined); // the first attempt failing is not the end: retryStrategy goes on
  return client;
}

/** True for failures that say Redis could not be asked (not a script's own error). */
export function isConnectionFailure(error: unknown): boolean {
  return !(error instanceof Error && error.name === 'ReplyError');
}

/**
 * Resolves once the connection is ready; rejects after `timeoutMs`, or at once when a connection
 * attempt fails (a refused connection does not hold a start-up for the whole timeout).
 */
export function whenReady(client: Redis, timeoutMs = 10_000): Promise<void> {
  if (client.status === 'ready') return Promise.resolve();
  return new Promise((resolve, reject) => {
    const done = (error?: Error) => {
      clearTimeout(timer);
      client.off('ready', ready);
      client.off('close', closed);
      if (error) reject(error);
      else resolve();
    };
    const ready = () => done();
    const closed = () => done(new Error('redis connection failed'));
    const timer = setTimeout(() => done(new Error(`redis did not answer within ${timeoutMs} ms`)), timeoutMs);
    client.on('ready', ready);
    client.on('close', closed);
  });
}

/**
 * Subscribes `subscriber` to `channel`; resolves once Redis confirmed it, or after `timeoutMs`, or
 * at once when a connection attempt fails (Redis down: start-up is not held for the timeout). The
 * subscription is made whenever the connection is ready, also later, and renewed by ioredis at
 * every reconnection after that.
 *
 * Only on a ready connection: ioredis writes a SUBSCRIBE at once while its connection is up but its
 * ready check has not run (SUBSCRIBE may run while Redis loads); Redis confirms it, the connection
 * is in subscriber mode, the ready check's INFO is refused there, and ioredis drops the connection
 * and reconnects without the subscription, which was then gone for good (redis-client.redis.test.ts).
 * A subscription refused (the connection dropped under it) is asked for again at the next ready:
 * queued while Redis was down, it used to be refused after two reconnection attempts and never made.
 */
export function subscribeWithin(subscriber: Redis, channel: string, timeoutMs: number): Promise<void> {
  return new Promise<void>((resolve) => {
    const timer = setTimeout(done, timeoutMs);
    function done(): void {
      clearTimeout(timer);
      subscriber.off('close', done);
      resolve();
    }
    const attempt = () => {
      subscriber.subscribe(channel).then(done, () => subscriber.once('ready', attempt));
    };
    if (subscriber.status === 'ready') {
      attempt();
      return;
    }
    subscriber.once('ready', attempt);
    subscriber.once('close', done);
  });
}
