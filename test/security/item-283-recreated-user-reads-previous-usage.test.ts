/**
 * The attack (on privacy): user ids are names an admin chooses ("alice", an email), and deleting a
 * user keeps its usage rows — the billing history, and with
 * `general_settings.store_prompts_in_spend_logs` each call's messages and answer. A user created
 * later under the same id — another person given the name — read with its own key the deleted
 * account's calls: `GET /spend/logs` and `/switchboard/spend/logs` scope a non-admin to the rows of
 * its user id, so they answered the previous owner's rows with their prompts, answers, key aliases,
 * models and spend (also one by one, with `request_id`). Items 146 and 214 closed the same reuse of
 * an id for BYOK keys and stored responses. Now a non-admin's own rows start when its user was
 * created: the new account reads its own calls only, while admins still read every row, the deleted
 * account's included.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

const PREVIOUS_PROMPT = 'previous owner: my diagnosis is confidential';
const NEXT_PROMPT = 'next owner: hello';

interface LogRow {
  request_id: string;
  user: string;
  messages: unknown;
}

describe('a user created again under a deleted user\'s id', () => {
  const upstream = new MockOpenAI();
  let gateway: TestGateway;
  let api: Management;
  let previousCall: string;
  let nextCall: string;
  let nextKey: string;

  const chat = async (key: string, content: string): Promise<string> => {
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'assistant', messages: [{ role: 'user', content }] }),
    });
    expect(response.status).toBe(200);
    await response.json();
    return response.headers.get('x-switchboard-call-id')!;
  };

  beforeAll(async () => {
    await upstream.start();
    gateway = await startGateway(`
model_list:
  - model_name: assistant
    litellm_params: {model: openai/assistant-upstream, api_base: "${upstream.url}", api_key: sk-upstream}
    model_info: {input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}
general_settings:
  master_key: ${MASTER_KEY}
  store_prompts_in_spend_logs: true
`);
    api = new Management(gateway.url);
    const previousKey = (await api.newUser({ user_id: 'alice', key_alias: 'alice-previous' })).key!;
    previousCall = await chat(previousKey, PREVIOUS_PROMPT);
    await gateway.flushUsage();
    await api.ok('POST', '/user/delete', { user_ids: ['alice'] });
    // The clock moves on between the deletion and the new account (rows are stamped in milliseconds).
    await new Promise((resolve) => setTimeout(resolve, 5));
    nextKey = (await api.newUser({ user_id: 'alice' })).key!;
    nextCall = await chat(nextKey, NEXT_PROMPT);
    await gateway.flushUsage();
  });

  afterAll(async () => {
    await gateway?.close();
    await upstream.close();
  });

  const ids = (rows: LogRow[]) => rows.map((row) => row.request_id);

  it('does not read the previous account\'s calls in /spend/logs', async () => {
    const rows = await api.ok<LogRow[]>('GET', '/spend/logs', undefined, nextKey);
    expect(ids(rows)).toContain(nextCall);
    expect(ids(rows)).not.toContain(previousCall);
    expect(JSON.stringify(rows)).not.toContain(PREVIOUS_PROMPT);
  });

  it('does not read the previous account\'s call by request_id in /spend/logs', async () => {
    const rows = await api.ok<LogRow[]>('GET', `/spend/logs?request_id=${previousCall}`, undefined, nextKey);
    expect(rows).toEqual([]);
  });

  it('does not read the previous account\'s calls in /switchboard/spend/logs', async () => {
    const page = await api.ok<{ data: LogRow[] }>('GET', '/switchboard/spend/logs', undefined, nextKey);
    expect(ids(page.data)).toContain(nextCall);
    expect(ids(page.data)).not.toContain(previousCall);
    expect(JSON.stringify(page.data)).not.toContain(PREVIOUS_PROMPT);
  });

  it('does not read the previous account\'s call by request_id in /switchboard/spend/logs', async () => {
    const page = await api.ok<{ data: LogRow[] }>('GET', `/switchboard/spend/logs?request_id=${previousCall}`, undefined, nextKey);
    expect(page.data).toEqual([]);
  });

  it('does not read them in CSV either', async () => {
    const response = await fetch(`${gateway.url}/switchboard/spend/logs?format=csv`, { headers: { authorization: `Bearer ${nextKey}` } });
    expect(response.status).toBe(200);
    const csv = await response.text();
    expect(csv).toContain(nextCall);
    expect(csv).not.toContain(previousCall);
  });

  it('leaves admins every row, the deleted account\'s included', async () => {
    const rows = await api.ok<LogRow[]>('GET', '/spend/logs?user_id=alice');
    expect(ids(rows)).toEqual(expect.arrayContaining([previousCall, nextCall]));
    const page = await api.ok<{ data: LogRow[] }>('GET', '/switchboard/spend/logs?user_id=alice');
    expect(ids(page.data)).toEqual(expect.arrayContaining([previousCall, nextCall]));
  });
});
