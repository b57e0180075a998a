/**
 * Counts tokens of OpenAI's o200k encoding (GPT-4o and later) with a compact rank table: the
 * ~200,000 mergeable byte sequences as one byte block with their offsets, found through an
 * open-addressing hash table — about 5 MB, built in a few tens of milliseconds from the encoding's
 * tiktoken file (`gpt-tokenizer/data/o200k_base.tiktoken`: one `base64(bytes) rank` per line).
 *
 * gpt-tokenizer's own encoder keeps the same ranks as ~200,000 strings in maps (~21 MB of heap,
 * ~44 MB more RSS once its 2 MB generated module is loaded) and a merge cache of up to 100,000
 * entries; the gateway only counts, so it reads the ranks this way and uses gpt-tokenizer for the
 * data file and the split pattern alone. The count is the same as gpt-tokenizer's for any text
 * (o200k.test.ts compares them): the text is split by the encoding's pattern and each piece is
 * merged by byte-pair ranks, lowest rank first and the leftmost of equal ones, as tiktoken does.
 * Text that spells a special token (`<|endoftext|>`) is counted as text.
 */
import { readFileSync } from 'node:fs';
import { createRequire } from 'node:module';

const NONE = -1;

/** The mergeable byte sequences and their ranks. */
export class RankTable {
  private constructor(
    /** Every sequence's bytes, one after another. */
    private readonly bytes: Uint8Array,
    /** Where sequence i starts in `bytes` (i + 1: where it ends). */
    private readonly starts: Uint32Array,
    private readonly ranks: Int32Array,
    /** Open addressing: the sequence index in each slot, NONE when empty; the size a power of two. */
    private readonly slots: Int32Array,
  ) {}

  /** Parses a tiktoken rank file (lines of `base64 rank`). */
  static fromTiktoken(file: Uint8Array): RankTable {
    let lines = 0;
    for (let index = 0; index < file.length; index++) if (file[index] === 10) lines++;
    if (file.length > 0 && file[file.length - 1] !== 10) lines++;
    // Base64 gives at most 3 bytes per 4 characters.
    const bytes = new Uint8Array(Math.ceil((file.length * 3) / 4));
    const starts = new Uint32Array(lines + 1);
    const ranks = new Int32Array(lines);
    let count = 0;
    let written = 0;
    for (let at = 0; at < file.length; ) {
      let space = at;
      while (space < file.length && file[space] !== 32) space++;
      let end = space;
      while (end < file.length && file[end] !== 10) end++;
      if (space > at) {
        starts[count] = written;
        written = decodeBase64(file, at, space, bytes, written);
        ranks[count] = parseDecimal(file, space + 1, end);
        count++;
      }
      at = end + 1;
    }
    starts[count] = written;
    let size = 1;
    while (size < count * 2.5) size <<= 1;
    const slots = new Int32Array(size).fill(NONE);
    const table = new RankTable(bytes.slice(0, written), starts.slice(0, count + 1), ranks.slice(0, count), slots);
    for (let index = 0; index < count; index++) table.insert(index);
    return table;
  }

  get size(): number {
    return this.ranks.length;
  }

  private insert(index: number): void {
    const mask = this.slots.length - 1;
    let slot = hash(this.bytes, this.starts[index], this.starts[index + 1]) & mask;
    while (this.slots[slot] !== NONE) slot = (slot + 1) & mask;
    this.slots[slot] = index;
  }

  /** The rank of text[start, end) (UTF-8 bytes), or NONE. */
  rankOf(text: Uint8Array, start: number, end: number): number {
    const mask = this.slots.length - 1;
    const length = end - start;
    for (let slot = hash(text, start, end) & mask; ; slot = (slot + 1) & mask) {
      const index = this.slots[slot];
      if (index === NONE) return NONE;
      const from = this.starts[index];
      if (this.starts[index + 1] - from !== length) continue;
      let same = true;
      for (let offset = 0; offset < length; offset++) {
        if (this.bytes[from + offset] !== text[start + offset]) {
          same = false;
          break;
        }
      }
      if (same) return this.ranks[index];
    }
  }
}

