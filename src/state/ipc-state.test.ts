import { EventEmitter } from 'node:events';
import { describe, expect, it } from 'vitest';
import { answerCalls, PrimaryUnavailable, SharedStateClient, type IpcPort } from './ipc-state.js';
import { LocalLimitsState } from './local-limits-state.js';
import type { LimitsState } from './limits-state.js';
import { LocalRouterState } from './local-router-state.js';
import { primaryRouterState, workerRouterState } from './ipc-router-state.js';

/** A worker's end of an IPC channel whose other end answers with `targets`, as the primary does (structured clone in between). */
function channel(targets: Record<string, object>, options: { answer?: boolean } = {}) {
  const worker = new EventEmitter() as EventEmitter & IpcPort & { connected: boolean; sent: unknown[] };
  worker.connected = true;
  worker.sent = [];
  const deliver = (message: unknown) => setImmediate(() => worker.emit('message', structuredClone(message)));
  worker.send = (message: unknown, callback?: (error: Error | null) => void) => {
    worker.sent.push(message);
    if (options.answer !== false) answerCalls(targets, structuredClone(message), deliver);
    callback?.(null);
    return true;
  };
  return { worker, push: deliver };
}

describe('the shared-state proxy of --workers', () => {
  it('forwards any method by name and returns the primary object\'s result (Maps included)', async () => {
    const limits = new LocalLimitsState();
    const router = new LocalRouterState();
    const { worker } = channel({ limits, router });
    const client = new SharedStateClient(worker);
    const proxied = client.proxy<LimitsState>('limits', { close: () => Promise.resolve() });
    const rpm = [{ subject: 'key:a', limit: 2 }];
    expect((await proxied.acquireRequest(rpm, 'r1')).ok).toBe(true);
    expect((await proxied.acquireRequest(rpm, 'r2')).ok).toBe(true);
    // The primary's counter is the one that counts: a third call is refused, and the primary's own object agrees.
    expect((await proxied.acquireRequest(rpm, 'r3')).ok).toBe(false);
    expect((await limits.acquireRequest(rpm, 'r4')).ok).toBe(false);
    await router.tryReserveRequest('dep', 10, undefined);
    const usage = (await client.call('router', 'usage', [['dep']])) as Map<string, { requests: number }>;
    expect(usage.get('dep')?.requests).toBe(1);
    client.close();
  });

  it('refuses methods the primary object lacks, and close', async () => {
    const { worker } = channel({ limits: new LocalLimitsState() });
    const client = new SharedStateClient(worker);
    await expect(client.call('limits', 'noSuchMethod', [])).rejects.toThrow('no shared-state method limits.noSuchMethod');
    await expect(client.call('limits', 'close', [])).rejects.toThrow('no shared-state method limits.close');
    await expect(client.call('limits', 'toString', [])).rejects.toThrow('no shared-state method');
    await expect(client.call('nothing', 'reserve', [])).rejects.toThrow('no shared-state method nothing.reserve');
    client.close();
  });

  it('fails closed once the primary is gone: calls waiting and later calls reject with PrimaryUnavailable', async () => {
    const { worker } = channel({}, { answer: false });
    const client = new SharedStateClient(worker);
    const waiting = client.call('limits', 'reserve', [[], 1]);
    worker.emit('disconnect');
    await expect(waiting).rejects.toBeInstanceOf(PrimaryUnavailable);
    await expect(client.call('limits', 'reserve', [[], 1])).rejects.toThrow('shared state unavailable: the primary process is gone');
    expect(client.failure).toBe('the primary process is gone');
    client.close();
  });

  it('a call the primary does not answer in time fails closed', async () => {
    const { worker } = channel({}, { answer: false });
    let now = 0;
    const client = new SharedStateClient(worker, 200, () => now);
    const waiting = client.call('limits', 'reserve', [[], 1]);
    now = 1_000;
    await expect(waiting).rejects.toThrow('did not answer within 0.2s');
    client.close();
  });

  it('router cooldowns set by one worker are read synchronously by every worker', async () => {
    const workers: Array<ReturnType<typeof channel>> = [];
    const primary = primaryRouterState(new LocalRouterState(), (target, name, args) => {
      for (const each of workers) each.push({ sb: 'event', target, name, args });
    });
    workers.push(channel({ router: primary }), channel({ router: primary }));
    const [first, second] = await Promise.all(workers.map((each) => workerRouterState(new SharedStateClient(each.worker))));
    const until = await first.recordFailure('dep', 1, 60_000);
    expect(until).toBeGreaterThan(Date.now());
    await new Promise((resolve) => setImmediate(resolve));
    expect(first.coolingUntil('dep')).toBe(until);
    expect(second.coolingUntil('dep')).toBe(until);
    // A worker started later reads the cooldowns still running.
    const third = await workerRouterState(new SharedStateClient(channel({ router: primary }).worker));
    expect(third.coolingUntil('dep')).toBe(until);
    expect(third.watch).toBeUndefined();
  });
});

describe('the IPC outbox', () => {
  it('sends the calls of one event-loop turn as one message, and each gets its own answer', async () => {
    const limits = new LocalLimitsState();
    const { worker } = channel({ limits });
    const client = new SharedStateClient(worker);
    const proxied = client.proxy<LimitsState>('limits', {});
    const outcomes = await Promise.all([1, 2, 3].map((index) => proxied.acquireRequest([{ subject: 'key:b', limit: 2 }], `r${index}`)));
    expect(outcomes.map((outcome) => outcome.ok)).toEqual([true, true, false]);
    expect(worker.sent).toHaveLength(1);
    expect((worker.sent[0] as { sb: string; messages: unknown[] }).messages).toHaveLength(3);
    client.close();
  });
});
