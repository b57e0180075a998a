/// <reference lib="dom" />
/**
 * Routing rules in the admin UI, in a real browser against a whole gateway and a mock OpenAI
 * upstream: a rule created in the Routing rules page, explained there for a user, followed by a
 * Testing Lab call in the Playground (rule, model, tokens, credits and balance shown), no longer
 * followed once disabled; the Tiers view counts the users. Screenshots in test-results/ui/.
 */
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultUiDirectory } from '../../src/http/routes/ui.js';
import { chromiumOrSkip } from '../support/browser.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

const chromiumPath = chromiumOrSkip('routing rules UI browser');
const SHOTS = join(process.cwd(), 'test-results', 'ui');

function config(apiBase: string): string {
  const model = (name: string) => `  - model_name: ${name}\n    litellm_params: {model: openai/${name}-upstream, api_base: "${apiBase}", api_key: sk-upstream-test}\n    model_info: {id: dep-${name}, input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}\n`;
  return `
model_list:
${model('general')}${model('coder')}
router_settings:
  num_retries: 0
general_settings:
  master_key: ${MASTER_KEY}
platform:
  default_tier: free
  tiers:
    free: {markup: 0, models: [general]}
    pro: {markup: 0.5, initial_credits: 1000}
    team: {markup: 0.2, monthly_credits: 500}
`;
}

