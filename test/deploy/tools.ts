import { execFileSync } from 'node:child_process';

/** Whether COMMAND is on the PATH. */
export function commandAvailable(command: string): boolean {
  try {
    execFileSync('sh', ['-c', `command -v "$1"`, 'sh', command], { stdio: 'ignore' });
    return true;
  } catch {
    return false;
  }
}
