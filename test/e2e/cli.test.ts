/** The CLI as a user runs it: the built bin/switchboard.js in a child process. */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, describe, expect, it } from 'vitest';

const run = promisify(execFile);
const directory = mkdtempSync(join(tmpdir(), 'switchboard-cli-'));

afterAll(() => rmSync(directory, { recursive: true, force: true }));

async function cli(args: string[], env: Record<string, string> = {}): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await run(process.execPath, ['bin/switchboard.js', ...args], { env: { ...process.env, ...env } });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

function file(name: string, text: string): string {
  const path = join(directory, name);
  writeFileSync(path, text);
  return path;
}

describe('switchboard CLI', () => {
  it('--help lists the commands', async () => {
    const result = await cli(['--help']);
    expect(result.code).toBe(0);
    for (const command of ['start', 'migrate', 'check-config']) expect(result.stdout).toContain(command);
  });

  it('start refuses a malformed SWITCHBOARD_ENCRYPTION_KEY with a message saying what it must be', async () => {
    const path = file('key.yaml', 'model_list: []\n');
    const result = await cli(['start', '--config', path, '--port', '0', '--host', '127.0.0.1'], { SWITCHBOARD_ENCRYPTION_KEY: 'not-a-key', DATABASE_URL: 'sqlite::memory:' });
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('switchboard: SWITCHBOARD_ENCRYPTION_KEY: key "k1" must be 32 bytes, written as 64 hex characters or base64');
  });

  it('check-config accepts a valid config', async () => {
    const path = file('ok.yaml', 'model_list:\n  - model_name: a\n    litellm_params:\n      model: openai/gpt-4o-mini\n      api_key: sk-x\n');
    const result = await cli(['check-config', path]);
    expect(result.code).toBe(0);
    expect(result.stdout).toContain('ok — 1 model(s), 1 deployment(s)');
  });

  it('check-config exits 1 with line-precise messages', async () => {
    const path = file(
      'bad.yaml',
      [
        'model_list:',
        '  - model_name: a',
        '    litellm_params:',
        '      model: nosuch/model',
        '  - model_name: b',
        '    litellm_params:',
        '      model: openai/gpt-4o',
        '      api_key: os.environ/SWITCHBOARD_TEST_MISSING_VAR',
        '      rpm: many',
        'router_settings:',
        '  surprise: true',
        '',
      ].join('\n'),
    );
    const result = await cli(['check-config', path]);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(new RegExp(`${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:4:\\d+: error: .*unknown provider prefix "nosuch"`));
    expect(result.stdout).toMatch(/:8:\d+: error: .*SWITCHBOARD_TEST_MISSING_VAR/);
    expect(result.stdout).toMatch(/:9:\d+: error: model_list\[1\]\.litellm_params\.rpm: expected a number/);
    expect(result.stdout).toMatch(/:11:\d+: warning: .*unknown key "surprise"/);
  });

  it('check-config reports invalid YAML with its line', async () => {
    const path = file('broken.yaml', 'model_list:\n  - model_name: a\n    litellm_params: [unclosed\n');
    const result = await cli(['check-config', path]);
    expect(result.code).toBe(1);
    expect(result.stdout).toMatch(/broken\.yaml:\d+:\d+: error: .*invalid YAML/);
  });

  it('migrate applies the migrations to the database it is given, then reports it up to date', async () => {
    const url = `sqlite:${join(directory, 'migrate.db')}`;
    const first = await cli(['migrate'], { DATABASE_URL: url });
    expect(first.code).toBe(0);
    expect(first.stdout).toMatch(/applied \d+ migration/);
    const second = await cli(['migrate'], { DATABASE_URL: url });
    expect(second.stdout).toContain('up to date');
  });

  it('start refuses a config with errors, naming them', async () => {
    const path = file('fatal.yaml', 'model_list:\n  - model_name: a\n    litellm_params:\n      model: nosuch/x\n');
    const result = await cli(['start', '--config', path, '--port', '0']);
    expect(result.code).toBe(1);
    expect(result.stderr).toContain('unknown provider prefix');
  });
});
