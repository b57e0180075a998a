/**
 * litellm_settings.max_end_user_budget: every end user (the request's `user`, or the end-user
 * header) without a budget of its own is held to the configured one, for its whole life. LiteLLM
 * creates the end user's row on its first call and checks the default from the second on, so a
 * burst of first calls passes unchecked (LiteLLM issue #40095); here the row is created before
 * the first call is admitted and the budget is held by reservation, on one process and across
 * replicas sharing PostgreSQL and Redis. A customer's own max_budget or budget object wins; the
 * spend is kept on the row, so a restart does not give an exhausted end user its budget back.
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
/** Room for exactly three calls (each reserves and is charged CALL_MICROS). */
const DEFAULT_MICROS = 3 * CALL_MICROS + CALL_MICROS / 2;
const CONFIG = (url: string) => `${pricedConfig(url)}litellm_settings:\n  max_end_user_budget: ${DEFAULT_MICROS / 1_000_000}\n`;
const upstream = new MockOpenAI({ promptTokens: promptBound(MESSAGE), completionTokens: MAX_TOKENS });

type Outcome = { status: number; type?: unknown; message?: string };

async function ask(client: OpenAI, user?: string): Promise<Outcome> {
  try {
    await client.chat.completions.create({ model: 'cheap', messages: [{ role: 'user', content: MESSAGE }], max_tokens: MAX_TOKENS, ...(user ? { user } : {}) });
    return { status: 200 };
  } catch (error) {
    if (error instanceof OpenAI.APIError) return { status: error.status ?? 0, type: (error.error as { type?: unknown } | undefined)?.type, message: error.message };
    throw error;
  }
}

const admitted = (outcomes: Outcome[]) => outcomes.filter((outcome) => outcome.status === 200).length;

/** Many first calls of one end user at once, each held upstream a while so they overlap. */
async function burst(clients: OpenAI[], user: string, each: number): Promise<Outcome[]> {
  upstream.alwaysFault = { kind: 'delay', ms: 50 };
  try {
    return await Promise.all(clients.flatMap((client) => Array.from({ length: each }, () => ask(client, user))));
  } finally {
    upstream.alwaysFault = undefined;
  }
}

beforeAll(async () => {
  await upstream.start();
});

afterAll(async () => {
  await upstream.close();
});

it('the setting is honoured: no "not supported" warning at load', () => {
  const loaded = parseConfig(CONFIG('http://127.0.0.1:9'), {}, 'config.yaml');
  expect(loaded.issues.filter((issue) => issue.path.join('.') === 'litellm_settings.max_end_user_budget')).toEqual([]);
  expect(parseConfig(`${pricedConfig('http://127.0.0.1:9')}litellm_settings:\n  max_end_user_budget: -1\n`, {}, 'config.yaml').issues.some((issue) => issue.fatal && issue.path.join('.') === 'litellm_settings.max_end_user_budget')).toBe(true);
});

