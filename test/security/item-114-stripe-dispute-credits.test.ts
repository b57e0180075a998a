/**
 * A chargeback takes back the credits its payment granted. Before, a user could buy credits, spend
 * them on model calls the operator pays the providers for, then dispute the payment with their
 * bank: Stripe withdrew the money from the operator (`charge.dispute.funds_withdrawn`), the webhook
 * answered "ignored: this event type changes no credits", and the user kept what they had used
 * and every credit they had not. Now the withdrawal deducts the disputed share of what the payment
 * granted as a `dispute` ledger row (the balance may go below zero: the user's calls get 402 until
 * credits are added), and a won dispute (`charge.dispute.funds_reinstated`, status "won") gives
 * exactly that back. Both happen once per dispute however often and on however many replicas they
 * are delivered, in any order with the purchase and with each other, and together with refunds of
 * the same payment they never take back more than the payment granted.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createPostgresDatabase, postgresAvailableForTests, type TestDatabase } from '../support/databases.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { chatStatus, clientFor, Management, pricedConfig } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';
import { MockStripe, STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET } from '../support/mock-stripe.js';
import { deleteKeys, REDIS_URL, redisAvailableForTests, uniquePrefix } from '../support/redis.js';

interface ChargeState {
  amount: number;
  refunded: number;
}

/**
 * MockStripe plus what the dispute path reads at Stripe: the Checkout Sessions of a payment intent
 * (GET /v1/checkout/sessions?payment_intent=, as paid sessions) and a charge (GET /v1/charges/:id,
 * shaped like https://docs.stripe.com/api/charges/object), and dispute events shaped like
 * https://docs.stripe.com/api/disputes/object.
 */
class DisputingStripe extends MockStripe {
  readonly charges = new Map<string, ChargeState>();
  chargesFail = false;

  protected override async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://stripe.local');
    const send = (status: number, value: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json' });
      response.end(JSON.stringify(value));
    };
    if (request.method === 'GET' && url.pathname === '/v1/checkout/sessions') {
      const paymentIntent = url.searchParams.get('payment_intent');
      const data = [...this.sessions.keys()]
        .map((id) => JSON.parse(this.completedEvent(id).payload).data.object as { payment_intent: string })
        .filter((session) => session.payment_intent === paymentIntent);
      send(200, { object: 'list', url: '/v1/checkout/sessions', has_more: false, data });
      return;
    }
    const charge = /^\/v1\/charges\/([^/]+)$/.exec(url.pathname);
    if (request.method === 'GET' && charge) {
      const state = this.charges.get(charge[1]);
      if (this.chargesFail) send(500, { error: { type: 'api_error', message: 'An unknown error occurred' } });
      else if (!state) send(404, { error: { type: 'invalid_request_error', message: `No such charge: '${charge[1]}'`, param: 'id' } });
      else send(200, this.chargeObject(charge[1], state));
      return;
    }
    return super.handle(request, response);
  }

  private chargeObject(id: string, state: ChargeState) {
    return { id, object: 'charge', amount: state.amount, amount_captured: state.amount, amount_refunded: state.refunded, currency: 'usd', disputed: true, paid: true, payment_intent: `pi_${id.slice(3)}`, refunded: state.refunded >= state.amount, status: 'succeeded', livemode: false, created: Math.floor(Date.now() / 1000) };
  }

  /** The charge of a payment: `amount` paid, `refunded` of it refunded so far (what GET /v1/charges/:id answers). */
  setCharge(paymentIntent: string, amount: number, refunded = 0): string {
    const id = `ch_${paymentIntent.slice(3)}`;
    this.charges.set(id, { amount, refunded });
    return id;
  }

  /** A charge.dispute.* event for the payment's charge: `amount` disputed, in the dispute's `status`. */
  disputeEvent(type: 'charge.dispute.funds_withdrawn' | 'charge.dispute.funds_reinstated', paymentIntent: string, dispute: { id: string; amount: number; status: string }): string {
    const now = Math.floor(Date.now() / 1000);
    const transaction = (amount: number, category: string) => ({ id: `txn_${randomBytes(12).toString('hex')}`, object: 'balance_transaction', amount, currency: 'usd', fee: category === 'dispute' ? 1500 : 0, net: category === 'dispute' ? amount - 1500 : amount, reporting_category: category, type: 'adjustment', status: 'available', created: now });
    const balanceTransactions = [transaction(-dispute.amount, 'dispute'), ...(type === 'charge.dispute.funds_reinstated' ? [transaction(dispute.amount, 'dispute_reversal')] : [])];
    return this.event(type, {
      id: dispute.id,
      object: 'dispute',
      amount: dispute.amount,
      balance_transactions: balanceTransactions,
      charge: `ch_${paymentIntent.slice(3)}`,
      created: now,
      currency: 'usd',
      enhanced_eligibility_types: [],
      evidence: {},
      evidence_details: { due_by: now + 7 * 86_400, has_evidence: false, past_due: false, submission_count: 0, enhanced_eligibility: {} },
      is_charge_refundable: false,
      livemode: false,
      metadata: {},
      payment_intent: paymentIntent,
      reason: 'fraudulent',
      status: dispute.status,
    });
  }
}

