/**
 * The admin UI's static files at /ui: no key needed, right content types, immutable caching for
 * hashed assets, gzip, SPA fallback to index.html, and nothing outside the build directory.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';
import Fastify, { type FastifyInstance } from 'fastify';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { registerUiRoutes } from '../../src/http/routes/ui.js';
import { MockOpenAI } from '../support/mock-openai.js';
import { openAIConfig, startGateway, type TestGateway } from '../support/gateway.js';

describe('UI static files (a fake build in a temporary directory)', () => {
  let directory: string;
  let app: FastifyInstance;
  const script = `console.log(${JSON.stringify('x'.repeat(4000))});`;

  beforeAll(async () => {
    directory = mkdtempSync(join(tmpdir(), 'switchboard-ui-'));
    mkdirSync(join(directory, 'assets'));
    writeFileSync(join(directory, 'index.html'), '<!doctype html><title>Switchboard</title><script type="module" src="/ui/assets/index-abc123.js"></script>');
    writeFileSync(join(directory, 'assets', 'index-abc123.js'), script);
    writeFileSync(join(directory, 'assets', 'index-abc123.css'), 'body{color:red}');
    writeFileSync(join(tmpdir(), 'switchboard-ui-secret.txt'), 'outside');
    app = Fastify();
    registerUiRoutes(app, { directory });
    await app.ready();
  });

  afterAll(async () => {
    await app.close();
    rmSync(directory, { recursive: true, force: true });
  });

  it('redirects /ui to /ui/ and serves index.html there, revalidated each time, with a strict CSP', async () => {
    const redirect = await app.inject({ url: '/ui' });
    expect(redirect.statusCode).toBe(302);
    expect(redirect.headers.location).toBe('/ui/');
    const index = await app.inject({ url: '/ui/' });
    expect(index.statusCode).toBe(200);
    expect(index.headers['content-type']).toBe('text/html; charset=utf-8');
    expect(index.headers['cache-control']).toBe('no-cache');
    expect(index.headers['content-security-policy']).toContain("script-src 'self'");
    expect(index.headers['referrer-policy']).toBe('no-referrer');
    expect(index.body).toContain('<title>Switchboard</title>');
  });

  it('serves hashed assets with their content type, cached for a year, gzip-compressed when asked', async () => {
    const plain = await app.inject({ url: '/ui/assets/index-abc123.js' });
    expect(plain.statusCode).toBe(200);
    expect(plain.headers['content-type']).toBe('text/javascript; charset=utf-8');
    expect(plain.headers['cache-control']).toBe('public, max-age=31536000, immutable');
    expect(plain.headers['content-encoding']).toBeUndefined();
    expect(plain.body).toBe(script);
    const zipped = await app.inject({ url: '/ui/assets/index-abc123.js', headers: { 'accept-encoding': 'gzip, br' } });
    expect(zipped.headers['content-encoding']).toBe('gzip');
    expect(zipped.rawPayload.length).toBeLessThan(script.length / 10);
    expect(gunzipSync(zipped.rawPayload).toString()).toBe(script);
    const css = await app.inject({ url: '/ui/assets/index-abc123.css' });
    expect(css.headers['content-type']).toBe('text/css; charset=utf-8');
  });

  it('answers page paths with index.html (client-side routes) and missing files with 404', async () => {
    for (const url of ['/ui/keys', '/ui/logs?x=1', '/ui/some/deep/page']) {
      const response = await app.inject({ url });
      expect(response.statusCode, url).toBe(200);
      expect(response.body).toContain('<title>Switchboard</title>');
    }
    const missing = await app.inject({ url: '/ui/assets/index-missing.js' });
    expect(missing.statusCode).toBe(404);
  });

  it('never serves a file outside the build directory', async () => {
    for (const url of ['/ui/../switchboard-ui-secret.txt', '/ui/%2e%2e/switchboard-ui-secret.txt', '/ui/assets/%2e%2e%2f%2e%2e%2fswitchboard-ui-secret.txt', '/ui/%2e%2e%2fswitchboard-ui-secret.txt']) {
      const response = await app.inject({ url });
      expect(response.body, url).not.toContain('outside');
    }
    expect((await app.inject({ url: '/ui/%E0%A4%A' })).statusCode).toBe(400);
  });

  it('says how to build the UI when it is not built', async () => {
    const empty = Fastify();
    registerUiRoutes(empty, { directory: join(directory, 'nothing-here') });
    const response = await empty.inject({ url: '/ui/' });
    expect(response.statusCode).toBe(503);
    expect(response.body).toContain('npm run build');
    await empty.close();
  });
});

describe('UI on the gateway', () => {
  let mock: MockOpenAI;
  let gateway: TestGateway;

  beforeAll(async () => {
    mock = new MockOpenAI();
    gateway = await startGateway(openAIConfig(await mock.start()), {});
  });

  afterAll(async () => {
    await gateway?.close();
    await mock?.close();
  });

  it('serves /ui/ without a key while the API still needs one', async () => {
    const page = await fetch(`${gateway.url}/ui/`);
    expect(page.status).toBe(200);
    expect(page.headers.get('content-type')).toBe('text/html; charset=utf-8');
    expect(await page.text()).toContain('<div id="root">');
    const api = await fetch(`${gateway.url}/key/list`);
    expect(api.status).toBe(401);
  });
});
