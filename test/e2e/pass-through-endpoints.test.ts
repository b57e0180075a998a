/**
 * general_settings.pass_through_endpoints (LiteLLM's format) through the real server: each path
 * relayed to a local target — method, subpath, query, body, the configured headers with an
 * os.environ/ reference resolved, the client's gateway key never forwarded — with the answer
 * (JSON or an SSE stream) passed back as sent and a usage row per call; a key required unless
 * `auth: false`, and unknown entry keys warned about at load.
 */
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { parseConfig } from '../../src/config/load.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';

interface Seen {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: string;
}

const seen: Seen[] = [];
let target: Server;
let targetUrl: string;
let gateway: TestGateway;

beforeAll(async () => {
  target = createServer((request, response) => {
    const chunks: Buffer[] = [];
    request.on('data', (chunk: Buffer) => chunks.push(chunk));
    request.on('end', () => {
      const record: Seen = { method: request.method ?? '', url: request.url ?? '', headers: request.headers, body: Buffer.concat(chunks).toString('utf8') };
      seen.push(record);
      const path = (request.url ?? '').split('?')[0];
      if (path.endsWith('/stream')) {
        response.writeHead(200, { 'content-type': 'text/event-stream', 'x-target': 'stream' });
        let sent = 0;
        const next = () => {
          if (sent === (path.includes('/slow/') ? 400 : 3)) {
            response.end('data: [DONE]\n\n');
            return;
          }
          response.write(`data: {"n":${sent++}}\n\n`);
          setTimeout(next, 5);
        };
        next();
        return;
      }
      if (path.endsWith('/v1/chat/completions')) {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ id: 'chatcmpl-1', object: 'chat.completion', choices: [], usage: { prompt_tokens: 11, completion_tokens: 4, total_tokens: 15 } }));
        return;
      }
      if (path.endsWith('/v1/messages')) {
        response.writeHead(200, { 'content-type': 'application/json' });
        response.end(JSON.stringify({ id: 'msg_1', type: 'message', content: [], usage: { input_tokens: 9, output_tokens: 3, cache_read_input_tokens: 2 } }));
        return;
      }
      if (path.endsWith('/missing')) {
        response.writeHead(404, { 'content-type': 'application/json' });
        response.end('{"error":"no such thing"}');
        return;
      }
      response.writeHead(201, { 'content-type': 'application/json', 'x-target': 'echo' });
      response.end(JSON.stringify({ echoed: record.body, method: record.method, url: record.url }));
    });
  });
  await new Promise<void>((resolve) => target.listen(0, '127.0.0.1', resolve));
  targetUrl = `http://127.0.0.1:${(target.address() as AddressInfo).port}`;
  gateway = await startGateway(`
model_list: []
general_settings:
  master_key: ${MASTER_KEY}
  pass_through_endpoints:
    - path: /bria
      target: ${targetUrl}/api
      include_subpath: true
      headers:
        Authorization: Bearer os.environ/BRIA_KEY
        x-static: fixed
    - path: /exact
      target: ${targetUrl}/one
    - path: /forwarding
      target: ${targetUrl}/fwd
      forward_headers: true
    - path: /open
      target: ${targetUrl}/public
      auth: false
      methods: [GET]
`, { env: { BRIA_KEY: 'bria-secret' } });
});

afterAll(async () => {
  await gateway?.close();
  await new Promise<void>((resolve) => target?.close(() => resolve()));
});

const auth = { authorization: `Bearer ${MASTER_KEY}` };

