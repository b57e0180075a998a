/**
 * The attack (on the credits of whoever is given a deleted user's id): user ids are names an admin
 * chooses, and deleting a user keeps its credit ledger, its Stripe purchases included. The Stripe
 * webhook found a purchase's user by the user id alone, so once the id was given to a new account
 * (items 283–292 treat it as another account: its own ledger, usage and credit counter from its
 * created_at), (a) a refund or a chargeback of a purchase the DELETED account made took its
 * credits from the NEW account (5,500 credits bought by the old account, refunded: the new
 * account's 0 became -5,500 and its calls were refused), and (b) a Checkout Session the old
 * account opened and paid after the deletion and the re-creation granted its 5,500 credits to the
 * new account. Now a purchase (or session) of an earlier account of the id moves no balance of the
 * new one: the webhook acknowledges it ("ignored: … an earlier account …") and logs it, as it does
 * for a purchase whose user no longer exists; the new account's own purchases, refunds and
 * disputes work as before, and admins still read the whole ledger of the id.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { Management, pricedConfig } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';
import { MockStripe, STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET } from '../support/mock-stripe.js';

/**
 * MockStripe plus what the refund and dispute paths read at Stripe: the Checkout Sessions of a
 * payment intent (GET /v1/checkout/sessions?payment_intent=, as paid sessions) and a charge
 * (GET /v1/charges/:id), and dispute events shaped like https://docs.stripe.com/api/disputes/object.
 */
class RecordingStripe extends MockStripe {
  protected override async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://stripe.local');
    const send = (value: unknown) => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify(value));
    };
    if (request.method === 'GET' && url.pathname === '/v1/checkout/sessions') {
      const paymentIntent = url.searchParams.get('payment_intent');
      const data = [...this.sessions.keys()]
        .map((id) => JSON.parse(this.completedEvent(id).payload).data.object as { payment_intent: string })
        .filter((session) => session.payment_intent === paymentIntent);
      send({ object: 'list', url: '/v1/checkout/sessions', has_more: false, data });
      return;
    }
    const charge = /^\/v1\/charges\/ch_([^/]+)$/.exec(url.pathname);
    if (request.method === 'GET' && charge) {
      send({ id: `ch_${charge[1]}`, object: 'charge', amount: 5000, amount_captured: 5000, amount_refunded: 0, currency: 'usd', disputed: true, paid: true, payment_intent: `pi_${charge[1]}`, refunded: false, status: 'succeeded', livemode: false, created: Math.floor(Date.now() / 1000) });
      return;
    }
    return super.handle(request, response);
  }

  disputeEvent(type: 'charge.dispute.funds_withdrawn' | 'charge.dispute.funds_reinstated', paymentIntent: string, status: string, id = `dp_${randomBytes(12).toString('hex')}`): string {
    const now = Math.floor(Date.now() / 1000);
    return this.event(type, { id, object: 'dispute', amount: 5000, balance_transactions: [], charge: `ch_${paymentIntent.slice(3)}`, created: now, currency: 'usd', evidence: {}, is_charge_refundable: false, livemode: false, metadata: {}, payment_intent: paymentIntent, reason: 'fraudulent', status });
  }
}

const upstream = new MockOpenAI({ promptTokens: 12, completionTokens: 5 });
const stripe = new RecordingStripe();
let gateway: TestGateway;
let api: Management;

async function deliver(payload: string) {
  const response = await fetch(`${gateway.url}/api/v1/llm/stripe/webhook`, { method: 'POST', headers: { 'content-type': 'application/json', 'stripe-signature': stripe.sign(payload) }, body: payload });
  return { status: response.status, body: (await response.json()) as { outcome?: string } };
}

const balanceOf = async (key: string) => (await api.ok<{ balance: number }>('GET', '/api/v1/llm/credits/balance', undefined, key)).balance;
const buy = async (key: string) => (await api.ok<{ id: string }>('POST', '/api/v1/llm/credits/purchase', { package: 'large' }, key)).id;

/** Deletes the user and creates it again (someone else given the name); the new account's key. */
async function recreate(userId: string): Promise<string> {
  await api.ok('POST', '/user/delete', { user_ids: [userId] });
  // The clock moves on between the deletion and the new account (rows are stamped in milliseconds).
  await new Promise((resolve) => setTimeout(resolve, 5));
  return (await api.newUser({ user_id: userId })).key!;
}

beforeAll(async () => {
  await upstream.start();
  await stripe.start();
  const platform = `platform:
  credits_per_usd: 1000
  default_tier: free
  stripe:
    secret_key: os.environ/STRIPE_SECRET_KEY
    webhook_secret: os.environ/STRIPE_WEBHOOK_SECRET
    packages:
      large: {credits: 5500, price: 50.00}
    success_url: https://app.example/credits?paid=1
    cancel_url: https://app.example/credits
    api_base: ${stripe.url}
`;
  gateway = await startGateway(pricedConfig(upstream.url, platform), { env: { STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET } });
  api = new Management(gateway.url);
});