const upstream = new MockOpenAI({ promptTokens: 12, completionTokens: 5 });
const stripe = new DisputingStripe();
const env = { STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET };

function platformWithStripe(apiBase: string): string {
  return `platform:
  credits_per_usd: 1000
  default_tier: free
  stripe:
    secret_key: os.environ/STRIPE_SECRET_KEY
    webhook_secret: os.environ/STRIPE_WEBHOOK_SECRET
    packages:
      large: {credits: 5500, price: 50.00}
    success_url: https://app.example/credits?paid=1
    cancel_url: https://app.example/credits
    api_base: ${apiBase}
`;
}

async function deliver(gateway: TestGateway, payload: string) {
  const response = await fetch(`${gateway.url}/api/v1/llm/stripe/webhook`, { method: 'POST', headers: { 'content-type': 'application/json', 'stripe-signature': stripe.sign(payload) }, body: payload });
  return { status: response.status, body: (await response.json()) as { outcome?: string; error?: { message: string } } };
}

async function ledgerOf(gateway: TestGateway, userId: string) {
  await gateway.flushUsage();
  const credits = gateway.runtime.credits()!;
  const [balance, sum, page] = await Promise.all([credits.balance(userId), credits.ledgerSum(userId), credits.list(userId, 500, 0)]);
  return { balance: balance!.balance, sum, rows: page.items };
}

const disputeId = () => `dp_${randomBytes(12).toString('hex')}`;

beforeAll(async () => {
  await upstream.start();
  await stripe.start();
});

afterAll(async () => {
  await upstream.close();
  await stripe.close();
});