describe.each(setups)('max_end_user_budget: $name', (setup) => {
  let gateways: TestGateway[];
  let api: Management;
  let cleanup: () => Promise<void>;
  let admins: OpenAI[];

  beforeAll(async () => {
    const prepared = await setup.prepare();
    cleanup = prepared.cleanup;
    const shared = prepared.options.redisUrl !== undefined;
    // With shared state, two replicas take the calls; alone, one process.
    gateways = await Promise.all(Array.from({ length: shared ? 2 : 1 }, () => startGateway(CONFIG(upstream.url), prepared.options)));
    api = new Management(gateways[0].url);
    admins = gateways.map((gateway) => gateway.openai(MASTER_KEY));
  });

  afterAll(async () => {
    await Promise.all((gateways ?? []).map((gateway) => gateway.close()));
    await cleanup?.();
  });

  it('a new end user\'s concurrent first calls: exactly the three its default budget holds pass, on every replica together', async () => {
    const outcomes = await burst(admins, 'newcomer', 60 / admins.length);
    expect(admitted(outcomes)).toBe(3);
    const refused = outcomes.filter((outcome) => outcome.status !== 200);
    expect(refused.every((outcome) => outcome.status === 400 && outcome.type === 'budget_exceeded' && /end user "newcomer"/.test(outcome.message ?? '')), JSON.stringify(refused[0])).toBe(true);
    for (const gateway of gateways) await gateway.flushUsage();
    // Its row was created on the first call, holds the spend, and shows the default it is held to.
    const info = await api.ok<{ user_id: string; spend: number; max_budget: number; litellm_budget_table: unknown }>('GET', '/customer/info?end_user_id=newcomer');
    expect(info).toMatchObject({ user_id: 'newcomer', max_budget: DEFAULT_MICROS / 1_000_000, litellm_budget_table: null });
    expect(Math.round(info.spend * 1_000_000)).toBe(3 * CALL_MICROS);
    const stored = await gateways[0].runtime.principals()!.db.selectFrom('end_users').select('spend_micros').where('user_id', '=', 'newcomer').execute();
    expect(stored.map((row) => Number(row.spend_micros))).toEqual([3 * CALL_MICROS]);
    // Spent: refused from then on, on every replica.
    for (const admin of admins) expect((await ask(admin, 'newcomer')).type).toBe('budget_exceeded');
  });

  it('each end user has its own default budget; calls without an end user are not held to it', async () => {
    expect(admitted(await burst(admins, 'second', 20 / admins.length))).toBe(3);
    const without = await Promise.all(Array.from({ length: 6 }, () => ask(admins[0])));
    expect(admitted(without)).toBe(6);
  });

  it('a customer\'s own max_budget, or its budget object, wins over the default', async () => {
    await api.ok('POST', '/customer/new', { user_id: 'vip', max_budget: (6 * CALL_MICROS) / 1_000_000 });
    expect(admitted(await burst(admins, 'vip', 30 / admins.length))).toBe(6);
    await api.ok('POST', '/budget/new', { budget_id: 'one-call', max_budget: CALL_MICROS / 1_000_000 });
    await api.ok('POST', '/customer/new', { user_id: 'linked', budget_id: 'one-call' });
    expect(admitted(await burst(admins, 'linked', 10 / admins.length))).toBe(1);
    // Stored without a budget of its own: the default applies.
    await api.ok('POST', '/customer/new', { user_id: 'plain', alias: 'Plain' });
    expect(admitted(await burst(admins, 'plain', 10 / admins.length))).toBe(3);
  });

  it('a virtual key\'s calls for an end user are held to the default too', async () => {
    const key = await api.ok<{ key: string }>('POST', '/key/generate', { models: ['cheap'] });
    const client = new OpenAI({ apiKey: key.key, baseURL: `${gateways[0].url}/v1`, maxRetries: 0 });
    expect(admitted(await burst([client], 'via-key', 10))).toBe(3);
  });
});

describe('max_end_user_budget across a restart (SQLite file)', () => {
  it('an end user that spent its default budget is still refused after the gateway restarts', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'end-user-budget-'));
    const options = { databaseUrl: `sqlite:${join(directory, 'gateway.db')}` };
    try {
      const first = await startGateway(CONFIG(upstream.url), options);
      try {
        expect(admitted(await burst([first.openai()], 'returning', 10))).toBe(3);
        await first.flushUsage();
      } finally {
        await first.close();
      }
      const second = await startGateway(CONFIG(upstream.url), options);
      try {
        expect(await ask(second.openai(), 'returning')).toMatchObject({ status: 400, type: 'budget_exceeded' });
        // A new end user on the restarted gateway still gets its own.
        expect(admitted(await burst([second.openai()], 'fresh', 10))).toBe(3);
      } finally {
        await second.close();
      }
    } finally {
      rmSync(directory, { recursive: true, force: true });
    }
  });
});
