/**
 * The spend API through the real server: report totals after known traffic (hand-computed from the
 * mock's fixed usage and the config's prices), who may read what, CSV exports, bad input, prompt
 * storage on and off, and retention of raw rows with rollups kept.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { chatStatus, clientFor, Management, pricedConfig, sha256 } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

// cheap: 100 × 1 + 50 × 2 = 200 µ$ per call; premium: 100 × 10 + 50 × 20 = 2,000 µ$.
const upstream = new MockOpenAI({ promptTokens: 100, completionTokens: 50, reply: 'Stored reply text' });

let gateway: TestGateway;
let api: Management;
let aliceKey: string;
let loneKey: string;
let aliceCallId: string;

async function get(path: string, key = MASTER_KEY): Promise<Response> {
  return fetch(`${gateway.url}${path}`, { headers: { authorization: `Bearer ${key}` } });
}

async function json<T = any>(path: string, key = MASTER_KEY): Promise<T> {
  const response = await get(path, key);
  if (response.status !== 200) throw new Error(`${path} answered ${response.status}: ${await response.text()}`);
  return (await response.json()) as T;
}

beforeAll(async () => {
  await upstream.start();
  gateway = await startGateway(pricedConfig(upstream.url, '  maximum_spend_logs_retention_period: "2d"\n  maximum_spend_logs_retention_interval: "1h"'));
  api = new Management(gateway.url);
  await api.newUser({ user_id: 'alice' });
  aliceKey = (await api.generateKey({ user_id: 'alice', key_alias: 'alice-key' })).key;
  loneKey = (await api.generateKey({ key_alias: 'lone-key' })).key;
  const alice = clientFor(gateway.url, aliceKey);
  const lone = clientFor(gateway.url, loneKey);
  const master = clientFor(gateway.url, MASTER_KEY);
  const first = await chatStatus(alice, { model: 'cheap' });
  aliceCallId = first.headers.get('x-switchboard-call-id')!;
  expect((await chatStatus(alice, { model: 'cheap' })).status).toBe(200);
  expect((await chatStatus(alice, { model: 'premium' })).status).toBe(200);
  expect((await chatStatus(lone, { model: 'cheap' })).status).toBe(200);
  upstream.faults.push({ kind: 'error', status: 500 });
  expect((await chatStatus(lone, { model: 'cheap' })).status).toBe(502);
  expect((await chatStatus(master, { model: 'premium' })).status).toBe(200);
  await gateway.flushUsage();
});

afterAll(async () => {
  await gateway?.close();
  await upstream.close();
});

describe('GET /switchboard/spend/report', () => {
  it('totals by model match the hand-computed spend, tokens and request counts', async () => {
    const rows = await json<Array<Record<string, unknown>>>('/switchboard/spend/report?group_by=model');
    expect(rows).toEqual([
      expect.objectContaining({ model: 'cheap', total_spend: 0.0006, spend: 0.0006, api_requests: 4, successful_requests: 3, failed_requests: 1, prompt_tokens: 300, completion_tokens: 150, total_tokens: 450 }),
      expect.objectContaining({ model: 'premium', total_spend: 0.004, api_requests: 2, successful_requests: 2, failed_requests: 0, total_tokens: 300 }),
    ]);
  });

  it('groups by key (token and alias), user and day; filters by key', async () => {
    const byKey = await json<Array<Record<string, unknown>>>('/switchboard/spend/report?group_by=api_key');
    const aliceRow = byKey.find((row) => row.key_alias === 'alice-key');
    expect(aliceRow).toMatchObject({ api_key: sha256(aliceKey), spend: 0.0024, api_requests: 3 });
    expect(byKey.find((row) => row.key_alias === 'lone-key')).toMatchObject({ spend: 0.0002, api_requests: 2, failed_requests: 1 });
    const byUser = await json<Array<Record<string, unknown>>>('/switchboard/spend/report?group_by=user');
    expect(byUser.find((row) => row.user_id === 'alice')).toMatchObject({ spend: 0.0024 });
    const byDay = await json<Array<Record<string, unknown>>>('/switchboard/spend/report?group_by=day');
    expect(byDay.reduce((sum, row) => sum + (row.api_requests as number), 0)).toBe(6);
    expect(byDay[0].group_by_day).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    const filtered = await json<Array<Record<string, unknown>>>(`/switchboard/spend/report?group_by=model&api_key=${sha256(aliceKey)}`);
    expect(filtered.map((row) => [row.model, row.api_requests])).toEqual([
      ['cheap', 2],
      ['premium', 1],
    ]);
  });

  it('exports CSV with a header row', async () => {
    const response = await get('/switchboard/spend/report?group_by=model&format=csv');
    expect(response.status).toBe(200);
    expect(response.headers.get('content-type')).toContain('text/csv');
    const lines = (await response.text()).trim().split('\r\n');
    expect(lines[0]).toBe('model,total_spend,spend,prompt_tokens,completion_tokens,total_tokens,cache_read_input_tokens,api_requests,successful_requests,failed_requests,credits,cache_hits,saved_cost');
    expect(lines.slice(1)).toEqual(['cheap,0.0006,0.0006,300,150,450,0,4,3,1,0,0,0', 'premium,0.004,0.004,200,100,300,0,2,2,0,0,0,0']);
  });

  it('is for operators only, and says what is wrong with bad input', async () => {
    const denied = await get('/switchboard/spend/report', aliceKey);
    expect(denied.status).toBe(403);
    expect(((await denied.json()) as { error: { message: string } }).error.message).toContain('llm.configure');
    const badDate = await get('/switchboard/spend/report?start_date=2026-13-45');
    expect(badDate.status).toBe(400);
    expect(((await badDate.json()) as { error: { message: string } }).error.message).toContain('start_date');
    const badGroup = await get('/switchboard/spend/report?group_by=planet');
    expect(badGroup.status).toBe(400);
    expect(((await badGroup.json()) as { error: { message: string } }).error.message).toContain('planet');
    const reversed = await get('/switchboard/spend/report?start_date=2026-11-10&end_date=2026-11-01');
    expect(reversed.status).toBe(400);
  });
});

describe('GET /switchboard/spend/logs', () => {
  it('an operator sees every call, filtered and paginated', async () => {
    const all = await json<{ data: Array<Record<string, unknown>>; has_more: boolean }>('/switchboard/spend/logs');
    expect(all.data).toHaveLength(6);
    const failures = await json<{ data: Array<Record<string, unknown>> }>('/switchboard/spend/logs?status=failure');
    expect(failures.data.map((row) => [row.key_alias, row.http_status])).toEqual([['lone-key', 502]]);
    const page = await json<{ data: Array<Record<string, unknown>>; has_more: boolean; page: number }>('/switchboard/spend/logs?page_size=4&page=2');
    expect(page.data).toHaveLength(2);
    expect(page.has_more).toBe(false);
    expect((await json<{ has_more: boolean }>('/switchboard/spend/logs?page_size=4')).has_more).toBe(true);
    const one = await json<{ data: Array<Record<string, unknown>> }>(`/switchboard/spend/logs?request_id=${aliceCallId}`);
    expect(one.data).toEqual([expect.objectContaining({ request_id: aliceCallId, user: 'alice', model: 'cheap', spend: 0.0002, prompt_tokens: 100, completion_tokens: 50, status: 'success' })]);
  });

  it('a key reads only its own calls, whatever it filters on', async () => {
    const own = await json<{ data: Array<Record<string, unknown>> }>('/switchboard/spend/logs', aliceKey);
    expect(own.data.map((row) => row.key_alias)).toEqual(['alice-key', 'alice-key', 'alice-key']);
    const others = await json<{ data: unknown[] }>('/switchboard/spend/logs?user_id=alice', loneKey);
    expect(others.data).toEqual([]);
    const csv = await (await get('/switchboard/spend/logs?format=csv', loneKey)).text();
    expect(csv.trim().split('\r\n')).toHaveLength(3);
  });
});

describe('usage for a key’s own user', () => {
  it('/api/v1/llm/usage gives the caller’s totals by day and by model', async () => {
    const usage = await json<any>('/api/v1/llm/usage', aliceKey);
    expect(usage.user_id).toBe('alice');
    expect(usage.totals).toMatchObject({ spend: 0.0024, api_requests: 3, total_tokens: 450 });
    expect(usage.by_model.map((row: any) => [row.model, row.spend, row.api_requests])).toEqual([
      ['premium', 0.002, 1],
      ['cheap', 0.0004, 2],
    ]);
    const lone = await json<any>('/api/v1/llm/usage', loneKey);
    expect(lone).toMatchObject({ user_id: null, api_key: sha256(loneKey), totals: { api_requests: 2, failed_requests: 1, spend: 0.0002 } });
  });

  it('/user/daily/activity answers in LiteLLM’s shape, scoped to the caller', async () => {
    const activity = await json<any>('/user/daily/activity', aliceKey);
    expect(activity.metadata).toMatchObject({ total_spend: 0.0024, total_api_requests: 3, total_successful_requests: 3, total_failed_requests: 0, page: 1, has_more: false });
    const today = activity.results[0];
    expect(today.date).toMatch(/^\d{4}-\d{2}-\d{2}$/);
    expect(Object.keys(today.breakdown.models).sort()).toEqual(['cheap', 'premium']);
    expect(today.breakdown.api_keys[sha256(aliceKey)].metadata.key_alias).toBe('alice-key');
    expect(today.breakdown.providers.openai.metrics.api_requests).toBe(3);
    const everyone = await json<any>('/user/daily/activity');
    expect(everyone.metadata.total_api_requests).toBe(6);
    const csv = await (await get('/user/daily/activity?format=csv', aliceKey)).text();
    expect(csv.split('\r\n')[0]).toBe('date,model,provider,api_key,key_alias,spend,prompt_tokens,completion_tokens,total_tokens,cache_read_input_tokens,api_requests,successful_requests,failed_requests,credits,cache_hits,saved_cost');
  });
});

describe('prompts in spend logs', () => {
  it('are never stored unless store_prompts_in_spend_logs is on', async () => {
    const row = await gateway.recordOf(aliceCallId);
    expect(row?.messages).toBeNull();
    expect(row?.response).toBeNull();
  });

  it('are stored for plain and streamed calls when it is on', async () => {
    const storing = await startGateway(pricedConfig(upstream.url, '  store_prompts_in_spend_logs: true'));
    try {
      const client = storing.openai();
      const plain = await client.chat.completions.create({ model: 'cheap', messages: [{ role: 'user', content: 'remember me' }] }).withResponse();
      const stream = await client.chat.completions.create({ model: 'cheap', stream: true, stream_options: { include_usage: true }, messages: [{ role: 'user', content: 'stream me' }] }).withResponse();
      for await (const _chunk of stream.data) void _chunk;
      const plainRow = await storing.recordOf(plain.response.headers.get('x-switchboard-call-id')!);
      expect(JSON.parse(plainRow!.messages!)).toEqual([{ role: 'user', content: 'remember me' }]);
      expect(plainRow!.response).toBe('Stored reply text');
      const streamRow = await storing.recordOf(stream.response.headers.get('x-switchboard-call-id')!);
      expect(JSON.parse(streamRow!.messages!)).toEqual([{ role: 'user', content: 'stream me' }]);
      expect(streamRow!.response).toBe('Stored reply text');
      const logs = await fetch(`${storing.url}/switchboard/spend/logs?request_id=${plain.response.headers.get('x-switchboard-call-id')}`, { headers: { authorization: `Bearer ${MASTER_KEY}` } });
      const body = (await logs.json()) as { data: Array<{ messages: unknown; response: unknown }> };
      expect(body.data[0]).toMatchObject({ messages: [{ role: 'user', content: 'remember me' }], response: 'Stored reply text' });
    } finally {
      await storing.close();
    }
  });
});

describe('retention', () => {
  it('deletes raw rows past maximum_spend_logs_retention_period and keeps their rollups', async () => {
    const old = Date.now() - 5 * 86_400_000;
    const oldDay = new Date(old).toISOString().slice(0, 10);
    const base = (await gateway.runtime.usageLogs()!.findByCallId(aliceCallId))!;
    const { id: _id, ...template } = base;
    await gateway.runtime.usageIngest()!.insertMany([
      { ...template, call_id: 'old-1', created_at: old },
      { ...template, call_id: 'old-2', created_at: old + 1000 },
    ]);
    const report = `/switchboard/spend/report?group_by=day&start_date=${oldDay}&end_date=${oldDay}`;
    expect(await json(report)).toEqual([expect.objectContaining({ group_by_day: oldDay, api_requests: 2, spend: 0.0004 })]);
    expect(await gateway.runtime.analytics.retention!.runOnce()).toBe(2);
    expect(await gateway.runtime.usageLogs()!.findByCallId('old-1')).toBeUndefined();
    expect(await gateway.runtime.usageLogs()!.findByCallId(aliceCallId)).toBeDefined();
    expect(await json(report)).toEqual([expect.objectContaining({ group_by_day: oldDay, api_requests: 2, spend: 0.0004 })]);
    const metrics = await (await get('/metrics')).text();
    expect(metrics).toMatch(/^switchboard_usage_rows_expired_total 2$/m);
  });
});
