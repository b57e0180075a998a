import { describe, expect, it } from 'vitest';
import { GatewayError } from '../errors.js';
import { assertRequestBounds, modelNameForRecord, REQUEST_BOUNDS } from './request-bounds.js';

const refusal = (body: Record<string, unknown>) => {
  try {
    assertRequestBounds(body);
  } catch (error) {
    return error as GatewayError;
  }
  return undefined;
};

describe('assertRequestBounds', () => {
  it('accepts strings at the limits and refuses one character more, naming the field', () => {
    expect(refusal({ model: 'm'.repeat(REQUEST_BOUNDS.modelNameChars), user: 'u'.repeat(REQUEST_BOUNDS.userChars) })).toBeUndefined();
    expect(refusal({ model: 'm'.repeat(REQUEST_BOUNDS.modelNameChars + 1) })).toMatchObject({ status: 400, param: 'model' });
    expect(refusal({ model: 'x', user: 'u'.repeat(REQUEST_BOUNDS.userChars + 1) })).toMatchObject({ param: 'user' });
  });

  it('measures metadata as UTF-8 JSON bytes', () => {
    // 3 000 three-byte characters: under 8 192 characters, over 8 192 bytes.
    expect(refusal({ model: 'x', metadata: { note: '€'.repeat(3_000) } })).toMatchObject({ param: 'metadata' });
    expect(refusal({ model: 'x', metadata: { note: '€'.repeat(2_000) } })).toBeUndefined();
  });

  it('bounds tags, metadata.tags and fallbacks (names or {model} objects)', () => {
    expect(refusal({ model: 'x', metadata: { tags: ['t'.repeat(REQUEST_BOUNDS.tagChars + 1)] } })).toMatchObject({ param: 'metadata.tags[0]' });
    expect(refusal({ model: 'x', fallbacks: [{ model: 'f'.repeat(300) }] })).toMatchObject({ param: 'fallbacks[0]' });
    expect(refusal({ model: 'x', tags: Array.from({ length: REQUEST_BOUNDS.tags }, () => 't'), fallbacks: ['a', { model: 'b' }] })).toBeUndefined();
  });
});

describe('modelNameForRecord', () => {
  const known = (name: string) => name === `known-${'k'.repeat(100)}`;
  it('keeps short and known names, and only a prefix of long unknown ones', () => {
    expect(modelNameForRecord(null, known)).toBeNull();
    expect(modelNameForRecord('gpt-typo', known)).toBe('gpt-typo');
    expect(modelNameForRecord(`known-${'k'.repeat(100)}`, known)).toBe(`known-${'k'.repeat(100)}`);
    expect(modelNameForRecord('u'.repeat(10_000_000), () => true)).toBe(`${'u'.repeat(64)}…`);
  });
});
