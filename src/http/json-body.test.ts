import { describe, expect, it } from 'vitest';
import { GatewayError } from '../errors.js';
import { MAX_JSON_DEPTH, nestsDeeperThan, parseJsonBody } from './json-body.js';

describe('nestsDeeperThan', () => {
  it('counts objects and arrays, at the limit and one past it', () => {
    expect(nestsDeeperThan('[[[]]]', 3)).toBe(false);
    expect(nestsDeeperThan('[[[[]]]]', 3)).toBe(true);
    expect(nestsDeeperThan('{"a":{"b":[1]}}', 3)).toBe(false);
    expect(nestsDeeperThan('{"a":{"b":[{}]}}', 3)).toBe(true);
  });

  it('depth falls again after siblings close', () => {
    expect(nestsDeeperThan('[[1],[2],[3],[[4]]]', 3)).toBe(false);
  });

  it('ignores brackets inside strings, escaped quotes included', () => {
    expect(nestsDeeperThan('["[[[[", "\\"[[[[", "\\\\", []]', 2)).toBe(false);
    expect(nestsDeeperThan('["\\\\", [[]]]', 2)).toBe(true);
  });
});

describe('parseJsonBody', () => {
  it('parses ordinary bodies', () => {
    expect(parseJsonBody('{"model":"m","messages":[{"role":"user","content":"[{"}]}')).toEqual({ model: 'm', messages: [{ role: 'user', content: '[{' }] });
  });

  it('refuses empty, malformed and too deeply nested bodies with 400', () => {
    for (const text of ['', '{"a":', `${'['.repeat(MAX_JSON_DEPTH + 1)}${']'.repeat(MAX_JSON_DEPTH + 1)}`]) {
      let caught: unknown;
      try {
        parseJsonBody(text);
      } catch (error) {
        caught = error;
      }
      expect(caught).toBeInstanceOf(GatewayError);
      expect(caught).toMatchObject({ status: 400, code: 'invalid_json' });
    }
    expect(parseJsonBody(`${'['.repeat(MAX_JSON_DEPTH)}${']'.repeat(MAX_JSON_DEPTH)}`)).toBeInstanceOf(Array);
  });
});
