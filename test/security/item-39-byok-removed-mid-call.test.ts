/**
 * The attack: when every deployment a call may reach accepts the user's own key (BYOK), admission
 * reserves 0 credits for it — a 0 reservation is never refused, at any balance. Each attempt used to
 * decide its key again, so a user who deleted their key while the call was upstream had the retry
 * run on the operator's key with nothing reserved: with no credits at all, any number of
 * concurrent calls ran on the operator's key and pushed the balance below zero. Now a call runs on
 * the own keys it was admitted with (the ones its reservation assumed), whatever changes meanwhile.
 *
 * Deterministic: the upstream holds the first attempt (on the user's key) until the key is deleted,
 * then fails it with a retryable 500, so the retry is planned after the deletion.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { SecretBox } from '../../src/security/secret-box.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { Management, pricedConfig } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

const ENCRYPTION_KEY = SecretBox.generateKey();
const OWN_KEY = 'sk-users-own-key-held-1234';
const OPERATOR_KEY = 'sk-upstream-test';

/** Holds the next request made on the user's own key until `release()`. */
class HoldingOpenAI extends MockOpenAI {
  private gate: Promise<void> | undefined;
  private opened: (() => void) | undefined;
  private arrived: (() => void) | undefined;
  /** Resolves once the held request reached the upstream (the prompt was read on the user's key). */
  holdNext(): Promise<void> {
    this.gate = new Promise((resolve) => (this.opened = resolve));
    return new Promise((resolve) => (this.arrived = resolve));
  }
  release(): void {
    this.opened?.();
  }
  protected override async respond(request: IncomingMessage, response: ServerResponse, text: string): Promise<void> {
    const gate = this.gate;
    if (gate && request.headers.authorization === `Bearer ${OWN_KEY}`) {
      this.gate = undefined;
      this.arrived?.();
      await gate;
    }
    return super.respond(request, response, text);
  }
}

describe('a BYOK key removed while its call is upstream', () => {
  const upstream = new HoldingOpenAI({ promptTokens: 2_000, completionTokens: 500 });
  let gateway: TestGateway;
  let api: Management;
  let userKey: string;

  beforeAll(async () => {
    await upstream.start();
    // Every deployment accepts own keys; the user has no credits at all.
    const yaml = pricedConfig(upstream.url, 'platform:\n  tiers:\n    starter: {markup: 0.4, initial_credits: 0}\n  default_tier: starter\n').replace(/model_info: \{id: (dep-[a-z]+),/g, 'model_info: {id: $1, byok: true,');
    gateway = await startGateway(yaml, { env: { SWITCHBOARD_ENCRYPTION_KEY: `k1:${ENCRYPTION_KEY}` } });
    api = new Management(gateway.url);
    userKey = (await api.newUser({ user_id: 'byok-leaver' })).key!;
  });

  afterAll(async () => {
    upstream.release();
    await gateway?.close();
    await upstream.close();
  });

  it('the retry runs on the key the call was admitted with, never on the operator key it reserved nothing for', async () => {
    await api.ok('POST', '/api/v1/llm/byok/keys', { provider: 'openai', api_key: OWN_KEY }, userKey);
    const credits = gateway.runtime.credits()!;
    expect(await credits.balance('byok-leaver')).toEqual({ balance: 0, used: 0 });

    const held = upstream.holdNext();
    upstream.faults.push({ kind: 'error', status: 500 });
    const before = upstream.requests.length;
    const call = fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${userKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'premium', messages: [{ role: 'user', content: 'a long prompt' }], max_tokens: 500, num_retries: 1 }),
    });
    await held;
    expect(await api.ok('DELETE', '/api/v1/llm/byok/keys/openai', undefined, userKey)).toEqual({ user_id: 'byok-leaver', deleted: 'openai' });
    upstream.release();
    const response = await call;
    const callId = response.headers.get('x-switchboard-call-id')!;

    const attempts = upstream.requests.slice(before).filter((request) => request.url.endsWith('/chat/completions'));
    expect(attempts).toHaveLength(2);
    // Both attempts on the user's key: nothing ran on the operator's key.
    expect(attempts.map((request) => request.headers.authorization)).toEqual([`Bearer ${OWN_KEY}`, `Bearer ${OWN_KEY}`]);
    expect(attempts.some((request) => request.headers.authorization === `Bearer ${OPERATOR_KEY}`)).toBe(false);
    expect(response.status).toBe(200);
    expect(response.headers.get('x-switchboard-byok')).toBe('true');
    const row = await gateway.recordOf(callId);
    expect(row).toMatchObject({ byok: 1, status: 'success' });
    expect(row!.credits_millicredits ?? 0).toBe(0);
    // No credits were ever held for this call, and none went: the balance never goes below zero.
    expect(await credits.balance('byok-leaver')).toEqual({ balance: 0, used: 0 });

    // The next call is admitted without the key: it needs credits, and the user has none.
    const next = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${userKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'premium', messages: [{ role: 'user', content: 'again' }], max_tokens: 500 }),
    });
    expect(next.status).toBe(402);
  });
});
