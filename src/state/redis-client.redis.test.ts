/**
 * A subscription confirmed by Redis must still be there when the caller goes on. ioredis writes a
 * SUBSCRIBE at once while its connection is up but not yet ready (the command may run while Redis
 * loads); the connection then enters subscriber mode, its ready check (INFO) is refused there, and
 * ioredis tears the connection down and reconnects without the subscription: every message after
 * that was lost, for good (a replica starting as another one saved a record missed it; the
 * backend-store contract caught it in CI). Reproduced here by subscribing in the instant the
 * connection comes up.
 */
import pino from 'pino';
import { afterAll, describe, expect, it } from 'vitest';
import { REDIS_URL, redisAvailableForTests, uniquePrefix } from '../../test/support/redis.js';
import { TcpProxy } from '../../test/support/tcp-proxy.js';
import { redisClient, subscribeWithin, whenReady } from './redis-client.js';

const logger = pino({ level: 'silent' });
const redis = await redisAvailableForTests();
const clients: Array<{ disconnect(): void }> = [];

afterAll(() => {
  for (const client of clients) client.disconnect();
});

describe.runIf(redis)('subscribeWithin', () => {
  it('resolves once the subscription holds, and it keeps holding, also when it was asked for before the connection was ready', async () => {
    const publisher = redisClient(REDIS_URL, { role: 'test publisher', logger });
    clients.push(publisher);
    await whenReady(publisher, 5_000);
    for (let round = 0; round < 10; round++) {
      const channel = `${uniquePrefix('subscribe-within')}channel`;
      const subscriber = redisClient(REDIS_URL, { role: 'test subscriber', logger, queueWhileDisconnected: true });
      clients.push(subscriber);
      const received: string[] = [];
      subscriber.on('message', (_channel: string, message: string) => received.push(message));
      // The moment the TCP connection is up: before ioredis has run its ready check.
      await new Promise<void>((resolve) => subscriber.once('connect', () => void subscribeWithin(subscriber, channel, 5_000).then(resolve)));
      // Published over the next 300 ms: each one reaches the subscriber (before the fix the
      // connection was dropped within a few milliseconds and came back without the subscription).
      const receivers: number[] = [];
      for (let index = 0; index < 30; index++) {
        receivers.push(await publisher.publish(channel, `round ${round} message ${index}`));
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect(receivers).toEqual(Array.from({ length: 30 }, () => 1));
      const deadline = Date.now() + 2_000;
      while (received.length < 30 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
      expect(received).toEqual(Array.from({ length: 30 }, (_, index) => `round ${round} message ${index}`));
      subscriber.disconnect();
    }
  });

  it('does not hold its caller for the timeout while Redis is down, and subscribes once Redis is back', async () => {
    const target = new URL(REDIS_URL);
    const proxy = new TcpProxy(target.hostname, Number(target.port || 6379));
    await proxy.start();
    const url = proxy.url;
    await proxy.cut();
    const publisher = redisClient(REDIS_URL, { role: 'test publisher', logger });
    clients.push(publisher);
    await whenReady(publisher, 5_000);
    const channel = `${uniquePrefix('subscribe-within-down')}channel`;
    const subscriber = redisClient(url, { role: 'test subscriber', logger, queueWhileDisconnected: true });
    clients.push(subscriber);
    const received: string[] = [];
    subscriber.on('message', (_channel: string, message: string) => received.push(message));
    const started = Date.now();
    await subscribeWithin(subscriber, channel, 10_000);
    expect(Date.now() - started).toBeLessThan(2_000);
    // Down for longer than ioredis's two retries of a queued command (before, the subscription was refused then and never made).
    await new Promise((resolve) => setTimeout(resolve, 1_000));
    await proxy.restore();
    const deadline = Date.now() + 8_000;
    while ((await publisher.publish(channel, 'back')) === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 50));
    while (received.length === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 10));
    expect(received[0]).toBe('back');
    subscriber.disconnect();
    await proxy.close();
  });
});
