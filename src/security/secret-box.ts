/**
 * Encryption at rest for secrets the gateway stores (BYOK provider keys, credentials of models
 * added through the API): AES-256-GCM under SWITCHBOARD_ENCRYPTION_KEY.
 *
 * The variable holds one or more keys, comma-separated, each `id:key` or just `key` (id "k1"),
 * the key being 32 bytes as 64 hex characters or base64. The first key encrypts; every listed key
 * decrypts, so a key is rotated by putting the new one first and keeping the old one after it until
 * the stored secrets have been re-encrypted. A sealed value is `v1.<key id>.<iv>.<tag>.<ciphertext>`
 * (base64url parts), so it names the key that can open it.
 */
import { createCipheriv, createDecipheriv, randomBytes } from 'node:crypto';

const VERSION = 'v1';
const KEY_ID_PATTERN = /^[A-Za-z0-9_-]{1,32}$/;

export class EncryptionKeyError extends Error {}

export class SecretBox {
  private constructor(
    private readonly keys: Map<string, Buffer>,
    private readonly currentId: string,
  ) {}

  /** Parses SWITCHBOARD_ENCRYPTION_KEY; undefined when unset; throws EncryptionKeyError when malformed. */
  static fromEnv(env: Record<string, string | undefined>): SecretBox | undefined {
    const value = env.SWITCHBOARD_ENCRYPTION_KEY;
    if (value === undefined || value.trim() === '') return undefined;
    return SecretBox.parse(value);
  }

  static parse(value: string): SecretBox {
    const keys = new Map<string, Buffer>();
    let currentId: string | undefined;
    const entries = value.split(',').map((entry) => entry.trim()).filter((entry) => entry.length > 0);
    entries.forEach((entry, index) => {
      const separator = entry.indexOf(':');
      const id = separator === -1 ? (entries.length === 1 ? 'k1' : `k${index + 1}`) : entry.slice(0, separator);
      const material = separator === -1 ? entry : entry.slice(separator + 1);
      if (!KEY_ID_PATTERN.test(id)) throw new EncryptionKeyError(`SWITCHBOARD_ENCRYPTION_KEY: key id "${id}" must be 1-32 letters, digits, "-" or "_"`);
      if (keys.has(id)) throw new EncryptionKeyError(`SWITCHBOARD_ENCRYPTION_KEY: key id "${id}" is listed twice`);
      keys.set(id, decodeKey(material, id));
      currentId ??= id;
    });
    if (!currentId) throw new EncryptionKeyError('SWITCHBOARD_ENCRYPTION_KEY is empty');
    return new SecretBox(keys, currentId);
  }

  /** A fresh key in the variable's format (for docs and `switchboard` users generating one). */
  static generateKey(): string {
    return randomBytes(32).toString('hex');
  }

  get keyId(): string {
    return this.currentId;
  }

  seal(plaintext: string): string {
    const iv = randomBytes(12);
    const cipher = createCipheriv('aes-256-gcm', this.keys.get(this.currentId)!, iv);
    cipher.setAAD(Buffer.from(`${VERSION}.${this.currentId}`));
    const ciphertext = Buffer.concat([cipher.update(plaintext, 'utf8'), cipher.final()]);
    return [VERSION, this.currentId, iv.toString('base64url'), cipher.getAuthTag().toString('base64url'), ciphertext.toString('base64url')].join('.');
  }

  open(sealed: string): string {
    const parts = sealed.split('.');
    if (parts.length !== 5 || parts[0] !== VERSION) throw new Error('not a sealed secret');
    const [version, keyId, iv, tag, ciphertext] = parts;
    const key = this.keys.get(keyId);
    if (!key) throw new Error(`the secret was sealed with encryption key "${keyId}", which SWITCHBOARD_ENCRYPTION_KEY no longer lists`);
    const decipher = createDecipheriv('aes-256-gcm', key, Buffer.from(iv, 'base64url'));
    decipher.setAAD(Buffer.from(`${version}.${keyId}`));
    decipher.setAuthTag(Buffer.from(tag, 'base64url'));
    return Buffer.concat([decipher.update(Buffer.from(ciphertext, 'base64url')), decipher.final()]).toString('utf8');
  }

  /** The key id a sealed value names (to find secrets still under an old key). */
  static keyIdOf(sealed: string): string | undefined {
    const parts = sealed.split('.');
    return parts.length === 5 && parts[0] === VERSION ? parts[1] : undefined;
  }
}

/** `***…last4`: how stored secrets are shown. */
export function maskSecret(secret: string): string {
  return secret.length <= 8 ? '***' : `***…${secret.slice(-4)}`;
}

function decodeKey(material: string, id: string): Buffer {
  let key: Buffer | undefined;
  if (/^[0-9a-fA-F]{64}$/.test(material)) key = Buffer.from(material, 'hex');
  else if (/^[A-Za-z0-9+/_-]+={0,2}$/.test(material)) {
    const decoded = Buffer.from(material, material.includes('-') || material.includes('_') ? 'base64url' : 'base64');
    if (decoded.length === 32) key = decoded;
  }
  if (!key) {
    throw new EncryptionKeyError(
      `SWITCHBOARD_ENCRYPTION_KEY: key "${id}" must be 32 bytes, written as 64 hex characters or base64 (generate one with: openssl rand -hex 32)`,
    );
  }
  return key;
}
