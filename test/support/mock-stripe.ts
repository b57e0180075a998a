/**
 * A local stand-in for Stripe's API, as the official `stripe` package talks to it: form-encoded
 * POST /v1/checkout/sessions (nested fields as `line_items[0][price_data][unit_amount]=1000`), a
 * Bearer secret key, and answers shaped like Stripe's Checkout Session object
 * (https://docs.stripe.com/api/checkout/sessions/object) or its error envelope
 * ({"error": {"type", "message", "param"}}). Webhook events are built the way Stripe sends them
 * (https://docs.stripe.com/api/events/object) and signed with the package's generateTestHeaderString.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import Stripe from 'stripe';
import { MockServer } from './mock-server.js';

export const STRIPE_SECRET_KEY = 'sk_test_switchboard_mock';
export const STRIPE_WEBHOOK_SECRET = 'whsec_switchboard_test_secret';

type Form = { [key: string]: string | Form };

/** `a[b][0][c]=1` pairs as nested objects (arrays stay objects keyed "0", "1", …). */
export function parseStripeForm(body: string): Form {
  const out: Form = {};
  for (const [key, value] of new URLSearchParams(body)) {
    const path = key.split(/\[|\]\[|\]/).filter((part) => part !== '');
    let node = out;
    for (const part of path.slice(0, -1)) node = (node[part] ??= {}) as Form;
    node[path[path.length - 1]] = value;
  }
  return out;
}

export interface RecordedStripeRequest {
  method: string;
  path: string;
  authorization: string | undefined;
  idempotencyKey: string | undefined;
  form: Form;
}

export class MockStripe extends MockServer {
  readonly requests: RecordedStripeRequest[] = [];
  readonly sessions = new Map<string, Stripe.Checkout.Session>();
  private readonly signer = new Stripe(STRIPE_SECRET_KEY);

  start(): Promise<string> {
    return this.listen();
  }

  protected async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    let body = '';
    for await (const chunk of request) body += chunk;
    const path = (request.url ?? '').split('?')[0];
    const form = parseStripeForm(body);
    this.requests.push({ method: request.method ?? '', path, authorization: request.headers.authorization, idempotencyKey: request.headers['idempotency-key'] as string | undefined, form });
    const send = (status: number, value: unknown) => {
      response.writeHead(status, { 'content-type': 'application/json', 'request-id': `req_${randomBytes(7).toString('hex')}` });
      response.end(JSON.stringify(value));
    };
    if (request.headers.authorization !== `Bearer ${STRIPE_SECRET_KEY}`) {
      send(401, { error: { type: 'invalid_request_error', message: 'Invalid API Key provided: ' + (request.headers.authorization ?? '').slice(7, 15) + '****' } });
      return;
    }
    if (request.method === 'POST' && path === '/v1/checkout/sessions') {
      const item = ((form.line_items as Form | undefined)?.['0'] ?? {}) as Form;
      const price = (item.price_data ?? {}) as Form;
      const amount = Number(price.unit_amount) * Number(item.quantity ?? 1);
      if (!price.currency || !Number.isInteger(amount) || !form.success_url) {
        send(400, { error: { type: 'invalid_request_error', message: 'Missing required param: line_items[0][price_data][currency].', param: 'line_items[0][price_data][currency]' } });
        return;
      }
      const id = `cs_test_${randomBytes(12).toString('hex')}`;
      const now = Math.floor(Date.now() / 1000);
      const session = {
        id,
        object: 'checkout.session',
        amount_subtotal: amount,
        amount_total: amount,
        cancel_url: form.cancel_url,
        client_reference_id: form.client_reference_id ?? null,
        created: now,
        currency: price.currency,
        customer: null,
        customer_email: null,
        expires_at: now + 86_400,
        livemode: false,
        metadata: (form.metadata as Record<string, string>) ?? {},
        mode: form.mode,
        payment_intent: null,
        payment_method_types: ['card'],
        payment_status: 'unpaid',
        status: 'open',
        success_url: form.success_url,
        ui_mode: 'hosted',
        url: `https://checkout.stripe.com/c/pay/${id}`,
      } as unknown as Stripe.Checkout.Session;
      this.sessions.set(id, session);
      send(200, session);
      return;
    }
    send(404, { error: { type: 'invalid_request_error', message: `Unrecognized request URL (${request.method}: ${path}).` } });
  }

  /** The event Stripe sends when the session's payment succeeds (payment_status "paid"). */
  completedEvent(sessionId: string, type = 'checkout.session.completed'): { payload: string; paymentIntent: string } {
    const session = this.sessions.get(sessionId);
    if (!session) throw new Error(`no session ${sessionId}`);
    const paymentIntent = `pi_${sessionId.slice(8, 32)}`;
    const completed = { ...session, status: 'complete', payment_status: 'paid', payment_intent: paymentIntent };
    return { payload: this.event(type, completed), paymentIntent };
  }

  /** charge.refunded for the payment of a session: `refunded` of `amount` (minor units) so far. */
  refundEvent(paymentIntent: string, amount: number, refunded: number): string {
    const charge = { id: `ch_${paymentIntent.slice(3)}`, object: 'charge', amount, amount_captured: amount, amount_refunded: refunded, currency: 'usd', paid: true, payment_intent: paymentIntent, refunded: refunded >= amount, status: 'succeeded', livemode: false, created: Math.floor(Date.now() / 1000) };
    return this.event('charge.refunded', charge);
  }

  event(type: string, object: unknown): string {
    return JSON.stringify({ id: `evt_${randomBytes(12).toString('hex')}`, object: 'event', api_version: '2025-11-17.clover', created: Math.floor(Date.now() / 1000), data: { object }, livemode: false, pending_webhooks: 1, request: { id: null, idempotency_key: null }, type });
  }

  /** The Stripe-Signature header for a payload (the package's own generateTestHeaderString). */
  sign(payload: string, options: { secret?: string; timestamp?: number } = {}): string {
    return this.signer.webhooks.generateTestHeaderString({ payload, secret: options.secret ?? STRIPE_WEBHOOK_SECRET, timestamp: options.timestamp });
  }
}
