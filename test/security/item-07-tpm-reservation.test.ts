/**
 * tpm_limit is enforced by reservation: each request holds its estimated tokens (input estimate
 * plus max_tokens) at admission, atomically, and the real count replaces the hold when it settles.
 * 100 concurrent requests against tpm_limit 50 therefore pass only as many as their estimates fit,
 * instead of all of them; a request whose estimate alone exceeds the limit is refused saying so.
 * On one process and on replicas sharing PostgreSQL and Redis.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { chatStatus, clientFor, Management, pricedConfig, promptBound } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';
import { stateSetups } from '../support/shared-state-setups.js';

const setups = await stateSetups();

const LIMIT = 50;
const MAX_TOKENS = 10;
/** What admission holds per request: about 4 bytes of input per token, plus max_tokens: ceil(18 / 4) + 10 = 15. */
const ESTIMATE = Math.ceil(promptBound('hi') / 4) + MAX_TOKENS;
const REAL_TOKENS = 12 + 5;

describe.each(setups)('tpm_limit reservations, $name', (setup) => {
  const upstream = new MockOpenAI({ promptTokens: 12, completionTokens: 5 });
  let gateway: TestGateway;
  let api: Management;
  let cleanup: () => Promise<void>;

  beforeAll(async () => {
    await upstream.start();
    const prepared = await setup.prepare();
    cleanup = prepared.cleanup;
    gateway = await startGateway(pricedConfig(upstream.url), prepared.options);
    api = new Management(gateway.url);
  });

  afterAll(async () => {
    await gateway?.close();
    await upstream.close();
    await cleanup?.();
  });

  it('100 concurrent requests against tpm_limit 50: only as many as the estimates fit pass', async () => {
    expect(ESTIMATE).toBe(15);
    const key = await api.generateKey({ tpm_limit: LIMIT });
    const before = upstream.requests.length;
    // Every admitted call stays in flight long enough for all 100 to be admitted or refused meanwhile.
    upstream.alwaysFault = { kind: 'delay', ms: 300 };
    try {
      const client = clientFor(gateway.url, key.key);
      const outcomes = await Promise.all(Array.from({ length: 100 }, () => chatStatus(client, { model: 'cheap', max_tokens: MAX_TOKENS })));
      const passed = outcomes.filter((outcome) => outcome.status === 200).length;
      expect(passed).toBe(Math.floor(LIMIT / ESTIMATE)); // 3
      const refused = outcomes.filter((outcome) => outcome.status === 429);
      expect(refused).toHaveLength(100 - passed);
      expect(refused[0].error!.message).toContain('held by requests in flight');
      expect(refused[0].error!.message).toContain('tpm_limit');
      expect(upstream.requests.length - before).toBe(passed);
    } finally {
      upstream.alwaysFault = undefined;
    }
  });

  it('settling replaces the hold by the real tokens', async () => {
    const key = await api.generateKey({ tpm_limit: LIMIT });
    const client = clientFor(gateway.url, key.key);
    const first = await chatStatus(client, { model: 'cheap', max_tokens: MAX_TOKENS });
    expect(first.headers.get('x-ratelimit-remaining-tokens')).toBe(String(LIMIT - ESTIMATE));
    // The first call's hold of 15 became its 17 real tokens.
    const second = await chatStatus(client, { model: 'cheap', max_tokens: MAX_TOKENS });
    expect(second.status).toBe(200);
    expect(second.headers.get('x-ratelimit-remaining-tokens')).toBe(String(LIMIT - REAL_TOKENS - ESTIMATE));
    // 34 real tokens used: 15 more just fit (1 left); with 51 used, the next 15 do not.
    const third = await chatStatus(client, { model: 'cheap', max_tokens: MAX_TOKENS });
    expect(third.headers.get('x-ratelimit-remaining-tokens')).toBe(String(LIMIT - 2 * REAL_TOKENS - ESTIMATE));
    const fourth = await chatStatus(client, { model: 'cheap', max_tokens: MAX_TOKENS });
    expect(fourth.status).toBe(429);
    expect(fourth.headers.get('retry-after')).toBe('60');
  });

  it('a request whose estimate alone exceeds the limit is refused with 429 saying so, before the upstream is called', async () => {
    const key = await api.generateKey({ tpm_limit: LIMIT });
    const before = upstream.requests.length;
    const outcome = await chatStatus(clientFor(gateway.url, key.key), { model: 'cheap', max_tokens: 100 });
    expect(outcome.status).toBe(429);
    expect(outcome.error!.message).toContain('this request alone may use about 105 tokens');
    expect(outcome.error!.message).toContain('lower max_tokens');
    expect(upstream.requests.length).toBe(before);
    // Nothing was held: a request that fits still passes.
    expect((await chatStatus(clientFor(gateway.url, key.key), { model: 'cheap', max_tokens: MAX_TOKENS })).status).toBe(200);
  });
});
