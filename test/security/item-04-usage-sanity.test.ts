/**
 * An upstream that reports absurd usage (10^15 tokens) must not bill it: counts beyond what the
 * request could produce are replaced by the gateway's own count, the row is flagged
 * usage_adjusted, the replacement is logged and counted in /metrics, and a $1 key's spend stays a
 * few micro-dollars — for JSON and streamed responses. Honest usage is billed as reported.
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { countChatPromptTokens, countTextTokens } from '../../src/gateway/token-count.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { clientFor, Management, pricedConfig } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

const MESSAGES = [{ role: 'user' as const, content: 'Say hello to the auditors.' }];
const MAX_TOKENS = 50;

describe('reported usage is sanity-bounded before it is billed', () => {
  const upstream = new MockOpenAI({ promptTokens: 1e15, completionTokens: 1e15, cachedTokens: 1e15 });
  const logLines: string[] = [];
  let gateway: TestGateway;
  let api: Management;
  let promptTokens: number;
  let completionTokens: number;

  beforeAll(async () => {
    await upstream.start();
    const sink = new Writable({
      write(chunk: Buffer, _encoding, callback) {
        logLines.push(chunk.toString('utf8'));
        callback();
      },
    });
    gateway = await startGateway(pricedConfig(upstream.url), { logger: pino({ level: 'warn' }, sink) });
    api = new Management(gateway.url);
    promptTokens = await countChatPromptTokens(MESSAGES);
    completionTokens = await countTextTokens(upstream.reply);
  });

  afterAll(async () => {
    await gateway?.close();
    await upstream.close();
  });

  async function adjustedCount(): Promise<number> {
    const text = await (await fetch(`${gateway.url}/metrics`, { headers: { authorization: `Bearer ${MASTER_KEY}` } })).text();
    return Number(/^switchboard_usage_adjusted_total\{provider="openai"\} (\d+)$/m.exec(text)?.[1] ?? 0);
  }

  it('a JSON answer reporting 10^15 tokens is billed on the local count and flagged', async () => {
    const key = await api.generateKey({ max_budget: 1 });
    const adjustedBefore = await adjustedCount();
    const { response } = await clientFor(gateway.url, key.key).chat.completions.create({ model: 'cheap', messages: MESSAGES, max_tokens: MAX_TOKENS }).withResponse();
    const callId = response.headers.get('x-switchboard-call-id')!;
    const micros = promptTokens * 1 + completionTokens * 2;
    expect(response.headers.get('x-switchboard-response-cost')).toBe(String(micros / 1_000_000));
    expect(await gateway.recordOf(callId)).toMatchObject({
      status: 'success',
      usage_adjusted: 1,
      prompt_tokens: promptTokens,
      completion_tokens: completionTokens,
      total_tokens: promptTokens + completionTokens,
      cached_tokens: promptTokens,
      cost_micros: micros,
    });
    // The $1 key's spend is a few micro-dollars, not billions of dollars.
    expect((await api.keyInfo(key.key)).spend).toBeCloseTo(micros / 1_000_000, 9);
    expect(await adjustedCount()).toBe(adjustedBefore + 1);
    expect(logLines.some((line) => line.includes('upstream reported usage beyond what the request could produce') && line.includes(callId))).toBe(true);
    const logs = await api.ok<{ data: Array<{ usage_adjusted: boolean; aborted: boolean }> }>('GET', `/switchboard/spend/logs?request_id=${callId}`);
    expect(logs.data).toEqual([expect.objectContaining({ usage_adjusted: true, aborted: false })]);
  });

  it('a streamed answer reporting 10^15 tokens in its usage chunk is billed on the local count', async () => {
    const key = await api.generateKey({ max_budget: 1 });
    const { data: stream, response } = await clientFor(gateway.url, key.key)
      .chat.completions.create({ model: 'cheap', messages: MESSAGES, max_tokens: MAX_TOKENS, stream: true })
      .withResponse();
    let text = '';
    for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
    expect(text).toBe(upstream.reply);
    const micros = promptTokens * 1 + completionTokens * 2;
    expect(await gateway.recordOf(response.headers.get('x-switchboard-call-id')!)).toMatchObject({
      status: 'success',
      stream: 1,
      usage_adjusted: 1,
      prompt_tokens: promptTokens,
      completion_tokens: completionTokens,
      cost_micros: micros,
    });
    expect((await api.keyInfo(key.key)).spend).toBeCloseTo(micros / 1_000_000, 9);
  });

  it('honest usage within the bounds is billed exactly as reported', async () => {
    const honest = new MockOpenAI({ promptTokens: 40, completionTokens: MAX_TOKENS });
    await honest.start();
    const second = await startGateway(pricedConfig(honest.url));
    try {
      const { response } = await second.openai().chat.completions.create({ model: 'cheap', messages: MESSAGES, max_tokens: MAX_TOKENS }).withResponse();
      expect(await second.recordOf(response.headers.get('x-switchboard-call-id')!)).toMatchObject({ usage_adjusted: 0, prompt_tokens: 40, completion_tokens: MAX_TOKENS, cost_micros: 40 + MAX_TOKENS * 2 });
    } finally {
      await second.close();
      await honest.close();
    }
  });
});
