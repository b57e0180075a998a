/// <reference lib="dom" />
/**
 * The admin UI in a real browser (playwright-core driving the system Chromium) against a whole
 * gateway and a mock OpenAI upstream: sign-in, keys, Playground streaming, models, logs, every
 * page at laptop and phone widths (screenshots in test-results/ui/), and no console errors.
 *
 * Steps that need APIs other issues add (model management, spend logs) probe the endpoint first
 * and skip, saying so, while the gateway answers 404 for it.
 */
import { randomBytes } from 'node:crypto';
import { existsSync, mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { chromium, type Browser, type BrowserContext, type Page } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { defaultUiDirectory } from '../../src/http/routes/ui.js';
import { chromiumOrSkip } from '../support/browser.js';
import { MASTER_KEY, openAIConfig, startGateway, type TestGateway } from '../support/gateway.js';
import { MockOpenAI } from '../support/mock-openai.js';

const chromiumPath = chromiumOrSkip('admin UI browser');
const SHOTS = join(process.cwd(), 'test-results', 'ui');
const LAPTOP = { width: 1366, height: 860 };
const PHONE = { width: 390, height: 844 };
const REPLY = 'Hello from the mock upstream, streamed word by word.';

const PAGES: { path: string; title: string; name: string }[] = [
  { path: '/', title: 'Dashboard', name: 'dashboard' },
  { path: '/models', title: 'Models', name: 'models' },
  { path: '/providers', title: 'Providers & health', name: 'providers' },
  { path: '/backends', title: 'Local backends', name: 'backends' },
  { path: '/keys', title: 'Keys', name: 'keys' },
  { path: '/users', title: 'Users & teams', name: 'users' },
  { path: '/usage', title: 'Usage', name: 'usage' },
  { path: '/logs', title: 'Logs', name: 'logs' },
  { path: '/guardrails', title: 'Guardrails', name: 'guardrails' },
  { path: '/router', title: 'Router settings', name: 'router-settings' },
  { path: '/byok', title: 'BYOK', name: 'byok' },
  { path: '/playground', title: 'Playground', name: 'playground' },
];

describe.skipIf(!chromiumPath)('admin UI in a real browser', () => {
  let mock: MockOpenAI;
  let gateway: TestGateway;
  let browser: Browser;
  let context: BrowserContext;
  let page: Page;
  const consoleErrors: { text: string; url: string }[] = [];
  /** API URLs the gateway answered 404 for a feature it lacks (issues not merged yet, or switched off). */
  const unavailable = new Set<string>();
  /** Failed requests the test caused on purpose (a wrong key). */
  const expectedFailures = new Set<string>();
  const requestUrls: string[] = [];
  let createdSecret = '';
  let chatCallId: string | null = null;

  const api = (path: string, init: RequestInit = {}, key = MASTER_KEY) =>
    fetch(`${gateway.url}${path}`, { ...init, headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...(init.headers ?? {}) } });

  /** True when the gateway has no such route (the issue that adds it is not merged yet). */
  async function routeMissing(path: string, init: RequestInit = {}): Promise<boolean> {
    const response = await api(path, init);
    if (response.status !== 404) return false;
    const body = (await response.json().catch(() => ({}))) as { error?: { code?: string } };
    return body.error?.code === 'route_not_found';
  }

  async function settled(): Promise<void> {
    await page.waitForFunction(() => !document.querySelector('.state-loading, .spinner'), undefined, { timeout: 10_000 });
  }

  async function shoot(name: string): Promise<void> {
    const size = page.viewportSize();
    await page.screenshot({ path: join(SHOTS, `${name}-${size && size.width < 600 ? 'phone' : 'laptop'}.png`), fullPage: true });
  }

  async function openPage(title: string): Promise<void> {
    const navigation = page.getByRole('navigation', { name: 'Main' });
    if (!(await navigation.isVisible())) await page.getByRole('button', { name: 'Open navigation' }).click();
    await navigation.getByRole('link', { name: title, exact: true }).click();
    await expect.poll(() => page.getByRole('heading', { level: 1 }).first().textContent()).toBeTruthy();
    await settled();
  }

  beforeAll(async () => {
    if (!existsSync(join(defaultUiDirectory(), 'index.html'))) throw new Error('the UI is not built: run npm run build (npm test does)');
    mkdirSync(SHOTS, { recursive: true });
    mock = new MockOpenAI({ reply: REPLY, chunkDelayMs: 100 });
    // An encryption key, so models added through the UI may carry their API key (stored sealed).
    const env = { SWITCHBOARD_ENCRYPTION_KEY: randomBytes(32).toString('hex') };
    // `platform:` turns on credits and BYOK where the gateway has them (a gateway without them warns about the key);
    // users get the default tier, free, here opened to their own keys (a free tier refuses them by default).
    const extra = 'router_settings:\n  num_retries: 2\n  fallbacks: [{"gpt-4o-mini": ["text-embedding-3-small"]}]\nplatform:\n  tiers:\n    free: {markup: 0, byok: true}\n';
    gateway = await startGateway(openAIConfig(await mock.start(), extra), { env });
    browser = await chromium.launch({ executablePath: chromiumPath!, args: ['--no-sandbox', '--disable-dev-shm-usage', '--disable-gpu'] });
    context = await browser.newContext({ viewport: LAPTOP, reducedMotion: 'reduce' });
    page = await context.newPage();
    page.on('console', (message) => {
      if (message.type() === 'error') consoleErrors.push({ text: message.text(), url: message.location().url });
    });
    page.on('pageerror', (error) => consoleErrors.push({ text: `uncaught: ${error.message}`, url: '' }));
    page.on('request', (request) => requestUrls.push(request.url()));
    page.on('response', async (response) => {
      const path = new URL(response.url()).pathname;
      if (response.status() !== 404 || path.startsWith('/ui')) return;
      const body = (await response.json().catch(() => ({}))) as { error?: { code?: string } };
      // A route this gateway lacks, or the platform layer (credits, BYOK) switched off in its config.
      if (body.error?.code === 'route_not_found' || (body.error?.code === 'not_found' && path.startsWith('/api/v1/llm/'))) unavailable.add(response.url());
    });
  });

  afterAll(async () => {
    await browser?.close();
    await gateway?.close();
    await mock?.close();
  });

  it('shows the sign-in page and refuses an unknown key', async () => {
    await page.goto(`${gateway.url}/ui/`);
    await expect.poll(() => page.getByRole('heading', { name: 'Sign in' }).isVisible()).toBe(true);
    await shoot('sign-in');
    await page.setViewportSize(PHONE);
    await shoot('sign-in');
    await page.setViewportSize(LAPTOP);

    const field = page.getByLabel('API key');
    await field.fill('sk-not-a-real-key');
    const refused = page.waitForResponse((response) => response.url().includes('/user/list'));
    await field.press('Enter');
    expectedFailures.add((await refused).url());
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('does not know this key');
  });

  it('signs in with the master key; the key stays out of URLs and localStorage', async () => {
    const field = page.getByLabel('API key');
    await field.fill(MASTER_KEY);
    await field.press('Enter');
    await expect.poll(() => page.getByRole('navigation', { name: 'Main' }).isVisible()).toBe(true);
    await expect.poll(() => page.getByText('Administrator', { exact: true }).isVisible()).toBe(true);
    expect(page.url()).not.toContain(MASTER_KEY);
    const storage = await page.evaluate(() => ({ local: JSON.stringify(localStorage), session: sessionStorage.getItem('switchboard.session') }));
    expect(storage.local).not.toContain(MASTER_KEY);
    expect(JSON.parse(storage.session!)).toMatchObject({ role: 'admin', key: MASTER_KEY });
  });

  it('the dashboard shows the gateway: version, database, callable models', async () => {
    const strip = page.getByLabel('Gateway', { exact: true });
    await expect.poll(() => strip.textContent()).toContain('Databaseready');
    expect(await strip.textContent()).toContain('Models callable2');
    expect(await strip.textContent()).toMatch(/Gatewayv\d+\.\d+/);
    await expect.poll(() => strip.textContent()).toContain('Keys0');
  });

  it('creates a key with models, budget and expiry; its secret is shown once', async () => {
    await openPage('Keys');
    await page.getByRole('button', { name: 'Create key' }).click();
    const dialog = page.getByRole('dialog', { name: 'Create a key' });
    await dialog.getByLabel('Alias').fill('ui-test-key');
    await dialog.getByLabel('Expires after').fill('30d');
    await dialog.getByLabel('Budget (USD)').fill('5');
    await dialog.getByLabel('Requests per minute').fill('60');
    await dialog.getByRole('checkbox', { name: 'gpt-4o-mini' }).check();
    await shoot('keys-create');
    // Keyboard submit: Enter in a field sends the form.
    await dialog.getByLabel('Alias').press('Enter');

    const secretDialog = page.getByRole('dialog', { name: 'Your new key' });
    await expect.poll(() => secretDialog.isVisible()).toBe(true);
    createdSecret = (await secretDialog.getByTestId('new-key-secret').textContent())!.trim();
    expect(createdSecret).toMatch(/^sk-/);
    await expect.poll(() => secretDialog.textContent()).toContain('shown only once');
    await shoot('keys-secret');

    const info = (await (await api('/key/info', {}, createdSecret)).json()) as { info: Record<string, unknown> };
    expect(info.info).toMatchObject({ key_alias: 'ui-test-key', models: ['gpt-4o-mini'], max_budget: 5, rpm_limit: 60 });
    expect(info.info.expires).toBeTruthy();

    await secretDialog.getByRole('button', { name: 'I have copied it' }).click();
    const row = page.locator('tr[data-key-alias="ui-test-key"]');
    await expect.poll(() => row.textContent()).toContain('gpt-4o-mini');
    expect(await row.textContent()).toContain('$0.00 of $5.00');
    // Shown once: after closing (and after a reload) the secret is nowhere on the page.
    expect(await page.content()).not.toContain(createdSecret);
    await page.reload();
    await settled();
    await expect.poll(() => row.isVisible()).toBe(true);
    expect(await page.content()).not.toContain(createdSecret);
  });

  it('edits, blocks and unblocks a key from the list', async () => {
    const row = page.locator('tr[data-key-alias="ui-test-key"]');
    await row.getByRole('button', { name: 'Edit' }).click();
    const dialog = page.getByRole('dialog', { name: 'Edit ui-test-key' });
    expect(await dialog.getByLabel('Budget (USD)').inputValue()).toBe('5');
    await dialog.getByLabel('Budget (USD)').fill('7.5');
    await dialog.getByLabel('Vector stores').fill('vs_support_docs, vs_faq');
    await dialog.getByRole('button', { name: 'Save changes' }).click();
    await expect.poll(() => row.textContent()).toContain('$7.50');
    expect(await dialog.isVisible()).toBe(false);
    const info = (await (await api('/key/info', {}, createdSecret)).json()) as { info: Record<string, unknown> };
    expect(info.info).toMatchObject({ max_budget: 7.5, models: ['gpt-4o-mini'], rpm_limit: 60, object_permission: { vector_stores: ['vs_support_docs', 'vs_faq'] } });
    // The form shows the grants it was opened with.
    await row.getByRole('button', { name: 'Edit' }).click();
    expect(await dialog.getByLabel('Vector stores').inputValue()).toBe('vs_support_docs, vs_faq');
    await dialog.getByLabel('Vector stores').fill('');
    await dialog.getByRole('button', { name: 'Save changes' }).click();
    await expect.poll(async () => ((await (await api('/key/info', {}, createdSecret)).json()) as { info: { object_permission: unknown } }).info.object_permission).toEqual({ vector_stores: [] });

    await row.getByRole('button', { name: 'Block' }).click();
    await expect.poll(() => row.textContent()).toContain('blocked');
    expect((await api('/v1/models', {}, createdSecret)).status).toBe(401);
    await row.getByRole('button', { name: 'Unblock' }).click();
    await expect.poll(() => row.textContent()).toContain('active');
    expect((await api('/v1/models', {}, createdSecret)).status).toBe(200);
  });

  it('streams a chat in the Playground and shows tokens, latency and the serving model', async () => {
    await openPage('Playground');
    await expect.poll(() => page.getByLabel('Model').inputValue()).toBe('gpt-4o-mini');
    const prompt = page.getByLabel('Message');
    await prompt.fill('Say hello');
    const answered = page.waitForResponse((response) => response.url().endsWith('/v1/chat/completions'));
    await prompt.press('Enter');
    const response = await answered;
    chatCallId = response.headers()['x-switchboard-call-id'] ?? null;
    expect(response.headers()['content-type']).toContain('text/event-stream');

    // The reply grows while the upstream streams (100 ms between words): a partial text is seen first.
    const streaming = page.getByTestId('streaming-reply');
    await expect.poll(() => streaming.isVisible(), { interval: 20 }).toBe(true);
    const partial = (await streaming.textContent()) ?? '';
    expect(REPLY.startsWith(partial.trim()) || partial.trim() === '').toBe(true);
    expect(partial.trim().length).toBeLessThan(REPLY.length);

    await expect.poll(() => page.locator('.bubble-assistant').last().textContent(), { timeout: 10_000 }).toBe(REPLY);
    const stats = page.getByTestId('chat-stats');
    await expect.poll(() => stats.textContent()).toContain('12 in · 5 out');
    expect(await stats.textContent()).toMatch(/Latency\d+ ms/);
    expect(await stats.textContent()).toContain('gpt-4o-mini');

    const upstream = mock.requests.at(-1)!;
    expect(upstream.body).toMatchObject({ stream: true, messages: [{ role: 'user', content: 'Say hello' }] });
    expect(chatCallId).toBeTruthy();
    const record = await gateway.recordOf(chatCallId!);
    expect(record?.status).toBe('success');
    expect(Number(record?.cost_micros)).toBeGreaterThan(0);
    await settled();
    await shoot('playground-chat');
  });

  it('creates a user (whose key is shown once) and a team', async () => {
    await openPage('Users & teams');
    await page.getByRole('button', { name: 'New user' }).click();
    const dialog = page.getByRole('dialog', { name: 'New user' });
    await dialog.getByLabel('User id').fill('ada');
    await dialog.getByLabel('Email').fill('ada@example.com');
    await dialog.getByLabel('Budget (USD)').fill('20');
    await dialog.getByRole('button', { name: 'Create user' }).click();
    const keyDialog = page.getByRole('dialog', { name: "The user's key" });
    await expect.poll(() => keyDialog.isVisible()).toBe(true);
    const userKey = (await keyDialog.locator('code').textContent())!.trim();
    const self = (await (await api('/key/info', {}, userKey)).json()) as { info: { user_id: string } };
    expect(self.info.user_id).toBe('ada');
    await page.keyboard.press('Escape');
    await expect.poll(() => page.getByRole('row', { name: /ada@example\.com/ }).isVisible()).toBe(true);
    expect(await page.getByRole('row', { name: /ada@example\.com/ }).textContent()).toContain('$0.00 of $20.00');

    await page.getByLabel('New team name').fill('Research');
    await page.getByLabel('New team name').press('Enter');
    await expect.poll(() => page.getByRole('row', { name: /Research/ }).isVisible()).toBe(true);
    const teams = (await (await api('/team/list')).json()) as { team_alias: string }[];
    expect(teams.map((team) => team.team_alias)).toContain('Research');
  });

  it('grants credits to a user and lists the transaction (needs issue 6: /api/v1/llm/credits)', async (context) => {
    const probe = await api('/api/v1/llm/credits?user_id=ada');
    if (probe.status === 404) {
      console.warn(`skipping the credits flow: GET /api/v1/llm/credits answers 404 (${((await probe.json()) as { error: { message: string } }).error.message})`);
      context.skip();
    }
    const before = ((await probe.json()) as { balance: number }).balance;
    await openPage('Users & teams');
    await page.getByRole('row', { name: /ada@example\.com/ }).getByRole('button', { name: 'Credits & tier' }).click();
    const dialog = page.getByRole('dialog', { name: 'User ada' });
    await expect.poll(() => dialog.getByText('Balance').isVisible()).toBe(true);
    await dialog.getByLabel('Credits to grant').fill('250');
    await dialog.getByLabel('Reason').fill('welcome credits');
    await dialog.getByLabel('Reason').press('Enter');
    await expect.poll(() => dialog.getByRole('row', { name: /welcome credits/ }).isVisible()).toBe(true);
    expect(await dialog.getByRole('row', { name: /welcome credits/ }).textContent()).toContain('+250');
    const after = ((await (await api('/api/v1/llm/credits?user_id=ada')).json()) as { balance: number }).balance;
    expect(after).toBe(before + 250);
    await expect.poll(() => dialog.locator('.stat').first().textContent()).toContain(after.toLocaleString('en-US'));
    await shoot('users-credits');
    await page.keyboard.press('Escape');
  });

  it("stores a user's provider key (BYOK) shown masked, and removes it (needs issue 6: /api/v1/llm/byok/keys)", async (context) => {
    const probe = await api('/api/v1/llm/byok/keys?user_id=ada');
    if (probe.status === 404) {
      console.warn('skipping the BYOK flow: GET /api/v1/llm/byok/keys answers 404 (issue 6 not merged, or no platform layer)');
      context.skip();
    }
    await openPage('BYOK');
    await page.getByLabel('User id').fill('ada');
    await page.getByLabel('User id').press('Enter');
    await expect.poll(() => page.getByRole('heading', { name: 'Keys of ada' }).isVisible()).toBe(true);
    await page.getByLabel('Provider', { exact: true }).selectOption('anthropic');
    await page.getByLabel('Provider API key').fill('sk-ant-byok-secret-9876');
    await page.getByLabel('Provider API key').press('Enter');
    const row = page.getByRole('row', { name: /anthropic/ });
    await expect.poll(() => row.isVisible()).toBe(true);
    expect(await row.textContent()).toContain('9876');
    expect(await page.content()).not.toContain('sk-ant-byok-secret-9876');
    await shoot('byok-user');
    await row.getByRole('button', { name: 'Remove' }).click();
    await row.getByRole('button', { name: 'Confirm remove' }).click();
    await expect.poll(() => row.count()).toBe(0);
  });

  it('edits the router settings (retries, strategy, a fallback chain), saves them at run time and resets to config.yaml', async () => {
    const overrides = async () => ((await (await api('/router/settings')).json()) as { overrides: Record<string, unknown> }).overrides;
    await openPage('Router settings');
    const strategy = page.getByLabel('Routing strategy');
    expect(await strategy.inputValue()).toBe('simple-shuffle');
    expect(await strategy.isDisabled()).toBe(false);
    const retries = page.getByLabel('Retries');
    expect(await retries.inputValue()).toBe('2');
    const chains = page.getByRole('group', { name: /^Fallback chains/ });
    await expect.poll(() => chains.getByLabel('Fallbacks of gpt-4o-mini', { exact: true }).textContent()).toContain('text-embedding-3-small');

    await retries.fill('3');
    await strategy.selectOption('least-busy');
    await chains.getByRole('button', { name: 'Add fallback chain' }).click();
    await chains.getByLabel('Fallback chain 2: model group').selectOption('text-embedding-3-small');
    await chains.getByLabel('Add a fallback to text-embedding-3-small').selectOption('gpt-4o-mini');
    expect(await chains.getByLabel('Fallbacks of text-embedding-3-small', { exact: true }).textContent()).toContain('gpt-4o-mini');
    await shoot('router-settings-editing');
    // Keyboard: Enter in a field submits the form.
    await retries.press('Enter');
    const expected = { num_retries: 3, routing_strategy: 'least-busy', fallbacks: [{ 'gpt-4o-mini': ['text-embedding-3-small'] }, { 'text-embedding-3-small': ['gpt-4o-mini'] }] };
    await expect.poll(overrides, { timeout: 5_000 }).toEqual(expected);
    const effective = ((await (await api('/router/settings')).json()) as { router_settings: Record<string, unknown> }).router_settings;
    expect(effective).toMatchObject(expected);
    await expect.poll(() => page.getByRole('status').filter({ hasText: 'changed at run time' }).isVisible()).toBe(true);
    expect(await page.getByLabel('Retries').inputValue()).toBe('3');

    // A bad value is refused in the page, naming the field, and nothing is sent.
    await page.getByLabel('Retries').fill('1.5');
    await page.getByRole('button', { name: 'Save settings' }).click();
    await expect.poll(() => page.getByRole('alert').textContent()).toContain('Retries');
    await page.getByLabel('Retries').fill('3');
    await page.setViewportSize(PHONE);
    await shoot('router-settings-edited');
    await page.setViewportSize(LAPTOP);

    await page.getByRole('button', { name: 'Reset to config.yaml' }).click();
    await page.getByRole('button', { name: 'Confirm reset to config.yaml' }).click();
    await expect.poll(overrides, { timeout: 5_000 }).toEqual({});
    await expect.poll(() => page.getByLabel('Retries').inputValue()).toBe('2');
    expect(await page.getByRole('group', { name: /^Fallback chains/ }).getByLabel('Fallbacks of text-embedding-3-small', { exact: true }).count()).toBe(0);
  });

  it('adds a model, disables it and sees it leave /v1/models (needs issue 7: /model/new)', async (context) => {
    if (await routeMissing('/model/new', { method: 'POST', body: '{}' })) {
      console.warn('skipping the model management flow: the gateway answers 404 for POST /model/new (issue 7 not merged)');
      context.skip();
    }
    await openPage('Models');
    // Config models show their effective (built-in) prices from /model/info.
    await expect.poll(() => page.locator('tr[data-model-name="gpt-4o-mini"]').textContent()).toContain('built-in price');
    await page.getByRole('button', { name: 'Add model' }).click();
    const dialog = page.getByRole('dialog', { name: 'Add a model' });
    await dialog.getByLabel('Model name').fill('ui-added-model');
    await dialog.getByLabel('Upstream model').fill('openai/gpt-4o-mini');
    await dialog.getByLabel('API base').fill(mock.url);
    await dialog.getByLabel('API key').fill('sk-upstream-test');
    await dialog.getByRole('button', { name: 'Add model' }).click();
    const row = page.locator('tr[data-model-name="ui-added-model"]');
    await expect.poll(() => row.isVisible(), { timeout: 10_000 }).toBe(true);
    const listed = async () => ((await (await api('/v1/models')).json()) as { data: { id: string }[] }).data.map((model) => model.id);
    await expect.poll(listed, { timeout: 5_000 }).toContain('ui-added-model');

    await row.getByRole('button', { name: 'Disable' }).click();
    await expect.poll(() => row.textContent()).toContain('disabled');
    await expect.poll(listed, { timeout: 5_000 }).not.toContain('ui-added-model');
    await shoot('models-disabled');

    await row.getByRole('button', { name: 'Enable' }).click();
    await expect.poll(listed, { timeout: 5_000 }).toContain('ui-added-model');
    await row.getByRole('button', { name: 'Delete' }).click();
    await row.getByRole('button', { name: 'Confirm delete' }).click();
    await expect.poll(() => row.count()).toBe(0);
  });

  it('finds the Playground request in Logs with its cost (needs issue 8: /switchboard/spend/logs)', async (context) => {
    if (await routeMissing('/switchboard/spend/logs')) {
      console.warn('skipping the Logs flow: the gateway answers 404 for GET /switchboard/spend/logs (issue 8 not merged)');
      context.skip();
    }
    expect(chatCallId).toBeTruthy();
    const record = await gateway.recordOf(chatCallId!);
    await openPage('Logs');
    const row = page.locator(`tr[data-request-id="${chatCallId}"]`);
    await expect.poll(() => row.isVisible(), { timeout: 10_000 }).toBe(true);
    await row.click();
    const cost = page.getByRole('dialog', { name: 'Request' }).getByTestId('log-cost');
    const expected = Number(record!.cost_micros) / 1e6;
    await expect.poll(() => cost.textContent()).toBe(`$${expected.toLocaleString('en-US', { minimumFractionDigits: 2, maximumFractionDigits: 6 })}`);
    // The Playground streams: the detail says so (the row's stream flag, which the server sends).
    expect(await page.getByRole('dialog', { name: 'Request' }).textContent()).toContain(' · stream');
    await shoot('logs-detail');
    await page.keyboard.press('Escape');
  });

  it('renders every page at laptop and phone widths, each with its loading, data, empty or error state', async () => {
    for (const target of PAGES) {
      await openPage(target.title);
      expect(await page.getByRole('heading', { level: 1 }).first().textContent(), target.path).toBe(target.title === 'Keys' ? 'Keys' : target.title);
      // Each page ends in content, an empty state or an error state — never a blank page or a spinner.
      expect(await page.locator('main').innerText(), target.path).not.toBe('');
      await shoot(target.name);
    }
    await page.setViewportSize(PHONE);
    for (const target of PAGES) {
      await page.goto(`${gateway.url}/ui${target.path}`);
      await expect.poll(() => page.getByRole('heading', { level: 1 }).first().textContent()).toBe(target.title);
      await settled();
      const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
      expect(overflow, `${target.path} scrolls sideways on a phone`).toBeLessThanOrEqual(1);
      await shoot(target.name);
    }
    await page.getByRole('button', { name: 'Open navigation' }).click();
    await expect.poll(() => page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Keys' }).isVisible()).toBe(true);
    await shoot('navigation-menu');
    await page.getByRole('navigation', { name: 'Main' }).getByRole('link', { name: 'Dashboard' }).click();
    await page.setViewportSize(LAPTOP);
  });

  it('a user key sees only its own pages; signing out and session expiry clear the key', async () => {
    await page.setViewportSize(LAPTOP);
    await page.getByRole('button', { name: 'Sign out' }).click();
    await expect.poll(() => page.getByRole('heading', { name: 'Sign in' }).isVisible()).toBe(true);
    expect(await page.evaluate(() => sessionStorage.getItem('switchboard.session'))).toBeNull();

    await page.getByLabel('API key').fill(createdSecret);
    await page.getByLabel('API key').press('Enter');
    const navigation = page.getByRole('navigation', { name: 'Main' });
    await expect.poll(() => navigation.isVisible()).toBe(true);
    expect(await navigation.getByRole('link', { name: 'Models' }).count()).toBe(0);
    expect(await navigation.getByRole('link', { name: 'Users & teams' }).count()).toBe(0);
    await openPage('Keys');
    await expect.poll(() => page.locator('main').textContent()).toContain('ui-test-key');
    await shoot('user-key');
    await openPage('Playground');
    await shoot('user-playground');

    // An expired session is dropped on the next look, with a message.
    await page.evaluate(() => {
      const stored = JSON.parse(sessionStorage.getItem('switchboard.session')!);
      sessionStorage.setItem('switchboard.session', JSON.stringify({ ...stored, expiresAt: Date.now() - 1 }));
    });
    await page.reload();
    await expect.poll(() => page.getByRole('heading', { name: 'Sign in' }).isVisible()).toBe(true);
    await expect.poll(() => page.getByText('Your session expired').isVisible()).toBe(true);
    expect(await page.evaluate(() => sessionStorage.getItem('switchboard.session'))).toBeNull();
  });

  it('logged no console errors, and no key ever appeared in a URL', async () => {
    const unexpected = consoleErrors.filter((entry) => {
      // Chromium logs every non-2xx fetch; those for routes this gateway lacks, and the wrong key on purpose, are expected.
      if (entry.text.startsWith('Failed to load resource')) return !unavailable.has(entry.url) && !expectedFailures.has(entry.url);
      return true;
    });
    expect(unexpected).toEqual([]);
    for (const url of requestUrls) {
      expect(url).not.toContain(MASTER_KEY);
      if (createdSecret) expect(url).not.toContain(createdSecret);
    }
  });
});
