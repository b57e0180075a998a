/**
 * A local Azure AI inference endpoint (the model inference API): OpenAI's chat wire format (the
 * OpenAI mock answers it) at the paths Azure serves it — `/chat/completions` on a serverless
 * endpoint, `/models/chat/completions?api-version=…` on a Foundry resource (api-version required
 * there) — with the key as a bearer token or in `api-key`. As the API documents, body parameters
 * it does not define are refused with a 422 unless the `extra-parameters` header says
 * `pass-through` (sent to the model) or `drop`; a missing or wrong key is a 401 in Azure's words.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { MockOpenAI, type MockOpenAIOptions } from './mock-openai.js';

/** The chat request body of the model inference API (ChatCompletionsOptions). */
const DEFINED = new Set(['messages', 'model', 'stream', 'frequency_penalty', 'presence_penalty', 'temperature', 'top_p', 'max_tokens', 'response_format', 'stop', 'tools', 'tool_choice', 'seed', 'modalities']);

export class MockAzureAI extends MockOpenAI {
  constructor(
    readonly apiKey: string,
    options: MockOpenAIOptions = {},
  ) {
    super(options);
  }

  /** The endpoint's base URL (no path), to use as api_base. */
  override async start(): Promise<string> {
    return this.listen('');
  }

  protected override async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const url = new URL(request.url ?? '/', 'http://mock');
    const bearer = /^Bearer (.+)$/.exec(String(request.headers.authorization ?? ''))?.[1];
    if (bearer !== this.apiKey && request.headers['api-key'] !== this.apiKey) {
      return azureError(response, 401, '401', 'Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.');
    }
    const foundry = url.pathname.startsWith('/models/');
    const chat = url.pathname === '/chat/completions' || url.pathname === '/models/chat/completions';
    const known = chat || url.pathname === '/embeddings' || url.pathname === '/models/embeddings';
    if (!known || (foundry && !url.searchParams.get('api-version'))) return azureError(response, 404, '404', 'Resource not found');
    if (chat) {
      let body: Record<string, unknown> = {};
      try {
        body = JSON.parse(text) as Record<string, unknown>;
      } catch {
        // the OpenAI mock answers malformed JSON
      }
      const extra = Object.keys(body).filter((key) => !DEFINED.has(key));
      const mode = String(request.headers['extra-parameters'] ?? 'error');
      if (extra.length > 0 && mode === 'error') {
        return azureError(response, 422, 'Invalid input', `Extra parameters ${JSON.stringify(extra)} are not allowed when extra-parameters is not set or set to be 'error'. Set extra-parameters to 'pass-through' to pass to the model.`);
      }
    }
    return this.respond(request, response, text);
  }
}

function azureError(response: ServerResponse, status: number, code: string, message: string): void {
  response.writeHead(status, { 'content-type': 'application/json' });
  response.end(JSON.stringify({ error: { code, message, status } }));
}
