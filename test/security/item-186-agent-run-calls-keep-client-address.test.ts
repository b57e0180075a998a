/**
 * The attack (on the audit trail): every usage row keeps the address of the client that made the
 * call (`requester_ip_address` on /spend/logs), so an operator can tell where a key's calls came
 * from. `POST /agents/{name}/run` made its model calls with a fresh call context that dropped the
 * request's address (and its `traceparent`): a run's calls — billed to the key like any other —
 * were recorded with no client address at all, so a leaked key used through agent runs left no trace
 * of where it was used from. Now a run's calls carry the request's client address like a call made
 * as `model: agent/<name>`.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { Management, pricedConfig } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

interface SpendRow {
  request_id: string;
  agent: string | null;
  agent_execution: string | null;
  requester_ip_address: string | null;
}

const upstream = new MockOpenAI({ reply: '{"part": "bolt"}', promptTokens: 10, completionTokens: 10 });
let gateway: TestGateway;
let api: Management;
let key: string;

beforeAll(async () => {
  await upstream.start();
  gateway = await startGateway(pricedConfig(upstream.url, 'agents:\n  - name: matcher\n    model: cheap\n'));
  api = new Management(gateway.url);
  key = (await api.generateKey()).key;
});

afterAll(async () => {
  await gateway?.close();
  await upstream.close();
});

describe('the calls of an agent run', () => {
  it('are recorded with the client address, as the same agent called through the API is', async () => {
    const chat = await api.call<{ id: string }>('POST', '/v1/chat/completions', { model: 'agent/matcher', messages: [{ role: 'user', content: 'hi' }] }, key);
    expect(chat.status).toBe(200);
    const run = await api.ok<{ execution_id: string; status: string; call_ids: string[] }>('POST', '/agents/matcher/run', { input_data: { part: 'bolt' } }, key);
    expect(run.status).toBe('success');
    await gateway.flushUsage();
    const rows = await api.ok<SpendRow[]>('GET', '/spend/logs', undefined, key);
    const viaApi = rows.find((row) => row.request_id === chat.headers.get('x-switchboard-call-id'));
    expect(viaApi?.requester_ip_address).toBe('127.0.0.1');
    const ofRun = rows.filter((row) => row.agent_execution === run.execution_id);
    expect(ofRun.map((row) => row.request_id).sort()).toEqual([...run.call_ids].sort());
    for (const row of ofRun) expect(row.requester_ip_address).toBe('127.0.0.1');
  });
});
