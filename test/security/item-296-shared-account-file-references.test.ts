/**
 * Item 296: the files a provider stores (OpenAI's and Anthropic's Files APIs, Gemini's Files API)
 * belong to the provider account every key of this gateway shares; the /openai/v1 relay already
 * keeps its `files` endpoints to admin keys. But an ordinary key could still have the model read
 * such a file by naming its id in a prompt: on /anthropic/v1/messages (forwarded with its
 * `anthropic-beta: files-api-2025-04-14`) a `document` / `image` block with `source: {type: "file",
 * file_id}` or a `container_upload` block; on /v1/chat/completions and /openai/v1/chat/completions a
 * `{type: "file", file: {file_id}}` part; on /openai/v1/responses and a /v1/responses with built-in
 * tools an `input_file` / `input_image` with `file_id`; on /gemini and /v1/chat/completions to a
 * Gemini deployment a `fileData.fileUri` (or image URL) of the Gemini Files API
 * (`https://generativelanguage.googleapis.com/v1beta/files/…`). Each went upstream as sent.
 * Now each is refused with 400 naming the field, before any upstream call, unless the key holds
 * llm.manage_providers (an admin key), which keeps them; inline files stay allowed.
 */
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockAnthropic } from '../support/mock-anthropic.js';
import { MockGemini } from '../support/mock-gemini.js';
import { MockOpenAI } from '../support/mock-openai.js';

const ANTHROPIC_FILE = 'file_011CNha8iCJcU1wXNR6q4V8w';
const OPENAI_FILE = 'file-6F2ksmvXxt4VdoqmHRw6kL';
const GEMINI_FILE = 'https://generativelanguage.googleapis.com/v1beta/files/payroll2026';

const anthropic = new MockAnthropic();
const openai = new MockOpenAI();
const gemini = new MockGemini();
let gateway: TestGateway;
let key: string;

beforeAll(async () => {
  await Promise.all([anthropic.start(), openai.start(), gemini.start()]);
  gateway = await startGateway(`
model_list:
  - model_name: claude
    litellm_params:
      model: anthropic/claude-sonnet-4-20250514
      api_base: ${anthropic.url}
      api_key: sk-ant-operator
  - model_name: gpt
    litellm_params:
      model: openai/gpt-4o-mini
      api_base: ${openai.url}/v1
      api_key: sk-operator
  - model_name: flash
    litellm_params:
      model: gemini/gemini-2.0-flash
      api_base: ${gemini.url}
      api_key: operator-gemini-key
router_settings:
  num_retries: 0
general_settings:
  master_key: ${MASTER_KEY}
`);
  key = (await new Management(gateway.url).generateKey({ models: ['claude', 'gpt', 'flash'], max_budget: 1000 })).key;
});

afterAll(async () => {
  await gateway?.close();
  await Promise.all([anthropic.close(), openai.close(), gemini.close()]);
});

beforeEach(() => {
  anthropic.requests.length = 0;
  openai.requests.length = 0;
  gemini.requests.length = 0;
});

const upstreamCalls = () => anthropic.requests.length + openai.requests.length + gemini.requests.length;

