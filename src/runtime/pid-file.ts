/**
 * The running gateway's process id in its data directory (switchboard.pid), so that
 * `switchboard reload` can find it. Written once the gateway listens, removed when it stops.
 */
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';

export const PID_FILE = 'switchboard.pid';

export function writePidFile(dataDir: string, pid = process.pid): string {
  const path = join(dataDir, PID_FILE);
  mkdirSync(dataDir, { recursive: true });
  writeFileSync(path, `${pid}\n`, { mode: 0o644 });
  return path;
}

/** Removes the file if it still names this process (another gateway may have started since). */
export function removePidFile(dataDir: string, pid = process.pid): void {
  if (readPidFile(dataDir) === pid) rmSync(join(dataDir, PID_FILE), { force: true });
}

export function readPidFile(dataDir: string): number | undefined {
  try {
    const pid = Number(readFileSync(join(dataDir, PID_FILE), 'utf8').trim());
    return Number.isInteger(pid) && pid > 0 ? pid : undefined;
  } catch {
    return undefined;
  }
}