describe('a disputed credit purchase', () => {
  let gateway: TestGateway;
  let api: Management;

  /** A user who bought the "large" package (5,500 credits for $50.00), granted. */
  async function buyer(userId: string, options: { grant?: boolean } = {}) {
    const user = await api.newUser({ user_id: userId });
    const session = await api.ok<{ id: string }>('POST', '/api/v1/llm/credits/purchase', { package: 'large' }, user.key);
    const { payload, paymentIntent } = stripe.completedEvent(session.id);
    stripe.setCharge(paymentIntent, 5000);
    if (options.grant !== false) expect((await deliver(gateway, payload)).body.outcome).toBe('granted');
    return { key: user.key!, paymentIntent, completed: payload };
  }

  beforeAll(async () => {
    gateway = await startGateway(pricedConfig(upstream.url, platformWithStripe(stripe.url)), { env });
    api = new Management(gateway.url);
  });

  afterAll(async () => {
    await gateway?.close();
  });

  it('funds withdrawn take back the disputed credits, spent ones too (the balance goes below zero and calls get 402), once; a won dispute gives them back, once', async () => {
    const { key, paymentIntent } = await buyer('chargeback');
    expect((await chatStatus(clientFor(gateway.url, key), { model: 'cheap', max_tokens: 10 })).status).toBe(200);
    const spent = 5_500_000 - (await ledgerOf(gateway, 'chargeback')).balance;
    expect(spent).toBeGreaterThan(0);

    const dispute = { id: disputeId(), amount: 5000, status: 'needs_response' };
    const withdrawn = stripe.disputeEvent('charge.dispute.funds_withdrawn', paymentIntent, dispute);
    expect(await deliver(gateway, withdrawn)).toEqual({ status: 200, body: { received: true, type: 'charge.dispute.funds_withdrawn', outcome: 'deducted' } });
    const again = await Promise.all([deliver(gateway, withdrawn), deliver(gateway, withdrawn)]);
    expect(again.map((answer) => [answer.status, answer.body.outcome])).toEqual([[200, 'already deducted'], [200, 'already deducted']]);
    let ledger = await ledgerOf(gateway, 'chargeback');
    expect(ledger.rows.filter((row) => row.kind === 'dispute')).toMatchObject([{ amount_millicredits: -5_500_000, balance_after_millicredits: -spent, reference: `stripe-dispute:${dispute.id}`, external_id: paymentIntent }]);
    expect(ledger.rows.find((row) => row.kind === 'dispute')!.description).toContain('the balance is');
    expect(ledger.balance).toBe(-spent);
    expect(ledger.sum).toBe(ledger.balance);
    expect((await chatStatus(clientFor(gateway.url, key), { model: 'cheap', max_tokens: 10 })).status).toBe(402);

    const reinstated = stripe.disputeEvent('charge.dispute.funds_reinstated', paymentIntent, { ...dispute, status: 'won' });
    expect((await deliver(gateway, reinstated)).body.outcome).toBe('reinstated');
    expect((await deliver(gateway, reinstated)).body.outcome).toBe('already reinstated');
    ledger = await ledgerOf(gateway, 'chargeback');
    expect(ledger.rows.filter((row) => row.kind === 'dispute').map((row) => row.amount_millicredits).sort((a, b) => a - b)).toEqual([-5_500_000, 5_500_000]);
    expect(ledger.balance).toBe(5_500_000 - spent);
    expect(ledger.sum).toBe(ledger.balance);
    expect((await chatStatus(clientFor(gateway.url, key), { model: 'cheap', max_tokens: 10 })).status).toBe(200);
    const listed = await api.ok<{ transactions: Array<{ kind: string }> }>('GET', '/api/v1/llm/credits/transactions?kind=dispute', undefined, key);
    expect(listed.transactions.map((row) => row.kind)).toEqual(['dispute', 'dispute']);
  });

  it('a dispute of part of the payment takes that share of the credits', async () => {
    const { paymentIntent } = await buyer('partial-dispute');
    const dispute = { id: disputeId(), amount: 1000, status: 'needs_response' };
    expect((await deliver(gateway, stripe.disputeEvent('charge.dispute.funds_withdrawn', paymentIntent, dispute))).body.outcome).toBe('deducted');
    expect((await ledgerOf(gateway, 'partial-dispute')).balance).toBe(5_500_000 - 1_100_000);
  });

  it('after a partial refund, the dispute takes only what the refund did not: together never more than the purchase granted', async () => {
    const { paymentIntent } = await buyer('refund-then-dispute');
    stripe.setCharge(paymentIntent, 5000, 2500);
    expect((await deliver(gateway, stripe.refundEvent(paymentIntent, 5000, 2500))).body.outcome).toBe('deducted');
    // The issuer disputes the full amount although half was refunded (Stripe withdraws it all).
    const dispute = { id: disputeId(), amount: 5000, status: 'needs_response' };
    expect((await deliver(gateway, stripe.disputeEvent('charge.dispute.funds_withdrawn', paymentIntent, dispute))).body.outcome).toBe('deducted');
    let ledger = await ledgerOf(gateway, 'refund-then-dispute');
    expect(ledger.rows.filter((row) => row.kind !== 'purchase').map((row) => [row.kind, row.amount_millicredits])).toEqual(expect.arrayContaining([['refund', -2_750_000], ['dispute', -2_750_000]]));
    expect(ledger.balance).toBe(0);
    // "Partially won": Stripe gives back the refunded half it withdrew twice, and the dispute is lost.
    const lost = await deliver(gateway, stripe.disputeEvent('charge.dispute.funds_reinstated', paymentIntent, { ...dispute, amount: 5000, status: 'lost' }));
    expect(lost.status).toBe(200);
    expect(lost.body.outcome).toMatch(/^ignored: the dispute is "lost"/);
    ledger = await ledgerOf(gateway, 'refund-then-dispute');
    expect(ledger.balance).toBe(0);
    expect(ledger.sum).toBe(0);
  });

  it('a refund delivered after the dispute took everything takes nothing more', async () => {
    const { paymentIntent } = await buyer('dispute-then-refund');
    const dispute = { id: disputeId(), amount: 5000, status: 'needs_response' };
    expect((await deliver(gateway, stripe.disputeEvent('charge.dispute.funds_withdrawn', paymentIntent, dispute))).body.outcome).toBe('deducted');
    stripe.setCharge(paymentIntent, 5000, 5000);
    const refund = await deliver(gateway, stripe.refundEvent(paymentIntent, 5000, 5000));
    expect(refund.status).toBe(200);
    const ledger = await ledgerOf(gateway, 'dispute-then-refund');
    expect(ledger.balance).toBe(0);
    expect(ledger.rows.filter((row) => row.kind === 'refund')).toEqual([]);
    // Won after all: what the refund could not take stays taken (the buyer has the money back).
    const won = await deliver(gateway, stripe.disputeEvent('charge.dispute.funds_reinstated', paymentIntent, { ...dispute, status: 'won' }));
    expect(won.status).toBe(200);
    expect((await ledgerOf(gateway, 'dispute-then-refund')).balance).toBe(0);
  });

  it('a dispute delivered before the purchase was granted grants it, then deducts: the late purchase event keeps nothing', async () => {
    const { paymentIntent, completed } = await buyer('early-dispute', { grant: false });
    const dispute = { id: disputeId(), amount: 5000, status: 'needs_response' };
    expect((await deliver(gateway, stripe.disputeEvent('charge.dispute.funds_withdrawn', paymentIntent, dispute))).body.outcome).toBe('deducted');
    expect((await deliver(gateway, completed)).body.outcome).toBe('already granted');
    const ledger = await ledgerOf(gateway, 'early-dispute');
    expect(ledger.rows.map((row) => row.kind).sort()).toEqual(['dispute', 'purchase']);
    expect(ledger.balance).toBe(0);
  });

  it('a won dispute whose reinstatement arrives before its withdrawal ends where it started: the late withdrawal takes nothing', async () => {
    const { paymentIntent } = await buyer('early-reinstatement');
    const dispute = { id: disputeId(), amount: 5000, status: 'won' };
    expect((await deliver(gateway, stripe.disputeEvent('charge.dispute.funds_reinstated', paymentIntent, dispute))).body.outcome).toBe('reinstated');
    const late = await deliver(gateway, stripe.disputeEvent('charge.dispute.funds_withdrawn', paymentIntent, { ...dispute, status: 'needs_response' }));
    expect(late.body.outcome).toBe('already deducted');
    const ledger = await ledgerOf(gateway, 'early-reinstatement');
    expect(ledger.rows.filter((row) => row.kind === 'dispute').map((row) => row.amount_millicredits).sort((a, b) => a - b)).toEqual([-5_500_000, 5_500_000]);
    expect(ledger.balance).toBe(5_500_000);
  });

  it('when Stripe cannot be asked about the charge, the event is not acknowledged (Stripe delivers it again) and nothing changes', async () => {
    const { paymentIntent } = await buyer('stripe-down');
    const withdrawn = stripe.disputeEvent('charge.dispute.funds_withdrawn', paymentIntent, { id: disputeId(), amount: 5000, status: 'needs_response' });
    stripe.chargesFail = true;
    try {
      const answer = await deliver(gateway, withdrawn);
      expect(answer.status).toBe(502);
      expect(answer.body.error?.message).toContain('Stripe');
    } finally {
      stripe.chargesFail = false;
    }
    expect((await ledgerOf(gateway, 'stripe-down')).balance).toBe(5_500_000);
    expect((await deliver(gateway, withdrawn)).body.outcome).toBe('deducted');
    expect((await ledgerOf(gateway, 'stripe-down')).balance).toBe(0);
  });

  it('a dispute of a payment this gateway never sold is acknowledged and changes nothing', async () => {
    stripe.setCharge('pi_not_ours_at_all', 1000);
    const answer = await deliver(gateway, stripe.disputeEvent('charge.dispute.funds_withdrawn', 'pi_not_ours_at_all', { id: disputeId(), amount: 1000, status: 'needs_response' }));
    expect(answer).toEqual({ status: 200, body: expect.objectContaining({ outcome: 'ignored: no purchase of this payment is on record' }) });
  });
});

