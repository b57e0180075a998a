import { describe, expect, it } from 'vitest';
import { callIdTimestamp, newCallId } from './call-id.js';

const V7 = /^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/;

describe('newCallId', () => {
  it('is a UUIDv7 carrying the creation time', () => {
    const before = Date.now();
    const id = newCallId();
    const after = Date.now();
    expect(id).toMatch(V7);
    const at = callIdTimestamp(id)!;
    expect(at).toBeGreaterThanOrEqual(before);
    // a counter overflow may borrow a millisecond or two from the future
    expect(at).toBeLessThanOrEqual(after + 2);
  });

  it('encodes the full 48-bit timestamp', () => {
    const ms = 0xfedc_ba98_7654; // year 10889: every nibble differs
    const id = newCallId(ms);
    expect(id.slice(0, 13)).toBe('fedcba98-7654');
    expect(callIdTimestamp(id)).toBe(ms);
  });

  it('sorts in creation order and never repeats, within one millisecond and across a counter overflow', () => {
    const ids: string[] = [];
    const ms = Date.now() + 10_000_000; // ahead of any earlier id, so the clock does not hold it back
    for (let index = 0; index < 10_000; index++) ids.push(newCallId(ms)); // 10,000 > 4,096 counter values
    expect(new Set(ids).size).toBe(ids.length);
    expect([...ids].sort()).toEqual(ids);
    for (const id of ids) expect(id).toMatch(V7);
    // the overflow moved the later ids to following milliseconds instead of wrapping the counter
    expect(callIdTimestamp(ids.at(-1)!)).toBeGreaterThan(ms);
  });

  it('keeps ordering when the clock steps backwards', () => {
    const ahead = Date.now() + 20_000_000;
    const first = newCallId(ahead);
    const second = newCallId(ahead - 5_000);
    expect(second > first).toBe(true);
  });

  it('draws fresh random bits for each id', () => {
    const tails = new Set(Array.from({ length: 2_000 }, () => newCallId().slice(19)));
    expect(tails.size).toBe(2_000);
  });

  it('reads no timestamp from other strings', () => {
    expect(callIdTimestamp('not-an-id')).toBeUndefined();
    expect(callIdTimestamp('9b2b7e0c-3f4a-4d0e-8a1b-2c3d4e5f6a7b')).toBeUndefined(); // v4
  });
});
