import { describe, expect, it } from 'vitest';
import { EncryptionKeyError, SecretBox, maskSecret } from './secret-box.js';

const HEX = 'a'.repeat(64);
const BASE64 = Buffer.alloc(32, 7).toString('base64');

describe('SecretBox', () => {
  it('seals and opens, with a fresh iv each time and no plaintext in the sealed value', () => {
    const box = SecretBox.parse(HEX);
    const first = box.seal('sk-secret-value-1234');
    const second = box.seal('sk-secret-value-1234');
    expect(first).not.toBe(second);
    expect(first).not.toContain('secret');
    expect(first.startsWith('v1.k1.')).toBe(true);
    expect(box.open(first)).toBe('sk-secret-value-1234');
  });

  it('rotates: the first key seals, older keys still open', () => {
    const old = SecretBox.parse(`old:${HEX}`);
    const sealed = old.seal('kept');
    const rotated = SecretBox.parse(`new:${BASE64},old:${HEX}`);
    expect(rotated.keyId).toBe('new');
    expect(rotated.open(sealed)).toBe('kept');
    expect(SecretBox.keyIdOf(rotated.seal('x'))).toBe('new');
    expect(() => SecretBox.parse(`new:${BASE64}`).open(sealed)).toThrow(/no longer lists/);
  });

  it('rejects tampering', () => {
    const box = SecretBox.parse(HEX);
    const parts = box.seal('value').split('.');
    parts[4] = Buffer.from('other').toString('base64url');
    expect(() => box.open(parts.join('.'))).toThrow();
  });

  it('refuses malformed keys with a clear message', () => {
    expect(() => SecretBox.parse('short')).toThrow(EncryptionKeyError);
    expect(() => SecretBox.parse('short')).toThrow(/64 hex characters or base64/);
    expect(() => SecretBox.parse(`a b:${HEX}`)).toThrow(/key id/);
    expect(() => SecretBox.parse(`x:${HEX},x:${HEX}`)).toThrow(/twice/);
    expect(SecretBox.fromEnv({})).toBeUndefined();
  });

  it('masks', () => {
    expect(maskSecret('sk-abcdefghijkl1234')).toBe('***…1234');
    expect(maskSecret('short')).toBe('***');
  });
});
