import { readFileSync } from 'node:fs';
import { countTokens } from 'gpt-tokenizer';
import { describe, expect, it } from 'vitest';
import { o200kCounter, RankTable } from './o200k.js';

const AS_TEXT = { disallowedSpecial: new Set<string>() };
const reference = (text: string) => countTokens(text, AS_TEXT);

/** A seeded generator, so a failure names a text that can be made again. */
function random(seed: number): () => number {
  let state = seed >>> 0;
  return () => {
    state = (Math.imul(state ^ (state >>> 15), 0x2c1b3c6d) + 0x9e3779b9) >>> 0;
    return state / 0x100000000;
  };
}

const ALPHABETS = [
  'abcdefghijklmnopqrstuvwxyz      ',
  'ABCDEFGHIJKLMNOPQRSTUVWXYZabc   ',
  '0123456789.,;:!?-+*/=()[]{}<>"\' ',
  'äöüßéèêàçñøåœæ ÄÖÜÉ',
  'абвгдеёжзийклмнопрстуфхцчшщъыьэюя АБВ',
  'αβγδεζηθικλμνξοπρστυφχψω ',
  '日本語のテキストと漢字かなカナ、。',
  '中文文本和标点符号，。！？',
  '한국어 텍스트 ',
  'العربية نص ',
  'עברית טקסט ',
  'हिन्दी पाठ ',
  '😀😃😄😁🙂🙃😉👍🏽👨‍👩‍👧🇩🇪 ',
  '\n\n\t\r\n  \u00a0\u2003\u200b',
  '<|endoftext|><|im_start|><|im_end|><|endofprompt|>',
  '\ud800\udc00\ud83d', // a pair and a lone surrogate
];

function randomText(next: () => number, length: number): string {
  let text = '';
  while (text.length < length) {
    const alphabet = [...ALPHABETS[Math.floor(next() * ALPHABETS.length)]];
    const run = 1 + Math.floor(next() * 40);
    for (let index = 0; index < run; index++) text += alphabet[Math.floor(next() * alphabet.length)];
  }
  return text;
}

const count = await o200kCounter();

describe('the rank table', () => {
  it('reads a tiktoken file: base64 sequences (padded or not) and their ranks', () => {
    const file = new TextEncoder().encode('YQ== 0\nYg== 1\nYWI= 7\nYWJj 9\n');
    const table = RankTable.fromTiktoken(file);
    expect(table.size).toBe(4);
    const bytes = new TextEncoder().encode('abcd');
    expect([table.rankOf(bytes, 0, 1), table.rankOf(bytes, 1, 2), table.rankOf(bytes, 0, 2), table.rankOf(bytes, 0, 3), table.rankOf(bytes, 1, 3), table.rankOf(bytes, 3, 4)]).toEqual([0, 1, 7, 9, -1, -1]);
  });

  it('holds every rank of the o200k file', () => {
    const table = RankTable.fromTiktoken(readFileSync('node_modules/gpt-tokenizer/data/o200k_base.tiktoken'));
    expect(table.size).toBe(199_998);
  });
});

describe('o200k counting with the compact rank table', () => {
  it('counts as gpt-tokenizer does: every single character of the first 0x3000 code points', () => {
    for (let code = 0; code < 0x3000; code++) {
      const text = String.fromCodePoint(code);
      expect(count(text), `U+${code.toString(16)}`).toBe(reference(text));
    }
  });

  it('counts as gpt-tokenizer does: 3,000 random texts of mixed scripts, emoji, whitespace and special-token spellings', () => {
    const next = random(20261206);
    for (let round = 0; round < 3_000; round++) {
      const text = randomText(next, 1 + Math.floor(next() * 400));
      expect(count(text), JSON.stringify(text)).toBe(reference(text));
    }
  });

  it('counts as gpt-tokenizer does: this repository\'s README and source, line by line and whole', () => {
    for (const file of ['README.md', 'src/gateway/o200k.ts', 'package.json', 'bench/README.md']) {
      const text = readFileSync(file, 'utf8');
      expect(count(text), file).toBe(reference(text));
      for (const line of text.split('\n').slice(0, 400)) expect(count(line), line).toBe(reference(line));
    }
  });

  it('counts long runs without a split (one piece of thousands of bytes)', () => {
    for (const text of ['a'.repeat(3000), 'ab'.repeat(1500), '日'.repeat(2000), '!'.repeat(2500), 'x'.repeat(5000) + ' y']) {
      expect(count(text)).toBe(reference(text));
    }
  });
});