describe.skipIf(!chromiumPath)('routing rules in the admin UI', () => {
  const upstream = new MockOpenAI({ reply: 'Here is your function.', promptTokens: 20, completionTokens: 7 });
  let gateway: TestGateway;
  let browser: Browser;
  let page: Page;
  const consoleErrors: string[] = [];

  async function openPage(title: string): Promise<void> {
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: title, exact: true }).click();
    await expect.poll(() => page.getByRole('heading', { level: 1 }).first().textContent()).toBe(title);
  }

  beforeAll(async () => {
    if (!existsSync(join(defaultUiDirectory(), 'index.html'))) throw new Error('the UI is not built: run npm run build (npm test does)');
    mkdirSync(SHOTS, { recursive: true });
    gateway = await startGateway(config(await upstream.start()));
    const api = new Management(gateway.url);
    await api.newUser({ user_id: 'lab-user', tier: 'pro' });
    await api.newUser({ user_id: 'free-user' });
    browser = await chromium.launch({ executablePath: chromiumPath!, args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'] });
    page = await (await browser.newContext({ viewport: { width: 1366, height: 900 }, reducedMotion: 'reduce' })).newPage();
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push(message.text());
    });
    page.on('pageerror', (error) => consoleErrors.push(`uncaught: ${error.message}`));
  });

  afterAll(async () => {
    await browser?.close();
    await gateway?.close();
    await upstream.close();
  });

  it('signs in with the master key', async () => {
    await page.goto(`${gateway.url}/ui/`);
    await page.getByLabel('API key').fill(MASTER_KEY);
    await page.getByLabel('API key').press('Enter');
    await expect.poll(() => page.getByRole('navigation', { name: 'Main' }).isVisible()).toBe(true);
  });

  it('creates a rule in the Routing rules page', async () => {
    await openPage('Routing rules');
    await expect.poll(() => page.getByText('No routing rules').isVisible()).toBe(true);
    await page.getByRole('button', { name: 'New rule' }).click();
    const dialog = page.getByRole('dialog', { name: 'New routing rule' });
    await dialog.getByLabel('Rule name').fill('code-to-coder');
    await dialog.getByLabel('Priority').fill('10');
    await dialog.getByLabel('Task', { exact: true }).fill('code');
    await dialog.getByLabel('Route to').fill('coder');
    await dialog.getByLabel('Max tokens cap').fill('300');
    await page.screenshot({ path: join(SHOTS, 'routing-rules-create-laptop.png'), fullPage: true });
    await dialog.getByRole('button', { name: 'Create rule' }).click();
    const row = page.locator('tr[data-rule="code-to-coder"]');
    await expect.poll(() => row.isVisible()).toBe(true);
    expect(await row.textContent()).toContain('task: code');
    expect(await row.textContent()).toContain('route to coder');
    const stored = await (await fetch(`${gateway.url}/api/v1/llm/routing/rules`, { headers: { authorization: `Bearer ${MASTER_KEY}` } })).json();
    expect(stored.rules).toEqual([expect.objectContaining({ name: 'code-to-coder', priority: 10, enabled: true, match: { task: ['code'] }, action: { route_to: ['coder'], max_tokens_cap: 300 } })]);
  });

  it('explains a request for a user: the rule matches and the plan names its model', async () => {
    await page.getByLabel('Explain as user').fill('lab-user');
    await page.getByLabel('Explain task').fill('code');
    await page.getByRole('button', { name: 'Explain', exact: true }).click();
    const result = page.getByTestId('explain-result');
    await expect.poll(() => result.isVisible()).toBe(true);
    const text = await result.textContent();
    expect(text).toContain('Rulecode-to-coder');
    expect(text).toContain('Modelcoder');
    expect(text).toContain('Max tokens300');
    expect(text).toContain('Tierpro');
    await page.screenshot({ path: join(SHOTS, 'routing-rules-laptop.png'), fullPage: true });
  });

  it('a Testing Lab call as the user follows the rule, with tokens, credits and the balance after', async () => {
    await openPage('Playground');
    const lab = page.getByRole('region', { name: 'Testing Lab' });
    await lab.getByLabel('Test as user').fill('lab-user');
    await expect.poll(() => lab.getByLabel('Test target').locator('option').count()).toBeGreaterThan(1);
    await lab.getByLabel('Test target').selectOption('general');
    await lab.getByLabel('Test task').fill('code');
    await lab.getByLabel('Test prompt').fill('Write a function that adds two numbers.');
    const before = upstream.requests.length;
    await lab.getByRole('button', { name: 'Run test call' }).click();
    const result = lab.getByTestId('lab-result');
    await expect.poll(() => result.isVisible()).toBe(true);
    const text = (await result.textContent())!;
    expect(text).toContain('Rule appliedcode-to-coder');
    expect(text).toContain('Model chosencoder');
    expect(text).toContain('20 in · 7 out');
    const charged = Number(/Credits charged([\d.]+)/.exec(text)![1]);
    const balance = Number(/Balance after([\d.]+)/.exec(text)![1]);
    expect(charged).toBeGreaterThan(0);
    expect(balance).toBeCloseTo(1000 - charged, 6);
    expect(await lab.textContent()).toContain('Here is your function.');
    expect(upstream.requests.slice(before).map((request) => request.body.model)).toEqual(['coder-upstream']);
    await page.screenshot({ path: join(SHOTS, 'testing-lab-laptop.png'), fullPage: true });
  });

  it('a rule disabled in the UI is no longer followed by the Testing Lab', async () => {
    await openPage('Routing rules');
    await page.locator('tr[data-rule="code-to-coder"]').getByRole('button', { name: 'Disable' }).click();
    await expect.poll(() => page.locator('tr[data-rule="code-to-coder"]').textContent()).toContain('disabled');
    await openPage('Playground');
    const lab = page.getByRole('region', { name: 'Testing Lab' });
    await lab.getByLabel('Test as user').fill('lab-user');
    await expect.poll(() => lab.getByLabel('Test target').locator('option').count()).toBeGreaterThan(1);
    await lab.getByLabel('Test target').selectOption('general');
    await lab.getByLabel('Test task').fill('code');
    await lab.getByRole('button', { name: 'Run test call' }).click();
    await expect.poll(async () => (await lab.getByTestId('lab-result').isVisible()) && (await lab.getByTestId('lab-result').textContent())).toContain('Rule appliednone');
    expect(await lab.getByTestId('lab-result').textContent()).toContain('Model chosengeneral');
  });

  it('reorders rules: moving a rule up puts it before the one above', async () => {
    const created = await fetch(`${gateway.url}/api/v1/llm/routing/rules`, {
      method: 'POST',
      headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' },
      body: JSON.stringify({ name: 'second', priority: 20, match: { users: ['free-user'] }, action: { max_tokens_cap: 100 } }),
    });
    expect(created.status).toBe(200);
    // Added behind the page's back (as by another admin): a fresh load lists it.
    await page.goto(`${gateway.url}/ui/routing-rules`);
    await expect.poll(() => page.locator('tr[data-rule]').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-rule')))).toEqual(['code-to-coder', 'second']);
    await page.getByRole('button', { name: 'Move second up' }).click();
    await expect.poll(() => page.locator('tr[data-rule]').evaluateAll((rows) => rows.map((row) => row.getAttribute('data-rule')))).toEqual(['second', 'code-to-coder']);
    expect(await page.locator('tr[data-rule="second"] td').first().textContent()).toBe('9');
  });

  it('the Tiers view shows markup, models, BYOK, allowance and user counts', async () => {
    await openPage('Tiers');
    const free = page.locator('tr[data-tier="free"]');
    await expect.poll(() => free.isVisible()).toBe(true);
    expect(await free.textContent()).toMatch(/free.*default.*0%.*general.*no.*all.*0.*none.*1/);
    expect(await page.locator('tr[data-tier="pro"]').textContent()).toMatch(/pro.*50%.*every model.*allowed.*1000.*none.*1/);
    expect(await page.locator('tr[data-tier="team"]').textContent()).toMatch(/team.*20%.*every model.*allowed.*0.*500 \(expires\).*0/);
    await page.screenshot({ path: join(SHOTS, 'tiers-laptop.png'), fullPage: true });
  });

  it('the new pages fit a phone without scrolling sideways, and nothing logged an error', async () => {
    await page.setViewportSize({ width: 390, height: 844 });
    for (const [path, title, name] of [['/routing-rules', 'Routing rules', 'routing-rules'], ['/tiers', 'Tiers', 'tiers'], ['/playground', 'Playground', 'testing-lab']]) {
      await page.goto(`${gateway.url}/ui${path}`);
      await expect.poll(() => page.getByRole('heading', { level: 1 }).first().textContent()).toBe(title);
      await page.waitForFunction(() => !document.querySelector('.state-loading, .spinner'), undefined, { timeout: 10_000 });
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow, `${path} scrolls sideways on a phone`).toBeLessThanOrEqual(1);
      await page.screenshot({ path: join(SHOTS, `${name}-phone.png`), fullPage: true });
    }
    expect(consoleErrors).toEqual([]);
  });
});
