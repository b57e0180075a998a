/**
 * OpenAI's chat and Responses APIs as they bill images: every `image_url` (chat) or `input_image`
 * (Responses) part of a request is billed `tokensPerImage` input tokens (what OpenAI bills an image
 * by its size, whatever its bytes), plus 10 tokens of text; 10 output tokens. Answers in each
 * API's JSON shape (openai ChatCompletion, Response).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { MockServer } from './mock-server.js';

export class MockOpenAIVision extends MockServer {
  calls = 0;

  constructor(private readonly tokensPerImage: number) {
    super();
  }

  start(): Promise<string> {
    return this.listen('');
  }

  protected async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    let text = '';
    for await (const chunk of request) text += chunk;
    const body = JSON.parse(text) as { model?: string };
    this.calls++;
    const images = (text.match(/"type":"(?:image_url|input_image)"/g) ?? []).length;
    const input = images * this.tokensPerImage + 10;
    response.writeHead(200, { 'content-type': 'application/json' });
    if (request.url?.endsWith('/responses')) {
      response.end(JSON.stringify({ id: `resp_${this.calls}`, object: 'response', created_at: 1, status: 'completed', model: body.model, output: [{ type: 'message', id: 'msg_1', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: 'Seen.', annotations: [] }] }], usage: { input_tokens: input, output_tokens: 10, total_tokens: input + 10, input_tokens_details: { cached_tokens: 0 }, output_tokens_details: { reasoning_tokens: 0 } } }));
      return;
    }
    response.end(JSON.stringify({ id: `chatcmpl-${this.calls}`, object: 'chat.completion', created: 1, model: body.model, choices: [{ index: 0, message: { role: 'assistant', content: 'Seen.', refusal: null }, finish_reason: 'stop', logprobs: null }], usage: { prompt_tokens: input, completion_tokens: 10, total_tokens: input + 10 } }));
  }
}