/** FNV-1a over bytes[start, end). */
function hash(bytes: Uint8Array, start: number, end: number): number {
  let value = 0x811c9dc5;
  for (let index = start; index < end; index++) value = Math.imul(value ^ bytes[index], 0x01000193);
  return value >>> 0;
}

const BASE64 = (() => {
  const values = new Int8Array(128).fill(-1);
  const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/';
  for (let index = 0; index < alphabet.length; index++) values[alphabet.charCodeAt(index)] = index;
  return values;
})();

function decodeBase64(source: Uint8Array, start: number, end: number, target: Uint8Array, at: number): number {
  let bits = 0;
  let held = 0;
  for (let index = start; index < end; index++) {
    const value = BASE64[source[index]];
    if (value === undefined || value < 0) {
      if (source[index] === 61) break; // '=' padding
      throw new Error(`o200k rank file: not base64 at byte ${index}`);
    }
    bits = (bits << 6) | value;
    held += 6;
    if (held >= 8) {
      held -= 8;
      target[at++] = (bits >> held) & 0xff;
    }
  }
  return at;
}

function parseDecimal(source: Uint8Array, start: number, end: number): number {
  let value = 0;
  for (let index = start; index < end; index++) {
    const digit = source[index] - 48;
    if (digit < 0 || digit > 9) throw new Error(`o200k rank file: not a rank at byte ${index}`);
    value = value * 10 + digit;
  }
  return value;
}

/** Reusable buffers: a piece's UTF-8 bytes, and the merge's part boundaries and pair ranks. */
let scratch = new Uint8Array(4096);
let boundaries = new Int32Array(4097);
let pairRanks = new Int32Array(4097);
const encoder = new TextEncoder();
const NO_MERGE = 0x7fffffff;

/** Tokens of one piece of the split (its UTF-8 bytes in scratch[0, length)). */
function countPiece(table: RankTable, length: number): number {
  if (length <= 1 || table.rankOf(scratch, 0, length) !== NONE) return 1;
  if (boundaries.length < length + 1) {
    boundaries = new Int32Array(length + 1);
    pairRanks = new Int32Array(length + 1);
  }
  const rankAt = (index: number, parts: number): number => {
    if (index + 2 >= parts) return NO_MERGE;
    const rank = table.rankOf(scratch, boundaries[index], boundaries[index + 2]);
    return rank === NONE ? NO_MERGE : rank;
  };
  let parts = length + 1;
  for (let index = 0; index < parts; index++) boundaries[index] = index;
  for (let index = 0; index < parts; index++) pairRanks[index] = rankAt(index, parts);
  for (;;) {
    let lowest = NO_MERGE;
    let at = -1;
    for (let index = 0; index < parts - 2; index++) {
      if (pairRanks[index] < lowest) {
        lowest = pairRanks[index];
        at = index;
      }
    }
    if (at < 0) break;
    // Merge parts at and at + 1: their shared boundary goes.
    boundaries.copyWithin(at + 1, at + 2, parts);
    pairRanks.copyWithin(at + 1, at + 2, parts);
    parts--;
    pairRanks[at] = rankAt(at, parts);
    if (at > 0) pairRanks[at - 1] = rankAt(at - 1, parts);
  }
  return parts - 1;
}

/** Tokens of a text in the o200k encoding; `split`: the encoding's pattern (o200kCounter). */
export function countO200k(table: RankTable, split: RegExp, text: string): number {
  let total = 0;
  for (const [piece] of text.matchAll(split)) {
    if (scratch.length < piece.length * 3) scratch = new Uint8Array(piece.length * 3);
    const { written } = encoder.encodeInto(piece, scratch);
    total += countPiece(table, written);
  }
  return total;
}

/**
 * A counter of o200k tokens: the rank table read from gpt-tokenizer's data file, the split pattern
 * from its small constants module (imported here, on first use: nothing of gpt-tokenizer loads at start).
 */
export async function o200kCounter(): Promise<(text: string) => number> {
  const { O200K_TOKEN_SPLIT_REGEX } = await import('gpt-tokenizer/encodingParams/constants');
  const table = RankTable.fromTiktoken(readFileSync(createRequire(import.meta.url).resolve('gpt-tokenizer/data/o200k_base.tiktoken')));
  return (text) => countO200k(table, O200K_TOKEN_SPLIT_REGEX, text);
}
