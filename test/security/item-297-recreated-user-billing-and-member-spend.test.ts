/**
 * The attack (on a new account's invoice and its team record): user and team ids are names an admin
 * chooses, and one deleted and created again under its id is another account (items 283, 291, 295).
 * Item 295 stopped a late call of the deleted account (a long stream that ended after the id was
 * given again) from being charged to the new account's credits and spend, but two places still
 * named the new account for the old one's usage:
 * - the billing outbox sent the late call to the external billing system (Lago) with
 *   `external_customer_id: "alice"` (or the team's id for a team key), so the new alice's (or the
 *   new team's) invoice carried the deleted account's $0.04 call;
 * - team member spend (`team_memberships[].spend` of /team/info and /team/member_add) summed every
 *   rollup row of the user id in the team, so alice created again and added to the team again was
 *   shown the deleted account's spend in it ($0.04 before her first call, $0.08 after it).
 * Now a call whose user (or, without a user, team) was created after the call started gets no
 * billing event (charged to no one, as its credits and spend; its usage row stays for admins), and
 * a member's spend in a team starts when its user was created (its creation day read from the
 * usage rows since that instant, later days from the rollups), while the new account's own calls
 * are billed and counted as always.
 */
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { HoldingOpenAI } from '../support/holding-openai.js';

interface LagoBody {
  event: { transaction_id: string; external_customer_id: string };
}

/** A Lago stand-in that accepts every event. */
class Receiver {
  readonly received: LagoBody[] = [];
  private server: Server | undefined;
  url = '';
  async start(): Promise<void> {
    this.server = createServer((request, response) => {
      const chunks: Buffer[] = [];
      request.on('data', (chunk: Buffer) => chunks.push(chunk));
      request.on('end', () => {
        this.received.push(JSON.parse(Buffer.concat(chunks).toString()) as LagoBody);
        response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
      });
    });
    await new Promise<void>((resolve) => this.server!.listen(0, '127.0.0.1', resolve));
    this.url = `http://127.0.0.1:${(this.server!.address() as AddressInfo).port}/api/v1/events`;
  }
  customerOf(callId: string): string | undefined {
    return this.received.find((item) => item.event.transaction_id === callId)?.event.external_customer_id;
  }
  close(): Promise<void> {
    return new Promise((resolve) => this.server?.close(() => resolve()) ?? resolve());
  }
}

interface Membership {
  user_id: string;
  spend: number;
}

async function until(condition: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
}

