/**
 * LiteLLM reads per-request `x-litellm-*` headers (x-litellm-timeout, x-litellm-num-retries,
 * x-litellm-tags, x-litellm-end-user-id — all honoured here — and others such as
 * x-litellm-enable-message-redaction). A client moved from LiteLLM that sent one the gateway does
 * not implement had it ignored without a word: asking for message redaction, say, and getting the
 * messages logged. Now such a header is named in the x-switchboard-warnings header.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { MockOpenAI } from '../support/mock-openai.js';

describe('x-litellm-* request headers the gateway does not implement are warned about', () => {
  const upstream = new MockOpenAI();
  let gateway: TestGateway;

  beforeAll(async () => {
    await upstream.start();
    gateway = await startGateway(`
model_list:
  - model_name: gpt
    litellm_params: {model: openai/gpt-4o-mini, api_base: "${upstream.url}", api_key: sk-upstream}
router_settings: {num_retries: 0}
general_settings: {master_key: ${MASTER_KEY}}
`);
  });

  afterAll(async () => {
    await gateway?.close();
    await upstream.close();
  });

  const chat = (headers: Record<string, string>) =>
    fetch(`${gateway.url}/v1/chat/completions`, {
      method: 'POST',
      headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json', ...headers },
      body: JSON.stringify({ model: 'gpt', messages: [{ role: 'user', content: 'Hello' }] }),
    });

  it('x-litellm-enable-message-redaction: answered, and named in the warnings', async () => {
    const response = await chat({ 'x-litellm-enable-message-redaction': 'true' });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-switchboard-warnings')).toContain('"x-litellm-enable-message-redaction"');
  });

  it('the headers it honours raise no warning', async () => {
    const response = await chat({ 'x-litellm-tags': 'team-a', 'x-litellm-timeout': '30', 'x-litellm-num-retries': '0', 'x-litellm-api-key': MASTER_KEY });
    expect(response.status).toBe(200);
    expect(response.headers.get('x-switchboard-warnings')).toBeNull();
  });
});
