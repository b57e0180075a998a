/**
 * Starts a gateway as a separate OS process (the built bin/switchboard.js, as a second replica
 * would run), with its own config file and environment. Requires the build (`npm test` builds
 * first).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

export interface GatewayProcess {
  url: string;
  process: ChildProcess;
  output(): string;
  stop(): Promise<void>;
}

export async function startGatewayProcess(yaml: string, env: Record<string, string>, args: string[] = []): Promise<GatewayProcess> {
  if (!existsSync('dist/switchboard.js')) throw new Error('dist/switchboard.js is missing: run `npm run build` (npm test does) before this suite');
  const directory = mkdtempSync(join(tmpdir(), 'switchboard-replica-'));
  const configFile = join(directory, 'config.yaml');
  writeFileSync(configFile, yaml);
  const child = spawn(process.execPath, ['bin/switchboard.js', 'start', '--config', configFile, '--port', '0', '--host', '127.0.0.1', ...args], {
    env: { ...process.env, DATABASE_URL: `sqlite:${join(directory, 'db.sqlite')}`, LOG_LEVEL: 'info', ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const url = await new Promise<string>((resolve, reject) => {
    // Generous: several worker processes (--workers) load at once on a shared machine.
    const timer = setTimeout(() => reject(new Error(`gateway process did not start within 30s:\n${output}`)), 30_000);
    const check = () => {
      const match = /listening on (http:\/\/127\.0\.0\.1:\d+)/.exec(output);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]);
      }
    };
    child.stdout!.on('data', check);
    child.once('exit', (code) => {
      clearTimeout(timer);
      reject(new Error(`gateway process exited with ${code}:\n${output}`));
    });
  });
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline) {
    const response = await fetch(`${url}/health/readiness`).catch(() => undefined);
    if (response?.status === 200) break;
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
  return {
    url,
    process: child,
    output: () => output,
    async stop() {
      if (child.exitCode === null) {
        const exited = new Promise((resolve) => child.once('exit', resolve));
        child.kill('SIGTERM');
        await Promise.race([exited, new Promise((resolve) => setTimeout(resolve, 5_000))]);
        if (child.exitCode === null) child.kill('SIGKILL');
      }
      rmSync(directory, { recursive: true, force: true });
    },
  };
}

/** The process's exit code (or the signal that ended it), once it has exited. */
export function exitOf(gateway: GatewayProcess): Promise<number | string> {
  if (gateway.process.exitCode !== null) return Promise.resolve(gateway.process.exitCode);
  return new Promise((resolve) => gateway.process.once('exit', (code, signal) => resolve(code ?? signal ?? 'unknown')));
}

/** The usage rows spilled to disk under a data directory (one line each in its spill files). */
export function spilledLines(dataDir: string): number {
  const directory = join(dataDir, 'spill');
  if (!existsSync(directory)) return 0;
  return readdirSync(directory)
    .filter((name) => name.startsWith('usage-spill'))
    .reduce((sum, name) => sum + readFileSync(join(directory, name), 'utf8').split('\n').filter(Boolean).length, 0);
}
