/**
 * The attack: a group with one deployment on the operator's key and one that takes the user's own
 * key (BYOK). A request with a short `timeout` and `num_retries` has its first attempt on the
 * operator's key time out after the upstream read the whole prompt (which the provider bills), and
 * the retry answered on the user's own key. The whole call used to be recorded as BYOK — no
 * credits, no spend — so large prompts could be read on the operator's key again and again for
 * free. Now each read on the operator's key is charged (credits at its attempt's level, the key's
 * spend), also when the answer came on the user's key; only what ran on the user's key is free.
 * The usage row counts every token read, its cost is the operator's part, `byok` is 0 (part of the
 * call was on the operator's key) and `metadata.own_key` tells the part on the user's key.
 * (The deployments' own timeout cuts the first attempt here: a read cut by the request's own
 * timeout ends a call credits hold, without a retry — item 348.)
 */
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { creditCostMillicredits } from '../../src/platform/credits.js';
import { SecretBox } from '../../src/security/secret-box.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

const ENCRYPTION_KEY = SecretBox.generateKey();
const OWN_KEY = 'sk-users-own-key-retry-5678';
const OPERATOR_KEY = 'sk-operator-key';
/** 1 µ$ per input token, 2 µ$ per output token. */
const PRICES = 'input_cost_per_token: 0.000001, output_cost_per_token: 0.000002';
/** Far longer than the deployments' timeout, so the attempt always times out. */
const SLOW = { kind: 'delay' as const, ms: 4_000 };
const RATE = { markup: 0.4, multiplier: 1, creditsPerUsd: 1000 };
/** The mock's answer: 300 prompt + 5 completion tokens = 310 µ$. */
const ANSWER_MICROS = 300 + 2 * 5;

