/**
 * The attack (on privacy, and on the new account's credits): user ids are names an admin chooses,
 * and deleting a user keeps its credit ledger (`credit_transactions`: grants, purchases, usage).
 * A user created later under the same id — someone else given the name — read with its own key
 * `GET /api/v1/llm/credits/transactions` and got the deleted account's whole ledger: its grants
 * and their descriptions, every paid call (model, power level, credits) and the balances after
 * them, selected by the user id alone. And the deleted account's ledger kept the new account from
 * its own monthly allowance: the grant's unique reference (`allowance:alice:2026-12`) was taken,
 * so the new account's grant rolled back and was never stored, while admission kept counting it
 * as pending — credits spent that no ledger row ever granted. Now, as for usage rows (items 283,
 * 288), a non-admin's own ledger starts when its user was created (admins read every entry), and
 * an allowance's reference names the user's creation when an earlier account of the id took the
 * plain one (the in-process record of started grants likewise), so each account stores its own.
 * The balance already started fresh (the user's row and its credit counter are per account): the
 * test holds that too.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

interface Transaction {
  id: string;
  kind: string;
  amount: number;
  description: string | null;
}

interface Ledger {
  user_id: string;
  transactions: Transaction[];
  total: number;
}

const OLD_GRANT = 'goodwill grant for the previous account';

describe('a user created again under a deleted user\'s id', () => {
  const upstream = new MockOpenAI();
  let gateway: TestGateway;
  let api: Management;
  let oldIds: string[];
  let nextKey: string;

  const chat = async (key: string): Promise<void> => {
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'assistant', messages: [{ role: 'user', content: 'hello' }], max_tokens: 20 }),
    });
    expect(response.status).toBe(200);
    await response.json();
  };

  /** Waits until the user's allowance of this month is stored (granted in the background). */
  const storedAllowance = async (key: string): Promise<Transaction | undefined> => {
    for (let attempt = 0; attempt < 40; attempt++) {
      const ledger = await api.ok<Ledger>('GET', '/api/v1/llm/credits/transactions?kind=allowance&user_id=alice');
      const mine = ledger.transactions.filter((row) => !oldIds.includes(row.id));
      if (mine.length > 0) return mine[0];
      await api.ok('GET', '/api/v1/llm/credits', undefined, key);
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    return undefined;
  };

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
    starter: {markup: 0, initial_credits: 100, monthly_credits: 7}
`);
    api = new Management(gateway.url);
    const previousKey = (await api.newUser({ user_id: 'alice', tier: 'starter' } as never)).key!;
    await api.ok('POST', '/api/v1/llm/credits/add', { user_id: 'alice', amount: 500, kind: 'grant', description: OLD_GRANT });
    await chat(previousKey);
    await gateway.flushUsage();
    const previous = await api.ok<Ledger>('GET', '/api/v1/llm/credits/transactions', undefined, previousKey);
    // initial credits, the monthly allowance, the goodwill grant, the call.
    expect(previous.transactions.map((row) => row.kind).sort()).toEqual(['allowance', 'grant', 'grant', 'usage']);
    oldIds = previous.transactions.map((row) => row.id);
    await api.ok('POST', '/user/delete', { user_ids: ['alice'] });
    // The clock moves on between the deletion and the new account (rows are stamped in milliseconds).
    await new Promise((resolve) => setTimeout(resolve, 5));
    nextKey = (await api.newUser({ user_id: 'alice', tier: 'starter' } as never)).key!;
  });

  afterAll(async () => {
    await gateway?.close();
    await upstream.close();
  });

  it('does not list the previous account\'s ledger to the new account', async () => {
    const ledger = await api.ok<Ledger>('GET', '/api/v1/llm/credits/transactions?limit=500', undefined, nextKey);
    expect(ledger.transactions.filter((row) => oldIds.includes(row.id))).toEqual([]);
    expect(JSON.stringify(ledger)).not.toContain(OLD_GRANT);
    for (const kind of ['usage', 'grant']) {
      const page = await api.ok<Ledger>('GET', `/api/v1/llm/credits/transactions?kind=${kind}`, undefined, nextKey);
      expect(page.transactions.filter((row) => oldIds.includes(row.id))).toEqual([]);
    }
    // Only its own initial credits (and its own allowance, once stored) are its ledger.
    expect(ledger.transactions.filter((row) => row.kind === 'grant').map((row) => row.amount)).toEqual([100]);
    expect(ledger.total).toBe(ledger.transactions.length);
  });

  it('starts the new account\'s balance fresh: its initial credits and its own allowance only', async () => {
    const balance = await api.ok<{ balance: number }>('GET', '/api/v1/llm/credits/balance', undefined, nextKey);
    expect(balance.balance).toBe(107);
    const account = await api.ok<{ balance: number; credits_used: number }>('GET', '/api/v1/llm/credits', undefined, nextKey);
    expect(account.balance).toBe(107);
    expect(account.credits_used).toBe(0);
  });

  it('stores the new account\'s own monthly allowance (the old one\'s does not block it)', async () => {
    const allowance = await storedAllowance(nextKey);
    expect(allowance?.amount).toBe(7);
    const credits = gateway.runtime.credits()!;
    // The stored balance holds it, and equals the new account's ledger.
    expect((await credits.balance('alice'))!.balance).toBe(107_000);
    const own = await api.ok<Ledger>('GET', '/api/v1/llm/credits/transactions?limit=500', undefined, nextKey);
    expect(own.transactions.reduce((sum, row) => sum + row.amount, 0)).toBe(107);
    const balance = await api.ok<{ balance: number }>('GET', '/api/v1/llm/credits/balance', undefined, nextKey);
    expect(balance.balance).toBe(107);
  });

  it('leaves admins the whole ledger of the id, the deleted account\'s included', async () => {
    const ledger = await api.ok<Ledger>('GET', '/api/v1/llm/credits/transactions?user_id=alice&limit=500');
    expect(ledger.transactions.map((row) => row.id)).toEqual(expect.arrayContaining(oldIds));
    expect(JSON.stringify(ledger)).toContain(OLD_GRANT);
  });
});
