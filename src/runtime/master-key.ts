/**
 * The master key of a gateway started without one. No gateway should run open by accident, nor with
 * a key printed in a public example: when neither the config (`general_settings.master_key`) nor
 * the environment (`SWITCHBOARD_MASTER_KEY`, `LITELLM_MASTER_KEY`) names a key, `switchboard start`
 * generates a random one on first start, keeps it in the data directory (owner-only, mode 0600)
 * and prints it once; later starts read it from there.
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const MASTER_KEY_FILE = 'master-key';

export interface StoredMasterKey {
  key: string;
  /** The file that holds it. */
  path: string;
  /** True when it was generated now (first start): the only time it is printed. */
  created: boolean;
  /** True when the file was readable by others and was made owner-only. */
  tightened: boolean;
}

export class MasterKeyFileError extends Error {}

export function storedMasterKey(dataDir: string): StoredMasterKey {
  const path = join(dataDir, MASTER_KEY_FILE);
  const existing = readKey(path);
  if (existing !== undefined) return { key: existing, path, created: false, tightened: tighten(path) };
  mkdirSync(dataDir, { recursive: true });
  const key = `sk-sb-${randomBytes(24).toString('base64url')}`;
  try {
    // 'wx': two processes starting at once never overwrite each other's key; the second reads the first's.
    writeFileSync(path, `${key}\n`, { mode: 0o600, flag: 'wx' });
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw new MasterKeyFileError(`cannot store the generated master key in ${path}: ${(error as Error).message}`);
    const raced = readKey(path);
    if (raced === undefined) throw new MasterKeyFileError(`${path} is empty: delete it, or set SWITCHBOARD_MASTER_KEY`);
    return { key: raced, path, created: false, tightened: false };
  }
  return { key, path, created: true, tightened: false };
}

function readKey(path: string): string | undefined {
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw new MasterKeyFileError(`cannot read the master key file ${path}: ${(error as Error).message}`);
  }
  const key = text.trim();
  if (key === '') throw new MasterKeyFileError(`${path} is empty: delete it to generate a new master key, or set SWITCHBOARD_MASTER_KEY`);
  return key;
}

/** Makes the file owner-only when someone loosened it; true when it changed. */
function tighten(path: string): boolean {
  if (process.platform === 'win32') return false;
  const mode = statSync(path).mode & 0o777;
  if ((mode & 0o077) === 0) return false;
  chmodSync(path, 0o600);
  return true;
}
