import { chmodSync, mkdtempSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import { MasterKeyFileError, storedMasterKey } from './master-key.js';

const directories: string[] = [];
const fresh = () => {
  const directory = mkdtempSync(join(tmpdir(), 'switchboard-key-'));
  directories.push(directory);
  return join(directory, 'data');
};
afterEach(() => directories.splice(0).forEach((directory) => rmSync(directory, { recursive: true, force: true })));

describe('storedMasterKey', () => {
  it('generates a random key on first use, owner-only, and returns the same key afterwards', () => {
    const dataDir = fresh();
    const first = storedMasterKey(dataDir);
    expect(first).toMatchObject({ created: true, path: join(dataDir, 'master-key') });
    expect(first.key).toMatch(/^sk-sb-[A-Za-z0-9_-]{32}$/);
    expect(statSync(first.path).mode & 0o777).toBe(0o600);
    expect(readFileSync(first.path, 'utf8')).toBe(`${first.key}\n`);
    const second = storedMasterKey(dataDir);
    expect(second).toMatchObject({ key: first.key, created: false, tightened: false });
    expect(storedMasterKey(fresh()).key).not.toBe(first.key);
  });

  it('makes a loosened file owner-only again, and says so', () => {
    const dataDir = fresh();
    const { path } = storedMasterKey(dataDir);
    chmodSync(path, 0o644);
    expect(storedMasterKey(dataDir).tightened).toBe(true);
    expect(statSync(path).mode & 0o777).toBe(0o600);
  });

  it('refuses an empty key file instead of running with an empty key', () => {
    const dataDir = fresh();
    const { path } = storedMasterKey(dataDir);
    writeFileSync(path, '\n');
    expect(() => storedMasterKey(dataDir)).toThrow(MasterKeyFileError);
  });
});
