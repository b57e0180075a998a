import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../errors.js';
import { OpenStreams } from './open-streams.js';

const logger = pino({ level: 'silent' });

describe('open streams', () => {
  it('checks each key once per sweep and cuts only the streams of revoked keys', async () => {
    const checked: string[] = [];
    const revoked = new Set<string>();
    const streams = new OpenStreams(async (hash) => {
      checked.push(hash);
      return revoked.has(hash) ? new GatewayError('key_revoked', `key ${hash} revoked`) : undefined;
    }, logger, 60_000);
    const cuts: string[] = [];
    streams.watch('a', (error) => cuts.push(`a1:${error.code}`));
    streams.watch('a', (error) => cuts.push(`a2:${error.code}`));
    const stopB = streams.watch('b', (error) => cuts.push(`b:${error.code}`));
    await streams.sweep();
    expect(checked.sort()).toEqual(['a', 'b']);
    expect(cuts).toEqual([]);

    revoked.add('a');
    await streams.sweep();
    expect(cuts).toEqual(['a1:key_revoked', 'a2:key_revoked']);
    // Cut streams are no longer watched; the last one to go stops the timer.
    expect(streams.size).toBe(1);
    stopB();
    expect(streams.size).toBe(0);
    streams.stop();
  });

  it('keeps streams going when the check cannot answer', async () => {
    const streams = new OpenStreams(async () => undefined, logger, 60_000);
    let cut = false;
    streams.watch('a', () => (cut = true));
    await streams.sweep();
    expect(cut).toBe(false);
    streams.stop();
  });
});
