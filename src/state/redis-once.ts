/**
 * Operations on Redis that count at most once although they may be sent twice.
 *
 * A script whose reply is lost (the connection dropped after Redis ran it, or a paused server ran it
 * after the command timed out here) looks like one that never ran. The outage journal
 * (resilient-limits-state.ts) then sends it again once Redis answers: a settle would add its spend
 * twice, and a reservation taken there would never be given back. So every operation that takes or
 * gives back is numbered by the replica that sends it, and its script records that it ran in a
 * bitmap of that replica's operations, in the same atomic step:
 *
 * - an operation that gives back (a settle, freeing a slot) marks its bit and does nothing when the
 *   bit is already set: sent again, it is not counted again;
 * - an operation that takes (a reservation, an admission) marks its bit when it takes; when its
 *   reply is lost, the journal sends its undo, which gives back what it took only when that bit is
 *   set, and marks a second bit so that it, too, acts once. A take that arrives after its undo
 *   (the second bit set) takes nothing.
 *
 * Operation n uses bits 2n (ran) and 2n + 1 (undone). A bitmap holds ONCE_BLOCK_BITS bits (128 KiB)
 * and expires ONCE_TTL_MS after its last write: half a byte per call (an admission and a settle),
 * about 8 MB per hour at 5 000 calls a second. An operation resent after its block expired (an
 * outage longer than that) is treated as never having run.
 */

/** Bits of one bitmap key (a multiple of 2, so that both bits of an operation share a key). */
export const ONCE_BLOCK_BITS = 2 ** 20;
/** How long a bitmap outlives its last write: the longest outage after which a resent operation is still recognised. */
export const ONCE_TTL_MS = 6 * 3_600_000;

/** Where an operation's bits are: its replica's bitmap key for that block, and the offset of its first bit (the second follows). */
export interface OnceBits {
  key: string;
  bit: number;
}

/** The bits of operation `number` (0, 1, 2, ...) of a replica, under `keyOf(block)`. */
export function onceBits(number: number, keyOf: (block: number) => string): OnceBits {
  const first = number * 2;
  return { key: keyOf(Math.floor(first / ONCE_BLOCK_BITS)), bit: first % ONCE_BLOCK_BITS };
}

/**
 * Lua for scripts that take the bitmap as their last key and the bit as their last argument (-1:
 * the operation is not numbered, nothing is recorded): `ran()` (bit set), `undone()` (second bit
 * set), `markRan()`, `markUndone()`.
 */
export const ONCE_LUA = `
local onceKey, onceBit = KEYS[#KEYS], tonumber(ARGV[#ARGV])
local function onceGet(offset) return onceBit >= 0 and redis.call('GETBIT', onceKey, onceBit + offset) == 1 end
local function onceSet(offset)
  if onceBit < 0 then return end
  redis.call('SETBIT', onceKey, onceBit + offset, 1)
  redis.call('PEXPIRE', onceKey, ${ONCE_TTL_MS})
end
local function ran() return onceGet(0) end
local function undone() return onceGet(1) end
local function markRan() onceSet(0) end
local function markUndone() onceSet(1) end`;
