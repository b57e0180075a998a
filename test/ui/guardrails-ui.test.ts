/// <reference lib="dom" />
/**
 * Guardrails in the admin UI (real browser, a whole gateway, a mock OpenAI upstream): the Guardrails
 * page lists the two configured guardrails (name, type, modes, default on) and never their word
 * lists; a call whose e-mail addresses a PII guardrail masked and a call a content filter blocked
 * each show, in the Logs page's row detail, which guardrails ran and what each did.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import OpenAI, { BadRequestError } from 'openai';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultUiDirectory } from '../../src/http/routes/ui.js';
import { chromiumOrSkip } from '../support/browser.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { MockOpenAI } from '../support/mock-openai.js';

const chromiumPath = chromiumOrSkip('guardrails UI browser');
const SHOTS = join(process.cwd(), 'test-results', 'ui');

const config = (apiBase: string) => `
model_list:
  - model_name: gpt
    litellm_params: {model: openai/gpt-4o-mini, api_base: "${apiBase}", api_key: sk-upstream-test}
    model_info: {input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}
guardrails:
  - guardrail_name: pii-mask
    litellm_params:
      guardrail: pii
      mode: pre_call
      default_on: true
      pii_entities_config: {EMAIL_ADDRESS: mask, CREDIT_CARD: block}
  - guardrail_name: no-secrets
    litellm_params:
      guardrail: content_filter
      mode: [pre_call, post_call]
      blocked_words: [zanzibar-secret]
general_settings:
  master_key: ${MASTER_KEY}
`;

describe.skipIf(!chromiumPath)('guardrails in the admin UI', () => {
  const mock = new MockOpenAI();
  let gateway: TestGateway;
  let browser: Browser;
  let page: Page;
  const consoleErrors: string[] = [];
  let maskedCallId = '';
  let blockedCallId = '';

  beforeAll(async () => {
    if (!existsSync(join(defaultUiDirectory(), 'index.html'))) throw new Error('the UI is not built: run npm run build:ui');
    mkdirSync(SHOTS, { recursive: true });
    gateway = await startGateway(config(await mock.start()));
    browser = await chromium.launch({ executablePath: chromiumPath!, args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'] });
    page = await (await browser.newContext({ viewport: { width: 1366, height: 860 }, reducedMotion: 'reduce' })).newPage();
    page.on('console', (message) => {
      // The blocked call's 400 is not the page's: only the page's own errors count.
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    page.on('pageerror', (error) => consoleErrors.push(`uncaught: ${error.message}`));
  });

  afterAll(async () => {
    await browser?.close();
    await gateway?.close();
    await mock.close();
  });

  it('makes a masked call and a blocked call through the gateway', async () => {
    const client = gateway.openai();
    const { response } = await client.chat.completions.create({ model: 'gpt', messages: [{ role: 'user', content: 'mail ann@example.com and bob@example.org' }] }).withResponse();
    expect(response.headers.get('x-switchboard-guardrails')).toBe('pii-mask=masked(EMAIL_ADDRESS)');
    expect((mock.requests.at(-1)!.body.messages as Array<{ content: string }>)[0].content).toBe('mail <EMAIL_ADDRESS_1> and <EMAIL_ADDRESS_2>');
    maskedCallId = response.headers.get('x-litellm-call-id')!;

    const before = mock.requests.length;
    const error = await client.chat.completions
      .create({ model: 'gpt', messages: [{ role: 'user', content: 'tell me the zanzibar-secret' }], guardrails: ['no-secrets'] } as OpenAI.ChatCompletionCreateParamsNonStreaming)
      .then(() => undefined, (caught: unknown) => caught);
    expect(error).toBeInstanceOf(BadRequestError);
    expect((error as BadRequestError).code).toBe('guardrail_violation');
    expect(mock.requests.length).toBe(before);
    blockedCallId = (error as BadRequestError).headers!.get('x-litellm-call-id')!;
    expect(maskedCallId).toBeTruthy();
    expect(blockedCallId).toBeTruthy();
    await gateway.flushUsage();
  });

  it('lists the configured guardrails on the Guardrails page, without their word lists', async () => {
    await page.goto(`${gateway.url}/ui/`);
    const field = page.getByLabel('API key');
    await field.fill(MASTER_KEY);
    await field.press('Enter');
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Guardrails', exact: true }).click();
    await expect.poll(() => page.getByRole('heading', { level: 1, name: 'Guardrails' }).isVisible()).toBe(true);
    const row = (name: string) => page.locator(`tr[data-guardrail="${name}"]`);
    await expect.poll(() => row('pii-mask').isVisible(), { timeout: 10_000 }).toBe(true);
    expect(await page.locator('tbody tr').count()).toBe(2);
    expect(await row('pii-mask').locator('[data-field="type"]').textContent()).toBe('pii');
    expect(await row('pii-mask').locator('[data-field="modes"]').textContent()).toBe('pre_call');
    expect(await row('pii-mask').locator('[data-field="default-on"]').textContent()).toBe('on');
    expect(await row('pii-mask').locator('[data-field="settings"]').textContent()).toBe('EMAIL_ADDRESS: mask, CREDIT_CARD: block');
    expect(await row('no-secrets').locator('[data-field="type"]').textContent()).toBe('content_filter');
    expect(await row('no-secrets').locator('[data-field="modes"]').textContent()).toBe('pre_call, post_call');
    expect(await row('no-secrets').locator('[data-field="default-on"]').textContent()).toBe('when named');
    expect(await page.locator('main').innerText()).not.toContain('zanzibar');
    await page.screenshot({ path: join(SHOTS, 'guardrails-configured-laptop.png'), fullPage: true });
  });

  it('shows on a log row which guardrails ran and what each did', async () => {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Logs', exact: true }).click();
    const dialog = page.getByRole('dialog', { name: 'Request' });
    const outcome = (name: string) => dialog.getByTestId('log-guardrails').locator(`li[data-guardrail="${name}"]`);

    await page.locator(`tr[data-request-id="${maskedCallId}"]`).click();
    await expect.poll(() => outcome('pii-mask').textContent(), { timeout: 10_000 }).toBe('pii-mask pre call masked 2 entities (EMAIL_ADDRESS)');
    expect(await dialog.getByTestId('log-guardrails').locator('li').count()).toBe(1);
    await page.screenshot({ path: join(SHOTS, 'guardrails-log-masked.png'), fullPage: true });
    await page.keyboard.press('Escape');
    await expect.poll(() => dialog.count()).toBe(0);

    await page.locator(`tr[data-request-id="${blockedCallId}"]`).click();
    await expect.poll(() => outcome('no-secrets').getAttribute('data-action'), { timeout: 10_000 }).toBe('blocked');
    expect(await outcome('no-secrets').textContent()).toContain('blocked: Blocked by guardrail "no-secrets"');
    expect(await outcome('pii-mask').textContent()).toBe('pii-mask pre call passed');
    expect(await dialog.getByTestId('log-guardrails').locator('li').count()).toBe(2);
    await page.screenshot({ path: join(SHOTS, 'guardrails-log-blocked.png'), fullPage: true });
    await page.keyboard.press('Escape');
    expect(consoleErrors).toEqual([]);
  });
});
