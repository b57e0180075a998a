/**
 * Credits through the real server: tiers grant initial credits, calls cost
 * provider cost × (1 + markup) × level multiplier × credits_per_usd (integer millicredits), every
 * change is a ledger row, 402 when credits run out, free models never deduct, admins grant — and,
 * on SQLite and PostgreSQL, 100 parallel requests never take a balance below zero and the balance
 * equals the ledger's sum afterwards.
 */
import OpenAI from 'openai';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { creditCostMillicredits } from '../../src/platform/credits.js';
import { dialectsUnderTest, type TestDatabase } from '../support/databases.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management, maxCostMicros, pricedConfig, promptBound, type ErrorBody } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';
import { deleteKeys, redisAvailableForTests, REDIS_URL, uniquePrefix } from '../support/redis.js';

const dialects = await dialectsUnderTest();

const PLATFORM = `
  - model_name: free-model
    litellm_params: {model: openai/free-upstream, api_base: "API_BASE", api_key: sk-upstream-test}
    model_info: {id: dep-free, input_cost_per_token: 0, output_cost_per_token: 0}
platform:
  credits_per_usd: 1000
  low_balance_threshold: 5
  default_tier: free
  tiers:
    starter: {markup: 0.4, initial_credits: 10}
`;

/** pricedConfig (cheap: 1 µ$/input token, 2 µ$/output token; premium ×10) plus a free model and the platform section. */
function platformConfig(apiBase: string): string {
  const base = pricedConfig(apiBase);
  const [models, rest] = base.split('router_settings:');
  return `${models}${PLATFORM.split('platform:')[0].replace('API_BASE', apiBase)}router_settings:${rest}platform:${PLATFORM.split('platform:')[1]}`;
}

function clientWith(url: string, key: string, headers: Record<string, string> = {}, prefix = '/v1'): OpenAI {
  return new OpenAI({ apiKey: key, baseURL: `${url}${prefix}`, maxRetries: 0, defaultHeaders: headers });
}

async function ledgerOf(gateway: TestGateway, userId: string) {
  await gateway.flushUsage();
  const credits = gateway.runtime.credits()!;
  const [balance, sum] = await Promise.all([credits.balance(userId), credits.ledgerSum(userId)]);
  const rows = await credits.list(userId, 500, 0);
  return { balance: balance!.balance, used: balance!.used, sum, rows: rows.items };
}

