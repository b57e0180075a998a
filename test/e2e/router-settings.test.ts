/** GET /router/settings: the router's effective settings in LiteLLM's names, for admins only. */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, openAIConfig, startGateway, type TestGateway } from '../support/gateway.js';
import { MockOpenAI } from '../support/mock-openai.js';

describe('GET /router/settings', () => {
  let mock: MockOpenAI;
  let gateway: TestGateway;

  beforeAll(async () => {
    mock = new MockOpenAI();
    const extra = `router_settings:
  routing_strategy: least-busy
  num_retries: 2
  cooldown_time: 30
  fallbacks: [{"gpt-4o-mini": ["text-embedding-3-small"]}]
litellm_settings:
  context_window_fallbacks: [{"gpt-4o-mini": ["gpt-4o-mini"]}]
`;
    gateway = await startGateway(openAIConfig(await mock.start(), extra));
  });

  afterAll(async () => {
    await gateway?.close();
    await mock?.close();
  });

  it('answers the effective settings (config merged with defaults) to an admin', async () => {
    const response = await fetch(`${gateway.url}/router/settings`, { headers: { authorization: `Bearer ${MASTER_KEY}` } });
    expect(response.status).toBe(200);
    expect(await response.json()).toEqual({
      editable: false,
      router_settings: {
        routing_strategy: 'least-busy',
        routing_strategy_args: { lowest_latency_buffer: 0.1 },
        num_retries: 2,
        retry_policy: {},
        retry_after: 0,
        allowed_fails: 3,
        cooldown_time: 30,
        disable_cooldowns: false,
        fallbacks: [{ 'gpt-4o-mini': ['text-embedding-3-small'] }],
        context_window_fallbacks: [{ 'gpt-4o-mini': ['gpt-4o-mini'] }],
        content_policy_fallbacks: [],
        default_fallbacks: [],
        max_fallbacks: 5,
      },
    });
  });

  it('refuses a virtual key without the llm.configure permission', async () => {
    const created = (await (await fetch(`${gateway.url}/key/generate`, { method: 'POST', headers: { authorization: `Bearer ${MASTER_KEY}` }, body: '{}' })).json()) as { key: string };
    const response = await fetch(`${gateway.url}/router/settings`, { headers: { authorization: `Bearer ${created.key}` } });
    expect(response.status).toBe(403);
    expect(((await response.json()) as { error: { message: string } }).error.message).toContain('llm.configure');
    expect((await fetch(`${gateway.url}/router/settings`)).status).toBe(401);
  });
});
