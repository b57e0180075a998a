/**
 * /v1/messages maps Anthropic's request onto the canonical (OpenAI-format) chat request. Top-level
 * fields the mapping does not read — `service_tier`, `context_management`, fields of newer API
 * versions — were left behind without a word: the call succeeded and the client believed its
 * setting applied. Now each one is named in the x-switchboard-warnings header (and still not sent).
 */
import Anthropic from '@anthropic-ai/sdk';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { MockAnthropic } from '../support/mock-anthropic.js';
import { MockOpenAI } from '../support/mock-openai.js';

describe('/v1/messages names the top-level fields it does not carry', () => {
  const claude = new MockAnthropic();
  const openai = new MockOpenAI();
  let gateway: TestGateway;
  let client: Anthropic;

  beforeAll(async () => {
    await claude.start();
    await openai.start();
    gateway = await startGateway(`
model_list:
  - model_name: claude
    litellm_params: {model: anthropic/claude-sonnet-4-5, api_base: "${claude.url}", api_key: sk-upstream}
  - model_name: gpt
    litellm_params: {model: openai/gpt-4o-mini, api_base: "${openai.url}", api_key: sk-upstream}
router_settings: {num_retries: 0}
general_settings: {master_key: ${MASTER_KEY}}
`);
    client = new Anthropic({ apiKey: MASTER_KEY, baseURL: gateway.url, maxRetries: 0 });
  });

  afterAll(async () => {
    await gateway?.close();
    await claude.close();
    await openai.close();
  });

  for (const model of ['claude', 'gpt']) {
    it(`service_tier and an unknown field, to a ${model} deployment: warned`, async () => {
      const { response } = await client.messages
        .create({ model, max_tokens: 100, messages: [{ role: 'user', content: 'Hello' }], service_tier: 'standard_only', context_management: { edits: [] } } as Anthropic.MessageCreateParamsNonStreaming)
        .withResponse();
      expect(response.status).toBe(200);
      const warnings = response.headers.get('x-switchboard-warnings') ?? '';
      expect(warnings).toContain('"service_tier"');
      expect(warnings).toContain('"context_management"');
    });
  }

  it('a request of mapped fields only carries no warning', async () => {
    const { response } = await client.messages.create({ model: 'gpt', max_tokens: 100, stop_sequences: ['END'], messages: [{ role: 'user', content: 'Hello' }] }).withResponse();
    expect(response.headers.get('x-switchboard-warnings')).toBeNull();
  });
});
