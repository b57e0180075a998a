/**
 * Hot reload through the CLI, as an operator does it: SIGHUP, `switchboard reload`, `--watch`.
 * A changed api_base takes the next request; a stream in flight finishes where it started; a
 * broken file changes nothing and its errors are logged with line and column; a malformed model
 * entry is applied as an unavailable model, as at start.
 */
import { execFile, spawn, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockOpenAI } from '../support/mock-openai.js';

const run = promisify(execFile);
const MASTER_KEY = 'sk-reload-test-master-key';
const first = new MockOpenAI({ reply: 'from the first server', chunkDelayMs: 100 });
const second = new MockOpenAI({ reply: 'from the second server' });
const directory = mkdtempSync(join(tmpdir(), 'switchboard-reload-'));
const configFile = join(directory, 'config.yaml');
const dataDir = join(directory, 'data');

function config(apiBase: string, extra = ''): string {
  return `model_list:
  - model_name: chat
    litellm_params: {model: openai/gpt-4o-mini, api_base: "${apiBase}", api_key: sk-upstream}
${extra}general_settings:
  master_key: ${MASTER_KEY}
`;
}

interface Running {
  child: ChildProcess;
  url: string;
  output(): string;
  waitFor(pattern: RegExp, withinMs?: number): Promise<void>;
}

async function start(args: string[] = []): Promise<Running> {
  const child = spawn(process.execPath, ['bin/switchboard.js', 'start', '--config', configFile, '--port', '0', '--host', '127.0.0.1', '--data-dir', dataDir, ...args], {
    env: { ...process.env, DATABASE_URL: 'sqlite::memory:', LOG_LEVEL: 'info', JSON_LOGS: '' },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  child.stdout!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  child.stderr!.on('data', (chunk: Buffer) => (output += chunk.toString()));
  const waitFor = async (pattern: RegExp, withinMs = 10_000) => {
    const deadline = Date.now() + withinMs;
    while (!pattern.test(output)) {
      if (Date.now() > deadline) throw new Error(`no ${pattern} within ${withinMs} ms:\n${output}`);
      await new Promise((resolve) => setTimeout(resolve, 25));
    }
  };
  await waitFor(/listening on http/);
  const url = /listening on (http:\/\/\S+?) /.exec(output)![1];
  return { child, url, output: () => output, waitFor };
}

async function stop(running: Running): Promise<void> {
  const exited = new Promise((resolve) => running.child.once('exit', resolve));
  running.child.kill('SIGTERM');
  await exited;
}

const answer = async (client: OpenAI) => (await client.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'hi' }] })).choices[0].message.content;

beforeAll(async () => {
  await Promise.all([first.start(), second.start()]);
});
afterAll(async () => {
  await Promise.all([first.close(), second.close()]);
  rmSync(directory, { recursive: true, force: true });
});

describe('config reload', () => {
  it('SIGHUP applies a changed api_base to the next request; a stream in flight finishes on the old one; a broken file changes nothing', async () => {
    writeFileSync(configFile, config(first.url));
    const gateway = await start();
    try {
      const client = new OpenAI({ apiKey: MASTER_KEY, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
      expect(await answer(client)).toBe('from the first server');

      const stream = await client.chat.completions.create({ model: 'chat', stream: true, messages: [{ role: 'user', content: 'slow' }] });
      const iterator = stream[Symbol.asyncIterator]();
      let streamed = (await iterator.next()).value?.choices[0]?.delta?.content ?? '';

      writeFileSync(configFile, config(second.url));
      gateway.child.kill('SIGHUP');
      await gateway.waitFor(/SIGHUP: config reloaded from/);
      expect(await answer(client)).toBe('from the second server');
      for (;;) {
        const next = await iterator.next();
        if (next.done) break;
        streamed += next.value.choices[0]?.delta?.content ?? '';
      }
      expect(streamed).toBe('from the first server');

      // A broken file: every error with its line and column, and the running config kept.
      writeFileSync(configFile, `${config(first.url)}router_settings:\n  routing_strategy: fastest-please\n  num_retries: many\n`);
      const reload = await run(process.execPath, ['bin/switchboard.js', 'reload', '--data-dir', dataDir]);
      expect(reload.stdout).toMatch(/asked the gateway \(pid \d+\) to reload its config/);
      await gateway.waitFor(/has 2 error\(s\); the running config is kept/);
      expect(gateway.output()).toMatch(/config\.yaml:\d+:\d+: error: router_settings\.routing_strategy/);
      expect(gateway.output()).toMatch(/config\.yaml:\d+:\d+: error: router_settings\.num_retries/);
      expect(await answer(client)).toBe('from the second server');

      // A file whose only errors are in a model entry is applied, that model listed unavailable (as at start).
      writeFileSync(configFile, config(first.url, '  - model_name: broken\n    litellm_params: {model: openai/gpt-4o, api_key: sk-upstream, rpm: lots}\n'));
      gateway.child.kill('SIGHUP');
      await gateway.waitFor(/SIGHUP: config reloaded from[\s\S]*SIGHUP: config reloaded from/);
      expect(await answer(client)).toBe('from the first server');
      const info = (await (await fetch(`${gateway.url}/model/info`, { headers: { authorization: `Bearer ${MASTER_KEY}` } })).json()) as { data: Array<{ model_name: string; model_info: { unavailable_reason: string | null } }> };
      expect(info.data.find((model) => model.model_name === 'broken')?.model_info.unavailable_reason).toBe('invalid model entry: litellm_params.rpm: expected a number');

      // Settings read once at start are named, not silently ignored.
      writeFileSync(configFile, config(first.url).replace('general_settings:\n', 'general_settings:\n  max_request_size_mb: 1\n'));
      gateway.child.kill('SIGHUP');
      await gateway.waitFor(/apply after a restart: general_settings\.max_request_size_mb/);
      expect(await answer(client)).toBe('from the first server');
      expect(gateway.child.exitCode).toBeNull();
    } finally {
      await stop(gateway);
    }
  });

  it('--watch reloads when the file changes; `switchboard reload` without a running gateway says so', async () => {
    writeFileSync(configFile, config(first.url));
    const gateway = await start(['--watch']);
    try {
      const client = new OpenAI({ apiKey: MASTER_KEY, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
      expect(await answer(client)).toBe('from the first server');
      await new Promise((resolve) => setTimeout(resolve, 1_100)); // a new mtime second
      writeFileSync(configFile, config(second.url));
      await gateway.waitFor(/config file changed: config reloaded from/, 10_000);
      expect(await answer(client)).toBe('from the second server');
    } finally {
      await stop(gateway);
    }
    const after = await run(process.execPath, ['bin/switchboard.js', 'reload', '--data-dir', dataDir]).catch((error: { code: number; stderr: string }) => error);
    expect(after).toMatchObject({ code: 1 });
    expect((after as { stderr: string }).stderr).toContain('no running gateway found');
  });
});