describe('reads on the operator key stay charged when a retry answers on the user key', () => {
  const upstream = new MockOpenAI({ reply: 'answered', promptTokens: 300, completionTokens: 5 });
  let gateway: TestGateway;
  let api: Management;
  let userKey: string;

  beforeAll(async () => {
    await upstream.start();
    // The mock runs on this machine: a deployment takes own keys only when marked byok: true.
    gateway = await startGateway(`
model_list:
  - model_name: mixed
    litellm_params: {model: openai/gpt-4o, api_base: "${upstream.url}", api_key: ${OPERATOR_KEY}, order: 1, timeout: 0.3}
    model_info: {id: mixed-operator, ${PRICES}}
  - model_name: mixed
    litellm_params: {model: openai/gpt-4o, api_base: "${upstream.url}", api_key: ${OPERATOR_KEY}, order: 2, timeout: 0.3}
    model_info: {id: mixed-byok, byok: true, ${PRICES}}
  - model_name: reverse
    litellm_params: {model: openai/gpt-4o, api_base: "${upstream.url}", api_key: ${OPERATOR_KEY}, order: 1, timeout: 0.3}
    model_info: {id: reverse-byok, byok: true, ${PRICES}}
  - model_name: reverse
    litellm_params: {model: openai/gpt-4o, api_base: "${upstream.url}", api_key: ${OPERATOR_KEY}, order: 2, timeout: 0.3}
    model_info: {id: reverse-operator, ${PRICES}}
router_settings:
  num_retries: 0
  retry_after: 0
  disable_cooldowns: true
general_settings:
  master_key: ${MASTER_KEY}
platform:
  credits_per_usd: 1000
  default_tier: starter
  tiers:
    starter: {markup: 0.4, initial_credits: 100}
`, { env: { SWITCHBOARD_ENCRYPTION_KEY: `k1:${ENCRYPTION_KEY}` } });
    api = new Management(gateway.url);
    userKey = (await api.newUser({ user_id: 'retry-user' })).key!;
    await api.ok('POST', '/api/v1/llm/byok/keys', { provider: 'openai', api_key: OWN_KEY }, userKey);
  });
  afterAll(async () => {
    await gateway?.close();
    await upstream.close();
  });
  afterEach(() => {
    upstream.faults.length = 0;
  });

  const prompt = 'x'.repeat(4_000);
  const post = (model: string) =>
    fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${userKey}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model, messages: [{ role: 'user', content: prompt }], max_tokens: 10, num_retries: 1 }),
    });

  it('the timed-out read on the operator key is charged in credits and spend; the answer on the user key is free', async () => {
    const credits = gateway.runtime.credits()!;
    const before = (await credits.balance('retry-user'))!;
    const spentBefore = (await gateway.runtime.principals()!.findUser('retry-user'))!.spendMicros;
    const seen = upstream.requests.length;
    upstream.faults.push(SLOW);
    const response = await post('mixed');
    expect(response.status).toBe(200);
    const attempts = upstream.requests.slice(seen);
    expect(attempts.map((request) => request.headers.authorization)).toEqual([`Bearer ${OPERATOR_KEY}`, `Bearer ${OWN_KEY}`]);
    // The answer came on the user's key.
    expect(response.headers.get('x-switchboard-byok')).toBe('true');

    const row = (await gateway.recordOf(response.headers.get('x-switchboard-call-id')!))!;
    const readTokens = row.prompt_tokens! - 300;
    expect(readTokens).toBeGreaterThanOrEqual(100);
    // The row counts every token read; its cost is the operator's part (the read), not the answer on the user's key.
    expect(row.cost_micros).toBe(readTokens);
    expect(row.byok).toBe(0);
    expect(JSON.parse(row.metadata!)).toMatchObject({ own_key: { answered: true, cost_micros: ANSWER_MICROS } });
    const charged = creditCostMillicredits(readTokens, RATE);
    expect(charged).toBeGreaterThan(0);
    expect(row.credits_millicredits).toBe(charged);
    expect(response.headers.get('x-switchboard-credits-cost')).toBe(String(charged / 1000));
    const after = (await credits.balance('retry-user'))!;
    expect(after.balance).toBe(before.balance - charged);
    const spentAfter = (await gateway.runtime.principals()!.findUser('retry-user'))!.spendMicros;
    expect(spentAfter - spentBefore).toBe(readTokens);
  });

  it('the other way round: a read on the user key that timed out is free, the answer on the operator key charged', async () => {
    const credits = gateway.runtime.credits()!;
    const before = (await credits.balance('retry-user'))!;
    const seen = upstream.requests.length;
    upstream.faults.push(SLOW);
    const response = await post('reverse');
    expect(response.status).toBe(200);
    expect(upstream.requests.slice(seen).map((request) => request.headers.authorization)).toEqual([`Bearer ${OWN_KEY}`, `Bearer ${OPERATOR_KEY}`]);
    expect(response.headers.get('x-switchboard-byok')).toBeNull();
    const row = (await gateway.recordOf(response.headers.get('x-switchboard-call-id')!))!;
    const readTokens = row.prompt_tokens! - 300;
    expect(readTokens).toBeGreaterThanOrEqual(100);
    expect(row.cost_micros).toBe(ANSWER_MICROS);
    expect(row.byok).toBe(0);
    expect(JSON.parse(row.metadata!)).toMatchObject({ own_key: { answered: false, cost_micros: readTokens } });
    const charged = creditCostMillicredits(ANSWER_MICROS, RATE);
    expect(row.credits_millicredits).toBe(charged);
    expect((await credits.balance('retry-user'))!.balance).toBe(before.balance - charged);
  });

  it('a call wholly on the user key stays free and recorded as BYOK', async () => {
    const credits = gateway.runtime.credits()!;
    const before = (await credits.balance('retry-user'))!;
    const seen = upstream.requests.length;
    const response = await post('reverse');
    expect(response.status).toBe(200);
    expect(upstream.requests.slice(seen).map((request) => request.headers.authorization)).toEqual([`Bearer ${OWN_KEY}`]);
    const row = (await gateway.recordOf(response.headers.get('x-switchboard-call-id')!))!;
    expect(row).toMatchObject({ byok: 1, credits_millicredits: 0, metadata: null });
    expect((await credits.balance('retry-user'))!.balance).toBe(before.balance);
  });
});