const shared = (await postgresAvailableForTests()) && (await redisAvailableForTests());

describe.runIf(shared)('a dispute delivered to two replicas sharing PostgreSQL and Redis', () => {
  let database: TestDatabase;
  const prefix = uniquePrefix('dispute');
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

  it('deducts once and gives back once, whichever replica each delivery lands on', async () => {
    const api = new Management(replicas[0].url);
    const user = await api.newUser({ user_id: 'shared-disputer' });
    const session = await api.ok<{ id: string }>('POST', '/api/v1/llm/credits/purchase', { package: 'large' }, user.key);
    const { payload, paymentIntent } = stripe.completedEvent(session.id);
    stripe.setCharge(paymentIntent, 5000);
    expect((await deliver(replicas[0], payload)).body.outcome).toBe('granted');
    const dispute = { id: disputeId(), amount: 5000, status: 'needs_response' };
    const withdrawn = stripe.disputeEvent('charge.dispute.funds_withdrawn', paymentIntent, dispute);
    const concurrent = await Promise.all(replicas.map((replica) => deliver(replica, withdrawn)));
    expect(concurrent.map((answer) => answer.body.outcome).sort()).toEqual(['already deducted', 'deducted']);
    expect((await ledgerOf(replicas[1], 'shared-disputer')).balance).toBe(0);
    const reinstated = stripe.disputeEvent('charge.dispute.funds_reinstated', paymentIntent, { ...dispute, status: 'won' });
    const both = await Promise.all(replicas.map((replica) => deliver(replica, reinstated)));
    expect(both.map((answer) => answer.body.outcome).sort()).toEqual(['already reinstated', 'reinstated']);
    const ledger = await ledgerOf(replicas[0], 'shared-disputer');
    expect(ledger.rows.filter((row) => row.kind === 'dispute')).toHaveLength(2);
    expect(ledger.balance).toBe(5_500_000);
  });
});
