/**
 * The attack: a key's (its user's, its team's, its customer's) `rpm_limit`, `tpm_limit` and
 * `max_parallel_requests` hold on every route the key may call — but the pass-through endpoints
 * (`general_settings.pass_through_endpoints`) skipped admission altogether: a key held to 1 request
 * a minute, or to 1 call at a time, could call the relayed service (on the operator's credentials)
 * as fast and as often as it liked, a blocked customer named by `x-litellm-end-user-id` was served,
 * and a customer's budget was never consulted. Now a pass-through call is admitted like any other —
 * rpm and parallel counted at admission, the answer's tokens counted toward tpm when it ends, a
 * blocked customer refused, a customer held to a budget refused (a pass-through call has no price
 * to charge it) — before anything is sent to the target.
 */
import { createServer, type IncomingMessage, type Server, type ServerResponse } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';

let seen = 0;
let hold: Promise<void> | undefined;
let target: Server;
let gateway: TestGateway;
let api: Management;

beforeAll(async () => {
  target = createServer((request: IncomingMessage, response: ServerResponse) => {
    seen++;
    request.resume();
    request.on('end', () => {
      void (hold ?? Promise.resolve()).then(() => {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ ok: true, usage: { prompt_tokens: 60, completion_tokens: 40, total_tokens: 100 } }));
      });
    });
  });
  await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
  gateway = await startGateway(`
model_list: []
general_settings:
  master_key: ${MASTER_KEY}
  pass_through_endpoints:
    - path: /pt
      target: http://127.0.0.1:${(target.address() as AddressInfo).port}/v1
`);
  api = new Management(gateway.url);
  await api.ok('POST', '/customer/new', { user_id: 'blocked-acme', blocked: true });
  await api.ok('POST', '/customer/new', { user_id: 'budgeted-acme', max_budget: 5 });
  await api.ok('POST', '/customer/new', { user_id: 'slow-acme', rpm_limit: 1 });
});

afterAll(async () => {
  await gateway?.close();
  await new Promise<void>((resolve) => target?.close(() => resolve()));
});

async function newKey(fields: Record<string, unknown>): Promise<string> {
  return (await api.ok<{ key: string }>('POST', '/key/generate', fields)).key;
}

async function call(key: string, headers: Record<string, string> = {}): Promise<{ status: number; message: string }> {
  const response = await fetch(`${gateway.url}/pt`, { method: 'POST', headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', ...headers }, body: '{"q":1}' });
  const text = await response.text();
  let message = text;
  try {
    message = (JSON.parse(text) as { error?: { message?: string } }).error?.message ?? text;
  } catch {
    // not JSON
  }
  return { status: response.status, message };
}

describe('pass-through calls are admitted against the rate limits', () => {
  it('rpm_limit: the second call in the minute is refused, nothing sent', async () => {
    const key = await newKey({ rpm_limit: 1 });
    expect((await call(key)).status).toBe(200);
    const before = seen;
    const refused = await call(key);
    expect(refused.status).toBe(429);
    expect(refused.message).toContain('rpm_limit');
    expect(seen).toBe(before);
  });

  it('max_parallel_requests: a second call while one is in flight is refused, and the slot comes back', async () => {
    const key = await newKey({ max_parallel_requests: 1 });
    let release!: () => void;
    hold = new Promise<void>((resolve) => (release = resolve));
    const start = seen;
    const first = call(key);
    while (seen === start) await new Promise((resolve) => setTimeout(resolve, 10));
    const before = seen;
    let second: { status: number };
    try {
      second = await call(key);
    } finally {
      release();
      hold = undefined;
    }
    expect(second.status).toBe(429);
    expect(seen).toBe(before);
    expect((await first).status).toBe(200);
    expect((await call(key)).status).toBe(200);
  });

  it('tpm_limit: the answer\'s tokens count, a call over the minute\'s tokens is refused', async () => {
    const key = await newKey({ tpm_limit: 50 });
    expect((await call(key)).status).toBe(200);
    await new Promise((resolve) => setTimeout(resolve, 200));
    const before = seen;
    const refused = await call(key);
    expect(refused.status).toBe(429);
    expect(seen).toBe(before);
  });

  it('customers: a blocked one is refused, one with a budget is refused, one with rpm_limit is counted', async () => {
    const key = await newKey({});
    const before = seen;
    const blocked = await call(key, { 'x-litellm-end-user-id': 'blocked-acme' });
    expect(blocked.status).toBe(403);
    expect(blocked.message).toContain('End User=blocked-acme is blocked');
    expect((await call(key, { 'x-litellm-end-user-id': 'budgeted-acme' })).status).toBe(403);
    expect(seen).toBe(before);
    expect((await call(key, { 'x-litellm-end-user-id': 'slow-acme' })).status).toBe(200);
    expect((await call(key, { 'x-litellm-end-user-id': 'slow-acme' })).status).toBe(429);
    expect((await call(key)).status).toBe(200);
  });
});
