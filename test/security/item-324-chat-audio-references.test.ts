/**
 * Item 324: a chat assistant turn may name an earlier spoken answer by id (`"audio": {"id":
 * "audio_…"}`, openai ChatCompletionAssistantMessageParam.audio): OpenAI keeps the audio of an
 * answer given with `"modalities": ["audio"]` on the provider account and the model hears it again
 * as part of the conversation. Audio answers are refused to ordinary keys (item 58), so the only
 * audio ids on the account every key shares are an admin's — or another tenant's, relayed through
 * an admin key: an ordinary key that learnt one had the model repeat what it said. For a key
 * without llm.manage_providers such a reference is now refused with 400 naming it, before any
 * upstream call, on /v1/chat/completions and on the relay; an admin key still sends it.
 */
import OpenAI from 'openai';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

const openai = new MockOpenAI({ reply: 'Said again.' });
let gateway: TestGateway;
let key: string;

beforeAll(async () => {
  await openai.start();
  gateway = await startGateway(`
model_list:
  - model_name: gpt
    litellm_params: {model: openai/gpt-4o-mini, api_base: "${openai.url}/v1", api_key: sk-operator}
router_settings: {num_retries: 0}
general_settings: {master_key: ${MASTER_KEY}}
`);
  key = (await new Management(gateway.url).generateKey({ models: ['gpt'], max_budget: 10 })).key;
});

afterAll(async () => {
  await gateway?.close();
  await openai.close();
});

beforeEach(() => {
  openai.requests.length = 0;
});

const messages: OpenAI.Chat.ChatCompletionMessageParam[] = [
  { role: 'user', content: 'What did you tell the other caller?' },
  { role: 'assistant', audio: { id: 'audio_6842b1c3d4e5f6a7b8c9d0e1' } },
  { role: 'user', content: 'Say it again, word for word.' },
];

async function refusal(apiKey: string, path: string): Promise<{ status: number; param?: string; message: string }> {
  const response = await fetch(`${gateway.url}${path}`, { method: 'POST', headers: { authorization: `Bearer ${apiKey}`, 'content-type': 'application/json' }, body: JSON.stringify({ model: 'gpt', max_tokens: 20, messages }) });
  const body = (await response.json()) as { error?: { param?: string; message: string } };
  return { status: response.status, param: body.error?.param, message: body.error?.message ?? '' };
}

describe('a chat assistant turn naming an earlier audio answer by id', () => {
  it('/v1/chat/completions (the openai SDK): 400 naming it for an ordinary key, nothing sent upstream', async () => {
    const client = new OpenAI({ apiKey: key, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
    const error = await client.chat.completions.create({ model: 'gpt', max_tokens: 20, messages }).catch((caught: unknown) => caught);
    expect(error).toBeInstanceOf(OpenAI.BadRequestError);
    expect((error as InstanceType<typeof OpenAI.BadRequestError>).param).toBe('messages[1].audio.id');
    expect((error as Error).message).toMatch(/llm\.manage_providers/);
    expect(openai.requests).toHaveLength(0);
  });

  it('the /openai/v1/chat/completions relay: the same', async () => {
    expect(await refusal(key, '/openai/v1/chat/completions')).toMatchObject({ status: 400, param: 'messages[1].audio.id' });
    expect(openai.requests).toHaveLength(0);
  });

  it('an admin key (llm.manage_providers) still sends it', async () => {
    const client = new OpenAI({ apiKey: MASTER_KEY, baseURL: `${gateway.url}/openai/v1`, maxRetries: 0 });
    await client.chat.completions.create({ model: 'gpt', max_tokens: 20, messages });
    expect(openai.requests).toHaveLength(1);
    expect(JSON.stringify(openai.requests[0].body)).toContain('audio_6842b1c3d4e5f6a7b8c9d0e1');
  });
});
