import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { DeliveryQueue } from './delivery-queue.js';

const logger = pino({ level: 'silent' });

function queueWith(send: (batch: number[]) => Promise<void>, options: { maxQueued?: number; batchSize?: number; maxAttempts?: number; initialBackoffMs?: number } = {}) {
  return new DeliveryQueue<number>({ destination: 'test', send: (batch) => send(batch), logger, flushIntervalMs: 60_000, ...options });
}

describe('DeliveryQueue', () => {
  it('sends in batches of batchSize and counts what was sent', async () => {
    const batches: number[][] = [];
    const queue = queueWith(async (batch) => void batches.push([...batch]), { batchSize: 3 });
    for (let i = 0; i < 7; i++) queue.enqueue(i);
    await queue.flush(true);
    expect(batches).toEqual([[0, 1, 2], [3, 4, 5], [6]]);
    expect(queue.snapshot()).toMatchObject({ sent: 7, failed: 0, dropped: 0, queued: 0 });
  });

  it('sends a full batch as soon as the event loop is free, and leaves a partial one for the timer', async () => {
    const batches: number[][] = [];
    const queue = queueWith(async (batch) => void batches.push([...batch]), { batchSize: 3 });
    queue.start(); // a 60 s timer: only a full batch can go before the test ends
    for (let i = 0; i < 5; i++) queue.enqueue(i);
    await new Promise((resolve) => setImmediate(resolve));
    await new Promise((resolve) => setImmediate(resolve));
    expect(batches).toEqual([[0, 1, 2]]);
    expect(queue.snapshot()).toMatchObject({ sent: 3, queued: 2 });
    await queue.close();
    expect(batches).toEqual([[0, 1, 2], [3, 4]]);
  });

  it('does not hurry a destination that is down: a full batch waits for the retry backoff', async () => {
    let calls = 0;
    const queue = queueWith(async () => {
      calls++;
      throw new Error('down');
    }, { batchSize: 2, initialBackoffMs: 60_000 });
    queue.start();
    for (let i = 0; i < 2; i++) queue.enqueue(i);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(calls).toBe(1);
    for (let i = 0; i < 6; i++) queue.enqueue(i);
    await new Promise((resolve) => setTimeout(resolve, 10));
    expect(calls).toBe(1);
    expect(queue.snapshot()).toMatchObject({ sent: 0, queued: 8 });
  });

  it('counts a batch the destination refused for good (retryable: false) failed at once, and goes on with the next', async () => {
    const batches: number[][] = [];
    const queue = queueWith(async (batch) => {
      batches.push([...batch]);
      if (batch[0] === 0) throw Object.assign(new Error('HTTP 400'), { retryable: false });
    }, { batchSize: 2, maxAttempts: 5, initialBackoffMs: 60_000 });
    for (let i = 0; i < 4; i++) queue.enqueue(i);
    await queue.flush();
    expect(queue.snapshot()).toMatchObject({ failed: 2, sent: 0, queued: 2, lastError: 'HTTP 400' });
    await queue.flush();
    expect(batches).toEqual([[0, 1], [2, 3]]);
    expect(queue.snapshot()).toMatchObject({ failed: 2, sent: 2, queued: 0 });
  });

  it('keeps at most maxQueued waiting, dropping (and counting) the oldest', async () => {
    const batches: number[][] = [];
    const queue = queueWith(async (batch) => void batches.push([...batch]), { maxQueued: 5, batchSize: 100 });
    for (let i = 0; i < 12; i++) queue.enqueue(i);
    expect(queue.snapshot()).toMatchObject({ queued: 5, dropped: 7 });
    await queue.flush(true);
    expect(batches).toEqual([[7, 8, 9, 10, 11]]);
    expect(queue.snapshot()).toMatchObject({ sent: 5, dropped: 7, queued: 0 });
  });

  it('retries a failed batch after a backoff, then sends it once the destination answers', async () => {
    let down = true;
    const sent: number[] = [];
    const queue = queueWith(async (batch) => {
      if (down) throw new Error('connection refused');
      sent.push(...batch);
    }, { initialBackoffMs: 60_000, maxAttempts: 5 });
    queue.enqueue(1);
    queue.enqueue(2);
    await queue.flush();
    expect(queue.snapshot()).toMatchObject({ sent: 0, failed: 0, queued: 2, lastError: 'connection refused' });
    // Within the backoff nothing is attempted.
    down = false;
    await queue.flush();
    expect(sent).toEqual([]);
    await queue.flush(true);
    expect(sent).toEqual([1, 2]);
    expect(queue.snapshot()).toMatchObject({ sent: 2, failed: 0, queued: 0 });
  });

  it('gives a batch up after maxAttempts and counts its items failed', async () => {
    let attempts = 0;
    const queue = queueWith(async () => {
      attempts++;
      throw new Error('HTTP 503');
    }, { maxAttempts: 3, batchSize: 2 });
    for (let i = 0; i < 3; i++) queue.enqueue(i);
    for (let i = 0; i < 3; i++) await queue.flush(true);
    expect(attempts).toBe(3);
    expect(queue.snapshot()).toMatchObject({ sent: 0, failed: 2, queued: 1 });
  });

  it('stays bounded while the destination is down: waiting items never exceed maxQueued plus one batch', async () => {
    const queue = queueWith(async () => {
      throw new Error('down');
    }, { maxQueued: 50, batchSize: 10, maxAttempts: 2, initialBackoffMs: 0 });
    let highest = 0;
    for (let i = 0; i < 10_000; i++) {
      queue.enqueue(i);
      if (i % 100 === 0) await queue.flush();
      highest = Math.max(highest, queue.snapshot().queued);
    }
    const stats = queue.snapshot();
    expect(highest).toBeLessThanOrEqual(60);
    expect(stats.sent).toBe(0);
    expect(stats.failed).toBeGreaterThan(0);
    expect(stats.dropped).toBeGreaterThan(9_000);
    expect(stats.failed + stats.dropped + stats.queued).toBe(10_000);
  });

  it('close makes one last attempt per batch', async () => {
    const sent: number[] = [];
    const queue = queueWith(async (batch) => void sent.push(...batch), { batchSize: 2 });
    for (let i = 0; i < 5; i++) queue.enqueue(i);
    await queue.close();
    expect(sent).toEqual([0, 1, 2, 3, 4]);
  });
});
