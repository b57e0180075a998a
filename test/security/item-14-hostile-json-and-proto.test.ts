/**
 * Hostile JSON and prototype names: a body nested ten thousand levels deep gets 400 (not a 500
 * from a stack overflow); model names such as "__proto__" or "constructor" are plain names, never
 * inherited properties; and a config with a `__proto__` (or `constructor`, `prototype`) key is
 * refused by the loader and by `switchboard check-config`, instead of silently turning on
 * settings such as metrics_public.
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management, type ErrorBody } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

const upstream = new MockOpenAI();
let gateway: TestGateway;
let key: string;

beforeAll(async () => {
  await upstream.start();
  gateway = await startGateway(`
model_list:
  - model_name: cheap
    litellm_params: {model: openai/gpt-4o-mini, api_base: "${upstream.url}", api_key: sk-upstream}
  - model_name: constructor
    litellm_params: {model: openai/constructor, api_base: "${upstream.url}", api_key: sk-upstream}
router_settings:
  model_group_alias: {"smart": "cheap"}
general_settings:
  master_key: ${MASTER_KEY}
`);
  key = (await new Management(gateway.url).generateKey({ aliases: { fast: 'cheap' } })).key;
});
afterAll(async () => {
  await gateway?.close();
  await upstream.close();
});

async function post(path: string, text: string, apiKey = key): Promise<{ status: number; body: ErrorBody }> {
  const response = await fetch(`${gateway.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' }, body: text });
  return { status: response.status, body: (await response.json()) as ErrorBody };
}

const deep = (levels: number) => `${'['.repeat(levels)}${']'.repeat(levels)}`;
const chatWith = (extra: string) => `{"model":"cheap","messages":[{"role":"user","content":"hi"}],${extra}}`;

describe('deeply nested JSON', () => {
  it.each([
    ['a nested array in an unknown field', chatWith(`"extra":${deep(10_000)}`)],
    ['nested metadata', chatWith(`"metadata":${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}`)],
    ['nested message content', `{"model":"cheap","messages":[{"role":"user","content":${deep(10_000)}}]}`],
    ['nesting just past the limit', chatWith(`"extra":${deep(128)}`)],
  ])('%s gets 400 naming the limit', async (_label, text) => {
    const answer = await post('/v1/chat/completions', text);
    expect(answer.status).toBe(400);
    expect(answer.body.error.code).toBe('invalid_json');
    expect(answer.body.error.message).toContain('128 levels');
  });

  it('the management API and the Anthropic endpoint are covered too', async () => {
    expect((await post('/key/generate', `{"metadata":${'{"a":'.repeat(10_000)}1${'}'.repeat(10_000)}}`, MASTER_KEY)).status).toBe(400);
    expect((await post('/v1/messages', `{"model":"cheap","max_tokens":5,"messages":${deep(10_000)}}`)).status).toBe(400);
  });

  it('brackets inside strings do not count, and ordinary nesting passes', async () => {
    const inString = await post('/v1/chat/completions', `{"model":"cheap","messages":[{"role":"user","content":"${'['.repeat(10_000)} \\" {{{"}],"metadata":{"a":{"b":[[1]]}}}`);
    expect(inString.status).toBe(200);
    expect((await post('/v1/chat/completions', chatWith(`"extra":${deep(100)}`))).status).toBe(200);
  });
});

describe('model names that are Object.prototype properties', () => {
  it.each(['__proto__', 'toString', 'hasOwnProperty', 'valueOf', 'prototype'])('"%s" is an unknown model (404), for a key with aliases and for the master key', async (model) => {
    for (const apiKey of [key, MASTER_KEY]) {
      const answer = await post('/v1/chat/completions', JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }] }), apiKey);
      expect(answer.status).toBe(404);
      expect(answer.body.error.code).toBe('model_not_found');
    }
  });

  it('a model group really named "constructor" is served like any other; key aliases still work', async () => {
    const constructorAnswer = await post('/v1/chat/completions', JSON.stringify({ model: 'constructor', messages: [{ role: 'user', content: 'hi' }] }));
    expect(constructorAnswer.status).toBe(200);
    expect(upstream.requests.at(-1)?.body.model).toBe('constructor');
    expect((await post('/v1/chat/completions', JSON.stringify({ model: 'fast', messages: [{ role: 'user', content: 'hi' }] }))).status).toBe(200);
    expect(upstream.requests.at(-1)?.body.model).toBe('gpt-4o-mini');
  });

  it('"__proto__" in request fallbacks is skipped as an unknown group', async () => {
    upstream.faults.push({ kind: 'error', status: 500 });
    const answer = await post('/v1/chat/completions', JSON.stringify({ model: 'cheap', fallbacks: ['__proto__', 'constructor'], messages: [{ role: 'user', content: 'hi' }] }), MASTER_KEY);
    expect(answer.status).toBe(200);
    expect(upstream.requests.at(-1)?.body.model).toBe('constructor');
  });
});

describe('prototype keys in a config', () => {
  const polluted = `
general_settings:
  master_key: sk-x
  __proto__:
    metrics_public: true
router_settings:
  model_group_alias:
    constructor: cheap
model_list:
  - model_name: cheap
    litellm_params: {model: openai/gpt-4o-mini, api_key: sk-x}
    prototype: {}
`;

  it('the loader refuses every __proto__, constructor and prototype key with its line, and applies none', () => {
    const loaded = parseConfig(polluted, {});
    const errors = loaded.issues.filter((issue) => issue.severity === 'error' && issue.fatal);
    expect(errors.map((issue) => [issue.path.join('.'), issue.line])).toEqual([
      ['general_settings.__proto__', 4],
      ['router_settings.model_group_alias.constructor', 8],
      ['model_list.0.prototype', 12],
    ]);
    expect(errors[0].message).toContain('not allowed');
    expect(loaded.config.general_settings.metrics_public).not.toBe(true);
    expect(Object.getPrototypeOf(loaded.config.general_settings)).toBe(Object.prototype);
  });

  it('switchboard check-config exits 1 naming the key', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'switchboard-proto-'));
    try {
      const path = join(directory, 'polluted.yaml');
      writeFileSync(path, polluted);
      const result = await promisify(execFile)(process.execPath, ['bin/switchboard.js', 'check-config', path]).then(
        ({ stdout }) => ({ code: 0, stdout }),
        (error: { code: number; stdout: string }) => ({ code: error.code, stdout: error.stdout }),
      );
      expect(result.code).toBe(1);
      expect(result.stdout).toMatch(/:4:\d+: error: general_settings\.__proto__: the key "__proto__" is not allowed/);
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});
