/**
 * `platform.stripe`: selling credits through Stripe Checkout. Packages are fixed server-side (a
 * name, its credits and its price); a buyer only picks a package by name, so nothing the client
 * sends changes what credits cost. Prices are in the currency's major unit (10.00 USD) and sent to
 * Stripe in its minor unit (1000 cents; zero-decimal currencies such as JPY as they are).
 */
import { z } from 'zod';

/** Stripe's zero-decimal currencies (https://docs.stripe.com/currencies#zero-decimal). */
const ZERO_DECIMAL = new Set(['bif', 'clp', 'djf', 'gnf', 'jpy', 'kmf', 'krw', 'mga', 'pyg', 'rwf', 'ugx', 'vnd', 'vuv', 'xaf', 'xof', 'xpf']);

const packageSchema = z
  .object({
    credits: z.number({ required_error: 'is required: the credits the package grants' }).positive('must be above zero'),
    price: z.number({ required_error: 'is required: the price in the currency\'s major unit (10.00)' }).positive('must be above zero'),
    /** Shown on the Checkout page; the package's key when absent. */
    description: z.string().min(1).max(200).optional(),
  })
  .strict();

const url = z.string().url('expected an absolute URL');

export const stripeSchema = z
  .object({
    secret_key: z.string({ required_error: 'is required (sk_live_… or sk_test_…; os.environ/STRIPE_SECRET_KEY works)' }).min(1),
    webhook_secret: z.string({ required_error: 'is required (whsec_…, from the webhook endpoint in Stripe\'s dashboard)' }).min(1),
    currency: z.string().regex(/^[a-zA-Z]{3}$/, 'expected a three-letter ISO currency code').default('usd'),
    packages: z.record(z.string().regex(/^[A-Za-z0-9_.-]{1,64}$/, 'package names are letters, digits, "_", "-", "."'), packageSchema).refine((packages) => Object.keys(packages).length > 0, 'name at least one package'),
    success_url: url,
    cancel_url: url,
    /** Stripe's API by default; another base (a local mock) for tests. */
    api_base: url.default('https://api.stripe.com'),
    /** Seconds a webhook signature stays valid (Stripe's default: 300). */
    webhook_tolerance_seconds: z.number().int().positive().default(300),
  })
  .strict();

export interface CreditPackage {
  name: string;
  millicredits: number;
  /** The price in the currency's minor unit, as Stripe takes it. */
  unitAmount: number;
  description: string;
}

export interface StripeSettings {
  secretKey: string;
  webhookSecret: string;
  currency: string;
  packages: Map<string, CreditPackage>;
  successUrl: string;
  cancelUrl: string;
  apiBase: URL;
  toleranceSeconds: number;
}

export function stripeSettingsFrom(config: z.infer<typeof stripeSchema> | undefined): StripeSettings | undefined {
  if (!config) return undefined;
  const currency = config.currency.toLowerCase();
  const minorUnits = ZERO_DECIMAL.has(currency) ? 1 : 100;
  const packages = new Map<string, CreditPackage>();
  for (const [name, item] of Object.entries(config.packages)) {
    packages.set(name, { name, millicredits: Math.round(item.credits * 1000), unitAmount: Math.round(item.price * minorUnits), description: item.description ?? `${item.credits} credits` });
  }
  return {
    secretKey: config.secret_key,
    webhookSecret: config.webhook_secret,
    currency,
    packages,
    successUrl: config.success_url,
    cancelUrl: config.cancel_url,
    apiBase: new URL(config.api_base),
    toleranceSeconds: config.webhook_tolerance_seconds,
  };
}
