/**
 * Buying credits through Stripe, end to end with the official `stripe` package against a local
 * mock of the Checkout Session endpoint: a user's key creates a session for a configured package,
 * and Stripe's signed webhook grants its credits once — delivered three times, twice concurrently
 * to two replicas sharing PostgreSQL and Redis, it is one "purchase" ledger row. A bad or stale
 * signature is refused with 400 and grants nothing; a refund takes the credits back once.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresDatabase, postgresAvailableForTests, type TestDatabase } from '../support/databases.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { chatStatus, clientFor, Management, pricedConfig, type ErrorBody } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';
import { MockStripe, STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET } from '../support/mock-stripe.js';
import { deleteKeys, REDIS_URL, redisAvailableForTests, uniquePrefix } from '../support/redis.js';

const upstream = new MockOpenAI({ promptTokens: 12, completionTokens: 5 });
const stripe = new MockStripe();

function platformWithStripe(apiBase: string): string {
  return `platform:
  credits_per_usd: 1000
  default_tier: free
  stripe:
    secret_key: os.environ/STRIPE_SECRET_KEY
    webhook_secret: os.environ/STRIPE_WEBHOOK_SECRET
    currency: usd
    packages:
      small: {credits: 1000, price: 10.00}
      large: {credits: 5500, price: 50.00, description: "5,500 credits"}
    success_url: https://app.example/credits?paid=1
    cancel_url: https://app.example/credits
    api_base: ${apiBase}
`;
}

const env = { STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET };

async function deliver(gateway: TestGateway, payload: string, signature: string | undefined) {
  const response = await fetch(`${gateway.url}/api/v1/llm/stripe/webhook`, { method: 'POST', headers: { 'content-type': 'application/json', ...(signature ? { 'stripe-signature': signature } : {}) }, body: payload });
  return { status: response.status, body: (await response.json()) as Record<string, unknown> & Partial<ErrorBody> };
}

async function ledgerOf(gateway: TestGateway, userId: string) {
  await gateway.flushUsage();
  const credits = gateway.runtime.credits()!;
  const [balance, sum, page] = await Promise.all([credits.balance(userId), credits.ledgerSum(userId), credits.list(userId, 500, 0)]);
  return { balance: balance!.balance, sum, rows: page.items };
}

beforeAll(async () => {
  await upstream.start();
  await stripe.start();
});

afterAll(async () => {
  await upstream.close();
  await stripe.close();
});

describe('buying credits through Stripe on one gateway', () => {
  let gateway: TestGateway;
  let api: Management;

  beforeAll(async () => {
    gateway = await startGateway(pricedConfig(upstream.url, platformWithStripe(stripe.url)), { env });
    api = new Management(gateway.url);
  });

  afterAll(async () => {
    await gateway?.close();
  });

  it('lists the packages, and a user\'s key creates a Checkout Session for one at its configured price', async () => {
    const user = await api.newUser({ user_id: 'buyer' });
    const packages = await api.ok<{ stripe: boolean; packages: unknown[] }>('GET', '/api/v1/llm/credits/packages', undefined, user.key);
    expect(packages).toEqual({ stripe: true, packages: [{ name: 'small', credits: 1000, price: 1000, currency: 'usd', description: '1000 credits' }, { name: 'large', credits: 5500, price: 5000, currency: 'usd', description: '5,500 credits' }] });

    const session = await api.ok<{ id: string; url: string; package: string; credits: number; amount: number; currency: string }>('POST', '/api/v1/llm/credits/purchase', { package: 'small' }, user.key);
    expect(session).toMatchObject({ package: 'small', credits: 1000, amount: 1000, currency: 'usd' });
    expect(session.id).toMatch(/^cs_test_/);
    expect(session.url).toBe(`https://checkout.stripe.com/c/pay/${session.id}`);
    const sent = stripe.requests.at(-1)!;
    expect(sent).toMatchObject({ method: 'POST', path: '/v1/checkout/sessions', authorization: `Bearer ${STRIPE_SECRET_KEY}` });
    expect(sent.idempotencyKey).toBeTruthy();
    expect(sent.form).toMatchObject({
      mode: 'payment',
      client_reference_id: 'buyer',
      success_url: 'https://app.example/credits?paid=1',
      cancel_url: 'https://app.example/credits',
      line_items: { 0: { quantity: '1', price_data: { currency: 'usd', unit_amount: '1000', product_data: { name: '1000 credits' } } } },
      metadata: { switchboard_user_id: 'buyer', switchboard_package: 'small', switchboard_millicredits: '1000000' },
    });
  });

  it('refuses an unknown package, extra fields, and keys without a user', async () => {
    const user = await api.newUser({ user_id: 'picky' });
    const unknown = await api.call<ErrorBody>('POST', '/api/v1/llm/credits/purchase', { package: 'huge' }, user.key);
    expect(unknown.status).toBe(400);
    expect(unknown.body.error.message).toContain('no package "huge"; choose one of small, large');
    const extra = await api.call<ErrorBody>('POST', '/api/v1/llm/credits/purchase', { package: 'small', price: 0.01 }, user.key);
    expect(extra.status).toBe(400);
    expect(extra.body.error.message).toContain('price');
    const master = await api.call<ErrorBody>('POST', '/api/v1/llm/credits/purchase', { package: 'small' }, MASTER_KEY);
    expect(master.status).toBe(400);
    expect(master.body.error.message).toContain('own key');
  });

  it('a signed checkout.session.completed grants the package once, however often it is delivered; the user can then call', async () => {
    const user = await api.newUser({ user_id: 'payer' });
    expect((await chatStatus(clientFor(gateway.url, user.key!), { model: 'cheap', max_tokens: 10 })).status).toBe(402);
    const session = await api.ok<{ id: string }>('POST', '/api/v1/llm/credits/purchase', { package: 'small' }, user.key);
    const { payload } = stripe.completedEvent(session.id);
    const first = await deliver(gateway, payload, stripe.sign(payload));
    expect(first).toMatchObject({ status: 200, body: { received: true, type: 'checkout.session.completed', outcome: 'granted' } });
    const again = await Promise.all([deliver(gateway, payload, stripe.sign(payload)), deliver(gateway, payload, stripe.sign(payload))]);
    expect(again.map((answer) => [answer.status, answer.body.outcome])).toEqual([[200, 'already granted'], [200, 'already granted']]);
    const ledger = await ledgerOf(gateway, 'payer');
    expect(ledger.rows).toMatchObject([{ kind: 'purchase', amount_millicredits: 1_000_000, reference: `stripe:${session.id}`, description: `Stripe purchase: package "small" (${session.id})` }]);
    expect(ledger.balance).toBe(1_000_000);
    expect((await chatStatus(clientFor(gateway.url, user.key!), { model: 'cheap', max_tokens: 10 })).status).toBe(200);
  });

  it('a bad, missing or stale signature is refused with 400 and grants nothing', async () => {
    const user = await api.newUser({ user_id: 'forger' });
    const session = await api.ok<{ id: string }>('POST', '/api/v1/llm/credits/purchase', { package: 'large' }, user.key);
    const { payload } = stripe.completedEvent(session.id);
    const wrongSecret = await deliver(gateway, payload, stripe.sign(payload, { secret: 'whsec_not_ours' }));
    expect(wrongSecret.status).toBe(400);
    expect(wrongSecret.body.error?.message).toContain('does not verify');
    // Signed, then changed: the signature no longer matches the body.
    const tampered = await deliver(gateway, payload.replace('"switchboard_millicredits":"5500000"', '"switchboard_millicredits":"9999999"'), stripe.sign(payload));
    expect(tampered.status).toBe(400);
    expect((await deliver(gateway, payload, undefined)).status).toBe(400);
    const stale = await deliver(gateway, payload, stripe.sign(payload, { timestamp: Math.floor(Date.now() / 1000) - 600 }));
    expect(stale.status).toBe(400);
    expect(stale.body.error?.message).toMatch(/tolerance/i);
    expect((await ledgerOf(gateway, 'forger')).rows).toEqual([]);
  });

  it('an unpaid session grants nothing; other event types are acknowledged and change nothing', async () => {
    const user = await api.newUser({ user_id: 'pending' });
    const session = await api.ok<{ id: string }>('POST', '/api/v1/llm/credits/purchase', { package: 'small' }, user.key);
    const unpaid = stripe.event('checkout.session.completed', stripe.sessions.get(session.id));
    expect((await deliver(gateway, unpaid, stripe.sign(unpaid))).body.outcome).toMatch(/payment_status is "unpaid"/);
    const other = stripe.event('customer.created', { id: 'cus_1', object: 'customer' });
    expect((await deliver(gateway, other, stripe.sign(other))).body).toMatchObject({ received: true, type: 'customer.created', outcome: 'ignored: this event type changes no credits' });
    expect((await ledgerOf(gateway, 'pending')).rows).toEqual([]);
  });

  it('charge.refunded takes back the refunded share of the purchase, once per refund', async () => {
    const user = await api.newUser({ user_id: 'refunded' });
    const session = await api.ok<{ id: string }>('POST', '/api/v1/llm/credits/purchase', { package: 'large' }, user.key);
    const { payload, paymentIntent } = stripe.completedEvent(session.id);
    await deliver(gateway, payload, stripe.sign(payload));
    const half = stripe.refundEvent(paymentIntent, 5000, 2500);
    expect((await deliver(gateway, half, stripe.sign(half))).body.outcome).toBe('deducted');
    expect((await deliver(gateway, half, stripe.sign(half))).body.outcome).toBe('already deducted');
    expect((await ledgerOf(gateway, 'refunded')).balance).toBe(2_750_000);
    const full = stripe.refundEvent(paymentIntent, 5000, 5000);
    await deliver(gateway, full, stripe.sign(full));
    const ledger = await ledgerOf(gateway, 'refunded');
    expect(ledger.rows.filter((row) => row.kind === 'refund').map((row) => row.amount_millicredits).sort()).toEqual([-2_750_000, -2_750_000]);
    expect(ledger.balance).toBe(0);
    expect(ledger.sum).toBe(0);
    const listed = await api.ok<{ transactions: Array<{ kind: string }> }>('GET', '/api/v1/llm/credits/transactions', undefined, user.key);
    expect(listed.transactions.map((row) => row.kind).sort()).toEqual(['purchase', 'refund', 'refund']);
  });
});

describe('without platform.stripe', () => {
  it('purchases and the webhook answer 404 saying how to turn them on', async () => {
    const gateway = await startGateway(pricedConfig(upstream.url, 'platform:\n  credits_per_usd: 1000\n'));
    try {
      const api = new Management(gateway.url);
      expect(await api.ok('GET', '/api/v1/llm/credits/packages')).toEqual({ stripe: false, packages: [] });
      const purchase = await api.call<ErrorBody>('POST', '/api/v1/llm/credits/purchase', { package: 'small' });
      expect(purchase.status).toBe(404);
      expect(purchase.body.error.message).toContain('platform.stripe');
      expect((await deliver(gateway, '{}', 't=1,v1=00')).status).toBe(404);
    } finally {
      await gateway.close();
    }
  });
});

const shared = (await postgresAvailableForTests()) && (await redisAvailableForTests());

describe.runIf(shared)('Stripe webhooks on two replicas sharing PostgreSQL and Redis', () => {
  let database: TestDatabase;
  const prefix = uniquePrefix('stripe');
  let replicas: TestGateway[];

  beforeAll(async () => {
    database = await createPostgresDatabase();
    const options = { databaseUrl: database.url, redisUrl: REDIS_URL, redisPrefix: prefix, env };
    const yaml = pricedConfig(upstream.url, platformWithStripe(stripe.url));
    replicas = [await startGateway(yaml, options), await startGateway(yaml, options)];
  });

  afterAll(async () => {
    for (const replica of replicas ?? []) await replica.close();
    await deleteKeys(prefix);
    await database?.drop();
  });

  it('one event delivered three times, twice concurrently to the two replicas, grants once; both replicas see the balance', async () => {
    const api = new Management(replicas[0].url);
    const user = await api.newUser({ user_id: 'shared-buyer' });
    // Both replicas have the user's record cached before the purchase.
    for (const replica of replicas) expect(await fetch(`${replica.url}/api/v1/llm/credits/balance`, { headers: { authorization: `Bearer ${user.key}` } }).then((response) => response.json())).toMatchObject({ balance: 0 });
    const session = await api.ok<{ id: string }>('POST', '/api/v1/llm/credits/purchase', { package: 'small' }, user.key);
    const { payload } = stripe.completedEvent(session.id);
    const concurrent = await Promise.all(replicas.map((replica) => deliver(replica, payload, stripe.sign(payload))));
    expect(concurrent.map((answer) => answer.status)).toEqual([200, 200]);
    expect(concurrent.map((answer) => answer.body.outcome).sort()).toEqual(['already granted', 'granted']);
    expect((await deliver(replicas[0], payload, stripe.sign(payload))).body.outcome).toBe('already granted');
    const ledger = await ledgerOf(replicas[1], 'shared-buyer');
    expect(ledger.rows.filter((row) => row.kind === 'purchase')).toHaveLength(1);
    expect(ledger.balance).toBe(1_000_000);
    // The grant reaches both replicas' caches within a second; then both admit a paid call.
    for (const replica of replicas) {
      const startedAt = Date.now();
      let balance = 0;
      while (Date.now() - startedAt < 1_000) {
        balance = ((await fetch(`${replica.url}/api/v1/llm/credits/balance`, { headers: { authorization: `Bearer ${user.key}` } }).then((response) => response.json())) as { balance: number }).balance;
        if (balance === 1000) break;
        await new Promise((resolve) => setTimeout(resolve, 10));
      }
      expect(balance).toBe(1000);
    }
    for (const replica of replicas) expect((await chatStatus(clientFor(replica.url, user.key!), { model: 'cheap', max_tokens: 10 })).status).toBe(200);
  });
});