const post = (path: string, body: unknown, headers: Record<string, string>) =>
  fetch(`${gateway.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });

const anthropicHeaders = (apiKey: string) => ({ 'x-api-key': apiKey, 'anthropic-version': '2023-06-01', 'anthropic-beta': 'files-api-2025-04-14' });
const bearer = (apiKey: string) => ({ authorization: `Bearer ${apiKey}` });

async function refusal(response: Response): Promise<string> {
  const text = await response.text();
  expect(response.status, text).toBe(400);
  return text;
}

const claudeBody = (block: unknown) => ({ model: 'claude', max_tokens: 50, messages: [{ role: 'user', content: [block, { type: 'text', text: 'Quote it verbatim.' }] }] });
const chatFileBody = (model: string) => ({ model, max_tokens: 50, messages: [{ role: 'user', content: [{ type: 'text', text: 'Quote it verbatim.' }, { type: 'file', file: { file_id: OPENAI_FILE } }] }] });
const geminiBody = (uri: string) => ({ contents: [{ role: 'user', parts: [{ text: 'Quote it verbatim.' }, { fileData: { mimeType: 'application/pdf', fileUri: uri } }] }], generationConfig: { maxOutputTokens: 50 } });

describe('an ordinary key cannot have the model read files stored on the shared provider account', () => {
  it('/anthropic/v1/messages: a document or image with source {type: "file"} is refused, naming the field', async () => {
    const document = await refusal(await post('/anthropic/v1/messages', claudeBody({ type: 'document', source: { type: 'file', file_id: ANTHROPIC_FILE } }), anthropicHeaders(key)));
    expect(document).toContain('messages[0].content[0].source.file_id');
    expect(document).toContain('llm.manage_providers');
    const image = await refusal(await post('/anthropic/v1/messages', claudeBody({ type: 'image', source: { type: 'file', file_id: ANTHROPIC_FILE } }), anthropicHeaders(key)));
    expect(image).toContain('messages[0].content[0].source.file_id');
    // Nested in a tool result, and counted: refused as well.
    const nested = {
      model: 'claude',
      messages: [
        { role: 'user', content: 'Read the file.' },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'fetch', input: { file_id: 'my-own-id' } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: [{ type: 'document', source: { type: 'file', file_id: ANTHROPIC_FILE } }] }] },
      ],
    };
    expect(await refusal(await post('/anthropic/v1/messages/count_tokens', nested, anthropicHeaders(key)))).toContain('messages[2].content[0].content[0].source.file_id');
    expect(upstreamCalls()).toBe(0);
  });

  it('/anthropic/v1/messages: a container_upload block is refused', async () => {
    const text = await refusal(await post('/anthropic/v1/messages', claudeBody({ type: 'container_upload', file_id: ANTHROPIC_FILE }), anthropicHeaders(key)));
    expect(text).toContain('messages[0].content[0].file_id');
    expect(upstreamCalls()).toBe(0);
  });

  it('/v1/chat/completions and /openai/v1/chat/completions: a file part by file_id is refused', async () => {
    expect(await refusal(await post('/v1/chat/completions', chatFileBody('gpt'), bearer(key)))).toContain('messages[0].content[1].file.file_id');
    expect(await refusal(await post('/openai/v1/chat/completions', chatFileBody('gpt'), bearer(key)))).toContain('messages[0].content[1].file.file_id');
    expect(upstreamCalls()).toBe(0);
  });

  it('/openai/v1/responses and /v1/responses with a built-in tool: input_file / input_image by file_id are refused', async () => {
    const input = (part: unknown) => [{ role: 'user', content: [{ type: 'input_text', text: 'Quote it verbatim.' }, part] }];
    const relayed = await post('/openai/v1/responses', { model: 'gpt', max_output_tokens: 50, input: input({ type: 'input_file', file_id: OPENAI_FILE }) }, bearer(key));
    expect(await refusal(relayed)).toContain('input[0].content[1].file_id');
    const image = await post('/openai/v1/responses', { model: 'gpt', max_output_tokens: 50, input: input({ type: 'input_image', detail: 'auto', file_id: OPENAI_FILE }) }, bearer(key));
    expect(await refusal(image)).toContain('input[0].content[1].file_id');
    const builtIn = await post('/v1/responses', { model: 'gpt', max_output_tokens: 50, tools: [{ type: 'web_search' }], input: input({ type: 'input_file', file_id: OPENAI_FILE }) }, bearer(key));
    expect(await refusal(builtIn)).toContain('input[0].content[1].file_id');
    expect(upstreamCalls()).toBe(0);
  });

  it('/gemini and /v1/chat/completions to Gemini: a Gemini Files API URI is refused', async () => {
    const native = await post('/gemini/v1beta/models/flash:generateContent', geminiBody(GEMINI_FILE), { 'x-goog-api-key': key });
    expect(await refusal(native)).toContain('contents[0].parts[1].fileData.fileUri');
    const proto = await post('/gemini/v1beta/models/flash:countTokens', { contents: [{ parts: [{ file_data: { mime_type: 'image/png', file_uri: 'https://generativelanguage.googleapis.com/v1/files/abc-123' } }] }] }, { 'x-goog-api-key': key });
    expect(await refusal(proto)).toContain('contents[0].parts[0].file_data.file_uri');
    const chat = await post('/v1/chat/completions', { model: 'flash', max_tokens: 50, messages: [{ role: 'user', content: [{ type: 'text', text: 'Describe it.' }, { type: 'image_url', image_url: { url: GEMINI_FILE } }] }] }, bearer(key));
    expect(await refusal(chat)).toContain('messages[0].content[1].image_url.url');
    expect(upstreamCalls()).toBe(0);
  });
});

describe('what stays allowed', () => {
  it('inline files, and a tool_use input naming its own file_id, still go through for an ordinary key', async () => {
    const inline = await post('/anthropic/v1/messages', claudeBody({ type: 'document', source: { type: 'text', media_type: 'text/plain', data: 'hello' } }), anthropicHeaders(key));
    expect(inline.status).toBe(200);
    const tool = {
      model: 'claude',
      max_tokens: 50,
      tools: [{ name: 'fetch', input_schema: { type: 'object', properties: { file_id: { type: 'string' } } } }],
      messages: [
        { role: 'user', content: 'Read the file.' },
        { role: 'assistant', content: [{ type: 'tool_use', id: 'toolu_1', name: 'fetch', input: { file_id: 'my-own-id' } }] },
        { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'toolu_1', content: 'contents' }] },
      ],
    };
    expect((await post('/anthropic/v1/messages', tool, anthropicHeaders(key))).status).toBe(200);
    const chat = await post('/v1/chat/completions', { model: 'gpt', max_tokens: 50, messages: [{ role: 'user', content: [{ type: 'file', file: { filename: 'a.pdf', file_data: 'data:application/pdf;base64,JVBERi0=' } }] }] }, bearer(key));
    expect(chat.status).toBe(200);
    const public_ = await post('/gemini/v1beta/models/flash:generateContent', geminiBody('https://www.youtube.com/watch?v=abc'), { 'x-goog-api-key': key });
    expect(public_.status).toBe(200);
    expect(upstreamCalls()).toBe(4);
  });

  it('an admin key (llm.manage_providers) keeps its file references', async () => {
    expect((await post('/anthropic/v1/messages', claudeBody({ type: 'document', source: { type: 'file', file_id: ANTHROPIC_FILE } }), anthropicHeaders(MASTER_KEY))).status).toBe(200);
    expect(anthropic.requests.at(-1)!.headers['anthropic-beta']).toBe('files-api-2025-04-14');
    expect((await post('/openai/v1/chat/completions', chatFileBody('gpt'), bearer(MASTER_KEY))).status).toBe(200);
    expect((await post('/gemini/v1beta/models/flash:generateContent', geminiBody(GEMINI_FILE), { 'x-goog-api-key': MASTER_KEY })).status).toBe(200);
    expect(upstreamCalls()).toBe(3);
  });
});
