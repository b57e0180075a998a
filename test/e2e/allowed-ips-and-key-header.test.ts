/**
 * LiteLLM's general_settings.allowed_ips (calls from any other client address are refused with 403
 * "Access forbidden: IP address … not allowed.", before authentication and before any upstream
 * call; the health probes stay open) and litellm_key_header_name (the virtual key is read from that
 * header only). Through the real server: the test client connects from 127.0.0.1.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { pricedConfig } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

const upstream = new MockOpenAI();
const CHAT = { model: 'cheap', messages: [{ role: 'user', content: 'hi' }] };
const started: TestGateway[] = [];

async function gatewayWith(settings: string): Promise<TestGateway> {
  const gateway = await startGateway(pricedConfig(upstream.url, settings));
  started.push(gateway);
  return gateway;
}

async function call(gateway: TestGateway, path: string, headers: Record<string, string>, body?: unknown): Promise<{ status: number; message?: string }> {
  const answer = await fetch(`${gateway.url}${path}`, {
    method: body ? 'POST' : 'GET',
    headers: { ...headers, ...(body ? { 'content-type': 'application/json' } : {}) },
    body: body ? JSON.stringify(body) : undefined,
  });
  const text = await answer.text();
  let message: string | undefined;
  try {
    message = (JSON.parse(text) as { error?: { message?: string } }).error?.message;
  } catch {
    message = undefined;
  }
  return { status: answer.status, message };
}

const bearer = (key: string) => ({ authorization: `Bearer ${key}` });

beforeAll(async () => {
  await upstream.start();
});

afterAll(async () => {
  for (const gateway of started) await gateway.close();
  await upstream.close();
});

describe('general_settings.allowed_ips', () => {
  it('is an honoured setting; an entry that is neither an address nor a CIDR range is a config error', () => {
    const loaded = parseConfig(pricedConfig('http://127.0.0.1:9', '  allowed_ips: ["10.0.0.1", "10.1.0.0/16", "::1"]\n  litellm_key_header_name: X-Litellm-Key\n'), {}, 'config.yaml');
    expect(loaded.issues.filter((issue) => ['allowed_ips', 'litellm_key_header_name'].includes(String(issue.path[1])))).toEqual([]);
    const bad = parseConfig(pricedConfig('http://127.0.0.1:9', '  allowed_ips: ["office"]\n'), {}, 'config.yaml');
    expect(bad.issues.find((issue) => issue.fatal && issue.path.join('.') === 'general_settings.allowed_ips.0')).toBeDefined();
  });

  it('a listed client address is served', async () => {
    const gateway = await gatewayWith('  allowed_ips: ["10.0.0.1", "127.0.0.1"]\n');
    expect((await call(gateway, '/v1/chat/completions', bearer(MASTER_KEY), CHAT)).status).toBe(200);
  });

  it('any other address is refused with 403 before authentication and before the upstream is called; the health probes stay open', async () => {
    const gateway = await gatewayWith('  allowed_ips: ["10.9.9.9"]\n');
    const before = upstream.requests.length;
    const refused = await call(gateway, '/v1/chat/completions', bearer(MASTER_KEY), CHAT);
    expect(refused).toEqual({ status: 403, message: 'Access forbidden: IP address 127.0.0.1 not allowed.' });
    expect((await call(gateway, '/v1/chat/completions', bearer('sk-wrong'), CHAT)).status).toBe(403);
    expect((await call(gateway, '/key/list', bearer(MASTER_KEY))).status).toBe(403);
    expect(upstream.requests.length).toBe(before);
    expect((await call(gateway, '/health/liveliness', {})).status).toBe(200);
  });

  it('a CIDR range admits the addresses in it', async () => {
    const inside = await gatewayWith('  allowed_ips: ["127.0.0.0/8"]\n');
    expect((await call(inside, '/v1/chat/completions', bearer(MASTER_KEY), CHAT)).status).toBe(200);
    const outside = await gatewayWith('  allowed_ips: ["10.0.0.0/8"]\n');
    expect((await call(outside, '/v1/chat/completions', bearer(MASTER_KEY), CHAT)).status).toBe(403);
  });
});

describe('general_settings.litellm_key_header_name', () => {
  let gateway: TestGateway;
  let userKey: string;

  beforeAll(async () => {
    gateway = await gatewayWith(`  litellm_key_header_name: X-Litellm-Key\n  pass_through_endpoints:\n    - {path: /fwd, target: "${upstream.url}/fwd", forward_headers: true}\n`);
    const answer = await fetch(`${gateway.url}/key/generate`, { method: 'POST', headers: { 'x-litellm-key': `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' }, body: '{}' });
    expect(answer.status).toBe(200);
    userKey = ((await answer.json()) as { key: string }).key;
  });

  it('the openai SDK with the key in that header (and a dummy apiKey) is served', async () => {
    const client = new OpenAI({ apiKey: 'dummy', baseURL: `${gateway.url}/v1`, maxRetries: 0, defaultHeaders: { 'X-Litellm-Key': userKey } });
    const completion = await client.chat.completions.create({ model: 'cheap', messages: [{ role: 'user', content: 'hi' }] });
    expect(completion.choices[0].message.content).toBeTruthy();
    expect((await call(gateway, '/v1/chat/completions', { 'X-Litellm-Key': `Bearer ${userKey}` }, CHAT)).status).toBe(200);
  });

  it('the key is read from that header only, as on LiteLLM: Authorization or x-api-key alone is refused', async () => {
    expect((await call(gateway, '/v1/chat/completions', bearer(userKey), CHAT)).status).toBe(401);
    expect((await call(gateway, '/v1/chat/completions', { 'x-api-key': userKey }, CHAT)).status).toBe(401);
    expect((await call(gateway, '/v1/chat/completions', { 'X-Litellm-Key': 'sk-wrong', ...bearer(userKey) }, CHAT)).status).toBe(401);
  });

  it('a pass-through endpoint forwarding client headers never sends the key header on', async () => {
    await call(gateway, '/fwd', { 'X-Litellm-Key': `Bearer ${userKey}`, 'x-litellm-api-key': `Bearer ${userKey}`, 'x-kept': 'yes' });
    const forwarded = upstream.requests.at(-1)!;
    expect(forwarded.url).toContain('/fwd');
    expect(forwarded.headers['x-kept']).toBe('yes');
    expect(forwarded.headers['x-litellm-key']).toBeUndefined();
    expect(forwarded.headers['x-litellm-api-key']).toBeUndefined();
  });
});
