/**
 * Buying credits with Stripe Checkout (the official `stripe` package). A user picks a configured
 * package; the gateway creates a Checkout Session for its fixed price, with the user and the
 * package's credits in the session's metadata. Stripe then calls the webhook: the signature is
 * verified against `webhook_secret` (a bad or stale one is refused and grants nothing), and a paid
 * `checkout.session.completed` (or `checkout.session.async_payment_succeeded`) grants the credits
 * the session was created for as a "purchase" ledger row — once per session, by the ledger's unique
 * reference, however often and on however many replicas the event arrives. `charge.refunded`
 * takes back the refunded share of what the payment granted. A chargeback does too:
 * `charge.dispute.funds_withdrawn` (Stripe took the disputed amount from the operator) takes back
 * the disputed share, and `charge.dispute.funds_reinstated` of a won dispute gives exactly that back
 * — once per dispute, and never, with the payment's refunds, more than the payment granted.
 * User ids are reused names: none of these moves the balance of a user created under the id after
 * the session was opened (or the purchase granted) — that is another account; the event is
 * acknowledged and logged, as one for a user that no longer exists.
 */
import type Stripe from 'stripe';
import type { Logger } from 'pino';
import { GatewayError } from '../errors.js';
import { EARLIER_ACCOUNT, type CreditGrantRepository, type PurchaseAccount } from '../storage/repositories/credit-grants.js';
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
  /** What the event did: "granted", "already granted", "deducted", "already deducted", "reinstated", "already reinstated", "nothing to …", "ignored: …". */
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

/** The ledger reference of a dispute's withdrawal: one per dispute (Stripe withdraws a dispute's funds once). */
const withdrawalReference = (dispute: Stripe.Dispute) => `stripe-dispute:${dispute.id}`;

/**
 * Which account opened the session: its user's created_at, from the metadata the gateway sets; for
 * a session opened before the gateway set it, the end of the second Stripe stamped it (`created` is
 * in whole seconds), so an account's own session opened in its first second is never taken for an
 * earlier account's.
 */
function sessionAccount(session: Stripe.Checkout.Session): PurchaseAccount | undefined {
  const createdAt = Number(session.metadata?.switchboard_user_created_at);
  if (session.metadata?.switchboard_user_created_at && Number.isSafeInteger(createdAt)) return { userCreatedAt: createdAt };
  return Number.isSafeInteger(session.created) ? { openedBy: session.created * 1000 + 999 } : undefined;
}

