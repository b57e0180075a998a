/**
 * The attack: the guardrails read text parts only, so a document went to the upstream unread. A
 * blocked word, or a card number a PII guardrail blocks, written in a text/plain document — a chat
 * `file` part (`file.file_data`, a base64 data: URL), an Anthropic base64 `document` block on
 * /v1/messages, a Responses `input_file`, a data: URL of text in an `image_url` part (which Gemini
 * gets as `inlineData`) — reached the upstream under a content-filter or PII-block guardrail, and
 * an e-mail a PII guardrail masks went out unmasked. Now a document of a text media type is decoded
 * and read (and masked) as the other texts are; a document the guardrails cannot read (a PDF, a
 * file id, a part of an unknown type) is refused with 400 naming the guardrails when one runs on
 * the call. Images and audio are not read (the guardrails read text) and pass.
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockOpenAI } from '../support/mock-openai.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';

let upstream: MockOpenAI;
let gateway: TestGateway;
let api: Management;

beforeAll(async () => {
  upstream = new MockOpenAI();
  await upstream.start();
  gateway = await startGateway(`
model_list:
  - model_name: gpt-4o-mini
    litellm_params: {model: openai/gpt-4o-mini, api_base: "${upstream.url}", api_key: sk-upstream-test}
general_settings:
  master_key: ${MASTER_KEY}
guardrails:
  - guardrail_name: no-secrets
    litellm_params: {guardrail: content_filter, mode: pre_call, blocked_words: [password]}
  - guardrail_name: pii
    litellm_params: {guardrail: pii, mode: pre_call, pii_entities_config: {EMAIL_ADDRESS: mask, CREDIT_CARD: block}}
`);
  api = new Management(gateway.url);
});

afterAll(async () => {
  await gateway?.close();
  await upstream?.close();
});

async function send(key: string, path: string, body: Record<string, unknown>): Promise<{ status: number; text: string; calls: number }> {
  const before = upstream.requests.length;
  const response = await fetch(`${gateway.url}${path}`, {
    method: 'POST',
    headers: { authorization: `Bearer ${key}`, 'content-type': 'application/json', 'anthropic-version': '2023-06-01' },
    body: JSON.stringify({ model: 'gpt-4o-mini', ...body }),
  });
  return { status: response.status, text: await response.text(), calls: upstream.requests.length - before };
}

const base64 = (text: string) => Buffer.from(text, 'utf8').toString('base64');
const textUrl = (text: string, type = 'text/plain') => `data:${type};base64,${base64(text)}`;
const chatFile = (url: string) => ({ messages: [{ role: 'user', content: [{ type: 'text', text: 'Summarise the file.' }, { type: 'file', file: { filename: 'notes.txt', file_data: url } }] }] });
const chatImageUrl = (url: string) => ({ messages: [{ role: 'user', content: [{ type: 'text', text: 'Read this.' }, { type: 'image_url', image_url: { url } }] }] });
const messagesDocument = (text: string) => ({ max_tokens: 50, messages: [{ role: 'user', content: [{ type: 'text', text: 'Summarise the document.' }, { type: 'document', source: { type: 'base64', media_type: 'text/plain', data: base64(text) } }] }] });
const responsesFile = (url: string) => ({ input: [{ role: 'user', content: [{ type: 'input_text', text: 'Summarise the file.' }, { type: 'input_file', filename: 'notes.txt', file_data: url }] }] });

const CARD = '4111 1111 1111 1111';
const PNG = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';
const PDF = `data:application/pdf;base64,${base64('%PDF-1.4\n1 0 obj << /Type /Catalog >> endobj\n%%EOF')}`;

describe('documents under a guardrail', () => {
  it.each([
    ['a chat file part (text/plain)', '/v1/chat/completions', (secret: string) => chatFile(textUrl(`The ${secret} is in here.`))],
    ['a chat file part (text/markdown, not base64)', '/v1/chat/completions', (secret: string) => chatFile(`data:text/markdown,${encodeURIComponent(`# Notes\n${secret}`)}`)],
    ['a chat file part (application/json)', '/v1/chat/completions', (secret: string) => chatFile(textUrl(JSON.stringify({ note: secret }), 'application/json'))],
    ['a text data: URL in an image_url part', '/v1/chat/completions', (secret: string) => chatImageUrl(textUrl(`The ${secret} is in here.`))],
    ['an Anthropic base64 text/plain document', '/v1/messages', (secret: string) => messagesDocument(`The ${secret} is in here.`)],
    ['a Responses input_file', '/v1/responses', (secret: string) => responsesFile(textUrl(`The ${secret} is in here.`))],
  ])('%s is read: a blocked word and a blocked card are refused before any upstream call', async (_name, path, body) => {
    const filtered = await api.generateKey({ guardrails: ['no-secrets'] });
    const words = await send(filtered.key, path, body('password'));
    expect(words.status, words.text).toBe(400);
    expect(words.text).toContain('no-secrets');
    expect(words.calls).toBe(0);
    const pii = await api.generateKey({ guardrails: ['pii'] });
    const card = await send(pii.key, path, body(CARD));
    expect(card.status, card.text).toBe(400);
    expect(card.text).toContain('CREDIT_CARD');
    expect(card.calls).toBe(0);
  });

  it('an e-mail in a text/plain document is masked in the document the upstream gets', async () => {
    const { key } = await api.generateKey({ guardrails: ['pii'] });
    const sent = await send(key, '/v1/chat/completions', chatFile(textUrl('Write to bob@example.com today.')));
    expect(sent.status, sent.text).toBe(200);
    const content = (upstream.requests.at(-1)!.body.messages as Array<{ content: Array<{ type: string; file?: { file_data: string } }> }>)[0].content;
    const fileData = content.find((part) => part.type === 'file')!.file!.file_data;
    const match = /^data:text\/plain[^,]*;base64,(.*)$/s.exec(fileData);
    expect(match, fileData).toBeTruthy();
    const upstreamText = Buffer.from(match![1], 'base64').toString('utf8');
    expect(upstreamText).not.toContain('bob@example.com');
    expect(upstreamText).toContain('<EMAIL_ADDRESS_1>');
  });

  it.each([
    ['a PDF file part', chatFile(PDF)],
    ['a file id', { messages: [{ role: 'user', content: [{ type: 'file', file: { file_id: 'file-abc123' } }] }] }],
    ['a document as an image_url data: URL', chatImageUrl(PDF)],
    ['a text document in another charset', chatFile(`data:text/plain;charset=utf-16le;base64,${Buffer.from('password', 'utf16le').toString('base64')}`)],
    ['a part of a type the gateway does not know', { messages: [{ role: 'user', content: [{ type: 'document', source: { type: 'text', data: 'password' } }] }] }],
  ])('%s cannot be read: refused with 400 naming the guardrail, before any upstream call', async (_name, body) => {
    const { key } = await api.generateKey({ guardrails: ['no-secrets'] });
    const sent = await send(key, '/v1/chat/completions', body);
    expect(sent.status, sent.text).toBe(400);
    // A file id is refused before the guardrail reads anything: it names a file on the shared provider account (item 296).
    expect(JSON.parse(sent.text).error.message).toMatch(_name === 'a file id' ? /file_id/ : /"no-secrets"/);
    expect(sent.calls).toBe(0);
  });

  it('a PDF on /v1/messages cannot be read either: refused in the Anthropic envelope', async () => {
    const { key } = await api.generateKey({ guardrails: ['no-secrets'] });
    const sent = await send(key, '/v1/messages', { max_tokens: 50, messages: [{ role: 'user', content: [{ type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: PDF.split(',')[1] } }] }] });
    expect(sent.status, sent.text).toBe(400);
    expect(JSON.parse(sent.text).type).toBe('error');
    expect(sent.text).toContain('no-secrets');
    expect(sent.calls).toBe(0);
  });

  it('an image and a harmless text document pass under a guardrail; a PDF passes without one', async () => {
    const { key } = await api.generateKey({ guardrails: ['no-secrets', 'pii'] });
    expect((await send(key, '/v1/chat/completions', chatImageUrl(PNG))).status).toBe(200);
    expect((await send(key, '/v1/chat/completions', chatFile(textUrl('Quarterly figures, nothing secret.')))).status).toBe(200);
    const plain = await api.generateKey({});
    const pdf = await send(plain.key, '/v1/chat/completions', chatFile(PDF));
    expect(pdf.status, pdf.text).toBe(200);
    expect(pdf.calls).toBe(1);
  });
});
