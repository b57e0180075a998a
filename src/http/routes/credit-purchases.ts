/**
 * Buying credits: the packages on offer, a Checkout Session for one of them (with the user's own
 * key: credits are bought for the key's user), and the webhook Stripe calls when a payment
 * completes, is refunded or is disputed. The webhook is public — Stripe holds no gateway key — and
 * trusts only the Stripe-Signature header, verified over the raw body, so its route reads the body
 * as text.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import { callerWith } from '../../auth/permissions.js';
import { GatewayError } from '../../errors.js';
import type { StripePurchases } from '../../platform/stripe-purchases.js';
import { parseInput } from '../../parse-input.js';

const PREFIX = '/api/v1/llm';

const purchaseBody = z.object({ package: z.string({ required_error: 'is required: the package to buy (GET /api/v1/llm/credits/packages lists them)' }).min(1).max(64) }).strict();

export function registerCreditPurchaseRoutes(app: FastifyInstance, purchases: StripePurchases | undefined): void {
  const requireStripe = (): StripePurchases => {
    if (!purchases) throw new GatewayError('not_found', 'buying credits is off on this gateway: configure "platform.stripe" to turn it on');
    return purchases;
  };

  app.get(`${PREFIX}/credits/packages`, async (request) => {
    callerWith(request, 'llm.read');
    return { stripe: purchases !== undefined, packages: purchases?.packages ?? [] };
  });

  app.post(`${PREFIX}/credits/purchase`, async (request) => {
    const stripe = requireStripe();
    const caller = callerWith(request, 'llm.execute');
    const user = caller.principal?.user;
    if (!user) throw new GatewayError('invalid_request', 'credits are bought with the buying user\'s own key (a key created for a user): this key belongs to no user', { param: 'package' });
    const body = parseInput(purchaseBody, request.body);
    return stripe.checkout(user, body.package);
  });

  // The raw body, exactly as Stripe signed it: this scope reads every content type as text.
  void app.register(async (scope) => {
    scope.removeAllContentTypeParsers();
    scope.addContentTypeParser('*', { parseAs: 'string' }, (_request, body, done) => done(null, body));
    scope.post(`${PREFIX}/stripe/webhook`, { config: { public: true } }, async (request) => {
      const stripe = requireStripe();
      const signature = request.headers['stripe-signature'];
      return stripe.webhook(typeof request.body === 'string' ? request.body : '', typeof signature === 'string' ? signature : undefined);
    });
  });
}
