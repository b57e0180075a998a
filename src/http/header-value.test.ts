import { describe, expect, it } from 'vitest';
import { flatSafeHeaders, safeHeaders, safeHeaderValue } from './header-value.js';

describe('safeHeaderValue', () => {
  it('leaves printable ASCII as it is', () => {
    expect(safeHeaderValue('model group "gpt-4o" (12.5 ms)')).toBe('model group "gpt-4o" (12.5 ms)');
  });

  it('percent-encodes non-ASCII, control characters and "%", so decodeURIComponent gives the text back', () => {
    for (const text of ['модель', 'user "пользователь" spent 100%', 'line\r\nInjected: yes', 'tab\there', 'café ☕ 模型', '%D0%BC']) {
      const safe = safeHeaderValue(text);
      expect(safe).toMatch(/^[\x20-\x7e]*$/);
      expect(decodeURIComponent(safe)).toBe(text);
    }
    expect(safeHeaderValue('модель')).toBe(encodeURIComponent('модель'));
  });

  it('turns a lone surrogate into U+FFFD instead of throwing', () => {
    expect(decodeURIComponent(safeHeaderValue('a\ud800b'))).toBe('a\ufffdb');
  });

  it('makes whole header sets safe', () => {
    expect(flatSafeHeaders({ a: 'ok', b: 'я' })).toEqual(['a', 'ok', 'b', '%D1%8F']);
    expect(safeHeaders({ b: 'я' })).toEqual({ b: '%D1%8F' });
  });
});
