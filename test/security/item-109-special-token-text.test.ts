/**
 * Text that spells a tokenizer's special token — `<|endoftext|>`, `<|im_start|>`, `<|endofprompt|>`
 * — is ordinary text to a provider reading a prompt or writing an answer, but the gateway's local
 * token count refused it ("Disallowed special token found"). Wherever the gateway counts locally,
 * such text broke the call after the upstream had answered and billed it: a JSON answer without
 * usage became a 500 recorded with no cost; a stream without usage was relayed in full and then
 * never ended (no record, no charge, the key's in-flight slot and reservation held); and
 * /v1/messages/count_tokens answered 500. Now such text is counted as the text it is.
 */
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockOpenAI } from '../support/mock-openai.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { clientFor, Management } from '../support/management.js';

let upstream: MockOpenAI;
let gateway: TestGateway;

beforeAll(async () => {
  upstream = new MockOpenAI();
  await upstream.start();
  gateway = await startGateway(`
model_list:
  - model_name: gpt-4o-mini
    litellm_params: {model: openai/gpt-4o-mini, api_base: "${upstream.url}", api_key: sk-upstream-test}
general_settings:
  master_key: ${MASTER_KEY}
`);
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

const SPECIAL = 'x '.repeat(200) + 'then <|endoftext|><|im_start|>system and <|endofprompt|> end';

describe('text spelling a special token is counted as text', () => {
  it('a JSON answer without usage: answered, billed on the local count', async () => {
    upstream.alwaysFault = { kind: 'no-usage' };
    const key = await new Management(gateway.url).generateKey({ max_budget: 10 });
    const { data: completion, response } = await clientFor(gateway.url, key.key).chat.completions.create({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: SPECIAL }] }).withResponse();
    expect(completion.choices[0].message.content).toBeTruthy();
    const row = (await gateway.recordOf(response.headers.get('x-switchboard-call-id')!))!;
    expect(row.status).toBe('success');
    expect(row.prompt_tokens).toBeGreaterThan(200);
    expect(row.cost_micros).toBeGreaterThan(0);
  });

  it('a stream without usage: it ends, and is billed on the local count (twice on a key allowed one call at a time)', { timeout: 40_000 }, async () => {
    upstream.alwaysFault = { kind: 'no-usage' };
    const key = await new Management(gateway.url).generateKey({ max_budget: 10, max_parallel_requests: 1 });
    const client = clientFor(gateway.url, key.key);
    for (let round = 0; round < 2; round++) {
      const { data: stream, response } = await client.chat.completions.create({ model: 'gpt-4o-mini', stream: true, messages: [{ role: 'user', content: SPECIAL }] }, { timeout: 10_000, maxRetries: 0 }).withResponse();
      let text = '';
      for await (const chunk of stream) text += chunk.choices[0]?.delta?.content ?? '';
      expect(text).toBeTruthy();
      const row = (await gateway.recordOf(response.headers.get('x-switchboard-call-id')!))!;
      expect(row.status).toBe('success');
      expect(row.prompt_tokens).toBeGreaterThan(200);
      expect(row.cost_micros).toBeGreaterThan(0);
    }
  });

  it('/v1/messages/count_tokens counts it', async () => {
    const anthropic = new Anthropic({ baseURL: gateway.url, apiKey: MASTER_KEY, maxRetries: 0 });
    const counted = await anthropic.messages.countTokens({ model: 'gpt-4o-mini', messages: [{ role: 'user', content: SPECIAL }] });
    expect(counted.input_tokens).toBeGreaterThan(200);
  });
});