describe('credits through the gateway', () => {
  const upstream = new MockOpenAI({ promptTokens: 12, completionTokens: 5 });
  let gateway: TestGateway;
  let api: Management;

  beforeAll(async () => {
    await upstream.start();
    gateway = await startGateway(platformConfig(upstream.url));
    api = new Management(gateway.url);
  });

  afterAll(async () => {
    await gateway?.close();
    await upstream.close();
  });

  it('a user created in a tier gets its initial credits as a grant ledger row', async () => {
    const user = await api.newUser({ user_id: 'starter-user', tier: 'starter' });
    expect(user).toMatchObject({ user_id: 'starter-user', tier: 'starter' });
    const credits = await api.ok<Record<string, unknown>>('GET', '/api/v1/llm/credits', undefined, user.key);
    expect(credits).toMatchObject({ user_id: 'starter-user', tier: 'starter', markup: 0.4, balance: 10, credits_per_usd: 1000, low_balance_threshold: 5, low_balance: false });
    const ledger = await ledgerOf(gateway, 'starter-user');
    expect(ledger.rows).toMatchObject([{ kind: 'grant', amount_millicredits: 10_000, balance_after_millicredits: 10_000 }]);
    expect(ledger.balance).toBe(10_000);
  });

  it('a call costs cost × (1 + markup) × multiplier × credits_per_usd, deducted as a usage ledger row, with _metadata and headers', async () => {
    // The user may only use "cheap", so it is the model balanced chooses for them: naming it keeps the level's multiplier.
    const user = await api.newUser({ user_id: 'caller', tier: 'starter', models: ['cheap'] });
    const client = clientWith(gateway.url, user.key!, { 'x-power-level': 'balanced' });
    const { data, response } = await client.chat.completions.create({ model: 'cheap', messages: [{ role: 'user', content: 'hi' }], max_tokens: 10 }).withResponse();
    // 12 prompt tokens × 1 µ$ + 5 completion × 2 µ$ = 22 µ$; × 1.4 × 0.25 × 1000 credits/$ = 7.7 millicredits → 8.
    const expected = creditCostMillicredits(22, { markup: 0.4, multiplier: 0.25, creditsPerUsd: 1000 });
    expect(expected).toBe(8);
    const metadata = (data as unknown as { _metadata: Record<string, unknown> })._metadata;
    expect(metadata).toEqual({ provider_used: 'openai', model_used: 'cheap', power_level: 'balanced', cost_incurred: 0.008, cost_usd: 0.000022, credits_remaining: 9.992, byok: false });
    expect(response.headers.get('x-switchboard-power-level')).toBe('balanced');
    expect(response.headers.get('x-switchboard-credits-cost')).toBe('0.008');
    expect(response.headers.get('x-switchboard-credits-remaining')).toBe('9.992');
    expect(response.headers.get('x-switchboard-low-balance')).toBeNull();

    const record = await gateway.recordOf(response.headers.get('x-switchboard-call-id')!);
    expect(record).toMatchObject({ credits_millicredits: 8, power_level: 'balanced', byok: 0, cost_micros: 22 });
    const ledger = await ledgerOf(gateway, 'caller');
    expect(ledger.rows[0]).toMatchObject({ kind: 'usage', amount_millicredits: -8, balance_after_millicredits: 9_992, call_id: record!.call_id });
    expect(ledger.balance).toBe(9_992);
    expect(ledger.sum).toBe(ledger.balance);
    expect((await api.ok<{ balance: number }>('GET', '/api/v1/llm/credits/balance', undefined, user.key)).balance).toBe(9.992);
  });

  it('without a power level the multiplier is 1; /api/v1/llm/chat/completions behaves like /v1', async () => {
    const user = await api.newUser({ user_id: 'llm-route', tier: 'starter' });
    const { data, response } = await clientWith(gateway.url, user.key!, {}, '/api/v1/llm').chat.completions.create({ model: 'cheap', messages: [{ role: 'user', content: 'hi' }], max_tokens: 10 }).withResponse();
    expect(data.choices[0].message.content).toBe(upstream.reply);
    // 22 µ$ × 1.4 × 1000 / 1000 = 30.8 → 31 millicredits.
    expect(response.headers.get('x-switchboard-credits-cost')).toBe('0.031');
    expect((data as unknown as { _metadata: { power_level: null } })._metadata.power_level).toBeNull();
  });

  it('no credits: 402 insufficient_credits with a clear message; free models still work and never deduct', async () => {
    const user = await api.newUser({ user_id: 'broke' });
    expect(user).toMatchObject({ tier: 'free' });
    const client = clientWith(gateway.url, user.key!);
    const failure = await client.chat.completions.create({ model: 'cheap', messages: [{ role: 'user', content: 'hi' }] }).catch((error: unknown) => error);
    expect(failure).toBeInstanceOf(OpenAI.APIError);
    const error = failure as InstanceType<typeof OpenAI.APIError>;
    expect(error.status).toBe(402);
    expect(error.code).toBe('insufficient_credits');
    expect(error.message).toContain('Insufficient credits: user "broke" has no credits left');
    expect(error.message).toContain('POST /api/v1/llm/credits/add');

    const before = upstream.requests.length;
    const { response } = await client.chat.completions.create({ model: 'free-model', messages: [{ role: 'user', content: 'hi' }] }).withResponse();
    expect(upstream.requests.length).toBe(before + 1);
    const record = await gateway.recordOf(response.headers.get('x-switchboard-call-id')!);
    expect(record).toMatchObject({ credits_millicredits: 0, cost_micros: 0, status: 'success' });
    expect((await ledgerOf(gateway, 'broke')).rows).toEqual([]);
  });

  it('insufficient but not zero: 402 says what is left and what the call may cost', async () => {
    const user = await api.newUser({ user_id: 'almost-broke' });
    await api.ok('POST', '/api/v1/llm/credits/add', { user_id: 'almost-broke', amount: 0.01, kind: 'purchase' });
    const error = (await clientWith(gateway.url, user.key!).chat.completions.create({ model: 'premium', messages: [{ role: 'user', content: 'hi' }], max_tokens: 1000 }).catch((caught: unknown) => caught)) as InstanceType<typeof OpenAI.APIError>;
    expect(error.status).toBe(402);
    expect(error.message).toMatch(/has 0\.01 credits left and this request may cost up to [\d.]+ credits \(from its input size and max_tokens\).*lower max_tokens/);
  });

  it('admins grant credits; the balance moves at once and the ledger says why; a low balance warns', async () => {
    const user = await api.newUser({ user_id: 'granted' });
    const eventsBefore = Number(/^switchboard_credit_low_balance_events_total (\d+)$/m.exec(await (await fetch(`${gateway.url}/metrics`, { headers: { authorization: `Bearer ${MASTER_KEY}` } })).text())?.[1]);
    const granted = await api.ok<{ balance: number; transaction: { kind: string; amount: number; balance_after: number; description: string } }>('POST', '/api/v1/llm/credits/add', { user_id: 'granted', amount: 3, description: 'welcome' });
    expect(granted).toMatchObject({ balance: 3, transaction: { kind: 'grant', amount: 3, balance_after: 3, description: 'welcome' } });
    // 3 credits is under the threshold of 5: the response warns.
    const { response } = await clientWith(gateway.url, user.key!).chat.completions.create({ model: 'cheap', messages: [{ role: 'user', content: 'hi' }], max_tokens: 10 }).withResponse();
    expect(response.headers.get('x-switchboard-low-balance')).toMatch(/credit balance is low: 2\.97\d* credits left \(threshold 5\)/);
    // The low-balance event fires once as the balance falls under the threshold, not on every call.
    const lowEvents = async () => Number(/^switchboard_credit_low_balance_events_total (\d+)$/m.exec(await (await fetch(`${gateway.url}/metrics`, { headers: { authorization: `Bearer ${MASTER_KEY}` } })).text())?.[1]);
    await expect.poll(lowEvents).toBe(eventsBefore + 1);
    const transactions = await api.ok<{ transactions: Array<{ kind: string; amount: number; balance_after: number }>; total: number }>('GET', '/api/v1/llm/credits/transactions', undefined, user.key);
    await gateway.flushUsage();
    const after = await api.ok<{ transactions: Array<{ kind: string; amount: number; balance_after: number }>; total: number }>('GET', '/api/v1/llm/credits/transactions?user_id=granted');
    expect(transactions.total).toBeGreaterThanOrEqual(1);
    expect(after.transactions.map((row) => row.kind).sort()).toEqual(['grant', 'usage']);
    expect(after.transactions.find((row) => row.kind === 'usage')).toMatchObject({ amount: -0.022, balance_after: 2.978 });

    // Debits only as adjustments, never below zero.
    const refused = await api.call<ErrorBody>('POST', '/api/v1/llm/credits/add', { user_id: 'granted', amount: -100, kind: 'adjustment' });
    expect(refused.status).toBe(400);
    expect(refused.body.error.message).toContain('never goes below zero');
    expect((await api.call<ErrorBody>('POST', '/api/v1/llm/credits/add', { user_id: 'granted', amount: -1 })).body.error.message).toContain('use kind "adjustment"');
    expect((await api.call<ErrorBody>('POST', '/api/v1/llm/credits/add', { user_id: 'nobody', amount: 1 })).status).toBe(404);

    // Still low: no second event. Topped up above the threshold, then low again: a new one.
    await clientWith(gateway.url, user.key!).chat.completions.create({ model: 'cheap', messages: [{ role: 'user', content: 'hi' }], max_tokens: 10 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await lowEvents()).toBe(eventsBefore + 1);
    await api.ok('POST', '/api/v1/llm/credits/add', { user_id: 'granted', amount: 10 });
    await clientWith(gateway.url, user.key!).chat.completions.create({ model: 'cheap', messages: [{ role: 'user', content: 'hi' }], max_tokens: 10 });
    await new Promise((resolve) => setTimeout(resolve, 50));
    expect(await lowEvents()).toBe(eventsBefore + 1);
    const drained = await api.call<ErrorBody>('POST', '/api/v1/llm/credits/add', { user_id: 'granted', amount: -10, kind: 'adjustment' });
    expect(drained.status).toBe(200);
    await clientWith(gateway.url, user.key!).chat.completions.create({ model: 'cheap', messages: [{ role: 'user', content: 'hi' }], max_tokens: 10 });
    await expect.poll(lowEvents).toBe(eventsBefore + 2);
  });

  it('the master key and keys without a user are not charged credits', async () => {
    const key = await api.generateKey({});
    const { response } = await clientWith(gateway.url, key.key).chat.completions.create({ model: 'cheap', messages: [{ role: 'user', content: 'hi' }] }).withResponse();
    expect(response.headers.get('x-switchboard-credits-cost')).toBeNull();
    expect(await gateway.recordOf(response.headers.get('x-switchboard-call-id')!)).toMatchObject({ credits_millicredits: null });
    const master = await clientWith(gateway.url, MASTER_KEY).chat.completions.create({ model: 'cheap', messages: [{ role: 'user', content: 'hi' }] }).withResponse();
    expect(await gateway.recordOf(master.response.headers.get('x-switchboard-call-id')!)).toMatchObject({ credits_millicredits: null });
  });

  it('streams carry the power level and the balance in headers, and are charged like the rest', async () => {
    const user = await api.newUser({ user_id: 'streamer', tier: 'starter', models: ['cheap'] });
    const { data: stream, response } = await clientWith(gateway.url, user.key!, { 'x-power-level': 'eco' })
      .chat.completions.create({ model: 'cheap', messages: [{ role: 'user', content: 'hi' }], stream: true, stream_options: { include_usage: true } })
      .withResponse();
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta.content ?? '';
    expect(text).toBe(upstream.reply);
    expect(response.headers.get('x-switchboard-power-level')).toBe('eco');
    expect(response.headers.get('x-switchboard-credits-remaining')).toBe('10');
    // eco caps max_tokens at 2000.
    expect(upstream.requests.at(-1)!.body.max_tokens).toBe(2000);
    const record = await gateway.recordOf(response.headers.get('x-switchboard-call-id')!);
    // 22 µ$ × 1.4 × 0.1 = 3.08 → 4 millicredits.
    expect(record).toMatchObject({ credits_millicredits: 4, power_level: 'eco' });
    expect((await ledgerOf(gateway, 'streamer')).balance).toBe(9_996);
  });
});

const MESSAGE = 'How much does this cost?';
const MAX_TOKENS = 16;
const CALL_MICROS = maxCostMicros(MESSAGE, MAX_TOKENS); // 72 µ$
// starter (0.4) at precision (1.0): 72 × 1.4 = 100.8 → 101 millicredits, reserved and charged alike.
const CALL_MILLICREDITS = creditCostMillicredits(CALL_MICROS, { markup: 0.4, multiplier: 1, creditsPerUsd: 1000 });

const stores = [{ store: 'memory', redis: false }, ...((await redisAvailableForTests()) ? [{ store: 'redis', redis: true }] : [])];

describe.each(dialects.flatMap((dialect) => stores.map((store) => ({ ...dialect, ...store }))))('the ledger under 100 parallel requests on $dialect, limits in $store', ({ create, redis }) => {
  // The mock reports exactly the reservation bound, so each call costs what it reserved.
  const upstream = new MockOpenAI({ promptTokens: promptBound(MESSAGE), completionTokens: MAX_TOKENS });
  let database: TestDatabase;
  let gateway: TestGateway;
  let api: Management;
  const prefix = uniquePrefix('credits');

  beforeAll(async () => {
    await upstream.start();
    database = await create();
    gateway = await startGateway(platformConfig(upstream.url), { databaseUrl: database.url, ...(redis ? { redisUrl: REDIS_URL, redisPrefix: prefix } : {}) });
    api = new Management(gateway.url);
  });

  afterEach(() => {
    upstream.alwaysFault = undefined;
  });

  afterAll(async () => {
    await gateway?.close();
    await database?.drop();
    await upstream.close();
    if (redis) await deleteKeys(prefix);
  });

  it('credits for 25 calls: exactly 25 of 100 pass, the balance ends at 0, never below, and equals the ledger sum', async () => {
    expect(CALL_MILLICREDITS).toBe(101);
    const user = await api.newUser({ user_id: 'parallel', tier: 'starter' });
    // The starter grant is 10 credits; take it down to exactly 25 calls' worth.
    await api.ok('POST', '/api/v1/llm/credits/add', { user_id: 'parallel', amount: (25 * CALL_MILLICREDITS - 10_000) / 1000, kind: 'adjustment' });
    upstream.alwaysFault = { kind: 'delay', ms: 50 };
    const client = clientWith(gateway.url, user.key!, { 'x-power-level': 'precision' });
    const outcomes = await Promise.all(
      Array.from({ length: 100 }, () =>
        client.chat.completions
          .create({ model: 'cheap', messages: [{ role: 'user', content: MESSAGE }], max_tokens: MAX_TOKENS })
          .withResponse()
          .then(({ response }) => ({ status: response.status, remaining: Number(response.headers.get('x-switchboard-credits-remaining')) }))
          .catch((error: InstanceType<typeof OpenAI.APIError>) => ({ status: error.status, code: error.code, remaining: undefined })),
      ),
    );
    const passed = outcomes.filter((outcome) => outcome.status === 200);
    expect(passed.length).toBe(25);
    expect(outcomes.filter((outcome) => outcome.status === 402).length).toBe(75);
    // No response ever reported a negative balance.
    expect(Math.min(...passed.map((outcome) => outcome.remaining!))).toBeGreaterThanOrEqual(0);

    const ledger = await ledgerOf(gateway, 'parallel');
    expect(ledger.balance).toBe(0);
    expect(ledger.sum).toBe(ledger.balance);
    const usage = ledger.rows.filter((row) => row.kind === 'usage');
    expect(usage.length).toBe(25);
    expect(usage.every((row) => row.amount_millicredits === -CALL_MILLICREDITS)).toBe(true);
    // Replaying the ledger in order never dips below zero, and each row's balance_after is the running sum.
    const ordered = [...ledger.rows].sort((a, b) => b.balance_after_millicredits - a.balance_after_millicredits);
    expect(Math.min(...ordered.map((row) => row.balance_after_millicredits))).toBe(0);
    const afterValues = usage.map((row) => row.balance_after_millicredits).sort((a, b) => b - a);
    expect(afterValues).toEqual(Array.from({ length: 25 }, (_, index) => (24 - index) * CALL_MILLICREDITS));
  });
});

describe.runIf(dialects.some((dialect) => dialect.dialect === 'postgres') && (await redisAvailableForTests()))('two replicas share one balance (PostgreSQL + Redis)', () => {
  const upstream = new MockOpenAI({ promptTokens: promptBound(MESSAGE), completionTokens: MAX_TOKENS });
  const prefix = uniquePrefix('credits-replicas');
  let database: TestDatabase;
  let replicas: TestGateway[] = [];

  beforeAll(async () => {
    await upstream.start();
    database = await dialects.find((dialect) => dialect.dialect === 'postgres')!.create();
    replicas = [
      await startGateway(platformConfig(upstream.url), { databaseUrl: database.url, redisUrl: REDIS_URL, redisPrefix: prefix }),
      await startGateway(platformConfig(upstream.url), { databaseUrl: database.url, redisUrl: REDIS_URL, redisPrefix: prefix }),
    ];
  });

  afterAll(async () => {
    for (const replica of replicas) await replica.close();
    await database?.drop();
    await upstream.close();
    await deleteKeys(prefix);
  });

  it('100 requests split over both replicas: exactly the 25 the credits cover pass; balance 0 = ledger sum', async () => {
    const api = new Management(replicas[0].url);
    const user = await api.newUser({ user_id: 'shared', tier: 'starter' });
    await api.ok('POST', '/api/v1/llm/credits/add', { user_id: 'shared', amount: (25 * CALL_MILLICREDITS - 10_000) / 1000, kind: 'adjustment' });
    upstream.alwaysFault = { kind: 'delay', ms: 50 };
    // Both replicas have seen the grant (key caches are invalidated through Redis).
    const clients = replicas.map((replica) => clientWith(replica.url, user.key!, { 'x-power-level': 'precision' }));
    const outcomes = await Promise.all(
      Array.from({ length: 100 }, (_, index) =>
        clients[index % 2].chat.completions
          .create({ model: 'cheap', messages: [{ role: 'user', content: MESSAGE }], max_tokens: MAX_TOKENS })
          .then(() => 200)
          .catch((error: InstanceType<typeof OpenAI.APIError>) => error.status),
      ),
    );
    upstream.alwaysFault = undefined;
    expect(outcomes.filter((status) => status === 200).length).toBe(25);
    expect(outcomes.filter((status) => status === 402).length).toBe(75);
    for (const replica of replicas) await replica.flushUsage();
    const ledger = await ledgerOf(replicas[0], 'shared');
    expect(ledger.balance).toBe(0);
    expect(ledger.sum).toBe(0);
    expect(ledger.rows.filter((row) => row.kind === 'usage').length).toBe(25);
  });
});
