/**
 * Item 272: a PDF is reserved and accepted at what the provider bills for its pages, not its bytes.
 * Providers bill a PDF page by page: Anthropic turns each page into text plus an image of the page
 * (its "PDF support" docs: about 1,500–3,000 tokens a page, up to 100 pages a request), Gemini
 * tokenizes each page as an image (1,120 tokens on Gemini 3 at MEDIA_RESOLUTION_HIGH), OpenAI puts
 * each page's text and image in the context. A valid PDF of 100 empty pages is 10 KB, so the prompt
 * bound (one token per byte of its base64, at least 3,000 a document) held a sixth of what Anthropic
 * billed for it, on every route that carries a PDF: Anthropic `document` blocks on /v1/messages and
 * the /anthropic/v1/messages relay, Gemini `inlineData` of type application/pdf (one part, one flat
 * 3,000-token allowance, however many pages), OpenAI chat `file` parts and Responses `input_file`.
 * Before: a key with a $0.05 budget got a $0.20 call through, and the honest usage report (above
 * the usage bounds' 4× the byte bound) was taken for a broken one and replaced by the gateway's
 * byte count — the operator paid 200,000 prompt tokens and charged the key 13,000-odd. Now each
 * PDF part holds its page count (its `/Type /Page` objects) × 3,000 tokens beside its bytes: the
 * report is billed as given, and a budget that cannot pay for the pages refuses the call upstream.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockServer } from '../support/mock-server.js';

type Json = Record<string, unknown>;

const PAGES = 100;

/** A valid PDF of `pages` empty Letter pages (a catalog, a page tree, the pages, an xref table). */
function emptyPdf(pages: number): string {
  const kids = Array.from({ length: pages }, (_, index) => `${index + 3} 0 R`).join(' ');
  const objects = ['<< /Type /Catalog /Pages 2 0 R >>', `<< /Type /Pages /Kids [${kids}] /Count ${pages} >>`];
  for (let index = 0; index < pages; index++) objects.push('<< /Type /Page /Parent 2 0 R /MediaBox [0 0 612 792] >>');
  let pdf = '%PDF-1.4\n';
  const offsets: number[] = [];
  objects.forEach((object, index) => {
    offsets.push(pdf.length);
    pdf += `${index + 1} 0 obj\n${object}\nendobj\n`;
  });
  const xref = pdf.length;
  pdf += `xref\n0 ${objects.length + 1}\n0000000000 65535 f \n${offsets.map((offset) => `${String(offset).padStart(10, '0')} 00000 n \n`).join('')}`;
  pdf += `trailer\n<< /Size ${objects.length + 1} /Root 1 0 R >>\nstartxref\n${xref}\n%%EOF\n`;
  return Buffer.from(pdf, 'latin1').toString('base64');
}

const PDF = emptyPdf(PAGES);
const DATA_URL = `data:application/pdf;base64,${PDF}`;
/** Tokens a page is billed: Anthropic (text plus page image), Gemini 3 at MEDIA_RESOLUTION_HIGH, OpenAI (gpt-4o page image plus text). */
const PAGE_TOKENS = { anthropic: 2_000, gemini: 1_120, openai: 1_000 };
const TEXT_TOKENS = 10;

/** One upstream answering as Anthropic, Gemini or OpenAI by path, billing each PDF it is sent by its pages. */
class PageBillingUpstream extends MockServer {
  calls = 0;

  start(): Promise<string> {
    return this.listen();
  }

  protected async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    let text = '';
    for await (const chunk of request) text += chunk;
    this.calls++;
    const body = JSON.parse(text) as Json;
    const pdfs = text.split(PDF).length - 1;
    const url = request.url ?? '';
    const provider = url.includes(':generateContent') ? 'gemini' : url.endsWith('/messages') ? 'anthropic' : 'openai';
    const prompt = TEXT_TOKENS + pdfs * PAGES * PAGE_TOKENS[provider];
    response.writeHead(200, { 'content-type': 'application/json' });
    if (provider === 'anthropic') {
      response.end(JSON.stringify({ id: `msg_${this.calls}`, type: 'message', role: 'assistant', model: body.model, content: [{ type: 'text', text: 'Blank.' }], stop_reason: 'end_turn', stop_sequence: null, usage: { input_tokens: prompt, output_tokens: 1 } }));
    } else if (provider === 'gemini') {
      const usageMetadata = { promptTokenCount: prompt, candidatesTokenCount: 1, totalTokenCount: prompt + 1 };
      response.end(JSON.stringify({ candidates: [{ content: { role: 'model', parts: [{ text: 'Blank.' }] }, finishReason: 'STOP', index: 0 }], usageMetadata, modelVersion: 'gemini-3-pro-preview', responseId: `r${this.calls}` }));
    } else if (url.endsWith('/responses')) {
      const output = [{ type: 'message', id: `msg_${this.calls}`, status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: 'Blank.', annotations: [] }] }];
      response.end(JSON.stringify({ id: `resp_${this.calls}`, object: 'response', created_at: 1, status: 'completed', model: body.model, output, usage: { input_tokens: prompt, input_tokens_details: { cached_tokens: 0 }, output_tokens: 1, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: prompt + 1 } }));
    } else {
      const choices = [{ index: 0, message: { role: 'assistant', content: 'Blank.' }, finish_reason: 'stop' }];
      response.end(JSON.stringify({ id: `chatcmpl-${this.calls}`, object: 'chat.completion', created: 1, model: body.model, choices, usage: { prompt_tokens: prompt, completion_tokens: 1, total_tokens: prompt + 1 } }));
    }
  }
}

