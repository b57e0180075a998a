/**
 * A local upstream that speaks OpenAI's wire format (Chat Completions, Completions, Embeddings,
 * Models): JSON bodies with `usage`, SSE streams of `chat.completion.chunk` objects ending in
 * `data: [DONE]` with the usage chunk when `stream_options.include_usage` is set, and OpenAI's
 * error envelope. Tests script faults per request: error statuses, stalls, resets, slow streams.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { exampleOf } from './mock-ollama.js';
import { MockServer } from './mock-server.js';

export interface RecordedRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: Record<string, unknown>;
  /** True when the client (the gateway) closed the connection before the response ended. */
  aborted: boolean;
}

export type Fault =
  | { kind: 'error'; status: number; body?: unknown; headers?: Record<string, string> }
  | { kind: 'stall' } // never answers
  | { kind: 'reset' } // destroys the socket before answering
  | { kind: 'reset-mid-stream'; afterChunks: number }
  | { kind: 'stall-mid-stream'; afterChunks: number }
  | { kind: 'delay'; ms: number }
  | { kind: 'no-usage' } // stream without a usage chunk, response without usage
  /** a stream without usage whose every write carries `event` (text that is not a JSON event) before its chunk */
  | { kind: 'garbled'; event: string }
  /** a stream whose finish event names this choice index (an upstream's odd or huge index) */
  | { kind: 'finish-index'; index: number };

export interface MockOpenAIOptions {
  /** Text the assistant answers with; default "Hello from the mock!". */
  reply?: string;
  /** Delay between stream chunks in ms. */
  chunkDelayMs?: number;
  /**
   * Reasoning the model writes before its answer, as DeepSeek's API streams it: word by word in
   * `delta.reasoning_content` (content null) before the first content delta; JSON answers carry it
   * as `message.reasoning_content`.
   */
  reasoning?: string;
  promptTokens?: number;
  completionTokens?: number;
  cachedTokens?: number;
  /** Report at most max_completion_tokens / max_tokens completion tokens (per choice), as OpenAI bills. */
  honourMaxTokens?: boolean;
  /** Appended to every JSON body after the object, as real upstreams do (OpenAI's bodies end in "\n"). */
  bodySuffix?: string;
  /** The embedding of one input (deterministic in tests); default: the same three floats for every input. */
  embedding?: (input: string) => number[];
}

/** What OpenAI sends with every answer: the project's rate limits, and the organization the key belongs to. */
export const RATE_LIMIT_HEADERS = {
  'openai-organization': 'org-mock',
  'x-ratelimit-limit-requests': '10000',
  'x-ratelimit-limit-tokens': '30000000',
  'x-ratelimit-remaining-requests': '9999',
  'x-ratelimit-remaining-tokens': '29999980',
  'x-ratelimit-reset-requests': '6ms',
  'x-ratelimit-reset-tokens': '0s',
};

export class MockOpenAI extends MockServer {
  readonly requests: RecordedRequest[] = [];
  /** Faults applied to the next requests, in order (one per request). */
  readonly faults: Fault[] = [];
  /** The next chat answers' text, one per request, in place of what the mock would say. */
  readonly replies: string[] = [];
  /** A fault applied to every request while set (after the queued ones run out). */
  alwaysFault: Fault | undefined;

  constructor(readonly options: MockOpenAIOptions = {}) {
    super();
  }

  async start(): Promise<string> {
    return this.listen('/v1');
  }


  get reply(): string {
    return this.options.reply ?? 'Hello from the mock!';
  }

