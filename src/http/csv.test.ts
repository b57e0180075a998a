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
});
