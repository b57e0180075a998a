/**
 * Stripe does not deliver events in order. A `charge.refunded` that arrives before the
 * `checkout.session.completed` of the same payment (say, the completed event failed to deliver and
 * is retried an hour later, after the buyer was refunded) must still take the credits back: it is
 * never acknowledged as "nothing to deduct" while the purchase it refunds is granted afterwards in
 * full. The gateway looks the payment's Checkout Session up at Stripe, grants it, then deducts.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { Management, pricedConfig } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';
import { MockStripe, STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET } from '../support/mock-stripe.js';

/** MockStripe plus Stripe's list of Checkout Sessions filtered by payment intent (as paid sessions). */
class ListingStripe extends MockStripe {
  protected override async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const url = new URL(request.url ?? '/', 'http://stripe.local');
    if (request.method === 'GET' && url.pathname === '/v1/checkout/sessions') {
      const paymentIntent = url.searchParams.get('payment_intent');
      const data = [...this.sessions.keys()]
        .map((id) => JSON.parse(this.completedEvent(id).payload).data.object as { payment_intent: string })
        .filter((session) => session.payment_intent === paymentIntent);
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ object: 'list', url: '/v1/checkout/sessions', has_more: false, data }));
      return;
    }
    return super.handle(request, response);
  }
}

const upstream = new MockOpenAI({ promptTokens: 12, completionTokens: 5 });
const stripe = new ListingStripe();
let gateway: TestGateway;
let api: Management;

async function deliver(payload: string) {
  const response = await fetch(`${gateway.url}/api/v1/llm/stripe/webhook`, { method: 'POST', headers: { 'content-type': 'application/json', 'stripe-signature': stripe.sign(payload) }, body: payload });
  return { status: response.status, body: (await response.json()) as { outcome?: string } };
}

async function balanceOf(userId: string): Promise<number> {
  return (await gateway.runtime.credits()!.balance(userId))!.balance;
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

describe('a refund delivered before the purchase it refunds', () => {
  it('takes the credits back: the purchase granted afterwards does not keep them', async () => {
    const user = await api.newUser({ user_id: 'early-refund' });
    const session = await api.ok<{ id: string }>('POST', '/api/v1/llm/credits/purchase', { package: 'large' }, user.key);
    const { payload: completed, paymentIntent } = stripe.completedEvent(session.id);

    const refund = await deliver(stripe.refundEvent(paymentIntent, 5000, 5000));
    expect(refund.status).toBe(200);
    expect(refund.body.outcome).not.toMatch(/^ignored/);

    // The completed event, delivered late (a retry): it grants nothing more.
    const late = await deliver(completed);
    expect(late.status).toBe(200);
    expect(await balanceOf('early-refund')).toBe(0);
    const ledger = await gateway.runtime.credits()!.list('early-refund', 100, 0);
    expect(ledger.items.map((row) => row.kind).sort()).toEqual(['purchase', 'refund']);
  });

  it('a refund of a payment this gateway never sold is still acknowledged and changes nothing', async () => {
    const refund = await deliver(stripe.refundEvent('pi_not_ours_at_all', 1000, 1000));
    expect(refund).toEqual({ status: 200, body: expect.objectContaining({ outcome: 'ignored: no purchase of this payment is on record' }) });
  });
});
