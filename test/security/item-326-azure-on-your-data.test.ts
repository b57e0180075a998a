/**
 * Item 326: Azure OpenAI "On Your Data" — a chat body's `data_sources` (`dataSources` before API
 * version 2024-02-15-preview) makes the Azure resource search an index or database the request
 * names. With `"authentication": {"type": "system_assigned_managed_identity"}` it does so with the
 * resource's own identity, which every key of the gateway shares: an ordinary key read the
 * operator's Azure AI Search indexes; and its `embedding_dependency` runs embeddings on the shared
 * resource, billed outside the usage the answer reports. The chat route relayed the field to Azure
 * as it came. Now it is refused with 400 naming it on /v1/chat/completions, and on the
 * /openai/v1/chat/completions relay for keys without llm.manage_providers, before any upstream
 * call; an admin key may still relay it.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';
import { sdkError } from '../support/sdk-errors.js';

const azure = new MockOpenAI({ reply: 'From the HR index.' });
let gateway: TestGateway;
let key: string;

beforeAll(async () => {
  await azure.start();
  gateway = await startGateway(`
model_list:
  - model_name: gpt
    litellm_params: {model: azure/gpt-4o-mini, api_base: "${azure.url}", api_key: azure-operator-key, api_version: "2024-10-21"}
router_settings: {num_retries: 0}
general_settings: {master_key: ${MASTER_KEY}}
`);
  key = (await new Management(gateway.url).generateKey({ models: ['gpt'], max_budget: 10 })).key;
});

afterAll(async () => {
  await gateway?.close();
  await azure.close();
});

beforeEach(() => {
  azure.requests.length = 0;
});

// The On Your Data reference's request: an Azure AI Search index read with the resource's identity.
const dataSources = [
  {
    type: 'azure_search',
    parameters: {
      endpoint: 'https://operator-search.search.windows.net',
      index_name: 'hr-salaries',
      authentication: { type: 'system_assigned_managed_identity' },
      embedding_dependency: { type: 'deployment_name', deployment_name: 'text-embedding-3-large' },
    },
  },
];

function onYourData(apiKey: string, base: string, field = 'data_sources') {
  const client = new OpenAI({ apiKey, baseURL: `${gateway.url}${base}`, maxRetries: 0 });
  // The openai SDK sends fields it does not type as given (as AzureOpenAI's users pass data_sources).
  return client.chat.completions.create({ model: 'gpt', max_tokens: 20, messages: [{ role: 'user', content: 'What does the CFO earn?' }], [field]: dataSources } as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming);
}

const badRequest = (call: Promise<unknown>) => sdkError(call, OpenAI.BadRequestError);

describe('Azure On Your Data (data_sources) on chat', () => {
  it('/v1/chat/completions: 400 naming the field, for any key, nothing sent to Azure', async () => {
    for (const apiKey of [key, MASTER_KEY]) {
      const error = await badRequest(onYourData(apiKey, '/v1'));
      expect(error.param).toBe('data_sources');
      expect(error.message).toMatch(/On Your Data/);
    }
    expect(azure.requests).toHaveLength(0);
  });

  it('the /openai/v1/chat/completions relay: 400 for an ordinary key, in either spelling', async () => {
    expect((await badRequest(onYourData(key, '/openai/v1'))).param).toBe('data_sources');
    expect((await badRequest(onYourData(key, '/openai/v1', 'dataSources'))).param).toBe('dataSources');
    expect(azure.requests).toHaveLength(0);
  });

  it('an admin key may relay it; an empty list is no data source and passes for any key', async () => {
    await onYourData(MASTER_KEY, '/openai/v1');
    expect(azure.requests).toHaveLength(1);
    expect(JSON.stringify(azure.requests[0].body)).toContain('hr-salaries');
    const client = new OpenAI({ apiKey: key, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
    const answer = await client.chat.completions.create({ model: 'gpt', max_tokens: 20, messages: [{ role: 'user', content: 'hi' }], data_sources: [] } as OpenAI.Chat.ChatCompletionCreateParamsNonStreaming);
    expect(answer.choices[0].message.content).toBe('From the HR index.');
  });
});