const idOf = (value: string | { id: string } | null | undefined): string | undefined => (typeof value === 'string' ? value : value?.id);

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

  /** Creates a Checkout Session for one package on behalf of the user (its id and its created_at: which account of the id). */
  async checkout(user: { userId: string; createdAt: number }, packageName: string): Promise<CheckoutAnswer> {
    const { userId } = user;
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
        metadata: { switchboard_user_id: userId, switchboard_user_created_at: String(user.createdAt), switchboard_package: item.name, switchboard_millicredits: String(item.millicredits) },
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
    if (event.type === 'charge.refunded') return { received: true, type: event.type, outcome: await this.refunded(event.data.object) };
    if (event.type === 'charge.dispute.funds_withdrawn') return { received: true, type: event.type, outcome: await this.disputeWithdrawn(event.data.object) };
    if (event.type === 'charge.dispute.funds_reinstated') return { received: true, type: event.type, outcome: await this.disputeReinstated(event.data.object) };
    this.options.logger.info({ type: event.type, event: event.id }, 'Stripe webhook event not handled (only checkout.session.completed, checkout.session.async_payment_succeeded, charge.refunded, charge.dispute.funds_withdrawn and charge.dispute.funds_reinstated are)');
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
    const result = await this.options.grants().grantPurchase(userId, millicredits, `stripe:${session.id}`, paymentIntent, description, sessionAccount(session));
    if (result === undefined) {
      this.options.logger.error({ session: session.id, user: userId }, 'a paid Checkout Session names a user that no longer exists: no credits granted');
      return 'ignored: the user no longer exists';
    }
    if (result === EARLIER_ACCOUNT) {
      this.options.logger.error({ session: session.id, user: userId }, 'a paid Checkout Session was opened by an earlier (deleted) user of this id: no credits granted to the user now holding it');
      return 'ignored: the session was opened by an earlier account of this user id (deleted since)';
    }
    if (result === 'already') return 'already granted';
    this.options.logger.info({ event: 'credits.purchase', user: userId, session: session.id, credits: millicredits / 1000 }, 'credits purchased');
    await this.options.invalidate();
    return 'granted';
  }

  private async refunded(charge: Stripe.Charge): Promise<string> {
    const paymentIntent = idOf(charge.payment_intent);
    if (!paymentIntent || charge.amount <= 0) return 'ignored: the charge has no payment intent';
    const deduct = () => this.options.grants().deductRefund(paymentIntent, charge.amount_refunded / charge.amount, `stripe-refund:${charge.id}:${charge.amount_refunded}`);
    let result = await deduct();
    // Stripe does not order events: a refund may arrive before the purchase it takes back. Answered
    // "ignored", it would never come again, and the later grant would keep the refunded credits.
    if (result === undefined && (await this.grantUnrecordedPurchase(paymentIntent, 'refunded'))) result = await deduct();
    if (result === EARLIER_ACCOUNT) return this.earlierAccount(paymentIntent, 'refund', charge.id);
    if (result === undefined) return 'ignored: no purchase of this payment is on record';
    if (result === 'already') return 'already deducted';
    if (result === 'nothing') return 'already deducted (by earlier refunds or a dispute of this payment)';
    this.options.logger.warn({ event: 'credits.refund', user: result.userId, paymentIntent, credits: result.row.amount_millicredits / 1000, balance: result.row.balance_after_millicredits / 1000 }, 'Stripe refund: credits taken back');
    await this.options.invalidate();
    return 'deducted';
  }

  /**
   * Stripe withdrew a dispute's funds from the operator: the disputed share of what the payment
   * granted is taken back (the balance may go below zero, as with a refund). The share is the
   * disputed amount over the charge's, of what is not refunded — the charge is read at Stripe for
   * both (the Dispute names only its id) — so a dispute of a partly refunded payment never takes
   * the refunded part a second time.
   */
  private async disputeWithdrawn(dispute: Stripe.Dispute): Promise<string> {
    const paymentIntent = idOf(dispute.payment_intent);
    if (!paymentIntent) return 'ignored: the disputed charge has no payment intent';
    if (dispute.amount <= 0) return 'ignored: nothing is disputed';
    const charge = await this.chargeOf(dispute);
    if (charge.amount <= 0) return 'ignored: the disputed charge has no amount';
    const disputed = Math.min(dispute.amount, charge.amount - charge.amount_refunded);
    const deduct = () => this.options.grants().deductDispute(paymentIntent, disputed / charge.amount, withdrawalReference(dispute), dispute.id);
    let result = await deduct();
    // As with a refund: a dispute may arrive before the purchase it takes back is granted.
    if (result === undefined && (await this.grantUnrecordedPurchase(paymentIntent, 'disputed'))) result = await deduct();
    if (result === EARLIER_ACCOUNT) return this.earlierAccount(paymentIntent, 'dispute withdrawal', dispute.id);
    if (result === undefined) return 'ignored: no purchase of this payment is on record';
    if (result === 'already') return 'already deducted';
    if (result === 'nothing') {
      this.options.logger.info({ paymentIntent, dispute: dispute.id, amount: dispute.amount }, 'Stripe dispute: funds withdrawn, but refunds of the payment already took back what it granted');
      return 'nothing to deduct: refunds of this payment already took back what it granted';
    }
    this.options.logger.warn(
      { event: 'credits.dispute', user: result.userId, paymentIntent, dispute: dispute.id, status: dispute.status, credits: result.row.amount_millicredits / 1000, balance: result.row.balance_after_millicredits / 1000 },
      'Stripe dispute: funds withdrawn, credits taken back',
    );
    await this.options.invalidate();
    return 'deducted';
  }

  /**
   * Stripe gave a dispute's funds back. A won dispute gives back what its withdrawal took (less what
   * the payment's refunds must keep taken). A dispute still lost gets funds back only for the part
   * of a partly refunded payment that Stripe withdrew twice ("partially won"): those credits the
   * refund took back already, so nothing is given. A reinstatement delivered before its withdrawal
   * records the withdrawal first, so the late withdrawal finds it done.
   */
  private async disputeReinstated(dispute: Stripe.Dispute): Promise<string> {
    const paymentIntent = idOf(dispute.payment_intent);
    if (!paymentIntent) return 'ignored: the disputed charge has no payment intent';
    if (dispute.status !== 'won') {
      this.options.logger.warn({ paymentIntent, dispute: dispute.id, status: dispute.status, amount: dispute.amount }, 'Stripe reinstated funds of a dispute that is not won (the refunded part of a partly refunded payment): no credits given back');
      return `ignored: the dispute is "${dispute.status}": the funds Stripe returned are the refunded part of the payment, whose credits the refund took back`;
    }
    const charge = await this.chargeOf(dispute);
    if (charge.amount <= 0) return 'ignored: the disputed charge has no amount';
    const reinstate = () => this.options.grants().reinstateDispute(paymentIntent, withdrawalReference(dispute), charge.amount_refunded / charge.amount, `stripe-dispute-reinstated:${dispute.id}`, dispute.id);
    let result = await reinstate();
    if (result === 'unwithdrawn' || result === undefined) {
      const withdrawn = await this.disputeWithdrawn(dispute);
      if (withdrawn.startsWith('ignored')) return withdrawn;
      result = await reinstate();
    }
    if (result === EARLIER_ACCOUNT) return this.earlierAccount(paymentIntent, 'dispute reinstatement', dispute.id);
    if (result === undefined) return 'ignored: no purchase of this payment is on record';
    if (result === 'already') return 'already reinstated';
    if (result === 'unwithdrawn' || result === 'nothing') {
      this.options.logger.info({ paymentIntent, dispute: dispute.id, amount: dispute.amount }, 'Stripe dispute won, but what it took back stays taken by refunds of the payment: no credits given back');
      return 'nothing to reinstate: the dispute took no credits that refunds of this payment do not keep taken';
    }
    this.options.logger.info(
      { event: 'credits.dispute_won', user: result.userId, paymentIntent, dispute: dispute.id, credits: result.row.amount_millicredits / 1000, balance: result.row.balance_after_millicredits / 1000 },
      'Stripe dispute won: funds reinstated, credits given back',
    );
    await this.options.invalidate();
    return 'reinstated';
  }

  /** A refund or dispute of a deleted account's purchase: acknowledged and logged, the user now holding the id keeps its balance. */
  private earlierAccount(paymentIntent: string, what: string, id: string): string {
    this.options.logger.error({ paymentIntent, [what === 'refund' ? 'charge' : 'dispute']: id }, `Stripe ${what} of a purchase by an earlier (deleted) user of this id: no credits moved for the user now holding it`);
    return 'ignored: the purchase was made by an earlier account of this user id (deleted since)';
  }

  /** The disputed charge as Stripe has it now (amount, amount refunded). */
  private async chargeOf(dispute: Stripe.Dispute): Promise<Stripe.Charge> {
    if (typeof dispute.charge !== 'string') return dispute.charge;
    const client = await this.client;
    try {
      return await client.charges.retrieve(dispute.charge);
    } catch (error) {
      // Not acknowledged: Stripe delivers the dispute event again later.
      throw new GatewayError('upstream_error', `could not read the disputed charge ${dispute.charge} at Stripe: ${(error as Error).message}`);
    }
  }

  /** Grants the paid Checkout Session of a refunded or disputed payment not granted yet (looked up at Stripe); true when it is granted now. */
  private async grantUnrecordedPurchase(paymentIntent: string, what: 'refunded' | 'disputed'): Promise<boolean> {
    const client = await this.client;
    let sessions: Stripe.ApiList<Stripe.Checkout.Session>;
    try {
      sessions = await client.checkout.sessions.list({ payment_intent: paymentIntent, limit: 1 });
    } catch (error) {
      // Not acknowledged: Stripe delivers the event again later.
      throw new GatewayError('upstream_error', `could not look up the Checkout Session of ${what} payment ${paymentIntent} at Stripe: ${(error as Error).message}`);
    }
    const session = sessions.data[0];
    if (!session) return false;
    const outcome = await this.sessionPaid(session);
    return outcome === 'granted' || outcome === 'already granted';
  }
}
