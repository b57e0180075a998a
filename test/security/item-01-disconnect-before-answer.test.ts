/**
 * A client that hangs up after its request reached the provider but before any answer came back
 * — a non-streaming call still running upstream, or a stream still waiting for its first chunk —
 * has made the provider read its whole prompt, which the provider bills. The call is charged for
 * that prompt (counted locally; nothing was produced yet, so no completion tokens): key spend,
 * credits and the usage row (aborted, tokens estimated). Otherwise a large prompt sent and
 * abandoned again and again would be read for free.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countChatPromptTokens } from '../../src/gateway/token-count.js';
import { creditCostMillicredits } from '../../src/platform/credits.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { Management, pricedConfig } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

const MESSAGES = [{ role: 'user' as const, content: `Summarize this: ${'a long document sentence. '.repeat(200)}` }];
const PLATFORM = `
platform:
  credits_per_usd: 1000
  default_tier: flat
  tiers:
    flat: {markup: 0, initial_credits: 50}
`;

describe('hanging up before the answer still pays for the prompt the provider read', () => {
  const upstream = new MockOpenAI({ promptTokens: 1_500, completionTokens: 5 });
  let gateway: TestGateway;
  let api: Management;
  let promptTokens: number;

  beforeAll(async () => {
    await upstream.start();
    gateway = await startGateway(pricedConfig(upstream.url, PLATFORM));
    api = new Management(gateway.url);
    promptTokens = await countChatPromptTokens(MESSAGES);
  });

  afterAll(async () => {
    await gateway?.close();
    await upstream.close();
  });

  async function hangUpAfter(ms: number, key: string, stream: boolean): Promise<void> {
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(), ms);
    const outcome = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'cheap', messages: MESSAGES, max_tokens: 50, stream }),
      signal: controller.signal,
    }).then(
      () => 'answered',
      () => 'hung up',
    );
    clearTimeout(timer);
    expect(outcome).toBe('hung up');
  }

  it.each([
    ['a non-streaming call', false],
    ['a stream before its first chunk', true],
  ])('%s: the prompt is charged to the row, the key and the credits', async (_name, stream) => {
    const user = await api.newUser({ user_id: `hang-up-${stream ? 'stream' : 'json'}` });
    const upstreamCalls = upstream.requests.length;
    // The upstream takes 1.5 s to answer; the client hangs up after 300 ms.
    upstream.faults.push({ kind: 'delay', ms: 1_500 });
    await hangUpAfter(300, user.key!, stream);
    expect(upstream.requests.length).toBe(upstreamCalls + 1);

    const micros = promptTokens * 1; // cheap: 1 µ$ per input token
    const credits = creditCostMillicredits(micros, { markup: 0, multiplier: 1, creditsPerUsd: 1000 });
    await expect
      .poll(async () => {
        await gateway.flushUsage();
        const rows = await gateway.runtime.usageLogs()!.listRecent(50);
        return rows.find((row) => row.user_id === user.user_id);
      }, { timeout: 5_000 })
      .toMatchObject({ http_status: 499, error_code: 'client_closed_request', aborted: 1, tokens_estimated: 1, prompt_tokens: promptTokens, completion_tokens: 0, cost_micros: micros, credits_millicredits: credits });
    const balance = (await gateway.runtime.credits()!.balance(user.user_id))!;
    expect(balance.balance).toBe(50_000 - credits);
    expect((await api.keyInfo(user.key!)).spend).toBeCloseTo(micros / 1_000_000, 9);
  });

  it('a call refused before any upstream call is not charged', async () => {
    const user = await api.newUser({ user_id: 'hang-up-refused' });
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${user.key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model: 'no-such-model', messages: MESSAGES }),
    });
    expect(response.status).toBe(404);
    await gateway.flushUsage();
    const rows = await gateway.runtime.usageLogs()!.listRecent(50);
    expect(rows.find((row) => row.user_id === user.user_id)).toMatchObject({ cost_micros: null, credits_millicredits: null });
  });
});
