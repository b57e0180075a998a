/**
 * A local upstream that speaks Cohere's API v2 the way api.cohere.com does (shapes from the API
 * reference and the cohere-typescript SDK's v2 types):
 * - `POST /v2/chat` → `{id, finish_reason, message: {role, content: [{type: "text", text}], tool_plan?,
 *   tool_calls?}, usage: {billed_units, tokens}}`; with `stream: true`, SSE events `message-start`,
 *   `content-start`, `content-delta`, `content-end`, `tool-plan-delta`, `tool-call-start`,
 *   `tool-call-delta`, `tool-call-end`, `message-end` (finish_reason and usage), each
 *   `event: <type>\ndata: {"type": <type>, …}`;
 * - `POST /v2/embed` → `{id, embeddings: {float: [...]}, texts, meta: {billed_units}, response_type}`;
 *   `embedding_types` is required, and `input_type` for v3+ models, as Cohere refuses without them;
 * - `POST /v2/rerank` (`model`, `query`, `documents` as strings, `top_n`, `max_tokens_per_doc`) →
 *   `{id, results: [{index, relevance_score}] (best first, top_n of them), meta: {api_version,
 *   billed_units: {search_units}}}`, a search unit per 100 documents (Cohere's billing unit);
 * - the bearer key is checked (401 `{"message":"invalid api token"}`); an unknown request field is
 *   a 400, as Cohere's strict schema does;
 * - errors are `{"message": …}` with the status.
 * Billed input tokens are fewer than the tokens read (Cohere's template is not billed).
 */
import { randomUUID } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { MockServer } from './mock-server.js';

type Json = Record<string, unknown>;

export interface CohereRecordedRequest {
  path: string;
  headers: IncomingMessage['headers'];
  body: Json;
}

export type CohereFault = { kind: 'error'; status: number; message: string; headers?: Record<string, string> };

export interface MockCohereOptions {
  apiKey: string;
  reply?: string;
  billedInputTokens?: number;
  billedOutputTokens?: number;
}

const RERANK_FIELDS = new Set(['model', 'query', 'documents', 'top_n', 'max_tokens_per_doc', 'priority']);
const CHAT_FIELDS = new Set(['model', 'messages', 'stream', 'tools', 'strict_tools', 'documents', 'citation_options', 'response_format', 'safety_mode', 'max_tokens', 'stop_sequences', 'temperature', 'seed', 'frequency_penalty', 'presence_penalty', 'k', 'p', 'logprobs', 'tool_choice', 'thinking']);
const EMBED_FIELDS = new Set(['model', 'texts', 'images', 'inputs', 'input_type', 'embedding_types', 'output_dimension', 'truncate', 'max_tokens']);

class CohereError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

export class MockCohere extends MockServer {
  readonly requests: CohereRecordedRequest[] = [];
  readonly faults: CohereFault[] = [];

  constructor(private readonly options: MockCohereOptions) {
    super();
  }

  async start(): Promise<string> {
    return this.listen();
  }

