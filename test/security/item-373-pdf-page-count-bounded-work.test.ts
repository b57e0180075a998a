/**
 * Item 373 (the attack): the page count of an inline PDF (read on the request path, before
 * admission, for every chat `file` part, Anthropic `document`, Responses `input_file` and Gemini
 * `inlineData` PDF) used patterns that backtracked quadratically on hostile text: `/Kids[` repeated
 * without a `]` (160 KB body: the event loop held 3.1 s for everyone), a `/Kids[` array of 40,000
 * digits (53 KB: 1.3 s), a comment of spaces between `/Type` and its value; and it inflated any
 * number of tiny object streams (120,000 in 5 MB: 2 s). Now the arrays are found with indexOf and
 * their references read as tokens, once; comments end at their line break; and at most 1,000 object
 * streams are inflated per request (past that a PDF is held at the most pages a provider reads).
 */
import { deflateSync } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { pdfTokens, startPdfReading } from '../../src/billing/pdf-pages.js';

const PAGE_TOKENS = 3_000;
const pdf = (body: string | Buffer): string => Buffer.concat([Buffer.from('%PDF-1.7\n', 'latin1'), Buffer.isBuffer(body) ? body : Buffer.from(body, 'latin1')]).toString('base64');

/** Wall time of one count; the bound is generous (the patterns before took seconds to minutes on these inputs). */
function timed(data: string): { tokens: number; ms: number } {
  startPdfReading();
  const started = performance.now();
  const tokens = pdfTokens(data, 'application/pdf');
  return { tokens, ms: performance.now() - started };
}

describe('an inline PDF is counted with bounded work', () => {
  it('/Kids[ repeated without a closing bracket', () => {
    const { ms } = timed(pdf('/Kids['.repeat(200_000)));
    expect(ms).toBeLessThan(1_000);
  });

  it('a /Kids array of one long run of digits, and of a million references', () => {
    expect(timed(pdf(`/Kids[${'1'.repeat(400_000)}]`)).ms).toBeLessThan(1_000);
    const many = timed(pdf(`/Type /Pages /Kids[${'3 0 R '.repeat(100_000)}]`));
    expect(many.ms).toBeLessThan(1_000);
    expect(many.tokens).toBe(100_000 * PAGE_TOKENS);
  });

  it('a comment of spaces between /Type and a value that is not /Page', () => {
    expect(timed(pdf(`/Type %${' '.repeat(200_000)}`)).ms).toBeLessThan(1_000);
    expect(timed(pdf(`/Kids %${' '.repeat(200_000)}`)).ms).toBeLessThan(1_000);
  });

  it('more object streams than are inflated: held at the most pages a provider reads', () => {
    const stream = Buffer.concat([Buffer.from('<< /Type /ObjStm >>\nstream\n', 'latin1'), deflateSync(Buffer.from('1 0 obj << /Type /Page >> endobj', 'latin1')), Buffer.from('\nendstream\n', 'latin1')]);
    const few = timed(pdf(Buffer.concat(Array.from({ length: 10 }, () => stream))));
    expect(few.tokens).toBe(10 * PAGE_TOKENS);
    const many = timed(pdf(Buffer.concat(Array.from({ length: 5_000 }, () => stream))));
    expect(many.tokens).toBe(1_000 * PAGE_TOKENS);
    expect(many.ms).toBeLessThan(2_000);
  });

  it('pages are counted as before: page objects, /Kids references, names escaped, comments between', () => {
    expect(timed(pdf('1 0 obj << /Type /Page >> endobj 2 0 obj << /Type/Page >> endobj 3 0 obj << /Type /Pages /Kids [1 0 R 2 0 R] >> endobj')).tokens).toBe(2 * PAGE_TOKENS);
    expect(timed(pdf('<< /Type /Pages /Kids [ 4 0 R\n5 0 R %a comment\n 6 0 R ] >>')).tokens).toBe(3 * PAGE_TOKENS);
    expect(timed(pdf('<< /Type % comment\n/Page >> << /T#79pe /P#61ge >>')).tokens).toBe(2 * PAGE_TOKENS);
    // Not a reference: a number pair without R, an R after one number.
    expect(timed(pdf('<< /Kids [1 0 2 R 7 R] >>')).tokens).toBe(1 * PAGE_TOKENS);
  });
});