describe('the late call of a deleted account, and its history, are not the new account\'s', () => {
  // 20 prompt tokens at $0.001 + 10 completion tokens at $0.002: $0.04 a call.
  const upstream = new HoldingOpenAI({ promptTokens: 20, completionTokens: 10 });
  const receiver = new Receiver();
  let gateway: TestGateway;
  let api: Management;

  const stream = async (key: string): Promise<string> => {
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'assistant', messages: [{ role: 'user', content: 'hello' }], max_tokens: 10, stream: true, stream_options: { include_usage: true } }),
    });
    expect(response.status).toBe(200);
    expect(await response.text()).toContain('[DONE]');
    return response.headers.get('x-litellm-call-id')!;
  };

  /** Starts a call with `oldKey`, runs `recreate` while the upstream holds it, then lets it end. */
  const lateCall = async (oldKey: string, recreate: () => Promise<void>): Promise<string> => {
    const arrived = upstream.holdNext();
    const call = stream(oldKey);
    await arrived;
    await recreate();
    upstream.release();
    const callId = await call;
    await gateway.flushUsage();
    return callId;
  };

  beforeAll(async () => {
    await upstream.start();
    await receiver.start();
    gateway = await startGateway(`
model_list:
  - model_name: assistant
    litellm_params: {model: openai/assistant-upstream, api_base: "${upstream.url}", api_key: sk-upstream}
    model_info: {input_cost_per_token: 0.001, output_cost_per_token: 0.002}
general_settings:
  master_key: ${MASTER_KEY}
  billing_webhook:
    url: ${receiver.url}
    api_key: lago-secret
    event_code: llm_tokens
    retry_initial_delay: 0.05
`);
    api = new Management(gateway.url);
  });

  afterAll(async () => {
    upstream.release();
    await gateway?.close();
    await upstream.close();
    await receiver.close();
  });

  it('sends no billing event naming the new user for the deleted user\'s late call; her own calls are billed to her', async () => {
    const oldKey = (await api.newUser({ user_id: 'alice' })).key!;
    let newKey = '';
    const oldCall = await lateCall(oldKey, async () => {
      await api.ok('POST', '/user/delete', { user_ids: ['alice'] });
      await new Promise((resolve) => setTimeout(resolve, 5));
      newKey = (await api.newUser({ user_id: 'alice' })).key!;
    });
    const ownCall = await stream(newKey);
    await gateway.flushUsage();
    await until(() => receiver.customerOf(ownCall) !== undefined);
    expect(receiver.customerOf(ownCall)).toBe('alice');
    expect(receiver.customerOf(oldCall)).toBeUndefined();
    expect(await gateway.runtime.analytics.outbox()!.find(oldCall)).toBeUndefined();
    // The call's usage row, with its upstream cost, stays for admins.
    expect(Number((await gateway.recordOf(oldCall))?.cost_micros)).toBe(40_000);
  });

  it('sends no billing event naming the new team for the deleted team key\'s late call', async () => {
    await api.newTeam({ team_id: 'crew' });
    const oldKey = (await api.generateKey({ team_id: 'crew' })).key;
    let newKey = '';
    const oldCall = await lateCall(oldKey, async () => {
      await api.ok('POST', '/team/delete', { team_ids: ['crew'] });
      await new Promise((resolve) => setTimeout(resolve, 5));
      await api.newTeam({ team_id: 'crew' });
      newKey = (await api.generateKey({ team_id: 'crew' })).key;
    });
    const ownCall = await stream(newKey);
    await gateway.flushUsage();
    await until(() => receiver.customerOf(ownCall) !== undefined);
    expect(receiver.customerOf(ownCall)).toBe('crew');
    expect(receiver.customerOf(oldCall)).toBeUndefined();
    expect(await gateway.runtime.analytics.outbox()!.find(oldCall)).toBeUndefined();
  });

  it('starts a member\'s spend in the team when its user was created', async () => {
    await api.newUser({ user_id: 'bob' });
    await api.newTeam({ team_id: 'squad', members_with_roles: [{ user_id: 'bob', role: 'user' }] });
    const oldKey = (await api.generateKey({ user_id: 'bob', team_id: 'squad' })).key;
    await stream(oldKey);
    await gateway.flushUsage();
    const spendOf = async (key?: string) => {
      const info = await api.ok<{ team_memberships: Membership[] }>('GET', '/team/info?team_id=squad', undefined, key);
      return info.team_memberships.find((row) => row.user_id === 'bob')?.spend;
    };
    expect(await spendOf()).toBeCloseTo(0.04, 6);

    await api.ok('POST', '/user/delete', { user_ids: ['bob'] });
    await new Promise((resolve) => setTimeout(resolve, 5));
    await api.newUser({ user_id: 'bob' });
    const added = await api.ok<{ updated_team_memberships: Membership[] }>('POST', '/team/member_add', { team_id: 'squad', member: { user_id: 'bob', role: 'user' } });
    expect(added.updated_team_memberships.find((row) => row.user_id === 'bob')?.spend).toBe(0);
    const newKey = (await api.generateKey({ user_id: 'bob', team_id: 'squad' })).key;
    expect(await spendOf()).toBe(0);
    expect(await spendOf(newKey)).toBe(0);

    await stream(newKey);
    await gateway.flushUsage();
    expect(await spendOf()).toBeCloseTo(0.04, 6);
    expect(await spendOf(newKey)).toBeCloseTo(0.04, 6);
  });
});
