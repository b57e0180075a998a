/**
 * Buying credits with Stripe Checkout (the official `stripe` package). A user picks a configured
 * package; the gateway creates a Checkout Session for its fixed price, with the user and the
 * package's credits in the session's metadata. Stripe then calls the webhook: the signature is
 * verified against `webhook_secret` (a bad or stale one is refused and grants nothing), and a paid
 * `checkout.session.completed` (or `checkout.session.async_payment_succeeded`) grants the credits
 * the session was created for as a "purchase" ledger row — once per session, by the ledger's unique
 * reference, however often and on however many replicas the event arrives. `charge.refunded`
 * takes back the refunded share of what the payment granted.
 */
import type Stripe from 'stripe';
import type { Logger } from 'pino';
import { GatewayError } from '../errors.js';
import type { CreditGrantRepository } from '../storage/repositories/credit-grants.js';
import type { StripeSettings } from './stripe-settings.js';

/** The Checkout Session to send the buyer to (views.ts CreditPurchaseAnswer). */
export interface CheckoutAnswer {
  id: string;
  url: string | null;
  package: string;
  credits: number;
  /** The price in the currency's minor unit. */
  amount: number;
  currency: string;
}

/** A package on offer (views.ts CreditPackageView). */
export interface PackageView {
  name: string;
  credits: number;
  price: number;
  currency: string;
  description: string;
}

export interface WebhookAnswer {
  received: true;
  type: string;
  /** What the event did: "granted", "already granted", "deducted", "ignored: …". */
  outcome: string;
}

export interface StripePurchaseOptions {
  settings: StripeSettings;
  grants: () => CreditGrantRepository;
  /** Drops cached user records everywhere after a balance change. */
  invalidate: () => Promise<void>;
  logger: Logger;
}

const SESSION_EVENTS = new Set(['checkout.session.completed', 'checkout.session.async_payment_succeeded']);

export class StripePurchases {
  /** The package takes about a second to load: loaded in the background, only when Stripe is configured. */
  private readonly client: Promise<Stripe>;

  constructor(private readonly options: StripePurchaseOptions) {
    const base = options.settings.apiBase;
    const protocol = base.protocol === 'http:' ? 'http' : 'https';
    this.client = import('stripe').then(
      ({ default: StripeClient }) =>
        new StripeClient(options.settings.secretKey, {
          host: base.hostname,
          port: base.port || (protocol === 'http' ? 80 : 443),
          protocol,
          maxNetworkRetries: 1,
          timeout: 20_000,
          telemetry: false,
        }),
    );
    this.client.catch((error: Error) => options.logger.error({ err: error.message }, 'could not load the stripe package: buying credits fails until it is installed'));
  }

  get packages(): PackageView[] {
    return [...this.options.settings.packages.values()].map((item) => ({ name: item.name, credits: item.millicredits / 1000, price: item.unitAmount, currency: this.options.settings.currency, description: item.description }));
  }

  /** Creates a Checkout Session for one package on behalf of `userId`. */
  async checkout(userId: string, packageName: string): Promise<CheckoutAnswer> {
    const { settings } = this.options;
    const item = settings.packages.get(packageName);
    if (!item) throw new GatewayError('invalid_request', `package: no package "${packageName}"; choose one of ${[...settings.packages.keys()].join(', ')}`, { param: 'package' });
    const client = await this.client;
    let session: Stripe.Checkout.Session;
    try {
      session = await client.checkout.sessions.create({
        mode: 'payment',
        client_reference_id: userId,
        line_items: [{ quantity: 1, price_data: { currency: settings.currency, unit_amount: item.unitAmount, product_data: { name: item.description } } }],
        metadata: { switchboard_user_id: userId, switchboard_package: item.name, switchboard_millicredits: String(item.millicredits) },
        payment_intent_data: { metadata: { switchboard_user_id: userId, switchboard_package: item.name } },
        success_url: settings.successUrl,
        cancel_url: settings.cancelUrl,
      });
    } catch (error) {
      const message = (error as Error).message;
      this.options.logger.error({ err: message, user: userId, package: item.name }, 'Stripe refused to create a Checkout Session');
      throw new GatewayError('upstream_error', `Stripe did not create the checkout: ${message}`);
    }
    return { id: session.id, url: session.url, package: item.name, credits: item.millicredits / 1000, amount: item.unitAmount, currency: settings.currency };
  }

