/**
 * The attack: a pass-through entry with `include_subpath` appends the request's subpath to its
 * `target` and sends the operator's configured headers along. A subpath with `..` segments —
 * plain, percent-encoded (`%2e%2e`, `%2E%2e`, `.%2e`), double-encoded (`%252e%252e`), behind a
 * backslash, or split by an encoded slash a target may decode — used to be resolved by URL parsing,
 * so `GET /pt/../../admin` reached `GET /admin` on the target with the operator's Authorization
 * header. Now such a subpath is refused with 400 before anything is sent, and ordinary subpaths
 * still reach the target under its configured path.
 */
import { createServer, request as httpRequest, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';

const seen: Array<{ url: string; authorization: string | undefined }> = [];
let target: Server;
let gateway: TestGateway;

beforeAll(async () => {
  target = createServer((request: IncomingMessage, response) => {
    seen.push({ url: request.url ?? '', authorization: request.headers.authorization });
    request.resume();
    request.on('end', () => {
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ url: request.url }));
    });
  });
  await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
  const targetUrl = `http://127.0.0.1:${(target.address() as AddressInfo).port}`;
  gateway = await startGateway(`
model_list: []
general_settings:
  master_key: ${MASTER_KEY}
  pass_through_endpoints:
    - path: /pt
      target: ${targetUrl}/v1/allowed
      include_subpath: true
      headers:
        Authorization: Bearer PT-UPSTREAM-SECRET
`);
});

afterAll(async () => {
  await gateway?.close();
  await new Promise<void>((resolve) => target?.close(() => resolve()));
});

/** A GET with the path sent exactly as written (fetch would resolve the dot segments itself). */
function rawGet(path: string): Promise<{ status: number; body: string }> {
  const { hostname, port } = new URL(gateway.url);
  return new Promise((resolve, reject) => {
    const request = httpRequest({ hostname, port, path, method: 'GET', headers: { authorization: `Bearer ${MASTER_KEY}` } }, (response) => {
      const chunks: Buffer[] = [];
      response.on('data', (chunk: Buffer) => chunks.push(chunk));
      response.on('end', () => resolve({ status: response.statusCode ?? 0, body: Buffer.concat(chunks).toString('utf8') }));
    });
    request.on('error', reject);
    request.end();
  });
}

describe('pass-through subpaths cannot leave the configured target', () => {
  const escapes = [
    '/pt/../../admin',
    '/pt/%2e%2e/%2e%2e/admin',
    '/pt/%2E%2E/%2E%2E/admin',
    '/pt/%2e./.%2E/admin',
    '/pt/x/../../../admin',
    '/pt/%252e%252e/%252e%252e/admin',
    '/pt/..%2f..%2fadmin',
    '/pt/..%2F..%2Fadmin',
    '/pt/..%5c..%5cadmin',
    '/pt/..\\..\\admin',
    '/pt/./admin',
    '/pt/%2e/admin',
  ];

  it.each(escapes)('%s → 400, nothing sent to the target', async (path) => {
    const before = seen.length;
    const { status, body } = await rawGet(path);
    expect(status).toBe(400);
    expect(body).toContain('the subpath must stay under the configured target');
    expect(seen.length).toBe(before);
    expect(seen.some((request) => !request.url.startsWith('/v1/allowed'))).toBe(false);
  });

  it('ordinary subpaths (dots inside names, a query with ..) still reach the target under its path', async () => {
    for (const [path, expected] of [
      ['/pt/files/report.v2..final.json', '/v1/allowed/files/report.v2..final.json'],
      ['/pt/a/...b/c', '/v1/allowed/a/...b/c'],
      ['/pt/search?q=../../x', '/v1/allowed/search?q=../../x'],
      ['/pt', '/v1/allowed'],
    ] as const) {
      const { status } = await rawGet(path);
      expect(status).toBe(200);
      expect(seen.at(-1)).toEqual({ url: expected, authorization: 'Bearer PT-UPSTREAM-SECRET' });
    }
  });
});
