/**
 * A key, team or customer whose budget period comes from its linked budget object (`budget_id`, no
 * budget of its own) has its stored spend reset at each period boundary, as a holder with its own
 * `budget_duration` has. Before, the usage writer counted only the holder's own period: the stored
 * spend kept growing across periods from the holder's creation while admission read it as the
 * creation period's (0 in every later period). Once the live counter was gone (a restart of the one
 * process, a new or expired Redis counter), the spend already made in the current period was
 * forgotten: a holder of a 100 µ$ budget that had spent 30 µ$ in its first period and 90 µ$ in its
 * second (a 4th call refused) was admitted again after a restart — key, team and customer alike —
 * and could spend its budget a second time in the period; the stored spend read 120 µ$.
 * On one process (SQLite file, limits in memory) and on replicas sharing PostgreSQL and Redis (a new
 * Redis prefix after the restart: no live counter); and the usage writer itself on both dialects
 * (the embedded gateway runs it in a thread from the built dist/, so the end-to-end SQLite case
 * sees a change to it only after a build).
 */
import { mkdtempSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { KeyRecord } from '../../src/auth/principals.js';
import { openDatabase, type DatabaseHandle } from '../../src/storage/db.js';
import { migrateToLatest } from '../../src/storage/migrate.js';
import { PrincipalRepository } from '../../src/storage/repositories/principals.js';
import { UsageLogRepository } from '../../src/storage/repositories/usage-logs.js';
import type { UsageLogRow } from '../../src/storage/schema.js';
import { UsageIngest } from '../../src/storage/usage-ingest.js';
import { dialectsUnderTest, type TestDatabase } from '../support/databases.js';
import { startGateway, type StartOptions, type TestGateway } from '../support/gateway.js';
import { chatStatus, clientFor, Management, pricedConfig } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';
import { stateSetups } from '../support/shared-state-setups.js';

const setups = await stateSetups();
const dialects = await dialectsUnderTest();

/** Every call: 10 prompt and 10 completion tokens at the cheap prices, 30 µ$; it reserves 38 µ$ (max_tokens 10). */
const CALL_MICROS = 30;
const MAX_TOKENS = 10;
/** 100 µ$: three calls (90 µ$) leave too little for a fourth's reservation. */
const BUDGET_MICROS = 100;
const PERIOD_MS = 10_000;

const sleep = (ms: number) => new Promise((resolve) => setTimeout(resolve, ms));

describe.each(setups)('the stored spend of a holder on its budget object\'s period resets at the period boundary: $name', (setup) => {
  const upstream = new MockOpenAI({ promptTokens: 10, completionTokens: 10 });
  let gateway: TestGateway;
  let api: Management;
  let cleanup: () => Promise<void>;
  let options: StartOptions;

  beforeAll(async () => {
    await upstream.start();
    const prepared = await setup.prepare();
    cleanup = prepared.cleanup;
    // One process keeps its database in a file, so that a restart finds it.
    options = prepared.options.databaseUrl ? prepared.options : { ...prepared.options, databaseUrl: `sqlite:${join(mkdtempSync(join(tmpdir(), 'item-229-')), 'gateway.db')}` };
    gateway = await startGateway(pricedConfig(upstream.url), options);
    api = new Management(gateway.url);
  });

  afterAll(async () => {
    await gateway?.close();
    await upstream.close();
    await cleanup?.();
  });

  const call = (client: OpenAI) => chatStatus(client, { model: 'cheap', max_tokens: MAX_TOKENS });

  it('key, team and customer: spend of the second period survives a restart; a call beyond the budget is refused', async () => {
    const budget = await api.ok<{ budget_id: string }>('POST', '/budget/new', { max_budget: BUDGET_MICROS / 1_000_000, budget_duration: `${PERIOD_MS / 1_000}s` });
    const created = Date.now();
    const key = await api.generateKey({ budget_id: budget.budget_id });
    const team = await api.newTeam({ budget_id: budget.budget_id });
    const teamKey = await api.generateKey({ team_id: team.team_id });
    const customer = `item-229-${crypto.randomUUID()}`;
    await api.ok('POST', '/customer/new', { user_id: customer, budget_id: budget.budget_id });
    const customerKey = await api.generateKey({});
    const lastCreated = Date.now();
    const clients = () => ({
      key: clientFor(gateway.url, key.key),
      team: clientFor(gateway.url, teamKey.key),
      customer: new OpenAI({ apiKey: customerKey.key, baseURL: `${gateway.url}/v1`, maxRetries: 0, defaultHeaders: { 'x-litellm-end-user-id': customer } }),
    });

    // Period 1: one call each.
    for (const client of Object.values(clients())) expect((await call(client)).status).toBe(200);
    await gateway.flushUsage();

    // Period 2 (every holder's first boundary passed, the next one ≥ 10 s after the first creation).
    await sleep(lastCreated + PERIOD_MS + 250 - Date.now());
    for (const client of Object.values(clients())) {
      for (let index = 0; index < 3; index++) expect((await call(client)).status).toBe(200);
      expect((await call(client)).status).toBe(400);
    }
    await gateway.flushUsage();

    await gateway.close();
    // A new process (and, with Redis, a new prefix: no live counter) starts from the recorded spend.
    if (options.redisPrefix) options = { ...options, redisPrefix: `${options.redisPrefix}-restart` };
    gateway = await startGateway(pricedConfig(upstream.url), options);
    api = new Management(gateway.url);

    expect.soft(Math.round((await api.keyInfo(key.key)).spend * 1_000_000)).toBe(3 * CALL_MICROS);
    expect.soft(Math.round((await api.teamInfo(team.team_id)).team_info.spend * 1_000_000)).toBe(3 * CALL_MICROS);
    for (const [holder, client] of Object.entries(clients())) {
      const outcome = await call(client);
      expect.soft({ holder, status: outcome.status, type: outcome.error?.type }).toEqual({ holder, status: 400, type: 'budget_exceeded' });
    }
    // All of it inside the second period (else the test proves nothing): a machine far too slow fails here.
    expect(Date.now(), 'the checks ran within the second budget period').toBeLessThan(created + 2 * PERIOD_MS);
  }, 60_000);
});

const DAY = 86_400_000;
const CREATED = Date.UTC(2026, 10, 1);

function keyOn(id: string, budgetId: string, own: Partial<KeyRecord> = {}): KeyRecord {
  return {
    id, hash: id.padEnd(64, '0'), prefix: 'sk-...0000', alias: null, userId: null, teamId: null, aliases: {}, expiresAt: null,
    models: [], maxBudgetMicros: null, softBudgetMicros: null, budgetDuration: null, budgetPeriodStart: null, spendMicros: 0, rpmLimit: null, tpmLimit: null, maxParallelRequests: null,
    metadata: {}, blocked: false, createdAt: CREATED, updatedAt: CREATED, budgetId, ...own,
  };
}

function usage(callId: string, keyId: string, at: number, cost: number): UsageLogRow {
  return {
    call_id: callId, created_at: at, endpoint: 'chat/completions', key_hash: null, key_id: keyId, key_alias: null, user_id: null, team_id: null,
    model_group: 'cheap', deployment_id: 'dep', provider: 'openai', upstream_model: 'cheap', stream: 0, prompt_tokens: 1, completion_tokens: 1, total_tokens: 2,
    cached_tokens: null, cache_creation_tokens: null, reasoning_tokens: null, tokens_estimated: 0, cost_micros: cost, latency_ms: 1, time_to_first_token_ms: null,
    upstream_latency_ms: 1, status: 'success', http_status: 200, error_code: null, error_message: null, retries: 0, fallbacks: 0, metadata: null,
  } as UsageLogRow;
}

describe.each(dialects)('the usage writer counts a holder on its budget object\'s period: $dialect', ({ create }) => {
  let database: TestDatabase;
  let handle: DatabaseHandle;
  let ingest: UsageIngest;
  let principals: PrincipalRepository;

  beforeAll(async () => {
    database = await create();
    handle = openDatabase(database.url);
    await migrateToLatest(handle);
    ingest = new UsageIngest(handle.db, new UsageLogRepository(handle.db, handle.sqlite));
    principals = new PrincipalRepository(handle.db);
    await handle.db.insertInto('budgets').values({ budget_id: 'daily', max_budget_micros: 100, soft_budget_micros: null, max_parallel_requests: null, tpm_limit: null, rpm_limit: null, model_max_budget: null, budget_duration: '1d', created_by: null, updated_by: null, created_at: CREATED, updated_at: CREATED }).execute();
    await principals.insertKey(keyOn('on_budget_period', 'daily'));
    // Its own max_budget keeps its own period (none): the budget's period does not apply (auth/budgets.ts).
    await principals.insertKey(keyOn('own_budget', 'daily', { maxBudgetMicros: 1_000 }));
  });

  afterAll(async () => {
    await handle?.close();
    await database?.drop();
  });

  const stored = (id: string) => handle.db.selectFrom('api_keys').select(['spend_micros', 'budget_period_start']).where('key_id', '=', id).executeTakeFirstOrThrow();

  it('a row of a newer period starts the spend afresh and stores the period start; a holder with its own max_budget keeps counting', async () => {
    await ingest.insertMany([usage('p1-a', 'on_budget_period', CREATED + 1_000, 30), usage('p1-b', 'own_budget', CREATED + 1_000, 30)]);
    expect(await stored('on_budget_period')).toEqual({ spend_micros: 30, budget_period_start: null });

    await ingest.insertMany([usage('p2-a', 'on_budget_period', CREATED + DAY + 5, 40), usage('p2-b', 'on_budget_period', CREATED + DAY + 6, 50), usage('p2-c', 'own_budget', CREATED + DAY + 5, 40)]);
    expect(await stored('on_budget_period')).toEqual({ spend_micros: 90, budget_period_start: CREATED + DAY });
    expect(await stored('own_budget')).toEqual({ spend_micros: 70, budget_period_start: null });
    // Loaded as admission reads it after a restart: 90 µ$ spent in this period.
    expect((await principals.findKey('on_budget_period'.padEnd(64, '0')))!).toMatchObject({ spendMicros: 90, budgetPeriodStart: CREATED + DAY });
  });
});