  protected async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    return this.respond(request, response, Buffer.concat(chunks).toString('utf8'));
  }

  /** Answers a request whose body was read (subclasses check it first). */
  protected async respond(request: IncomingMessage, response: ServerResponse, text: string): Promise<void> {
    let body: Record<string, unknown> = {};
    try {
      body = text ? (JSON.parse(text) as Record<string, unknown>) : {};
    } catch {
      return this.sendError(response, 400, 'We could not parse the JSON body of your request.', 'invalid_request_error', null);
    }
    const record: RecordedRequest = { method: request.method ?? 'GET', url: request.url ?? '/', headers: request.headers, body, aborted: false };
    this.requests.push(record);
    response.on('close', () => {
      if (!response.writableFinished) record.aborted = true;
    });

    const authorization = request.headers.authorization ?? request.headers['api-key'];
    if (!authorization) return this.sendError(response, 401, 'You didn\'t provide an API key.', 'invalid_request_error', null);

    const fault = this.faults.shift() ?? this.alwaysFault;
    if (fault?.kind === 'error') {
      const headers = fault.headers ?? {};
      response.writeHead(fault.status, { 'content-type': 'application/json', 'x-request-id': 'req_mock', ...headers });
      response.end(JSON.stringify(fault.body ?? { error: { message: `mock failure ${fault.status}`, type: fault.status === 429 ? 'requests' : 'server_error', param: null, code: fault.status === 429 ? 'rate_limit_exceeded' : null } }));
      return;
    }
    if (fault?.kind === 'stall') return;
    if (fault?.kind === 'reset') {
      request.socket.destroy();
      return;
    }
    if (fault?.kind === 'delay') await sleep(fault.ms);

    const path = (request.url ?? '').split('?')[0];
    if (request.method === 'GET' && path.endsWith('/models')) {
      return this.sendJson(response, { object: 'list', data: [{ id: 'gpt-4o-mini', object: 'model', created: 1721172741, owned_by: 'system' }] });
    }
    if (path.endsWith('/chat/completions')) return this.chat(body, response, fault);
    if (path.endsWith('/responses')) return this.responses(body, response, fault);
    if (path.endsWith('/completions')) return this.completion(body, response, fault);
    if (path.endsWith('/embeddings')) return this.embeddings(body, response);
    return this.sendError(response, 404, `Invalid URL (${request.method} ${path})`, 'invalid_request_error', null);
  }

  /**
   * The next queued reply; else, for response_format json_schema, an instance of the schema (as
   * OpenAI's structured outputs answer), for json_object a JSON object; else `reply`.
   */
  private textFor(body: Record<string, unknown>): string {
    const queued = this.replies.shift();
    if (queued !== undefined) return queued;
    const format = body.response_format as { type?: string; json_schema?: { schema?: Record<string, unknown> } } | undefined;
    if (format?.type === 'json_schema' && format.json_schema?.schema) return JSON.stringify(exampleOf(format.json_schema.schema, this.reply));
    // The Responses API's structured output: `text.format` {type: "json_schema", name, schema}.
    const textFormat = (body.text as { format?: { type?: string; schema?: Record<string, unknown> } } | undefined)?.format;
    if (textFormat?.type === 'json_schema' && textFormat.schema) return JSON.stringify(exampleOf(textFormat.schema, this.reply));
    if (format?.type === 'json_object') return JSON.stringify({ answer: this.reply });
    return this.reply;
  }

  private usage(withUsage: boolean, body: Record<string, unknown> = {}) {
    if (!withUsage) return undefined;
    const prompt = this.options.promptTokens ?? 12;
    const limit = body.max_completion_tokens ?? body.max_tokens;
    const completion = Math.min(this.options.completionTokens ?? 5, this.options.honourMaxTokens && typeof limit === 'number' ? limit : Number.POSITIVE_INFINITY);
    return {
      prompt_tokens: prompt,
      completion_tokens: completion,
      total_tokens: prompt + completion,
      prompt_tokens_details: { cached_tokens: this.options.cachedTokens ?? 0, audio_tokens: 0 },
      completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 },
    };
  }

  private async chat(body: Record<string, unknown>, response: ServerResponse, fault: Fault | undefined): Promise<void> {
    const model = String(body.model ?? 'gpt-4o-mini');
    const id = `chatcmpl-mock${this.requests.length}`;
    const created = Math.floor(Date.now() / 1000);
    const tools = body.tools as Array<{ function: { name: string } }> | undefined;
    const toolCall = tools && tools.length > 0 && body.tool_choice !== 'none';
    if (body.stream !== true) {
      const message = toolCall
        ? { role: 'assistant', content: null, tool_calls: [{ id: 'call_mock1', type: 'function', function: { name: tools[0].function.name, arguments: '{"city":"Paris"}' } }], refusal: null }
        : { role: 'assistant', content: this.textFor(body), refusal: null, ...(this.options.reasoning ? { reasoning_content: this.options.reasoning } : {}) };
      return this.sendJson(response, {
        id,
        object: 'chat.completion',
        created,
        model,
        choices: [{ index: 0, message, logprobs: null, finish_reason: toolCall ? 'tool_calls' : 'stop' }],
        usage: this.usage(fault?.kind !== 'no-usage', body),
        system_fingerprint: 'fp_mock',
      });
    }
    const includeUsage = (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true && fault?.kind !== 'no-usage' && fault?.kind !== 'garbled';
    const base = { id, object: 'chat.completion.chunk', created, model, system_fingerprint: 'fp_mock' };
    const events: unknown[] = [{ ...base, choices: [{ index: 0, delta: { role: 'assistant', content: '', refusal: null }, logprobs: null, finish_reason: null }] }];
    if (toolCall) {
      events.push({ ...base, choices: [{ index: 0, delta: { tool_calls: [{ index: 0, id: 'call_mock1', type: 'function', function: { name: tools[0].function.name, arguments: '' } }] }, logprobs: null, finish_reason: null }] });
      for (const piece of ['{"city"', ':"Paris"}']) events.push({ ...base, choices: [{ index: 0, delta: { tool_calls: [{ index: 0, function: { arguments: piece } }] }, logprobs: null, finish_reason: null }] });
    } else {
      for (const word of (this.options.reasoning ?? '').split(/(?<= )/).filter(Boolean)) events.push({ ...base, choices: [{ index: 0, delta: { content: null, reasoning_content: word }, logprobs: null, finish_reason: null }] });
      for (const word of (this.replies.shift() ?? this.reply).split(/(?<= )/)) events.push({ ...base, choices: [{ index: 0, delta: { content: word }, logprobs: null, finish_reason: null }] });
    }
    events.push({ ...base, choices: [{ index: fault?.kind === 'finish-index' ? fault.index : 0, delta: {}, logprobs: null, finish_reason: toolCall ? 'tool_calls' : 'stop' }] });
    if (includeUsage) events.push({ ...base, choices: [], usage: this.usage(true, body) });
    await this.stream(response, events, fault);
  }

  /**
   * `POST /v1/responses` as OpenAI answers it (openai/resources/responses/responses.d.ts): with a
   * `web_search` tool, a `web_search_call` item before the message, whose text carries a
   * `url_citation`; `usage` with `input_tokens_details.cached_tokens`. Streamed as the typed events
   * (`event:` and `data:` lines, `sequence_number` from 0), ending in `response.completed`.
   */
  private async responses(body: Record<string, unknown>, response: ServerResponse, fault: Fault | undefined): Promise<void> {
    const index = this.requests.length;
    const text = this.textFor(body);
    const tools = Array.isArray(body.tools) ? (body.tools as Array<{ type?: string }>) : [];
    const searches = tools.some((tool) => typeof tool.type === 'string' && tool.type.startsWith('web_search'));
    // Function tools offered (and not turned off): the first one is called, as the chat mock does.
    const functionTool = body.tool_choice === 'none' ? undefined : (tools as Array<{ type?: string; name?: string }>).find((tool) => tool.type === 'function');
    const prompt = this.options.promptTokens ?? 12;
    const completion = this.options.completionTokens ?? 5;
    const usage = fault?.kind === 'no-usage' ? null : { input_tokens: prompt, input_tokens_details: { cached_tokens: this.options.cachedTokens ?? 0 }, output_tokens: completion, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: prompt + completion };
    const search = { id: `ws_mock${index}`, type: 'web_search_call', status: 'completed', action: { type: 'search', query: typeof body.input === 'string' ? body.input : 'query' } };
    const annotations = searches ? [{ type: 'url_citation', start_index: 0, end_index: text.length, url: 'https://example.com/source', title: 'Source' }] : [];
    const message = { id: `msg_mock${index}`, type: 'message', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text, annotations, logprobs: [] }] };
    const base = {
      id: `resp_mock${index}`,
      object: 'response',
      created_at: Math.floor(Date.now() / 1000),
      error: null,
      incomplete_details: null,
      instructions: body.instructions ?? null,
      max_output_tokens: body.max_output_tokens ?? null,
      model: String(body.model),
      parallel_tool_calls: true,
      previous_response_id: body.previous_response_id ?? null,
      reasoning: { effort: null, summary: null },
      store: body.store ?? true,
      temperature: 1,
      text: body.text ?? { format: { type: 'text' } },
      tool_choice: body.tool_choice ?? 'auto',
      tools,
      top_p: 1,
      truncation: 'disabled',
      user: null,
      metadata: body.metadata ?? {},
    };
    const call = functionTool ? { id: `fc_mock${index}`, type: 'function_call', status: 'completed', call_id: 'call_mock1', name: String(functionTool.name), arguments: '{"city":"Paris"}' } : undefined;
    const output = call ? [call] : searches ? [search, message] : [message];
    if (body.stream !== true) return this.sendJson(response, { ...base, status: 'completed', output, usage });
    const events: Array<Record<string, unknown>> = [];
    events.push({ type: 'response.created', response: { ...base, status: 'in_progress', output: [], usage: null } });
    events.push({ type: 'response.in_progress', response: { ...base, status: 'in_progress', output: [], usage: null } });
    if (call) {
      events.push({ type: 'response.output_item.added', output_index: 0, item: { ...call, status: 'in_progress', arguments: '' } });
      for (const piece of ['{"city"', ':"Paris"}']) events.push({ type: 'response.function_call_arguments.delta', item_id: call.id, output_index: 0, delta: piece });
      events.push({ type: 'response.function_call_arguments.done', item_id: call.id, output_index: 0, arguments: call.arguments });
      events.push({ type: 'response.output_item.done', output_index: 0, item: call });
      events.push({ type: 'response.completed', response: { ...base, status: 'completed', output, usage } });
      return this.writeEvents(response, events, fault);
    }
    let outputIndex = 0;
    if (searches) {
      events.push({ type: 'response.output_item.added', output_index: 0, item: { ...search, status: 'in_progress' } });
      for (const stage of ['in_progress', 'searching', 'completed']) events.push({ type: `response.web_search_call.${stage}`, output_index: 0, item_id: search.id });
      events.push({ type: 'response.output_item.done', output_index: 0, item: search });
      outputIndex = 1;
    }
    const where = { item_id: message.id, output_index: outputIndex, content_index: 0 };
    events.push({ type: 'response.output_item.added', output_index: outputIndex, item: { ...message, status: 'in_progress', content: [] } });
    events.push({ type: 'response.content_part.added', ...where, part: { type: 'output_text', text: '', annotations: [], logprobs: [] } });
    for (const word of text.split(/(?<= )/)) events.push({ type: 'response.output_text.delta', ...where, delta: word, logprobs: [] });
    if (searches) events.push({ type: 'response.output_text.annotation.added', ...where, annotation_index: 0, annotation: annotations[0] });
    events.push({ type: 'response.output_text.done', ...where, text, logprobs: [] });
    events.push({ type: 'response.content_part.done', ...where, part: message.content[0] });
    events.push({ type: 'response.output_item.done', output_index: outputIndex, item: message });
    events.push({ type: 'response.completed', response: { ...base, status: 'completed', output, usage } });
    await this.writeEvents(response, events, fault);
  }

  /** Responses events as OpenAI writes them: `event:` and `data:` lines, `sequence_number` from 0. */
  private async writeEvents(response: ServerResponse, events: Array<Record<string, unknown>>, fault: Fault | undefined): Promise<void> {
    response.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-request-id': 'req_mock' });
    for (const [sequence, event] of events.entries()) {
      if (fault?.kind === 'reset-mid-stream' && sequence === fault.afterChunks) {
        response.socket?.destroy();
        return;
      }
      if (response.destroyed) return;
      response.write(`event: ${String(event.type)}\ndata: ${JSON.stringify({ ...event, sequence_number: sequence })}\n\n`);
      if (this.options.chunkDelayMs) await sleep(this.options.chunkDelayMs);
    }
    response.end();
  }

  private async completion(body: Record<string, unknown>, response: ServerResponse, fault: Fault | undefined): Promise<void> {
    // The legacy API takes a prompt; chat fields are refused as OpenAI does.
    if ('messages' in body) return this.sendError(response, 400, 'Unrecognized request argument supplied: messages', 'invalid_request_error', null);
    if (body.prompt === undefined) return this.sendError(response, 400, "Missing required parameter: 'prompt'.", 'invalid_request_error', 'missing_required_parameter');
    const model = String(body.model ?? 'gpt-3.5-turbo-instruct');
    const id = `cmpl-mock${this.requests.length}`;
    const created = Math.floor(Date.now() / 1000);
    if (body.stream !== true) {
      return this.sendJson(response, { id, object: 'text_completion', created, model, choices: [{ text: this.reply, index: 0, logprobs: null, finish_reason: 'stop' }], usage: this.usage(fault?.kind !== 'no-usage') });
    }
    const includeUsage = (body.stream_options as { include_usage?: boolean } | undefined)?.include_usage === true;
    const base = { id, object: 'text_completion', created, model };
    const events: unknown[] = this.reply.split(/(?<= )/).map((word) => ({ ...base, choices: [{ text: word, index: 0, logprobs: null, finish_reason: null }] }));
    events.push({ ...base, choices: [{ text: '', index: 0, logprobs: null, finish_reason: 'stop' }] });
    if (includeUsage) events.push({ ...base, choices: [], usage: this.usage(true) });
    await this.stream(response, events, fault);
  }

  private embeddings(body: Record<string, unknown>, response: ServerResponse): void {
    const inputs = Array.isArray(body.input) ? body.input : [body.input];
    const tokens = inputs.reduce<number>((sum, input) => sum + String(input).split(/\s+/).length, 0);
    this.sendJson(response, {
      object: 'list',
      data: inputs.map((input, index) => ({ object: 'embedding', index, embedding: this.options.embedding ? this.options.embedding(String(input)) : [0.0023064255, -0.009327292, 0.015797347] })),
      model: String(body.model),
      usage: { prompt_tokens: tokens, total_tokens: tokens },
    });
  }

  private async stream(response: ServerResponse, events: unknown[], fault: Fault | undefined): Promise<void> {
    response.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'x-request-id': 'req_mock', ...RATE_LIMIT_HEADERS });
    for (const [index, event] of events.entries()) {
      if (fault?.kind === 'reset-mid-stream' && index === fault.afterChunks) {
        response.socket?.destroy();
        return;
      }
      if (fault?.kind === 'stall-mid-stream' && index === fault.afterChunks) return;
      if (response.destroyed) return;
      response.write(`${fault?.kind === 'garbled' ? fault.event : ''}data: ${JSON.stringify(event)}\n\n`);
      if (this.options.chunkDelayMs) await sleep(this.options.chunkDelayMs);
    }
    response.end('data: [DONE]\n\n');
  }

  private sendJson(response: ServerResponse, value: unknown): void {
    const text = JSON.stringify(value) + (this.options.bodySuffix ?? '');
    response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'x-request-id': 'req_mock', 'openai-processing-ms': '12', ...RATE_LIMIT_HEADERS });
    response.end(text);
  }

  protected sendError(response: ServerResponse, status: number, message: string, type: string, code: string | null): void {
    response.writeHead(status, { 'content-type': 'application/json' });
    response.end(JSON.stringify({ error: { message, type, param: null, code } }));
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