  protected async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    try {
      if (request.headers.authorization !== `Bearer ${this.options.apiKey}`) throw new CohereError(401, 'invalid api token');
      let body: Json;
      try {
        const parsed: unknown = JSON.parse(Buffer.concat(chunks).toString('utf8'));
        if (!isObject(parsed)) throw new Error('not an object');
        body = parsed;
      } catch {
        throw new CohereError(400, 'invalid request: could not parse the JSON body');
      }
      this.requests.push({ path: request.url ?? '', headers: request.headers, body });
      const fault = this.faults.shift();
      if (fault) {
        response.writeHead(fault.status, { 'content-type': 'application/json', ...fault.headers });
        response.end(JSON.stringify({ message: fault.message }));
        return;
      }
      if (request.method === 'POST' && request.url === '/v2/chat') return this.chat(body, response);
      if (request.method === 'POST' && request.url === '/v2/embed') return this.embed(body, response);
      if (request.method === 'POST' && request.url === '/v2/rerank') return this.rerank(body, response);
      throw new CohereError(404, `path ${request.url} not found`);
    } catch (error) {
      if (!(error instanceof CohereError)) throw error;
      response.writeHead(error.status, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ id: randomUUID(), message: error.message }));
    }
  }

  private usage(): Json {
    const input = this.options.billedInputTokens ?? 8;
    const output = this.options.billedOutputTokens ?? 6;
    return { billed_units: { input_tokens: input, output_tokens: output }, tokens: { input_tokens: input + 200, output_tokens: output } };
  }

  private chat(body: Json, response: ServerResponse): void {
    for (const key of Object.keys(body)) if (!CHAT_FIELDS.has(key)) throw new CohereError(400, `invalid request: unknown field: parameter ${key} is not a valid field`);
    if (typeof body.model !== 'string') throw new CohereError(400, 'invalid request: model must be specified');
    if (!Array.isArray(body.messages) || body.messages.length === 0) throw new CohereError(400, 'invalid request: messages must contain at least one message');
    const messages = body.messages as Json[];
    for (const message of messages) if (!['system', 'user', 'assistant', 'tool'].includes(String(message.role))) throw new CohereError(400, `invalid request: invalid role ${String(message.role)}`);
    const last = messages.at(-1)!;
    const tools = Array.isArray(body.tools) ? (body.tools as Array<{ function: { name: string } }>) : [];
    const id = randomUUID();
    let text: string | undefined;
    let call: { id: string; type: 'function'; function: { name: string; arguments: string } } | undefined;
    if (last.role === 'tool') text = `Tool said: ${typeof last.content === 'string' ? last.content : JSON.stringify(last.content)}`;
    else if (tools.length > 0 && body.tool_choice !== 'NONE') call = { id: `${tools[0].function.name}_${id.slice(0, 12)}`, type: 'function', function: { name: tools[0].function.name, arguments: '{"location":"Toronto"}' } };
    else text = this.options.reply ?? 'Hello from Cohere!';
    const finishReason = call ? 'TOOL_CALL' : 'COMPLETE';
    if (body.stream !== true) {
      const message: Json = { role: 'assistant' };
      if (text !== undefined) message.content = [{ type: 'text', text }];
      if (call) {
        message.tool_plan = 'I will look this up.';
        message.tool_calls = [call];
      }
      response.writeHead(200, { 'content-type': 'application/json' });
      response.end(JSON.stringify({ id, message, finish_reason: finishReason, usage: this.usage() }));
      return;
    }
    const events: Json[] = [{ id, type: 'message-start', delta: { message: { role: 'assistant', content: [], tool_plan: '', tool_calls: [], citations: [] } } }];
    if (text !== undefined) {
      events.push({ type: 'content-start', index: 0, delta: { message: { content: { type: 'text', text: '' } } } });
      for (const piece of text.split(/(?<= )/)) events.push({ type: 'content-delta', index: 0, delta: { message: { content: { text: piece } } } });
      events.push({ type: 'content-end', index: 0 });
    }
    if (call) {
      events.push({ type: 'tool-plan-delta', delta: { message: { tool_plan: 'I will look this up.' } } });
      events.push({ type: 'tool-call-start', index: 0, delta: { message: { tool_calls: { id: call.id, type: 'function', function: { name: call.function.name, arguments: '' } } } } });
      const args = call.function.arguments;
      events.push({ type: 'tool-call-delta', index: 0, delta: { message: { tool_calls: { function: { arguments: args.slice(0, 5) } } } } });
      events.push({ type: 'tool-call-delta', index: 0, delta: { message: { tool_calls: { function: { arguments: args.slice(5) } } } } });
      events.push({ type: 'tool-call-end', index: 0 });
    }
    events.push({ type: 'message-end', delta: { finish_reason: finishReason, usage: this.usage() } });
    response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache' });
    for (const event of events) response.write(`event: ${String(event.type)}\ndata: ${JSON.stringify(event)}\n\n`);
    response.end();
  }

  /** Scores each document by the query words it contains; v2 takes documents as strings only. */
  private rerank(body: Json, response: ServerResponse): void {
    for (const key of Object.keys(body)) if (!RERANK_FIELDS.has(key)) throw new CohereError(400, `invalid request: unknown field: parameter ${key} is not a valid field`);
    if (typeof body.query !== 'string' || body.query === '') throw new CohereError(400, 'invalid request: query cannot be empty');
    const documents = body.documents;
    if (!Array.isArray(documents) || documents.length === 0 || documents.some((document) => typeof document !== 'string')) throw new CohereError(400, 'invalid request: documents must be a non-empty list of strings');
    const words = body.query.toLowerCase().split(/\W+/).filter(Boolean);
    const scored = (documents as string[]).map((document, index) => {
      const text = document.toLowerCase();
      return { index, relevance_score: Math.round((words.filter((word) => text.includes(word)).length / words.length) * 1e6) / 1e6 };
    });
    scored.sort((a, b) => b.relevance_score - a.relevance_score || a.index - b.index);
    const results = typeof body.top_n === 'number' ? scored.slice(0, body.top_n) : scored;
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ id: randomUUID(), results, meta: { api_version: { version: '2' }, billed_units: { search_units: Math.ceil(documents.length / 100) } } }));
  }

  private embed(body: Json, response: ServerResponse): void {
    for (const key of Object.keys(body)) if (!EMBED_FIELDS.has(key)) throw new CohereError(400, `invalid request: unknown field: parameter ${key} is not a valid field`);
    if (!Array.isArray(body.embedding_types) || body.embedding_types.length === 0) throw new CohereError(400, 'invalid request: embedding_types is required');
    if (typeof body.input_type !== 'string') throw new CohereError(400, "invalid request: valid input_type must be provided with the provided model");
    const texts = Array.isArray(body.texts) ? (body.texts as string[]) : [];
    const dimensions = typeof body.output_dimension === 'number' ? body.output_dimension : 8;
    const float = texts.map((text) => Array.from({ length: dimensions }, (_, index) => ((text.length + index) % 5) / 5));
    const tokens = texts.reduce((sum, text) => sum + text.split(/\s+/).filter(Boolean).length, 0);
    response.writeHead(200, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ id: randomUUID(), embeddings: { float }, texts, meta: { api_version: { version: '2' }, billed_units: { input_tokens: tokens } }, response_type: 'embeddings_by_type' }));
  }
}
