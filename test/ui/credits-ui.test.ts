/// <reference lib="dom" />
/**
 * The Credits page in a real browser, signed in with a user's own key: the tier's monthly
 * allowance and its ledger entry, "Buy credits" (shown because platform.stripe is configured)
 * sending the browser to the Checkout Session the gateway created, and — once Stripe's signed
 * webhook arrives — the purchase in the ledger, filterable by kind.
 */
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumOrSkip } from '../support/browser.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { Management, pricedConfig } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';
import { MockStripe, STRIPE_SECRET_KEY, STRIPE_WEBHOOK_SECRET } from '../support/mock-stripe.js';

const chromiumPath = chromiumOrSkip('credits UI browser');

describe.skipIf(!chromiumPath)('Credits page in a real browser', () => {
  const upstream = new MockOpenAI({ promptTokens: 12, completionTokens: 5 });
  const stripe = new MockStripe();
  let gateway: TestGateway;
  let browser: Browser;
  let page: Page;
  let userKey = '';
  const consoleErrors: string[] = [];

  beforeAll(async () => {
    await upstream.start();
    await stripe.start();
    const platform = `platform:
  credits_per_usd: 1000
  tiers:
    starter: {markup: 0.4, monthly_credits: 250}
  stripe:
    secret_key: ${STRIPE_SECRET_KEY}
    webhook_secret: ${STRIPE_WEBHOOK_SECRET}
    packages:
      small: {credits: 1000, price: 10.00}
    success_url: https://app.example/credits?paid=1
    cancel_url: https://app.example/credits
    api_base: ${stripe.url}
`;
    gateway = await startGateway(pricedConfig(upstream.url, platform));
    userKey = (await new Management(gateway.url).newUser({ user_id: 'ui-buyer', tier: 'starter' })).key!;
    browser = await chromium.launch({ executablePath: chromiumPath!, args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'] });
    page = await (await browser.newContext({ viewport: { width: 1366, height: 860 }, reducedMotion: 'reduce' })).newPage();
    // Failed loads are checked by URL below (the browser's console line for them names none).
    page.on('console', (message) => {
      if (message.type() === 'error' && !message.text().startsWith('Failed to load resource')) consoleErrors.push(message.text());
    });
    page.on('response', (response) => {
      // Signing in probes /user/list first, which a user's key may not call (403): the UI then reads /key/info.
      if (response.status() >= 400 && !(response.status() === 403 && new URL(response.url()).pathname === '/user/list')) consoleErrors.push(`${response.status()} ${response.url()}`);
    });
    page.on('pageerror', (error) => consoleErrors.push(`uncaught: ${error.message}`));
    // Stripe's hosted payment page stands in as a blank page: the test only checks the browser got there.
    await page.route('https://checkout.stripe.com/**', (route) => route.fulfill({ status: 200, contentType: 'text/html', body: '<title>Stripe Checkout</title><h1>Pay</h1>' }));
  });

  afterAll(async () => {
    await browser?.close();
    await gateway?.close();
    await stripe.close();
    await upstream.close();
  });

  async function openCredits(): Promise<void> {
    await page.goto(`${gateway.url}/ui/credits`);
    await expect.poll(() => page.getByRole('heading', { level: 1, name: 'Credits' }).isVisible()).toBe(true);
    await page.waitForFunction(() => !document.querySelector('.state-loading, .spinner'), undefined, { timeout: 10_000 });
  }

  it('signed in with a user key, shows the monthly allowance and its ledger entry', async () => {
    await page.goto(`${gateway.url}/ui/`);
    const field = page.getByLabel('API key');
    await field.fill(userKey);
    await field.press('Enter');
    await expect.poll(() => page.getByRole('navigation', { name: 'Main' }).isVisible()).toBe(true);
    await openCredits();
    await expect.poll(() => page.getByText('Monthly allowance', { exact: true }).first().isVisible()).toBe(true);
    await expect.poll(() => page.locator('.stats').textContent()).toContain('unused ones expire at month end');
    // Opening the page started the month's grant; the ledger shows it once stored.
    await expect
      .poll(async () => {
        await page.reload();
        return page.getByRole('table', { name: 'Credit ledger' }).textContent().catch(() => '');
      }, { timeout: 5_000 })
      .toContain('Monthly allowance');
    expect(await page.getByRole('table', { name: 'Credit ledger' }).textContent()).toContain('+250');
  });

  it('"Buy credits" opens the Stripe Checkout Session the gateway created for the package', async () => {
    await openCredits();
    const buy = page.getByRole('button', { name: /Buy 1,?000 credits — \$10\.00/ });
    await expect.poll(() => buy.isVisible()).toBe(true);
    await buy.click();
    await page.waitForURL(/https:\/\/checkout\.stripe\.com\/c\/pay\/cs_test_/);
    const sessionId = page.url().split('/').pop()!;
    expect(stripe.sessions.get(sessionId)?.metadata).toMatchObject({ switchboard_user_id: 'ui-buyer', switchboard_package: 'small' });

    // Stripe confirms the payment: the signed webhook grants the credits; the ledger shows the purchase.
    const { payload } = stripe.completedEvent(sessionId);
    const delivered = await fetch(`${gateway.url}/api/v1/llm/stripe/webhook`, { method: 'POST', headers: { 'content-type': 'application/json', 'stripe-signature': stripe.sign(payload) }, body: payload });
    expect(delivered.status).toBe(200);
    await openCredits();
    await page.getByLabel('Show').selectOption('purchase');
    await expect.poll(() => page.getByRole('table', { name: 'Credit ledger' }).textContent()).toContain('Stripe purchase: package "small"');
    const ledger = (await page.getByRole('table', { name: 'Credit ledger' }).textContent())!;
    expect(ledger).toContain('+1,000');
    expect(ledger).not.toContain('Monthly allowance');
    await expect.poll(() => page.locator('.stats').textContent()).toContain('1,250');
    expect(consoleErrors, consoleErrors.join("\n")).toEqual([]);
  });
});
