/**
 * deploy/systemd: the units pass `systemd-analyze verify` (where systemd is installed), carry the
 * hardening the README promises, and the readiness wait used as ExecStartPost behaves as the unit
 * relies on (0 once /health/readiness is 200; 0 with a warning when only liveliness answers at the
 * deadline; 1 when nothing answers).
 */
import { execFile } from 'node:child_process';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { readFileSync } from 'node:fs';
import { promisify } from 'node:util';
import { afterEach, describe, expect, it } from 'vitest';
import { commandAvailable } from './tools.js';

const run = promisify(execFile);
const UNITS = ['deploy/systemd/switchboard.service', 'deploy/systemd/switchboard-backup.service', 'deploy/systemd/switchboard-backup.timer'];

async function waitReady(base: string, seconds: number): Promise<{ code: number; stderr: string; ms: number }> {
  const started = Date.now();
  try {
    const { stderr } = await run(process.execPath, ['deploy/systemd/wait-ready.mjs', base, String(seconds)]);
    return { code: 0, stderr, ms: Date.now() - started };
  } catch (error) {
    const failed = error as { code: number; stderr: string };
    return { code: failed.code, stderr: failed.stderr, ms: Date.now() - started };
  }
}

let server: Server | undefined;
afterEach(() => new Promise<void>((resolve) => (server ? server.close(() => resolve()) : resolve())));

async function serve(readiness: () => number): Promise<string> {
  server = createServer((request, response) => {
    const status = request.url === '/health/readiness' ? readiness() : request.url === '/health/liveliness' ? 200 : 404;
    response.writeHead(status, { 'content-type': 'application/json' }).end('{}');
  });
  await new Promise<void>((resolve) => server!.listen(0, '127.0.0.1', resolve));
  return `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
}

describe('systemd units', () => {
  it('are hardened: dedicated user, read-only system but the data directory, secrets from an EnvironmentFile, restart on failure', () => {
    const unit = readFileSync('deploy/systemd/switchboard.service', 'utf8');
    for (const line of ['Type=exec', 'User=switchboard', 'ProtectSystem=strict', 'ReadWritePaths=/var/lib/switchboard', 'EnvironmentFile=/etc/switchboard/switchboard.env', 'Restart=on-failure', 'NoNewPrivileges=true', 'ExecReload=/bin/kill -HUP $MAINPID']) {
      expect(unit.split('\n')).toContain(line);
    }
    expect(unit).toMatch(/^ExecStartPost=.*wait-ready\.mjs http:\/\/127\.0\.0\.1:\$\{SWITCHBOARD_PORT\} 60$/m);
    expect(unit).toMatch(/^ExecStart=.* start .*--host \$\{SWITCHBOARD_HOST\}/m);
    expect(unit).not.toMatch(/^MemoryDenyWriteExecute=/m); // V8's JIT needs writable+executable memory
    const backup = readFileSync('deploy/systemd/switchboard-backup.service', 'utf8');
    expect(backup).toMatch(/^ExecStart=.* backup .*--out \/var\/backups\/switchboard$/m);
    expect(readFileSync('deploy/systemd/switchboard-backup.timer', 'utf8')).toMatch(/^OnCalendar=/m);
  });

  it.skipIf(!commandAvailable('systemd-analyze'))('pass systemd-analyze verify', async () => {
    for (const unit of UNITS) {
      const result = await run('systemd-analyze', ['verify', '--man=no', unit]).then(
        ({ stderr }) => ({ code: 0, stderr }),
        (error: { code: number; stderr: string }) => ({ code: error.code, stderr: error.stderr }),
      );
      expect(result.stderr, unit).toBe('');
      expect(result.code, unit).toBe(0);
    }
  });

  it('wait-ready returns as soon as /health/readiness answers 200', async () => {
    let calls = 0;
    const base = await serve(() => (++calls < 4 ? 503 : 200));
    const result = await waitReady(base, 20);
    expect(result.code).toBe(0);
    expect(calls).toBe(4);
    expect(result.ms).toBeLessThan(10_000);
  });

  it('wait-ready counts a gateway whose database is not ready yet as started, and says so', async () => {
    const base = await serve(() => 503);
    const result = await waitReady(base, 1);
    expect(result.code).toBe(0);
    expect(result.stderr).toContain('/health/readiness still says 503 after 1s (database not ready): started, not ready');
  });

  it('wait-ready fails the start when nothing answers', async () => {
    const base = await serve(() => 200);
    await new Promise<void>((resolve) => server!.close(() => resolve()));
    server = undefined;
    const result = await waitReady(base, 1);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain(`switchboard did not answer at ${base} within 1s`);
  });
});
