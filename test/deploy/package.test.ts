/**
 * The tarball `npm pack` makes (what the Ansible role installs): the built gateway, its bin, the
 * example config and the systemd files the units name — and no sources or tests.
 */
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { describe, expect, it } from 'vitest';

const run = promisify(execFile);

describe('npm pack', () => {
  it('carries dist/, bin/, the example config and deploy/systemd, and leaves sources and tests out', async () => {
    // --ignore-scripts: the listing only (the build itself is `prepare`, which npm pack runs).
    const { stdout } = await run('npm', ['pack', '--dry-run', '--json', '--ignore-scripts'], { maxBuffer: 10 * 1024 * 1024 });
    const files = (JSON.parse(stdout) as Array<{ files: Array<{ path: string }> }>)[0].files.map((file) => file.path);
    for (const path of ['package.json', 'bin/switchboard.js', 'dist/switchboard.js', 'dist/sqlite-writer-worker.js', 'dist/runtime/young-generation.js', 'config.example.yaml', 'deploy/systemd/switchboard.service', 'deploy/systemd/wait-ready.mjs']) {
      expect(files, path).toContain(path);
    }
    expect(files.filter((path) => /^(src|test|ui|bench|deploy\/(ansible|kubernetes|compose))\//.test(path))).toEqual([]);
  });
});
