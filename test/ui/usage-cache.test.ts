/// <reference lib="dom" />
/**
 * The admin UI's usage page shows the response cache's hit rate and the cost it saved, read from
 * the daily rollups (real browser, a gateway with the cache on, one miss and three hits).
 */
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultUiDirectory } from '../../src/http/routes/ui.js';
import { chromiumOrSkip } from '../support/browser.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { pricedConfig } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

const chromiumPath = chromiumOrSkip('usage page browser');

describe.skipIf(!chromiumPath)('usage page: the response cache', () => {
  let mock: MockOpenAI;
  let gateway: TestGateway;
  let browser: Browser;

  beforeAll(async () => {
    if (!existsSync(join(defaultUiDirectory(), 'index.html'))) throw new Error('the UI is not built: run npm run build (npm test does)');
    mock = new MockOpenAI();
    gateway = await startGateway(pricedConfig(await mock.start(), 'litellm_settings:\n  cache: true\n  cache_params: {type: local}\n'));
    browser = await chromium.launch({ executablePath: chromiumPath!, args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'] });
  });

  afterAll(async () => {
    await browser?.close();
    await gateway?.close();
    await mock?.close();
  });

  it('shows the hit rate and the saved cost', async () => {
    const client = gateway.openai();
    let hitCallId = '';
    for (let index = 0; index < 4; index++) {
      const { response } = await client.chat.completions.create({ model: 'cheap', messages: [{ role: 'user', content: 'cache me' }] }).withResponse();
      hitCallId = response.headers.get('x-switchboard-call-id')!;
    }
    expect(mock.requests).toHaveLength(1);
    await gateway.flushUsage();

    const page = await (await browser.newContext({ viewport: { width: 1366, height: 860 } })).newPage();
    await page.goto(`${gateway.url}/ui/`);
    const field = page.getByLabel('API key');
    await field.fill(MASTER_KEY);
    await field.press('Enter');
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Usage', exact: true }).click();
    const stat = (label: string) => page.locator('.stat', { has: page.locator('.stat-label', { hasText: label }) });
    await expect.poll(() => stat('Cache hit rate').locator('.stat-value').textContent(), { timeout: 10_000 }).toBe('75.0 %');
    expect(await stat('Cache hit rate').locator('.stat-detail').textContent()).toBe('3 answered from the cache');
    // Three hits of an answer that cost 12 × $0.000001 + 5 × $0.000002.
    expect(await stat('Saved by the cache').locator('.stat-value').textContent()).toBe('$0.000066');

    // A hit's log entry says so.
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Logs', exact: true }).click();
    await page.locator(`tr[data-request-id="${hitCallId}"]`).click();
    const dialog = page.getByRole('dialog', { name: 'Request' });
    await expect.poll(() => dialog.getByTestId('log-cache').textContent(), { timeout: 10_000 }).toBe('answered from the response cache, saving $0.000022');
    expect(await dialog.getByTestId('log-cost').textContent()).toBe('$0.00');
  });
});