const upstream = new PageBillingUpstream();
let gateway: TestGateway;
let api: Management;

beforeAll(async () => {
  await upstream.start();
  // $1 per 1M tokens in and out: a call's cost in micro-dollars is its token count.
  const prices = '{input_cost_per_token: 0.000001, output_cost_per_token: 0.000001, max_input_tokens: 1000000, max_output_tokens: 64000}';
  gateway = await startGateway(`
model_list:
  - model_name: claude
    litellm_params: {model: anthropic/claude-sonnet-4-20250514, api_base: "${upstream.url}", api_key: upstream-key}
    model_info: ${prices}
  - model_name: pro3
    litellm_params: {model: gemini/gemini-3-pro-preview, api_base: "${upstream.url}", api_key: upstream-key}
    model_info: ${prices}
  - model_name: gpt
    litellm_params: {model: openai/gpt-4o, api_base: "${upstream.url}", api_key: upstream-key}
    model_info: ${prices}
router_settings:
  num_retries: 0
general_settings:
  master_key: ${MASTER_KEY}
`);
  api = new Management(gateway.url);
});

afterAll(async () => {
  await gateway?.close();
  await upstream.close();
});

const ASK = 'Summarize the document.';
const DOCUMENT = { type: 'document', source: { type: 'base64', media_type: 'application/pdf', data: PDF } };

function post(path: string, headers: Record<string, string>, body: Json): Promise<Response> {
  return fetch(`${gateway.url}${path}`, { method: 'POST', headers: { 'content-type': 'application/json', ...headers }, body: JSON.stringify(body) });
}

const CALLS: Record<string, { provider: keyof typeof PAGE_TOKENS; model: string; send: (key: string) => Promise<Response> }> = {
  'an Anthropic document on /v1/messages': {
    provider: 'anthropic',
    model: 'claude',
    send: (key) => post('/v1/messages', { 'x-api-key': key, 'anthropic-version': '2023-06-01' }, { model: 'claude', max_tokens: 16, messages: [{ role: 'user', content: [DOCUMENT, { type: 'text', text: ASK }] }] }),
  },
  'an Anthropic document on the /anthropic/v1/messages relay': {
    provider: 'anthropic',
    model: 'claude',
    send: (key) => post('/anthropic/v1/messages', { 'x-api-key': key, 'anthropic-version': '2023-06-01' }, { model: 'claude', max_tokens: 16, messages: [{ role: 'user', content: [DOCUMENT, { type: 'text', text: ASK }] }] }),
  },
  'a Gemini inlineData PDF on the Gemini-native route': {
    provider: 'gemini',
    model: 'pro3',
    send: (key) =>
      post('/gemini/v1beta/models/pro3:generateContent', { 'x-goog-api-key': key }, { contents: [{ role: 'user', parts: [{ inlineData: { mimeType: 'application/pdf', data: PDF } }, { text: ASK }] }], generationConfig: { maxOutputTokens: 16, thinkingConfig: { thinkingBudget: 0 } } }),
  },
  'an OpenAI file part on /v1/chat/completions': {
    provider: 'openai',
    model: 'gpt',
    send: (key) => post('/v1/chat/completions', { authorization: `Bearer ${key}` }, { model: 'gpt', max_tokens: 16, messages: [{ role: 'user', content: [{ type: 'file', file: { filename: 'blank.pdf', file_data: DATA_URL } }, { type: 'text', text: ASK }] }] }),
  },
  'an OpenAI input_file on the /openai/v1/responses relay': {
    provider: 'openai',
    model: 'gpt',
    send: (key) => post('/openai/v1/responses', { authorization: `Bearer ${key}` }, { model: 'gpt', max_output_tokens: 16, input: [{ role: 'user', content: [{ type: 'input_file', filename: 'blank.pdf', file_data: DATA_URL }, { type: 'input_text', text: ASK }] }] }),
  },
};

describe('a PDF of many small pages', () => {
  for (const [name, call] of Object.entries(CALLS)) {
    const prompt = TEXT_TOKENS + PAGES * PAGE_TOKENS[call.provider];

    it(`${name}: is charged the provider's honest prompt count, not the gateway's byte count`, async () => {
      const key = (await api.generateKey({ models: [call.model], max_budget: 10 })).key;
      const response = await call.send(key);
      expect(response.status).toBe(200);
      expect(await gateway.recordOf(response.headers.get('x-switchboard-call-id')!)).toMatchObject({ status: 'success', prompt_tokens: prompt, completion_tokens: 1, usage_adjusted: 0, cost_micros: prompt + 1 });
    });

    it(`${name}: a budget below what its pages cost refuses the call before the provider is called`, async () => {
      // The pages cost $0.10–$0.20; the PDF's bytes alone bounded the call near $0.02.
      const poor = (await api.generateKey({ models: [call.model], max_budget: 0.05 })).key;
      const before = upstream.calls;
      const refused = await call.send(poor);
      expect(refused.status).toBeGreaterThanOrEqual(400);
      expect(await refused.text()).toMatch(/budget/i);
      expect(upstream.calls).toBe(before);
    });
  }
});
