/**
 * Finds a Chromium for the UI tests (playwright-core drives Debian's `chromium`, no downloaded
 * browser): $CHROMIUM_PATH, else the usual system paths, else `chromium` on the PATH. Under
 * CI=true a missing browser is an error (.ci/run installs it); locally the UI suites skip with
 * the reason printed.
 */
import { execFileSync } from 'node:child_process';
import { existsSync } from 'node:fs';

const CANDIDATES = ['/usr/bin/chromium', '/usr/bin/chromium-browser', '/usr/lib/chromium/chromium', '/usr/bin/google-chrome', '/usr/bin/google-chrome-stable'];

export function findChromium(): string | null {
  const fromEnv = process.env.CHROMIUM_PATH;
  if (fromEnv && existsSync(fromEnv)) return fromEnv;
  for (const candidate of CANDIDATES) if (existsSync(candidate)) return candidate;
  for (const name of ['chromium', 'chromium-browser', 'google-chrome']) {
    try {
      const found = execFileSync('sh', ['-c', `command -v ${name}`], { encoding: 'utf8' }).trim();
      if (found) return found;
    } catch {
      // not on the PATH
    }
  }
  return null;
}

/** The browser to use, or null with the reason printed (throws under CI=true). */
export function chromiumOrSkip(suite: string): string | null {
  const path = findChromium();
  if (path) return path;
  const reason = 'no Chromium found (set CHROMIUM_PATH, or apt-get install chromium)';
  if (process.env.CI === 'true') throw new Error(`CI=true but ${reason}: the ${suite} suite must run in CI`);
  console.warn(`skipping ${suite}: ${reason}`);
  return null;
}
