/** The CLI as a user runs it: the built bin/switchboard.js in a child process. */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { createServer } from 'node:net';
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


/** Runs `switchboard start` until it listens, then sends SIGTERM; resolves with its exit code and output. */
async function startAndStop(args: string[], env: Record<string, string>, whileRunning: (url: string, child: ChildProcess) => Promise<void> = async () => undefined): Promise<{ code: number | null; stdout: string; stderr: string }> {
  const child = spawn(process.execPath, ['bin/switchboard.js', 'start', ...args], { env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] });
  let stdout = '';
  let stderr = '';
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  const exited = new Promise<number | null>((resolve) => child.once('exit', resolve));
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`no "listening on" within 15s:\n${stdout}${stderr}`)), 15_000);
    child.stdout.on('data', (chunk: Buffer) => {
      stdout += chunk.toString();
      if (stdout.includes('listening on')) {
        clearTimeout(timer);
        resolve();
      }
    });
    void exited.then((code) => reject(new Error(`exited with ${code} before listening:\n${stdout}${stderr}`)));
  });
  const url = /listening on (http:\/\/\S+?) /.exec(stdout)![1];
  const deadline = Date.now() + 10_000;
  while (Date.now() < deadline && (await fetch(`${url}/health/readiness`).catch(() => undefined))?.status !== 200) await new Promise((resolve) => setTimeout(resolve, 50));
  await whileRunning(url, child);
  child.kill('SIGTERM');
  const code = await exited;
  return { code, stdout, stderr };
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
    // A model the gateway cannot serve is a warning: the gateway starts without it.
    expect(result.stdout).toMatch(new RegExp(`${path.replace(/[.*+?^${}()|[\]\\]/g, '\\$&')}:4:\\d+: warning: .*unknown provider prefix "nosuch" \\(the gateway starts, with this model unavailable\\)`));
    expect(result.stdout).toMatch(/:8:\d+: error: .*SWITCHBOARD_TEST_MISSING_VAR/);
    // A malformed model entry is a warning too (that model unavailable); --strict makes these errors.
    expect(result.stdout).toMatch(/:9:\d+: warning: model_list\[1\]\.litellm_params\.rpm: expected a number \(the gateway starts, with this model unavailable\)/);
    expect(result.stdout).toMatch(/:11:\d+: warning: .*unknown key "surprise"/);
  });

  it('check-config: malformed model entries are warnings and the config passes; --strict fails on each', async () => {
    const path = file('per-model-check.yaml', 'model_list:\n  - model_name: a\n    litellm_params:\n      model: openai/gpt-4o-mini\n      api_key: sk-x\n      rpm: lots\n  - litellm_params:\n      model: openai/gpt-4o\n      api_key: sk-x\n  - model_name: c\n    litellm_params:\n      model: openai/gpt-4o\n      api_key: sk-x\n      api_base: http://169.254.169.254\n  - model_name: d\n    litellm_params:\n      model: openai/gpt-4o\n      api_key: sk-x\n');
    const relaxed = await cli(['check-config', path]);
    expect(relaxed.code, relaxed.stdout).toBe(0);
    expect(relaxed.stdout).toMatch(/:6:\d+: warning: model_list\[0\]\.litellm_params\.rpm: expected a number/);
    expect(relaxed.stdout).toMatch(/:7:\d+: warning: model_list\[1\]\.model_name: is required/);
    expect(relaxed.stdout).toMatch(/:14:\d+: warning: model_list\[2\]\.litellm_params\.api_base: "http:\/\/169\.254\.169\.254" points at /);
    expect(relaxed.stdout).toContain('ok — 4 model(s), 4 deployment(s) (1 available), 3 warning(s)');
    const strict = await cli(['check-config', path, '--strict']);
    expect(strict.code).toBe(1);
    expect(strict.stdout.split('\n').filter((line) => / error: model_list\[\d\]/.test(line) && line.endsWith('[--strict]'))).toHaveLength(3);
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

  it('start refuses a config with errors outside model_list, naming them, before it generates a master key', async () => {
    const path = file('fatal.yaml', 'model_list:\n  - model_name: a\n    litellm_params:\n      model: openai/x\n      rpm: lots\nrouter_settings:\n  num_retries: [1]\n');
    const dataDir = join(directory, 'fatal-data');
    const result = await cli(['start', '--config', path, '--port', '0', '--data-dir', dataDir], { DATABASE_URL: '' });
    expect(result.code).toBe(1);
    expect(result.stderr).toMatch(/fatal\.yaml:7:\d+: error: router_settings\.num_retries: /);
    // The model's own error is not what stops it.
    expect(result.stderr).not.toContain('rpm');
    expect(result.stdout).not.toContain('master key');
    expect(existsSync(join(dataDir, 'master-key'))).toBe(false);
  });

  it('start serves a config whose only errors are in model entries: each such model is logged unavailable with its reasons', async () => {
    const path = file(
      'per-model.yaml',
      [
        'model_list:',
        '  - model_name: lots',
        '    litellm_params:',
        '      model: openai/gpt-4o-mini',
        '      api_key: sk-x',
        '      rpm: lots',
        '  - model_name: no-model',
        '    litellm_params:',
        '      api_key: sk-x',
        '  - litellm_params:',
        '      model: openai/gpt-4o',
        '      api_key: sk-x',
        '  - model_name: metadata',
        '    litellm_params:',
        '      model: openai/gpt-4o',
        '      api_key: sk-x',
        '      api_base: http://169.254.169.254/v1',
        '  - model_name: good',
        '    litellm_params:',
        '      model: openai/gpt-4o',
        '      api_key: sk-x',
        'general_settings:',
        '  master_key: sk-cli-per-model',
        '',
      ].join('\n'),
    );
    const listed: Array<{ model_name: string; model_info: { unavailable_reason: string | null } }> = [];
    const result = await startAndStop(['--config', path, '--port', '0', '--host', '127.0.0.1', '--data-dir', join(directory, 'per-model-data')], { JSON_LOGS: 'true', DATABASE_URL: '' }, async (url) => {
      const response = await fetch(`${url}/model/info`, { headers: { authorization: 'Bearer sk-cli-per-model' } });
      listed.push(...((await response.json()) as { data: typeof listed }).data);
    });
    expect(result.code, result.stdout + result.stderr).toBe(0);
    const logged = result.stdout.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as { msg: string; level: number; model?: string; reason?: string; where?: string });
    expect(logged.filter((entry) => entry.msg === 'model unavailable').map((entry) => [entry.model, entry.reason])).toEqual([
      ['lots', 'invalid model entry: litellm_params.rpm: expected a number'],
      ['no-model', 'invalid model entry: litellm_params.model: is required (e.g. "openai/gpt-4o")'],
      ['model_list[2]', 'invalid model entry: model_name: is required: the name clients send as "model"'],
      ['metadata', expect.stringMatching(/^api_base refused: "http:\/\/169\.254\.169\.254\/v1" points at /)],
    ]);
    // Each at its line, as a warning.
    expect(logged.find((entry) => entry.msg.startsWith('config: expected a number'))).toMatchObject({ level: 40, where: `${path}:6` });
    expect(logged.find((entry) => entry.msg.includes('169.254.169.254'))).toMatchObject({ level: 40, where: `${path}:17` });
    expect(listed.map((model) => [model.model_name, model.model_info.unavailable_reason === null])).toEqual([
      ['lots', false],
      ['no-model', false],
      ['model_list[2]', false],
      ['metadata', false],
      ['good', true],
    ]);
  });

  it('start serves a config whose models it cannot all serve, and logs each unavailable one with its reason, and each LiteLLM key it does not support', async () => {
    const path = file('unserved.yaml', 'model_list:\n  - model_name: a\n    litellm_params:\n      model: sagemaker/endpoint-1\n  - model_name: b\n    litellm_params:\n      model: nosuch/x\nlitellm_settings:\n  modify_params: true\nrouter_settings:\n  caching_groups: [[a, b]]\n');
    const result = await startAndStop(['--config', path, '--port', '0', '--host', '127.0.0.1', '--data-dir', join(directory, 'unserved-data')], { JSON_LOGS: 'true', DATABASE_URL: '' });
    expect(result.code, result.stdout + result.stderr).toBe(0);
    const unavailable = result.stdout.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as { msg: string; model?: string; reason?: string }).filter((entry) => entry.msg === 'model unavailable');
    expect(unavailable.map((entry) => [entry.model, entry.reason])).toEqual([
      ['a', 'provider "sagemaker": AWS SageMaker endpoints are not served by this version'],
      ['b', 'unknown provider prefix "nosuch"'],
    ]);
    const logged = result.stdout.split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line) as { msg: string; level: number; where?: string });
    for (const [key, line] of [['modify_params', 9], ['caching_groups', 11]] as const) {
      expect(logged.find((entry) => entry.msg.startsWith(`config: "${key}" is not supported: `)), key).toMatchObject({ level: 40, where: `${path}:${line}` });
    }
  });
  it('start on SIGTERM exits 0 with "gateway stopped" as its last line and nothing logged as an error (JSON_LOGS=true)', async () => {
    const path = file('stop.yaml', 'model_list: []\n');
    const dataDir = join(directory, 'stop-data');
    // A call to an unknown model is recorded too: one usage row, written by the SQLite writer thread.
    const askUnknownModel = async (url: string) => {
      // The config names no master key: the one generated on this first start authenticates.
      const key = readFileSync(join(dataDir, 'master-key'), 'utf8').trim();
      const response = await fetch(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json', authorization: `Bearer ${key}` }, body: JSON.stringify({ model: 'no-such-model', messages: [{ role: 'user', content: 'hi' }] }) });
      expect(response.status).toBeGreaterThanOrEqual(400);
    };
    const result = await startAndStop(['--config', path, '--port', '0', '--host', '127.0.0.1', '--data-dir', dataDir], { JSON_LOGS: 'true', DATABASE_URL: '', LOG_LEVEL: 'info' }, askUnknownModel);
    expect(result.code, result.stdout + result.stderr).toBe(0);
    const lines = result.stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line) as { level: number; msg: string; usageRows?: object });
    expect(lines.filter((line) => line.level >= 50)).toEqual([]);
    expect(lines.at(-1)).toMatchObject({ level: 30, msg: 'gateway stopped', usageRows: { written: 1, spilled: 0, dropped: 0, rejected: 0 } });
    // --data-dir holds the embedded database (a file, so the writer thread ran).
    expect(existsSync(join(dataDir, 'switchboard.db'))).toBe(true);
  });

  it('start without JSON_LOGS writes plain-text lines', async () => {
    const path = file('plain.yaml', 'model_list: []\n');
    const result = await startAndStop(['--config', path, '--port', '0', '--host', '127.0.0.1'], { SWITCHBOARD_DATA_DIR: join(directory, 'plain-data'), DATABASE_URL: '', JSON_LOGS: '', LOG_LEVEL: 'info' });
    expect(result.code).toBe(0);
    const lines = result.stdout.split('\n').filter(Boolean);
    expect(lines.at(-1)).toMatch(/^\S+Z INFO  gateway stopped \{"usageRows":/);
    expect(lines.some((line) => line.startsWith('{'))).toBe(false);
    expect(readdirSync(join(directory, 'plain-data'))).toContain('switchboard.db');
  });

  it('start without a configured master key generates one on first start (0600, printed once), reuses it later, and binds 127.0.0.1 by default', async () => {
    const path = file('nokey.yaml', 'model_list: []\n');
    const dataDir = join(directory, 'nokey-data');
    const env = { SWITCHBOARD_DATA_DIR: dataDir, DATABASE_URL: '', JSON_LOGS: '', LOG_LEVEL: 'info', SWITCHBOARD_MASTER_KEY: '', LITELLM_MASTER_KEY: '', HOST: '' };
    let key = '';
    const probe = async (url: string) => {
      expect(url).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      key = readFileSync(join(dataDir, 'master-key'), 'utf8').trim();
      expect(key).toMatch(/^sk-sb-[A-Za-z0-9_-]{32}$/);
      expect((await fetch(`${url}/v1/models`)).status).toBe(401);
      expect((await fetch(`${url}/v1/models`, { headers: { authorization: 'Bearer sk-switchboard-change-me' } })).status).toBe(401);
      expect((await fetch(`${url}/v1/models`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(200);
    };
    const first = await startAndStop(['--config', path, '--port', '0'], env, probe);
    expect(first.code, first.stdout + first.stderr).toBe(0);
    expect(statSync(join(dataDir, 'master-key')).mode & 0o777).toBe(0o600);
    expect(first.stdout.split(key).length - 1).toBe(1);
    expect(first.stdout).toContain('It is printed only this once');
    const firstKey = key;

    const second = await startAndStop(['--config', path, '--port', '0'], env, probe);
    expect(second.code).toBe(0);
    expect(key).toBe(firstKey);
    expect(second.stdout).not.toContain(key);
    expect(second.stdout).toContain(`using the one stored in ${join(dataDir, 'master-key')}`);
  });

  it('a configured master key wins: nothing is generated', async () => {
    const path = file('withkey.yaml', 'model_list: []\n');
    const dataDir = join(directory, 'withkey-data');
    const result = await startAndStop(['--config', path, '--port', '0'], { SWITCHBOARD_DATA_DIR: dataDir, DATABASE_URL: '', LOG_LEVEL: 'info', SWITCHBOARD_MASTER_KEY: 'sk-operator-chosen-key-123', HOST: '' }, async (url) => {
      expect((await fetch(`${url}/v1/models`, { headers: { authorization: 'Bearer sk-operator-chosen-key-123' } })).status).toBe(200);
    });
    expect(result.code).toBe(0);
    expect(existsSync(join(dataDir, 'master-key'))).toBe(false);
  });

  it('start with REDIS_URL at a closed port serves at once: one line says so, no stack trace, no error lines', async () => {
    const path = file('noredis.yaml', 'model_list: []\ngeneral_settings:\n  master_key: sk-cli-test-master\n');
    const server = createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as { port: number };
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const started = Date.now();
    const result = await startAndStop(['--config', path, '--port', '0', '--host', '127.0.0.1'], { REDIS_URL: `redis://127.0.0.1:${port}`, JSON_LOGS: 'true', DATABASE_URL: 'sqlite::memory:', LOG_LEVEL: 'info' }, async (url) => {
      expect(Date.now() - started).toBeLessThan(10_000);
      expect(await (await fetch(`${url}/health/readiness`)).json()).toMatchObject({ status: 'degraded' });
      await new Promise((resolve) => setTimeout(resolve, 1_500)); // reconnect attempts meanwhile: not logged
    });
    expect(result.code, result.stdout + result.stderr).toBe(0);
    expect(result.stderr).toBe('');
    const lines = result.stdout.split('\n').filter(Boolean).map((line) => JSON.parse(line) as { level: number; msg: string });
    expect(lines.filter((line) => line.level >= 50)).toEqual([]);
    expect(lines.filter((line) => /redis/i.test(line.msg)).map((line) => line.msg.slice(0, 45))).toEqual([
      'shared state (Redis) unreachable: limits, bud',
      'starting without Redis: limits run on this re',
    ]);
  });

  it('migrate --data-dir puts the embedded database in that directory', async () => {
    const dataDir = join(directory, 'migrate-data');
    const result = await cli(['migrate', '--data-dir', dataDir], { DATABASE_URL: '' });
    expect(result.code).toBe(0);
    expect(result.stdout).toContain(join(dataDir, 'switchboard.db'));
    expect(existsSync(join(dataDir, 'switchboard.db'))).toBe(true);
  });
});
