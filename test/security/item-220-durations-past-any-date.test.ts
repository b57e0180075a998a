/**
 * A key's `duration` and the `budget_duration` / `time_period` of keys, users, teams, customers and
 * budget objects become dates (`expires`, `budget_reset_at`). A duration so long that the date it
 * leads to is past what a date can hold ("99999999999d") used to be accepted and stored: the call
 * answered 500 after the row was written, and from then on every view listing that key — the
 * owner's /key/list and /user/info, and the admin's /key/list — answered 500 too. Any internal user
 * could so break the admins' key listing with one request to its own /key/generate. Such durations
 * are refused with 400 naming the field (at most 100 years), and nothing is stored.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { Management, pricedConfig, type ErrorBody } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

const upstream = new MockOpenAI();
let gateway: TestGateway;
let api: Management;
let userKey: string;

beforeAll(async () => {
  await upstream.start();
  gateway = await startGateway(pricedConfig(upstream.url));
  api = new Management(gateway.url);
  userKey = (await api.newUser({ user_id: 'internal' })).key!;
});
afterAll(async () => {
  await gateway?.close();
  await upstream.close();
});

const TOO_LONG = ['99999999999d', '999999999999mo', '99999999999999w', '36526d', '1201mo'];

/** The views an attacker's stored key would break: its owner's and the admins'. */
async function expectViewsAnswer(): Promise<void> {
  expect((await api.call('GET', '/key/list?return_full_object=true')).status).toBe(200);
  expect((await api.call('GET', '/key/list?return_full_object=true', undefined, userKey)).status).toBe(200);
  expect((await api.call('GET', '/user/info', undefined, userKey)).status).toBe(200);
  expect((await api.call('GET', '/user/info?user_id=internal')).status).toBe(200);
}

describe('durations past any date are refused, never stored', () => {
  it.each(TOO_LONG)('an internal user\'s /key/generate with duration "%s": 400, and every key view still answers', async (duration) => {
    const response = await api.call<ErrorBody>('POST', '/key/generate', { duration }, userKey);
    expect(response.status).toBe(400);
    expect(response.body.error).toMatchObject({ param: 'duration' });
    expect(response.body.error.message).toContain('100 years');
    await expectViewsAnswer();
  });

  it.each(TOO_LONG)('budget_duration "%s" on /key/generate and /key/update: 400', async (duration) => {
    const created = await api.call<ErrorBody>('POST', '/key/generate', { max_budget: 1, budget_duration: duration }, userKey);
    expect(created.status).toBe(400);
    expect(created.body.error).toMatchObject({ param: 'budget_duration' });
    const own = await api.generateKey({ user_id: 'internal' });
    const updated = await api.call<ErrorBody>('POST', '/key/update', { key: own.key, budget_duration: duration }, userKey);
    expect(updated.status).toBe(400);
    expect(updated.body.error).toMatchObject({ param: 'budget_duration' });
    const expiring = await api.call<ErrorBody>('POST', '/key/update', { key: own.key, duration }, userKey);
    expect(expiring.status).toBe(400);
    expect((await api.keyInfo(own.key)).expires).toBeNull();
    await expectViewsAnswer();
  });

  it('a model_max_budget time_period past any date: 400 naming the entry', async () => {
    const response = await api.call<ErrorBody>('POST', '/key/generate', { model_max_budget: { cheap: { budget_limit: 1, time_period: '99999999999d' } } }, userKey);
    expect(response.status).toBe(400);
    expect(response.body.error.param).toContain('model_max_budget');
    await expectViewsAnswer();
  });

  it('users, teams, customers and budget objects refuse it too', async () => {
    const duration = '99999999999999w';
    for (const [path, body] of [
      ['/user/new', { user_id: 'long-user', max_budget: 1, budget_duration: duration }],
      ['/team/new', { team_id: 'long-team', max_budget: 1, budget_duration: duration }],
      ['/customer/new', { user_id: 'long-customer', max_budget: 1, budget_duration: duration }],
      ['/budget/new', { budget_id: 'long-budget', max_budget: 1, budget_duration: duration }],
    ] as const) {
      const response = await api.call<ErrorBody>('POST', path, body);
      expect(response.status, path).toBe(400);
      expect(response.body.error.param, path).toBe('budget_duration');
    }
    expect((await api.call('GET', '/user/list')).status).toBe(200);
    expect((await api.call('GET', '/team/list')).status).toBe(200);
    expect((await api.call('GET', '/customer/list')).status).toBe(200);
    expect((await api.call('GET', '/budget/list')).status).toBe(200);
  });

  it('the longest accepted durations still work: 100 years, 1200 months', async () => {
    const key = await api.generateKey({ user_id: 'internal', duration: '36525d', max_budget: 1, budget_duration: '1200mo' });
    expect(Date.parse(key.expires!)).toBeGreaterThan(Date.now() + 99 * 365 * 86_400_000);
    expect((await api.call('GET', '/key/list?return_full_object=true')).status).toBe(200);
  });
});
