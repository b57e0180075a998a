/**
 * LiteLLM's proxy-wide budget (litellm_settings.max_budget, budget_duration): every virtual key's
 * call is held to it together, by reservation (exact under concurrency, on one process and across
 * replicas sharing PostgreSQL and Redis); every billed call's spend counts toward it, the master
 * key's too, while the master key itself is not held (as LiteLLM); the spend is kept with the usage
 * rows, so a restart does not give the budget back; budget_duration starts it afresh.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management, maxCostMicros, pricedConfig, promptBound } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';
import { stateSetups } from '../support/shared-state-setups.js';

const setups = await stateSetups();
const MESSAGE = 'hi';
const MAX_TOKENS = 10;
const CALL_MICROS = maxCostMicros(MESSAGE, MAX_TOKENS);
/** Room for exactly four calls. */
const BUDGET_MICROS = 4 * CALL_MICROS + CALL_MICROS / 2;
const CONFIG = (url: string, extra = '') => `${pricedConfig(url)}litellm_settings:\n  max_budget: ${BUDGET_MICROS / 1_000_000}\n${extra}`;
const upstream = new MockOpenAI({ promptTokens: promptBound(MESSAGE), completionTokens: MAX_TOKENS });

type Outcome = { status: number; type?: unknown; message?: string };

async function ask(client: OpenAI): Promise<Outcome> {
  try {
    await client.chat.completions.create({ model: 'cheap', messages: [{ role: 'user', content: MESSAGE }], max_tokens: MAX_TOKENS });
    return { status: 200 };
  } catch (error) {
    if (error instanceof OpenAI.APIError) return { status: error.status ?? 0, type: (error.error as { type?: unknown } | undefined)?.type, message: error.message };
    throw error;
  }
}

const admitted = (outcomes: Outcome[]) => outcomes.filter((outcome) => outcome.status === 200).length;

async function burst(clients: OpenAI[], each: number): Promise<Outcome[]> {
  upstream.alwaysFault = { kind: 'delay', ms: 50 };
  try {
    return await Promise.all(clients.flatMap((client) => Array.from({ length: each }, () => ask(client))));
  } finally {
    upstream.alwaysFault = undefined;
  }
}

async function keyOnModels(gateway: TestGateway): Promise<OpenAI> {
  const { key } = await new Management(gateway.url).ok<{ key: string }>('POST', '/key/generate', {});
  return gateway.openai(key);
}

async function keyOn(gateway: TestGateway): Promise<OpenAI> {
  const { key } = await new Management(gateway.url).ok<{ key: string }>('POST', '/key/generate', { models: ['cheap'] });
  return gateway.openai(key);
}

beforeAll(async () => {
  await upstream.start();
});

afterAll(async () => {
  await upstream.close();
});

it('max_budget and budget_duration are honoured settings: no "not supported" warning; a malformed duration is a config error', () => {
  const loaded = parseConfig(CONFIG('http://127.0.0.1:9', '  budget_duration: 30d\n'), {}, 'config.yaml');
  expect(loaded.issues.filter((issue) => ['max_budget', 'budget_duration'].includes(String(issue.path[1])))).toEqual([]);
  const bad = parseConfig(CONFIG('http://127.0.0.1:9', '  budget_duration: monthly-ish\n'), {}, 'config.yaml');
  expect(bad.issues.some((issue) => issue.fatal && issue.path.join('.') === 'litellm_settings.budget_duration')).toBe(true);
  const alone = parseConfig(`${pricedConfig('http://127.0.0.1:9')}litellm_settings:\n  budget_duration: 30d\n`, {}, 'config.yaml');
  expect(alone.issues.find((issue) => issue.path.join('.') === 'litellm_settings.budget_duration')?.message).toContain('max_budget, which is not set: it changes nothing');
});

