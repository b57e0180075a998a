import { describe, expect, it } from 'vitest';
import { withMetadataField } from './layer.js';

describe('withMetadataField', () => {
  const metadata = JSON.stringify({ byok: false });

  it.each([
    ['no trailing whitespace', '{"id":"x"}'],
    ['a newline (OpenAI)', '{"id":"x"}\n'],
    ['CRLF and spaces', '{"id":"x"}\r\n  '],
  ])('adds _metadata to an object ending in %s, and the result is JSON', (_label, body) => {
    expect(JSON.parse(withMetadataField(body, metadata))).toEqual({ id: 'x', _metadata: { byok: false } });
  });

  it('adds _metadata to an empty object, however it is spaced', () => {
    expect(JSON.parse(withMetadataField('{ }\n', metadata))).toEqual({ _metadata: { byok: false } });
  });

  it('leaves a body that is not an object as it is', () => {
    expect(withMetadataField('[1,2]\n', metadata)).toBe('[1,2]\n');
  });
});
