import { describe, expect, it } from 'vitest';
import { toCsv } from './csv.js';

describe('toCsv', () => {
  it('writes a header row and one line per row, quoting what needs it', () => {
    const text = toCsv(['model', 'spend', 'note'], [
      { model: 'gpt-4o', spend: 0.5, note: 'a, "quoted" word' },
      { model: 'claude', spend: 0, note: null },
    ]);
    expect(text).toBe('model,spend,note\r\ngpt-4o,0.5,"a, ""quoted"" word"\r\nclaude,0,\r\n');
  });

  it('defuses cells a spreadsheet would run as formulas, but not negative numbers', () => {
    expect(toCsv(['a', 'b'], [{ a: '=HYPERLINK("x")', b: -1 }])).toBe('a,b\r\n"\'=HYPERLINK(""x"")",-1\r\n');
  });

  it('defuses formulas behind a semicolon or a line break too (a ";"-delimited spreadsheet makes them cells of their own)', () => {
    expect(toCsv(['a'], [{ a: 'x;=HYPERLINK(1);' }, { a: 'y; "@SUM(1)' }, { a: 'a;b;-c' }, { a: 'plain; text' }, { a: 'w\r\n=1+1' }])).toBe(
      'a\r\nx;\'=HYPERLINK(1);\r\n"y;\' ""@SUM(1)"\r\na;b;\'-c\r\nplain; text\r\n"w\r\n\'=1+1"\r\n',
    );
  });
});