describe.each(setups)('the proxy-wide budget: $name', (setup) => {
  let gateways: TestGateway[];
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    const prepared = await setup.prepare();
    cleanup = prepared.cleanup;
    const shared = prepared.options.redisUrl !== undefined;
    gateways = await Promise.all(Array.from({ length: shared ? 2 : 1 }, () => startGateway(CONFIG(upstream.url), prepared.options)));
  });

  afterAll(async () => {
    await Promise.all((gateways ?? []).map((gateway) => gateway.close()));
    await cleanup?.();
  });

  it('virtual keys together: exactly the calls it holds pass, on every replica; the master key is not held, and its spend counts', async () => {
    // The master key's call counts toward the budget (one of the four).
    expect(await ask(gateways[0].openai(MASTER_KEY))).toEqual({ status: 200 });
    const keys = await Promise.all(gateways.flatMap((gateway) => [keyOn(gateway), keyOn(gateway)]));
    const outcomes = await burst(keys, 40 / keys.length);
    expect(admitted(outcomes)).toBe(3);
    const refused = outcomes.filter((outcome) => outcome.status !== 200);
    expect(refused.every((outcome) => outcome.status === 400 && outcome.type === 'budget_exceeded' && /proxy-wide budget/.test(outcome.message ?? '')), JSON.stringify(refused[0])).toBe(true);
    for (const gateway of gateways) await gateway.flushUsage();
    const stored = await gateways[0].runtime.principals()!.db.selectFrom('proxy_spend').select('spend_micros').execute();
    expect(stored.map((row) => Number(row.spend_micros))).toEqual([4 * CALL_MICROS]);
    // Spent: a new key is refused too, the master key is still served.
    expect((await ask(await keyOn(gateways[gateways.length - 1]))).type).toBe('budget_exceeded');
    expect(await ask(gateways[0].openai(MASTER_KEY))).toEqual({ status: 200 });
  }, 30_000);
});

describe('the proxy-wide budget and the master key', () => {
  it('holds virtual keys to money (an unpriced model is refused to them) but leaves the master key\'s calls as they were: no unpriced refusal, no output limit added', async () => {
    const unpriced = `  - model_name: unpriced\n    litellm_params: {model: openai/unpriced-upstream, api_base: "${upstream.url}", api_key: sk-upstream-test}\n`;
    const gateway = await startGateway(CONFIG(upstream.url).replace('model_list:\n', `model_list:\n${unpriced}`));
    try {
      const client = await keyOnModels(gateway);
      const refused = await client.chat.completions.create({ model: 'unpriced', messages: [{ role: 'user', content: MESSAGE }] }).then(() => undefined, (error: InstanceType<typeof OpenAI.APIError>) => error);
      expect(refused?.status).toBe(403);
      expect(refused?.message).toContain('has no price');
      const before = upstream.requests.length;
      await gateway.openai(MASTER_KEY).chat.completions.create({ model: 'unpriced', messages: [{ role: 'user', content: MESSAGE }] });
      expect(upstream.requests.length).toBe(before + 1);
      const sent = upstream.requests[upstream.requests.length - 1].body;
      expect(sent.max_tokens ?? sent.max_completion_tokens).toBeUndefined();
    } finally {
      await gateway.close();
    }
  });
});

describe('the proxy-wide budget over time (SQLite file)', () => {
  it('a restart does not give the spent budget back', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'proxy-budget-'));
    const options = { databaseUrl: `sqlite:${join(directory, 'gateway.db')}` };
    try {
      const first = await startGateway(CONFIG(upstream.url), options);
      try {
        expect(admitted(await burst([await keyOn(first)], 12))).toBe(4);
        await first.flushUsage();
      } finally {
        await first.close();
      }
      const second = await startGateway(CONFIG(upstream.url), options);
      try {
        expect(await ask(await keyOn(second))).toMatchObject({ status: 400, type: 'budget_exceeded' });
      } finally {
        await second.close();
      }
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });

  it('budget_duration: the spend starts afresh each period', async () => {
    const gateway = await startGateway(CONFIG(upstream.url, '  budget_duration: 3s\n'));
    try {
      const client = await keyOn(gateway);
      // Start right after a period boundary, so the burst falls in one period.
      const stored = await gateway.runtime.principals()!.db.selectFrom('proxy_spend').select('created_at').executeTakeFirstOrThrow();
      const sinceStart = (Date.now() - Number(stored.created_at)) % 3_000;
      await new Promise((resolve) => setTimeout(resolve, 3_000 - sinceStart + 50));
      expect(admitted(await burst([client], 10))).toBe(4);
      expect(await ask(client)).toMatchObject({ status: 400, type: 'budget_exceeded' });
      await gateway.flushUsage();
      const wait = 3_000 - ((Date.now() - Number(stored.created_at)) % 3_000) + 50;
      await new Promise((resolve) => setTimeout(resolve, wait));
      expect(await ask(client)).toEqual({ status: 200 });
    } finally {
      await gateway.close();
    }
  }, 20_000);
});
