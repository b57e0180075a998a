/**
 * Item 356 (the attack): a wildcard deployment (`openai/*`, priced from the built-in table) serves
 * `openai/gpt-4o-2024-05-13`, which OpenAI bills at $5 / $15 per 1M (its own line on the pricing
 * page, as LiteLLM's table: input 5e-06, output 1.5e-05), not gpt-4o's $2.50 / $10. The price lookup
 * strips the date and charges gpt-4o's rates.
 * Now: the snapshots OpenAI prices apart have their own built-in prices; a Claude deployment priced
 * in model_info bills 5-minute cache writes at 1.25× its input price unless
 * cache_creation_input_token_cost says otherwise; a fine-tuned gpt-4o-mini or nano model's images
 * are bounded as its base model's.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

const PROMPT = 500;
const COMPLETION = 10_000;

describe('wildcard: dated model names priced as their family', () => {
  const upstream = new MockOpenAI({ promptTokens: PROMPT, completionTokens: COMPLETION });
  let gateway: TestGateway;
  let key: string;

  beforeAll(async () => {
    await upstream.start();
    gateway = await startGateway(`
model_list:
  - model_name: "openai/*"
    litellm_params: {model: "openai/*", api_base: "${upstream.url}", api_key: sk-upstream}
router_settings:
  num_retries: 0
general_settings:
  master_key: ${MASTER_KEY}
`);
    const api = new Management(gateway.url);
    key = (await api.ok<{ key: string }>('POST', '/key/generate', { max_budget: 100 })).key;
  });

  afterAll(async () => {
    await gateway?.close();
    await upstream.close();
  });

  async function charged(model: string): Promise<number> {
    const response = await fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json' },
      body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 20_000 }),
    });
    const text = await response.text();
    expect(response.status, text).toBe(200);
    const row = await gateway.recordOf(response.headers.get('x-switchboard-call-id')!);
    return row!.cost_micros!;
  }

  it('control: gpt-4o-2024-08-06 is charged gpt-4o rates ($2.50 / $10)', async () => {
    expect(await charged('openai/gpt-4o-2024-08-06')).toBe(PROMPT * 2.5 + COMPLETION * 10);
  });

  it('gpt-4o-2024-05-13 is charged at least what OpenAI bills ($5 / $15)', async () => {
    const billed = PROMPT * 5 + COMPLETION * 15;
    expect(await charged('openai/gpt-4o-2024-05-13')).toBeGreaterThanOrEqual(billed);
  });
});
