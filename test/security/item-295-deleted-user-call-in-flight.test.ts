/**
 * The attack (on the new account's credits and budget): user ids are names an admin chooses, and a
 * user created again under a deleted user's id is another account (items 283, 291). A call the old
 * account started — a long stream, its credits reserved against the old account — that ended after
 * the user was deleted and created again was stored with the id alone, and the usage writer charged
 * it by that id: the new account's credit balance lost the old account's call (40 credits of her
 * 100 here), her stored spend (her max_budget's) grew by its $0.04, and the ledger row of that
 * deduction was hidden from her (its time is the call's start, before she existed). Now a stored
 * call is charged to the user's account only when that account existed when the call started —
 * the same line her own usage and ledger start at — so the old account's late call charges no one
 * (its usage row, with its upstream cost, is kept for admins, and the skip is logged), while the
 * new account's own calls are charged as always.
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { HoldingOpenAI } from '../support/holding-openai.js';

interface UserInfo {
  user_info: { spend: number };
}

interface SpendRow {
  request_id: string;
  user: string;
  spend: number;
}

describe('a call of a deleted user that ends after the id was given to a new account', () => {
  // 20 prompt tokens at $0.001 + 10 completion tokens at $0.002: $0.04, 40 credits a call.
  const upstream = new HoldingOpenAI({ promptTokens: 20, completionTokens: 10 });
  let gateway: TestGateway;
  let api: Management;
  let newKey: string;
  let oldCallId: string;
  const warnings: string[] = [];

  const stream = (key: string) =>
    fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'assistant', messages: [{ role: 'user', content: 'hello' }], max_tokens: 10, stream: true, stream_options: { include_usage: true } }),
    });

  beforeAll(async () => {
    await upstream.start();
    gateway = await startGateway(`
model_list:
  - model_name: assistant
    litellm_params: {model: openai/assistant-upstream, api_base: "${upstream.url}", api_key: sk-upstream}
    model_info: {input_cost_per_token: 0.001, output_cost_per_token: 0.002}
general_settings:
  master_key: ${MASTER_KEY}
platform:
  credits_per_usd: 1000
  default_tier: starter
  tiers:
    starter: {markup: 0, initial_credits: 100}
`, { logger: pino({ level: 'warn' }, new Writable({ write: (chunk: Buffer, _encoding, done) => (warnings.push(chunk.toString()), done()) })) });
    api = new Management(gateway.url);
    const oldKey = (await api.newUser({ user_id: 'alice', tier: 'starter', max_budget: 1 } as never)).key!;

    // The old account starts a stream; the upstream holds it.
    const arrived = upstream.holdNext();
    const call = stream(oldKey);
    await arrived;

    await api.ok('POST', '/user/delete', { user_ids: ['alice'] });
    await new Promise((resolve) => setTimeout(resolve, 5));
    newKey = (await api.newUser({ user_id: 'alice', tier: 'starter', max_budget: 1 } as never)).key!;

    // The old account's call ends now, with the new account holding the id.
    upstream.release();
    const response = await call;
    expect(response.status).toBe(200);
    oldCallId = response.headers.get('x-litellm-call-id')!;
    expect(oldCallId).toMatch(/./);
    expect(await response.text()).toContain('[DONE]');
    await gateway.flushUsage();
  });

  afterAll(async () => {
    upstream.release();
    await gateway?.close();
    await upstream.close();
  });

  it('does not take the old account\'s call out of the new account\'s credits', async () => {
    const balance = await api.ok<{ balance: number }>('GET', '/api/v1/llm/credits/balance', undefined, newKey);
    expect(balance.balance).toBe(100);
    const account = await api.ok<{ balance: number; credits_used: number }>('GET', '/api/v1/llm/credits', undefined, newKey);
    expect(account.credits_used).toBe(0);
    expect(await gateway.runtime.credits()!.balance('alice')).toEqual({ balance: 100_000, used: 0 });
  });

  it('does not count the old account\'s call toward the new account\'s spend', async () => {
    const info = await api.ok<UserInfo>('GET', '/user/info', undefined, newKey);
    expect(info.user_info.spend).toBe(0);
  });

  it('keeps the call\'s usage row, with its upstream cost, for admins, and logs the uncharged call', async () => {
    expect(warnings.some((line) => line.includes(oldCallId) && line.includes('charged to no one'))).toBe(true);
    const rows = await api.ok<SpendRow[]>('GET', '/spend/logs?user_id=alice');
    const row = rows.find((entry) => entry.request_id === oldCallId);
    expect(row?.spend).toBeCloseTo(0.04, 6);
  });

  it('still charges the new account for its own calls', async () => {
    const response = await stream(newKey);
    expect(response.status).toBe(200);
    await response.text();
    await gateway.flushUsage();
    const balance = await api.ok<{ balance: number }>('GET', '/api/v1/llm/credits/balance', undefined, newKey);
    expect(balance.balance).toBe(60);
    expect(await gateway.runtime.credits()!.balance('alice')).toEqual({ balance: 60_000, used: 40_000 });
    const info = await api.ok<UserInfo>('GET', '/user/info', undefined, newKey);
    expect(info.user_info.spend).toBeCloseTo(0.04, 6);
  });
});