describe('pass_through_endpoints', () => {
  it('relays method, subpath, query and body with the configured headers, never the gateway key, and records the call', async () => {
    const response = await fetch(`${gateway.url}/bria/v1/text-to-image?seed=7&x=a%20b`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json', 'x-client': 'kept-out' }, body: '{"prompt":"a cat" }' });
    expect(response.status).toBe(201);
    expect(response.headers.get('x-target')).toBe('echo');
    expect(await response.json()).toEqual({ echoed: '{"prompt":"a cat" }', method: 'POST', url: '/api/v1/text-to-image?seed=7&x=a%20b' });
    const sent = seen.at(-1)!;
    expect(sent.headers.authorization).toBe('Bearer bria-secret');
    expect(sent.headers['x-static']).toBe('fixed');
    expect(sent.headers['x-client']).toBeUndefined();
    expect(JSON.stringify(sent.headers)).not.toContain(MASTER_KEY);
    const record = await gateway.recordOf(response.headers.get('x-switchboard-call-id')!);
    expect(record).toMatchObject({ endpoint: 'pass_through', status: 'success', model_group: null, cost_micros: null, stream: 0 });
    expect(record!.latency_ms).toBeGreaterThanOrEqual(0);
  });

  it('refuses a caller held to a budget (the key\'s, its team\'s or a linked budget object\'s): an unpriced call cannot be charged', async () => {
    const api = new Management(gateway.url);
    const free = await api.generateKey({});
    const budgeted = await api.generateKey({ max_budget: 5 });
    await api.newTeam({ team_id: 'pt-budget-team', max_budget: 5 });
    const teamKey = await api.generateKey({ team_id: 'pt-budget-team' });
    await api.ok('POST', '/budget/new', { budget_id: 'pt-budget', max_budget: 1 });
    const linked = await api.generateKey({ budget_id: 'pt-budget' });
    const before = seen.length;
    for (const key of [budgeted.key, teamKey.key, linked.key]) {
      const refused = await fetch(`${gateway.url}/exact`, { headers: { authorization: `Bearer ${key}` } });
      expect(refused.status).toBe(403);
      expect(((await refused.json()) as { error: { message: string } }).error.message).toContain('carry no price');
    }
    expect(seen.length).toBe(before);
    const served = await fetch(`${gateway.url}/exact`, { headers: { authorization: `Bearer ${free.key}` } });
    expect(served.status).toBe(201);
  });

  it('serves the exact path only without include_subpath', async () => {
    const exact = await fetch(`${gateway.url}/exact`, { headers: auth });
    expect(exact.status).toBe(201);
    expect(seen.at(-1)!.url).toBe('/one');
    const deeper = await fetch(`${gateway.url}/exact/more`, { headers: auth });
    expect(deeper.status).toBe(404);
  });

  it('requires a gateway key unless auth: false', async () => {
    const before = seen.length;
    const refused = await fetch(`${gateway.url}/bria/v1/anything`, { method: 'POST', body: '{}' , headers: { 'content-type': 'application/json' } });
    expect(refused.status).toBe(401);
    expect(seen.length).toBe(before);
    const open = await fetch(`${gateway.url}/open`);
    expect(open.status).toBe(201);
    const record = await gateway.recordOf(open.headers.get('x-switchboard-call-id')!);
    expect(record).toMatchObject({ endpoint: 'pass_through', status: 'success', key_hash: null });
    const wrongMethod = await fetch(`${gateway.url}/open`, { method: 'POST', body: '{}', headers: auth });
    expect(wrongMethod.status).toBe(404);
  });

  it('forwards the client headers with forward_headers, still without its gateway key', async () => {
    await fetch(`${gateway.url}/forwarding`, { headers: { ...auth, 'x-client': 'sent', 'x-api-key': MASTER_KEY } });
    const sent = seen.at(-1)!;
    expect(sent.headers['x-client']).toBe('sent');
    expect(sent.headers.authorization).toBeUndefined();
    expect(sent.headers['x-api-key']).toBeUndefined();
  });

  it('streams an SSE answer through as it arrives, recorded as a stream', async () => {
    const response = await fetch(`${gateway.url}/bria/stream`, { headers: auth });
    expect(response.headers.get('content-type')).toBe('text/event-stream');
    expect(await response.text()).toBe('data: {"n":0}\n\ndata: {"n":1}\n\ndata: {"n":2}\n\ndata: [DONE]\n\n');
    const record = await gateway.recordOf(response.headers.get('x-switchboard-call-id')!);
    expect(record).toMatchObject({ endpoint: 'pass_through', status: 'success', stream: 1 });
  });

  it('reads the tokens of an OpenAI or Anthropic usage object; the cost stays unknown', async () => {
    const openai = await fetch(`${gateway.url}/bria/v1/chat/completions`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: '{"model":"x","messages":[]}' });
    expect(await gateway.recordOf(openai.headers.get('x-switchboard-call-id')!)).toMatchObject({ prompt_tokens: 11, completion_tokens: 4, cost_micros: null });
    const anthropic = await fetch(`${gateway.url}/bria/v1/messages`, { method: 'POST', headers: { ...auth, 'content-type': 'application/json' }, body: '{}' });
    expect(await gateway.recordOf(anthropic.headers.get('x-switchboard-call-id')!)).toMatchObject({ prompt_tokens: 9, completion_tokens: 3, cached_tokens: 2, cost_micros: null });
  });

  it('passes a target error status back as sent and records the call as failed', async () => {
    const response = await fetch(`${gateway.url}/bria/missing`, { headers: auth });
    expect(response.status).toBe(404);
    expect(await response.text()).toBe('{"error":"no such thing"}');
    expect(await gateway.recordOf(response.headers.get('x-switchboard-call-id')!)).toMatchObject({ endpoint: 'pass_through', status: 'failure' });
  });

  it('records a stream the client abandons as aborted', async () => {
    const abort = new AbortController();
    const response = await fetch(`${gateway.url}/bria/slow/stream`, { headers: auth, signal: abort.signal });
    const reader = response.body!.getReader();
    await reader.read();
    abort.abort();
    const callId = response.headers.get('x-switchboard-call-id')!;
    let record = await gateway.recordOf(callId);
    for (let tries = 0; !record && tries < 200; tries++) {
      await new Promise((resolve) => setTimeout(resolve, 25));
      record = await gateway.recordOf(callId);
    }
    expect(record).toMatchObject({ endpoint: 'pass_through', aborted: 1 });
  });

  it('refuses at start a path the gateway serves itself', async () => {
    await expect(startGateway(`general_settings:\n  master_key: ${MASTER_KEY}\n  pass_through_endpoints:\n    - path: /v1/models\n      target: ${targetUrl}\n`)).rejects.toThrow(/\/v1\/models is a path the gateway serves itself/);
  });

  it('warns about unknown keys of an entry, and fails on an unset header variable', async () => {
    const loaded = parseConfig(`general_settings:\n  pass_through_endpoints:\n    - path: /x\n      target: ${targetUrl}\n      cost_per_request: 0.5\n`);
    expect(loaded.issues.map((issue) => issue.message)).toContain('unknown key "cost_per_request" is ignored');
    await expect(startGateway(`general_settings:\n  master_key: ${MASTER_KEY}\n  pass_through_endpoints:\n    - path: /x\n      target: ${targetUrl}\n      headers:\n        Authorization: Bearer os.environ/NOT_SET_ANYWHERE\n`)).rejects.toThrow(/NOT_SET_ANYWHERE/);
  });
});
