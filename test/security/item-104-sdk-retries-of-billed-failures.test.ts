/**
 * The official openai and @anthropic-ai/sdk clients retry 408, 409, 429 and every 5xx by status,
 * twice by default, unless the answer carries `x-should-retry: false`. The gateway never sent that
 * header, so failures a retry cannot mend were retried all the same. The costly one: an answer
 * over general_settings.max_response_size_mb is 502 upstream_response_too_large — the upstream
 * produced it and it is billed, but not sent — so every SDK call made the upstream produce the
 * same answer three times and the key was charged three times for an answer it never got. A
 * provider's spend cap (a 429 its adapter marks final) was retried the same way, to no end.
 * Now such failures carry `x-should-retry: false`: one upstream call, one charge, in every
 * client-facing format; failures a retry can mend (an upstream 503) still let the SDK retry.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockAnthropic } from '../support/mock-anthropic.js';
import { MockOpenAI } from '../support/mock-openai.js';
import { Management } from '../support/management.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';

// 1 µ$ per prompt token, 2 µ$ per completion token: one answer costs 1000 + 2 × 100 = 1200 µ$.
const ONE_CALL_USD = 0.0012;

describe('SDK retries of failures a retry cannot mend', () => {
  const openaiUpstream = new MockOpenAI({ reply: 'x'.repeat(2_000), promptTokens: 1_000, completionTokens: 100 });
  const anthropicUpstream = new MockAnthropic();
  let gateway: TestGateway;
  let api: Management;

  beforeAll(async () => {
    await Promise.all([openaiUpstream.start(), anthropicUpstream.start()]);
    gateway = await startGateway(`
model_list:
  - model_name: chat
    litellm_params: {model: openai/gpt-4o-mini, api_base: "${openaiUpstream.url}", api_key: sk-upstream}
    model_info: {input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}
  - model_name: claude
    litellm_params: {model: anthropic/claude-3-5-haiku-20241022, api_base: "${anthropicUpstream.url}", api_key: sk-ant-upstream}
router_settings:
  num_retries: 0
  disable_cooldowns: true
general_settings:
  master_key: ${MASTER_KEY}
  health_check_interval: 0
  max_response_size_mb: 0.001
`);
    api = new Management(gateway.url);
  });

  afterAll(async () => {
    await gateway?.close();
    await Promise.all([openaiUpstream.close(), anthropicUpstream.close()]);
  });

  /** The SDKs' own retry settings, with the shortest back-off their options allow. */
  function clients(key: string) {
    return {
      openai: new OpenAI({ apiKey: key, baseURL: `${gateway.url}/v1`, maxRetries: 2 }),
      anthropic: new Anthropic({ apiKey: key, baseURL: gateway.url, maxRetries: 2 }),
    };
  }

  async function spendOf(key: string): Promise<number> {
    await gateway.flushUsage();
    return (await api.keyInfo(key)).spend;
  }

  it('an answer too large to send is produced, and billed, once per call (openai chat completions and anthropic messages)', async () => {
    const { key } = await api.generateKey({ max_budget: 10 });
    const { openai, anthropic } = clients(key);
    const calls: Array<[string, () => Promise<unknown>]> = [
      ['chat/completions', () => openai.chat.completions.create({ model: 'chat', messages: [{ role: 'user', content: 'Hi' }] })],
      ['messages', () => anthropic.messages.create({ model: 'chat', max_tokens: 200, messages: [{ role: 'user', content: 'Hi' }] })],
    ];
    for (const [route, send] of calls) {
      const before = openaiUpstream.requests.length;
      const spent = await spendOf(key);
      const error = (await send().catch((caught: unknown) => caught)) as { status?: number; headers?: Headers };
      expect(error, route).toBeInstanceOf(route === 'messages' ? Anthropic.InternalServerError : OpenAI.InternalServerError);
      expect(error.status, route).toBe(502);
      expect(error.headers?.get('x-should-retry'), route).toBe('false');
      expect(openaiUpstream.requests.length - before, `${route}: upstream calls`).toBe(1);
      expect((await spendOf(key)) - spent, `${route}: charged`).toBeCloseTo(ONE_CALL_USD, 9);
    }
  });

  it('a spend cap the provider says does not clear by waiting is not retried', async () => {
    const { openai } = clients(MASTER_KEY);
    anthropicUpstream.faults.push(
      { kind: 'error', status: 429, type: 'rate_limit_error', message: 'You have reached your specified API usage limits.', details: { error_code: 'spend_limit_reached' } },
      { kind: 'error', status: 429, type: 'rate_limit_error', message: 'You have reached your specified API usage limits.', details: { error_code: 'spend_limit_reached' } },
      { kind: 'error', status: 429, type: 'rate_limit_error', message: 'You have reached your specified API usage limits.', details: { error_code: 'spend_limit_reached' } },
    );
    const before = anthropicUpstream.requests.length;
    const error = (await openai.chat.completions.create({ model: 'claude', messages: [{ role: 'user', content: 'Hi' }] }).catch((caught: unknown) => caught)) as { status?: number; headers?: Headers };
    expect(error).toBeInstanceOf(OpenAI.RateLimitError);
    expect(error.headers?.get('x-should-retry')).toBe('false');
    expect(anthropicUpstream.requests.length - before).toBe(1);
    anthropicUpstream.faults.length = 0;
  });

  it('a failure a retry can mend is still retried by the SDK', async () => {
    const { anthropic } = clients(MASTER_KEY);
    anthropicUpstream.faults.push({ kind: 'error', status: 503 });
    const before = anthropicUpstream.requests.length;
    const answer = await anthropic.messages.create({ model: 'claude', max_tokens: 50, messages: [{ role: 'user', content: 'Hi' }] });
    expect(answer.type).toBe('message');
    expect(anthropicUpstream.requests.length - before).toBe(2);
  });
});