afterAll(async () => {
  await gateway?.close();
  await upstream.close();
  await stripe.close();
});

describe('Stripe events of a deleted account, after its id is given to a new account', () => {
  it('a refund of the old account\'s purchase takes nothing from the new account', async () => {
    const oldKey = (await api.newUser({ user_id: 'refunded-id' })).key!;
    const { payload, paymentIntent } = stripe.completedEvent(await buy(oldKey));
    expect((await deliver(payload)).body.outcome).toBe('granted');
    expect(await balanceOf(oldKey)).toBe(5500);

    const newKey = await recreate('refunded-id');
    const before = await balanceOf(newKey);
    const refund = await deliver(stripe.refundEvent(paymentIntent, 5000, 5000));
    expect(refund.status).toBe(200);
    expect(refund.body.outcome).toMatch(/^ignored: .*earlier account/);
    expect(await balanceOf(newKey)).toBe(before);
    // Admins still read the id's whole ledger: the old account's purchase is there.
    const ledger = await api.ok<{ transactions: Array<{ kind: string; amount: number }> }>('GET', '/api/v1/llm/credits/transactions?user_id=refunded-id&limit=500');
    expect(ledger.transactions).toEqual(expect.arrayContaining([expect.objectContaining({ kind: 'purchase', amount: 5500 })]));
  });

  it('a chargeback of the old account\'s purchase takes nothing from the new account, nor does a won dispute give any', async () => {
    const oldKey = (await api.newUser({ user_id: 'disputed-id' })).key!;
    const { payload, paymentIntent } = stripe.completedEvent(await buy(oldKey));
    expect((await deliver(payload)).body.outcome).toBe('granted');

    const newKey = await recreate('disputed-id');
    const before = await balanceOf(newKey);
    const id = `dp_${randomBytes(12).toString('hex')}`;
    const withdrawn = await deliver(stripe.disputeEvent('charge.dispute.funds_withdrawn', paymentIntent, 'needs_response', id));
    expect(withdrawn.status).toBe(200);
    expect(withdrawn.body.outcome).toMatch(/^ignored: .*earlier account/);
    expect(await balanceOf(newKey)).toBe(before);
    const reinstated = await deliver(stripe.disputeEvent('charge.dispute.funds_reinstated', paymentIntent, 'won', id));
    expect(reinstated.status).toBe(200);
    expect(reinstated.body.outcome).toMatch(/^ignored: .*earlier account/);
    expect(await balanceOf(newKey)).toBe(before);
  });

  it('a Checkout Session the old account opened, paid after the re-creation, grants the new account nothing', async () => {
    const oldKey = (await api.newUser({ user_id: 'late-payer' })).key!;
    const { payload } = stripe.completedEvent(await buy(oldKey));
    const newKey = await recreate('late-payer');
    const before = await balanceOf(newKey);
    const paid = await deliver(payload);
    expect(paid.status).toBe(200);
    expect(paid.body.outcome).toMatch(/^ignored: .*earlier account/);
    expect(await balanceOf(newKey)).toBe(before);
  });

  it('a refund delivered first of such a session grants nothing and takes nothing', async () => {
    const oldKey = (await api.newUser({ user_id: 'late-refund' })).key!;
    const { paymentIntent } = stripe.completedEvent(await buy(oldKey));
    const newKey = await recreate('late-refund');
    const before = await balanceOf(newKey);
    const refund = await deliver(stripe.refundEvent(paymentIntent, 5000, 5000));
    expect(refund.status).toBe(200);
    expect(refund.body.outcome).toMatch(/^ignored/);
    expect(await balanceOf(newKey)).toBe(before);
    const ledger = await api.ok<{ transactions: Array<{ kind: string }> }>('GET', '/api/v1/llm/credits/transactions?user_id=late-refund&limit=500');
    expect(ledger.transactions.filter((row) => row.kind === 'purchase' || row.kind === 'refund')).toEqual([]);
  });

  it('the new account\'s own purchase is granted, and its refund taken back, as before', async () => {
    await api.newUser({ user_id: 'own-buyer' });
    const newKey = await recreate('own-buyer');
    const before = await balanceOf(newKey);
    const { payload, paymentIntent } = stripe.completedEvent(await buy(newKey));
    expect((await deliver(payload)).body.outcome).toBe('granted');
    expect(await balanceOf(newKey)).toBe(before + 5500);
    expect((await deliver(stripe.refundEvent(paymentIntent, 5000, 2500))).body.outcome).toBe('deducted');
    expect(await balanceOf(newKey)).toBe(before + 2750);
  });
});
