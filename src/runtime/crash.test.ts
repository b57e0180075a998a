/**
 * stopOnUncaughtError's two "exit at once" paths — a second uncaught error while closing, and a
 * close that outlasts its bound — spill the queued usage rows synchronously before process.exit.
 * The handler is taken from process's listeners and called directly (emitting 'uncaughtException'
 * in a test worker would reach vitest's own handler), and removed afterwards.
 */
import pino from 'pino';
import { afterEach, beforeEach, describe, expect, it, vi, type MockInstance } from 'vitest';
import { stopOnUncaughtError } from './crash.js';

type Handler = (error: Error, origin: string) => void;

const logger = pino({ level: 'silent' });
let added: Handler[] = [];
let exit: MockInstance;
const order: string[] = [];

function fakeRuntime(spillNow: () => number) {
  return {
    drain: vi.fn(),
    // A close that never finishes (a database that hangs, a stuck dependency).
    close: vi.fn(() => new Promise<void>(() => undefined)),
    usageWriter: {
      spillNow: vi.fn(() => {
        order.push('spill');
        return spillNow();
      }),
    },
  };
}

/** Installs the handler on process and returns it. */
function install(runtime: ReturnType<typeof fakeRuntime>): Handler {
  const before = new Set(process.listeners('uncaughtException'));
  stopOnUncaughtError(runtime as unknown as Parameters<typeof stopOnUncaughtError>[0], logger, { shutdownTimeoutMs: 2_000 });
  added = process.listeners('uncaughtException').filter((listener) => !before.has(listener)) as Handler[];
  expect(added).toHaveLength(1);
  return added[0];
}

beforeEach(() => {
  order.length = 0;
  exit = vi.spyOn(process, 'exit').mockImplementation(((code?: number) => {
    order.push(`exit ${code}`);
  }) as never);
});

afterEach(() => {
  for (const listener of added) process.removeListener('uncaughtException', listener);
  added = [];
  exit.mockRestore();
  vi.useRealTimers();
});

describe('stopOnUncaughtError', () => {
  it('a second uncaught error while closing spills the queued usage rows, then exits 1', () => {
    const runtime = fakeRuntime(() => 7);
    const handler = install(runtime);
    handler(new Error('first'), 'uncaughtException');
    expect(runtime.drain).toHaveBeenCalled();
    expect(runtime.close).toHaveBeenCalledWith({ timeoutMs: 2_000 });
    expect(exit).not.toHaveBeenCalled();
    handler(new Error('second'), 'uncaughtException');
    expect(order).toEqual(['spill', 'exit 1']);
  });

  it('a close that outlasts shutdown_timeout + 10 s spills the queued usage rows, then exits 1', () => {
    vi.useFakeTimers();
    const runtime = fakeRuntime(() => 3);
    const handler = install(runtime);
    handler(new Error('first'), 'uncaughtException');
    vi.advanceTimersByTime(2_000 + 10_000 - 1);
    expect(order).toEqual([]);
    vi.advanceTimersByTime(1);
    expect(order).toEqual(['spill', 'exit 1']);
  });

  it('exits even when spilling throws', () => {
    vi.useFakeTimers();
    const runtime = fakeRuntime(() => {
      throw new Error('disk full');
    });
    const handler = install(runtime);
    handler(new Error('first'), 'uncaughtException');
    vi.advanceTimersByTime(12_000);
    expect(order).toEqual(['spill', 'exit 1']);
    handler(new Error('second'), 'unhandledRejection');
    expect(order).toEqual(['spill', 'exit 1', 'spill', 'exit 1']);
  });
});
