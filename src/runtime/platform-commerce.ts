/**
 * The platform layer's money coming in: monthly allowances (granted lazily and by a sweep every
 * ten minutes, plus one when the database becomes ready) and Stripe purchases when
 * `platform.stripe` is configured.
 */
import type { Logger } from 'pino';
import { Allowances } from '../platform/allowances.js';
import type { PlatformSettings } from '../platform/settings.js';
import { StripePurchases } from '../platform/stripe-purchases.js';
import { databaseNotReady } from '../errors.js';
import type { CreditGrantRepository } from '../storage/repositories/credit-grants.js';

export const ALLOWANCE_SWEEP_INTERVAL_MS = 10 * 60_000;

export interface PlatformCommerce {
  allowances: Allowances;
  purchases: StripePurchases | undefined;
}

export function platformCommerce(settings: PlatformSettings, options: { sweep?: boolean; logger: Logger; store: () => CreditGrantRepository | undefined; invalidate: () => Promise<void> }): PlatformCommerce {
  const allowances = new Allowances({ settings, store: options.store, invalidate: options.invalidate, logger: options.logger });
  // Workers of `--workers N`: worker 1 alone sweeps (a grant is idempotent per month, but N sweeps are N times the reads).
  if (options.sweep !== false) allowances.startSweeping(ALLOWANCE_SWEEP_INTERVAL_MS);
  const purchases = settings.stripe
    ? new StripePurchases({
        settings: settings.stripe,
        grants: () => {
          const store = options.store();
          if (!store) throw databaseNotReady();
          return store;
        },
        invalidate: options.invalidate,
        logger: options.logger,
      })
    : undefined;
  if (allowances.enabled) options.logger.info({ tiers: [...settings.tiers.values()].filter((tier) => tier.monthlyMillicredits > 0).map((tier) => ({ tier: tier.name, monthlyCredits: tier.monthlyMillicredits / 1000, rollover: tier.rollover })) }, 'monthly credit allowances on');
  if (settings.stripe) options.logger.info({ packages: [...settings.stripe.packages.keys()], apiBase: settings.stripe.apiBase.origin }, 'buying credits through Stripe on');
  return { allowances, purchases };
}
