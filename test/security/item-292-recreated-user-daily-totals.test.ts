/**
 * The attack (on privacy): user ids are names an admin chooses, and deleting a user keeps its usage
 * history. Items 283 and 288 made a non-admin's own usage rows and agent runs start when its user
 * was created, but the per-day totals read the daily rollups by user id only: a user created again
 * under a deleted user's id — someone else — read with its own key the previous account's spend,
 * calls, tokens and models in `/user/daily/activity`, `/api/v1/llm/usage`, `/global/spend/logs` and
 * the `/spend/logs` per-day summary, for the days before its creation and for its creation day
 * alike. Now a non-admin's totals start when its user was created (the days after its creation day
 * from the rollups, its creation day from its usage rows since that instant); admins still see all.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

const DAY_MS = 86_400_000;
const dayOf = (epochMs: number) => new Date(epochMs).toISOString().slice(0, 10);

interface Metrics {
  spend: number;
  api_requests: number;
  total_tokens: number;
}

const upstream = new MockOpenAI({ reply: 'the answer' });
let gateway: TestGateway;
let api: Management;
let nextKey: string;
/** The new account's one call's cost (USD), from its own rows. */
let nextSpend: number;
let today: string;
let earlier: string;

const chat = async (key: string, model: string, content: string): Promise<void> => {
  await gateway.openai(key).chat.completions.create({ model, messages: [{ role: 'user', content }] });
};