  /** Verifies and applies one webhook delivery; throws 400 on a bad or stale signature. */
  async webhook(rawBody: string, signature: string | undefined): Promise<WebhookAnswer> {
    if (!signature) throw new GatewayError('invalid_request', 'missing the Stripe-Signature header: only Stripe\'s signed webhook deliveries are accepted');
    const client = await this.client;
    let event: Stripe.Event;
    try {
      event = client.webhooks.constructEvent(rawBody, signature, this.options.settings.webhookSecret, this.options.settings.toleranceSeconds);
    } catch (error) {
      this.options.logger.warn({ err: (error as Error).message }, 'refused a Stripe webhook with a bad or stale signature');
      throw new GatewayError('invalid_request', `the Stripe-Signature header does not verify: ${(error as Error).message}`);
    }
    if (SESSION_EVENTS.has(event.type)) return { received: true, type: event.type, outcome: await this.sessionPaid(event.data.object as Stripe.Checkout.Session) };
    if (event.type === 'charge.refunded') return { received: true, type: event.type, outcome: await this.refunded(event.data.object as Stripe.Charge) };
    this.options.logger.info({ type: event.type, event: event.id }, 'Stripe webhook event not handled (only checkout.session.completed, checkout.session.async_payment_succeeded and charge.refunded are)');
    return { received: true, type: event.type, outcome: 'ignored: this event type changes no credits' };
  }

  private async sessionPaid(session: Stripe.Checkout.Session): Promise<string> {
    if (session.payment_status !== 'paid') return `ignored: payment_status is "${session.payment_status}" (credits are granted once it is paid)`;
    const userId = session.metadata?.switchboard_user_id;
    const millicredits = Number(session.metadata?.switchboard_millicredits);
    if (!userId || !Number.isSafeInteger(millicredits) || millicredits <= 0) {
      this.options.logger.warn({ session: session.id }, 'a paid Checkout Session without this gateway\'s metadata: no credits granted');
      return 'ignored: not a session this gateway created';
    }
    const paymentIntent = typeof session.payment_intent === 'string' ? session.payment_intent : (session.payment_intent?.id ?? null);
    const description = `Stripe purchase: package "${session.metadata?.switchboard_package ?? '?'}" (${session.id})`;
    const result = await this.options.grants().grantPurchase(userId, millicredits, `stripe:${session.id}`, paymentIntent, description);
    if (result === undefined) {
      this.options.logger.error({ session: session.id, user: userId }, 'a paid Checkout Session names a user that no longer exists: no credits granted');
      return 'ignored: the user no longer exists';
    }
    if (result === 'already') return 'already granted';
    this.options.logger.info({ event: 'credits.purchase', user: userId, session: session.id, credits: millicredits / 1000 }, 'credits purchased');
    await this.options.invalidate();
    return 'granted';
  }

  private async refunded(charge: Stripe.Charge): Promise<string> {
    const paymentIntent = typeof charge.payment_intent === 'string' ? charge.payment_intent : charge.payment_intent?.id;
    if (!paymentIntent || charge.amount <= 0) return 'ignored: the charge has no payment intent';
    const deduct = () => this.options.grants().deductRefund(paymentIntent, charge.amount_refunded / charge.amount, `stripe-refund:${charge.id}:${charge.amount_refunded}`);
    let result = await deduct();
    // Stripe does not order events: a refund may arrive before the purchase it takes back. Answered
    // "ignored", it would never come again, and the later grant would keep the refunded credits.
    if (result === undefined && (await this.grantBeforeRefund(paymentIntent))) result = await deduct();
    if (result === undefined) return 'ignored: no purchase of this payment is on record';
    if (result === 'already' || result === 'nothing') return 'already deducted';
    this.options.logger.warn({ event: 'credits.refund', user: result.userId, paymentIntent, credits: result.row.amount_millicredits / 1000, balance: result.row.balance_after_millicredits / 1000 }, 'Stripe refund: credits taken back');
    await this.options.invalidate();
    return 'deducted';
  }

  /** Grants the paid Checkout Session of a refunded payment not granted yet (looked up at Stripe); true when it is granted now. */
  private async grantBeforeRefund(paymentIntent: string): Promise<boolean> {
    const client = await this.client;
    let sessions: Stripe.ApiList<Stripe.Checkout.Session>;
    try {
      sessions = await client.checkout.sessions.list({ payment_intent: paymentIntent, limit: 1 });
    } catch (error) {
      // Not acknowledged: Stripe delivers the refund again later.
      throw new GatewayError('upstream_error', `could not look up the Checkout Session of refunded payment ${paymentIntent} at Stripe: ${(error as Error).message}`);
    }
    const session = sessions.data[0];
    if (!session) return false;
    const outcome = await this.sessionPaid(session);
    return outcome === 'granted' || outcome === 'already granted';
  }
}
