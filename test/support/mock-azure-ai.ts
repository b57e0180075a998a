/**
 * A local Azure AI inference endpoint: OpenAI's chat wire format (the OpenAI mock answers it) at
 * the paths Azure serves it — `/chat/completions` on a serverless endpoint, and
 * `/models/chat/completions?api-version=…` on a Foundry resource (api-version required there) —
 * with the key as a bearer token or in `api-key`; a missing or wrong key is a 401 in Azure's words.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { MockOpenAI, type MockOpenAIOptions } from './mock-openai.js';

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
    const url = new URL(request.url ?? '/', 'http://mock');
    const bearer = /^Bearer (.+)$/.exec(String(request.headers.authorization ?? ''))?.[1];
    if (bearer !== this.apiKey && request.headers['api-key'] !== this.apiKey) {
      request.resume();
      response.writeHead(401, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ error: { code: '401', message: 'Access denied due to invalid subscription key or wrong API endpoint. Make sure to provide a valid key for an active subscription and use a correct regional API endpoint for your resource.' } }));
      return;
    }
    const foundry = url.pathname.startsWith('/models/');
    const known = ['/chat/completions', '/embeddings'].some((path) => url.pathname === path || url.pathname === `/models${path}`);
    if (!known || (foundry && !url.searchParams.get('api-version'))) {
      request.resume();
      response.writeHead(404, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ error: { code: '404', message: 'Resource not found' } }));
      return;
    }
    return super.handle(request, response);
  }
}
