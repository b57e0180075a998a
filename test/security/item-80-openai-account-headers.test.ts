/**
 * OpenAI's `OpenAI-Organization` and `OpenAI-Project` request headers choose which organization or
 * project of the account is billed. On the gateway that account is the operator's, so a client must
 * not choose it: the headers are not forwarded. They were ignored without a word; now
 * x-switchboard-warnings names them, on /v1/chat/completions and /v1/messages.
 */
import Anthropic from '@anthropic-ai/sdk';
import OpenAI from 'openai';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { MockOpenAI } from '../support/mock-openai.js';

describe('OpenAI-Organization / OpenAI-Project from a client are not forwarded, and the client is told', () => {
  const upstream = new MockOpenAI();
  let gateway: TestGateway;

  beforeAll(async () => {
    await upstream.start();
    gateway = await startGateway(`
model_list:
  - model_name: gpt
    litellm_params: {model: openai/gpt-4o-mini, api_base: "${upstream.url}", api_key: sk-upstream, organization: org-operator}
router_settings: {num_retries: 0}
general_settings: {master_key: ${MASTER_KEY}}
`);
  });

  afterAll(async () => {
    await gateway?.close();
    await upstream.close();
  });

  it('openai SDK with organization and project: the operator\'s organization is sent, both headers are named', async () => {
    const client = new OpenAI({ apiKey: MASTER_KEY, baseURL: `${gateway.url}/v1`, organization: 'org-client', project: 'proj-client', maxRetries: 0 });
    const { response } = await client.chat.completions.create({ model: 'gpt', messages: [{ role: 'user', content: 'hi' }] }).withResponse();
    expect(response.status).toBe(200);
    const sent = upstream.requests.at(-1)!.headers;
    expect(sent['openai-organization']).toBe('org-operator');
    expect(sent['openai-project']).toBeUndefined();
    const warnings = response.headers.get('x-switchboard-warnings');
    expect(warnings).toContain('"openai-organization"');
    expect(warnings).toContain('"openai-project"');
  });

  it('/v1/messages (@anthropic-ai/sdk) with the headers: named too', async () => {
    const client = new Anthropic({ apiKey: MASTER_KEY, baseURL: gateway.url, maxRetries: 0, defaultHeaders: { 'OpenAI-Project': 'proj-client' } });
    const { response } = await client.messages.create({ model: 'gpt', max_tokens: 20, messages: [{ role: 'user', content: 'hi' }] }).withResponse();
    expect(upstream.requests.at(-1)!.headers['openai-project']).toBeUndefined();
    expect(response.headers.get('x-switchboard-warnings')).toContain('"openai-project"');
  });

  it('without them: no warning', async () => {
    const { response } = await gateway.openai().chat.completions.create({ model: 'gpt', messages: [{ role: 'user', content: 'hi' }] }).withResponse();
    expect(response.headers.get('x-switchboard-warnings')).toBeNull();
  });
});
