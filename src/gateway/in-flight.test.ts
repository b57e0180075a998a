import { describe, expect, it } from 'vitest';
import { InFlightCalls } from './in-flight.js';

describe('InFlightCalls', () => {
  it('idle() resolves at once with nothing in flight, and once the last call ends otherwise', async () => {
    const calls = new InFlightCalls();
    await calls.idle();
    const first = calls.begin();
    const second = calls.begin();
    let idle = false;
    const waiting = calls.idle().then(() => (idle = true));
    first();
    first(); // ending twice counts once
    await Promise.resolve();
    expect(idle).toBe(false);
    expect(calls.size).toBe(1);
    second();
    await waiting;
    expect(idle).toBe(true);
    expect(calls.size).toBe(0);
  });
});
