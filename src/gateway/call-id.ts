/**
 * Call ids are UUID version 7 (RFC 9562 §5.7): a 48-bit Unix-millisecond timestamp, then a 12-bit
 * counter (the RFC's "fixed-length dedicated counter", §6.2 method 1), then 62 random bits.
 *
 * Why not random (v4) UUIDs: every usage row is inserted under a unique index on call_id. Random
 * ids land on a random leaf of that index, so a batch of N rows dirties ~N index pages that the
 * commit must write out; time-ordered ids append to the index's right edge and dirty a handful.
 * On SQLite that halves the usage writer's CPU per row (see bench/README.md). Ids stay unique
 * across replicas through their 62 random bits, and sort in creation order within a process.
 */
import { randomFillSync } from 'node:crypto';

const RANDOM_BYTES_PER_ID = 8;
const IDS_PER_REFILL = 512;
const pool = Buffer.allocUnsafe(RANDOM_BYTES_PER_ID * IDS_PER_REFILL);
let poolOffset = pool.length;

const HEX = Array.from({ length: 256 }, (_, byte) => byte.toString(16).padStart(2, '0'));
const COUNTER_MAX = 0xfff;

let lastMs = -1;
let counter = 0;

/** A fresh UUIDv7 string (lower-case, hyphenated), strictly greater than the previous one from this process. */
export function newCallId(nowMs: number = Date.now()): string {
  // Never go back in time (a clock step backwards keeps the last timestamp); within one
  // millisecond the counter orders the ids, and its overflow borrows the next millisecond.
  let ms = nowMs > lastMs ? nowMs : lastMs;
  if (ms === lastMs) {
    if (counter === COUNTER_MAX) {
      ms += 1;
      counter = 0;
    } else counter += 1;
  } else {
    counter = 0;
  }
  lastMs = ms;

  if (poolOffset === pool.length) {
    randomFillSync(pool);
    poolOffset = 0;
  }
  const r = poolOffset;
  poolOffset += RANDOM_BYTES_PER_ID;

  // 48-bit timestamp: the high 16 bits and the low 32 bits, as 12 hex digits.
  const high = Math.floor(ms / 0x1_0000_0000);
  const low = ms >>> 0;
  return (
    HEX[(high >>> 8) & 0xff]! +
    HEX[high & 0xff]! +
    HEX[low >>> 24]! +
    HEX[(low >>> 16) & 0xff]! +
    '-' +
    HEX[(low >>> 8) & 0xff]! +
    HEX[low & 0xff]! +
    '-' +
    // version 7 in the top nibble, then the 12-bit counter
    HEX[0x70 | (counter >>> 8)]! +
    HEX[counter & 0xff]! +
    '-' +
    // variant 0b10 in the top two bits, then 62 random bits
    HEX[0x80 | (pool[r]! & 0x3f)]! +
    HEX[pool[r + 1]!]! +
    '-' +
    HEX[pool[r + 2]!]! +
    HEX[pool[r + 3]!]! +
    HEX[pool[r + 4]!]! +
    HEX[pool[r + 5]!]! +
    HEX[pool[r + 6]!]! +
    HEX[pool[r + 7]!]!
  );
}

/** The creation time (epoch ms) carried by a UUIDv7, or undefined for any other string. */
export function callIdTimestamp(id: string): number | undefined {
  if (!/^[0-9a-f]{8}-[0-9a-f]{4}-7[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$/i.test(id)) return undefined;
  return parseInt(id.slice(0, 8) + id.slice(9, 13), 16);
}