beforeAll(async () => {
  await upstream.start();
  gateway = await startGateway(`
model_list:
  - model_name: assistant
    litellm_params: {model: openai/assistant-upstream, api_base: "${upstream.url}", api_key: sk-upstream}
    model_info: {input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}
  - model_name: private-model
    litellm_params: {model: openai/private-upstream, api_base: "${upstream.url}", api_key: sk-upstream}
    model_info: {input_cost_per_token: 0.00001, output_cost_per_token: 0.00002}
general_settings:
  master_key: ${MASTER_KEY}
`);
  api = new Management(gateway.url);
  today = dayOf(Date.now());
  earlier = dayOf(Date.now() - 2 * DAY_MS);
  const previousKey = (await api.newUser({ user_id: 'alice', key_alias: 'alice-previous' })).key!;
  // The previous account: one call today, and the private model's calls moved two days back
  // (its rows and rollups alike), as if made then.
  await chat(previousKey, 'assistant', 'previous owner: today');
  await chat(previousKey, 'private-model', 'previous owner: earlier');
  await chat(previousKey, 'private-model', 'previous owner: earlier again');
  await gateway.flushUsage();
  const db = gateway.runtime.database.handle!.db;
  await db.updateTable('usage_logs').set((eb) => ({ created_at: eb('created_at', '-', 2 * DAY_MS) })).where('model_group', '=', 'private-model').execute();
  await db.updateTable('usage_daily').set({ day: earlier }).where('model_group', '=', 'private-model').execute();
  await db.updateTable('usage_daily_totals').set({ day: earlier }).where('model_group', '=', 'private-model').execute();
  await api.ok('POST', '/user/delete', { user_ids: ['alice'] });
  // The clock moves on between the deletion and the new account (rows are stamped in milliseconds).
  await new Promise((resolve) => setTimeout(resolve, 5));
  nextKey = (await api.newUser({ user_id: 'alice' })).key!;
  await chat(nextKey, 'assistant', 'next owner: hello');
  await gateway.flushUsage();
  const own = await api.ok<Array<{ spend: number }>>('GET', '/spend/logs', undefined, nextKey);
  expect(own).toHaveLength(1);
  nextSpend = own[0].spend;
  expect(nextSpend).toBeGreaterThan(0);
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

describe('a user created again under a deleted user\'s id', () => {
  it('sees only its own spend in /user/daily/activity', async () => {
    const answer = await api.ok<{ results: Array<{ date: string; metrics: Metrics; breakdown: { models: Record<string, unknown> } }>; metadata: { total_spend: number; total_api_requests: number } }>(
      'GET',
      `/user/daily/activity?start_date=${earlier}&end_date=${today}`,
      undefined,
      nextKey,
    );
    expect(answer.metadata.total_api_requests).toBe(1);
    expect(answer.metadata.total_spend).toBeCloseTo(nextSpend, 9);
    expect(answer.results.map((day) => day.date)).toEqual([today]);
    expect(Object.keys(answer.results[0].breakdown.models)).toEqual(['assistant']);
  });

  it('sees only its own spend in /user/daily/activity CSV', async () => {
    const response = await fetch(`${gateway.url}/user/daily/activity?start_date=${earlier}&end_date=${today}&format=csv`, { headers: { authorization: `Bearer ${nextKey}` } });
    expect(response.status).toBe(200);
    const csv = await response.text();
    expect(csv).not.toContain('private-model');
    expect(csv.trim().split('\n')).toHaveLength(2);
  });

  it('sees only its own usage in /api/v1/llm/usage', async () => {
    const usage = await api.ok<{ totals: Metrics; by_day: Array<{ date: string }>; by_model: Array<{ model: string }> }>('GET', `/api/v1/llm/usage?start_date=${earlier}&end_date=${today}`, undefined, nextKey);
    expect(usage.totals.api_requests).toBe(1);
    expect(usage.totals.spend).toBeCloseTo(nextSpend, 9);
    expect(usage.by_day.map((day) => day.date)).toEqual([today]);
    expect(usage.by_model.map((model) => model.model)).toEqual(['assistant']);
  });

  it('sees only its own spend in /global/spend/logs', async () => {
    const rows = await api.ok<Array<{ date: string; spend: number }>>('GET', '/global/spend/logs', undefined, nextKey);
    expect(rows.map((row) => row.date)).toEqual([today]);
    expect(rows[0].spend).toBeCloseTo(nextSpend, 9);
  });

  it('sees only its own spend in the /spend/logs per-day summary', async () => {
    const days = await api.ok<Array<{ startTime: string; spend: number; models: Record<string, number> }>>('GET', `/spend/logs?start_date=${earlier}&end_date=${today}`, undefined, nextKey);
    expect(days.map((day) => day.startTime)).toEqual([today]);
    expect(days[0].spend).toBeCloseTo(nextSpend, 9);
    expect(Object.keys(days[0].models)).toEqual(['assistant']);
  });

  it('sees nothing for days before it was created', async () => {
    const usage = await api.ok<{ totals: Metrics; by_day: unknown[] }>('GET', `/api/v1/llm/usage?start_date=${earlier}&end_date=${earlier}`, undefined, nextKey);
    expect(usage.totals.api_requests).toBe(0);
    expect(usage.by_day).toEqual([]);
  });

  it('sums a creation day from its rows since then and the days after from the rollups', async () => {
    // A user created between the private model's two (backdated) calls: the second of them on its
    // creation day, both assistant calls of today on a later day.
    const db = gateway.runtime.database.handle!.db;
    const stamps = (await db.selectFrom('usage_logs').select('created_at').where('model_group', '=', 'private-model').orderBy('created_at').execute()).map((row) => Number(row.created_at));
    const since = stamps[0] + 1;
    expect(dayOf(since)).toBe(earlier);
    const reports = gateway.runtime.analytics.reports();
    const byModel = await reports.report({ startDay: dayOf(Date.now() - 3 * DAY_MS), endDay: today, groupBy: ['model'], userId: 'alice', since });
    expect(byModel.map((row) => [row.model, row.requests])).toEqual([['assistant', 2], ['private-model', 1]]);
    const byDay = await reports.report({ startDay: earlier, endDay: today, groupBy: ['day', 'model'], userId: 'alice', since });
    expect(byDay.map((row) => [row.day, row.model, row.requests])).toEqual([[earlier, 'private-model', 1], [today, 'assistant', 2]]);
    const all = await reports.report({ startDay: earlier, endDay: today, groupBy: ['day', 'model'], userId: 'alice' });
    expect(all.map((row) => [row.day, row.model, row.requests])).toEqual([[earlier, 'private-model', 2], [today, 'assistant', 2]]);
    // The creation-day sums equal the rollup's for the same rows.
    const rollup = await reports.report({ startDay: earlier, endDay: earlier, groupBy: [], userId: 'alice' });
    const rows = await reports.report({ startDay: earlier, endDay: earlier, groupBy: [], userId: 'alice', since: Date.parse(`${earlier}T00:00:00Z`) + 1 });
    expect(rows).toEqual(rollup);
  });

  it('leaves admins every total, the deleted account\'s included', async () => {
    const usage = await api.ok<{ totals: Metrics; by_model: Array<{ model: string }> }>('GET', `/api/v1/llm/usage?user_id=alice&start_date=${earlier}&end_date=${today}`);
    expect(usage.totals.api_requests).toBe(4);
    expect(usage.by_model.map((model) => model.model).sort()).toEqual(['assistant', 'private-model']);
    const activity = await api.ok<{ metadata: { total_api_requests: number } }>('GET', `/user/daily/activity?user_id=alice&start_date=${earlier}&end_date=${today}`);
    expect(activity.metadata.total_api_requests).toBe(4);
    const everyone = await api.ok<Array<{ date: string }>>('GET', '/global/spend/logs');
    expect(everyone.map((row) => row.date)).toEqual([earlier, today]);
  });
});
