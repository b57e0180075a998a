/**
 * A local upstream that speaks Ollama's native API as docs/api.md describes it: POST /api/chat and
 * /api/generate (NDJSON streams as `application/x-ndjson` unless `"stream": false`, since Ollama
 * streams by default; a final `done: true` line with done_reason and the duration and token
 * counts), POST /api/embed, GET /api/tags, GET /api/ps (loaded models, with size_vram and
 * expires_at), POST /api/pull (NDJSON progress: "pulling manifest", one "pulling <layer>" line per
 * step with digest/total/completed, "verifying sha256 digest", "writing manifest", "success"; or an
 * {"error"} line for a model the registry does not have), DELETE /api/delete (200, or 404 with
 * {"error"}), `{"error": "..."}` bodies (404 for a model that is not pulled, plain-text "404 page
 * not found" for an unknown path). A request for a model loads it (it shows in /api/ps);
 * `keep_alive: 0` unloads it. It answers with tool calls when
 * given tools, JSON when given a `format`, thinking when asked to think, stops at
 * `options.num_predict` with done_reason "length". Tests script faults per request and read the
 * recorded requests and the count of requests in flight.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { MockServer } from './mock-server.js';

export interface RecordedOllamaRequest {
  method: string;
  path: string;
  headers: IncomingMessage['headers'];
  body: Record<string, unknown>;
  /** True when the client (the gateway) closed the connection before the response ended. */
  aborted: boolean;
}

export type OllamaFault =
  | { kind: 'error'; status: number; message?: string }
  | { kind: 'stall' } // never answers
  | { kind: 'reset' } // destroys the socket before answering
  | { kind: 'reset-mid-stream'; afterLines: number }
  | { kind: 'stall-mid-stream'; afterLines: number }
  | { kind: 'error-mid-stream'; afterLines: number; message?: string } // an {"error"} line, status stays 200
  | { kind: 'end-without-done'; afterLines: number } // a clean end before the done line
  | { kind: 'delay'; ms: number }
  | { kind: 'no-prompt-count' }; // omits prompt_eval_count, as servers did for a fully cached prompt

export interface MockOllamaOptions {
  /** Pulled models; a name without a tag means ":latest". */
  models?: string[];
  /** Text the model answers with; default "Hello from Ollama!". */
  reply?: string;
  /** Reasoning trace sent as `thinking` when the request sets `think`. */
  thinking?: string;
  /** Arguments of the tool call made when tools are given. */
  toolArguments?: Record<string, unknown>;
  /** Newer servers give tool calls ids (`call_…`); off by default, as in docs/api.md. */
  toolCallIds?: boolean;
  promptEvalCount?: number;
  evalCount?: number;
  /** Delay between stream lines, ms. */
  lineDelayMs?: number;
  /** Delay before every answer, ms (keeps requests in flight, for load-balancing tests). */
  responseDelayMs?: number;
  /** Models the registry has for /api/pull (default: any name). */
  pullable?: string[];
  /** Progress lines per layer of a pull (default 4) and the delay between lines (default 20 ms). */
  pullSteps?: number;
  pullLineDelayMs?: number;
}

type Json = Record<string, unknown>;

const DEFAULT_MODELS = ['llama3.1:latest', 'llava:latest', 'qwen3:latest', 'all-minilm:latest'];

function withTag(name: string): string {
  return name.includes(':') ? name : `${name}:latest`;
}

export class MockOllama extends MockServer {
  readonly requests: RecordedOllamaRequest[] = [];
  /** Faults applied to the next requests, in order (one per request). */
  readonly faults: OllamaFault[] = [];
  /** Requests being answered right now, and the most there ever were at once. */
  inFlight = 0;
  maxInFlight = 0;
  /** Pulled models (tests may change it); loaded models (in memory, /api/ps). */
  installed: string[];
  readonly loaded = new Set<string>();

  /** The next answers' text, one per chat or generate request, in place of what the mock would say. */
  readonly replies: string[] = [];

  constructor(readonly options: MockOllamaOptions = {}) {
    super();
    this.installed = (options.models ?? DEFAULT_MODELS).map(withTag);
  }

  async start(): Promise<string> {
    return this.listen('');
  }


  get reply(): string {
    return this.options.reply ?? 'Hello from Ollama!';
  }

  /** Requests to one endpoint, e.g. `requestsTo('/api/chat')`. */
  requestsTo(path: string): RecordedOllamaRequest[] {
    return this.requests.filter((request) => request.path === path);
  }

  private get models(): string[] {
    return this.installed;
  }

  protected async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const path = (request.url ?? '/').split('?')[0];
    const record: RecordedOllamaRequest = { method: request.method ?? 'GET', path, headers: request.headers, body: {}, aborted: false };
    this.inFlight++;
    this.maxInFlight = Math.max(this.maxInFlight, this.inFlight);
    response.on('close', () => {
      this.inFlight--;
      if (!response.writableFinished) record.aborted = true;
    });
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    this.requests.push(record);
    try {
      const parsed: unknown = text ? JSON.parse(text) : {};
      if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) return this.sendError(response, 400, 'invalid request body');
      record.body = parsed as Json;
    } catch {
      return this.sendError(response, 400, 'invalid character in request body');
    }

    const fault = this.faults.shift();
    if (this.options.responseDelayMs) await sleep(this.options.responseDelayMs);
    if (fault?.kind === 'delay') await sleep(fault.ms);
    if (fault?.kind === 'error') return this.sendError(response, fault.status, fault.message ?? `mock failure ${fault.status}`);
    if (fault?.kind === 'stall') return;
    if (fault?.kind === 'reset') {
      request.socket.destroy();
      return;
    }

    if (request.method === 'GET' && path === '/api/tags') return this.sendJson(response, this.tags());
    if (request.method === 'GET' && path === '/api/ps') return this.sendJson(response, this.ps());
    if (request.method === 'POST' && path === '/api/pull') return this.pull(record.body, response);
    if (request.method === 'DELETE' && path === '/api/delete') return this.remove(record.body, response);
    if (request.method === 'POST' && path === '/api/chat') return this.generation(record.body, response, fault, 'chat');
    if (request.method === 'POST' && path === '/api/generate') return this.generation(record.body, response, fault, 'generate');
    if (request.method === 'POST' && path === '/api/embed') return this.embed(record.body, response);
    // Ollama's router (gin) answers unknown paths in plain text.
    response.writeHead(404, { 'content-type': 'text/plain' });
    response.end('404 page not found');
  }

  private tags(): Json {
    return {
      models: this.models.map((name) => ({
        name,
        model: name,
        modified_at: '2024-07-23T14:56:49.277302595-07:00',
        size: 4661224676,
        digest: 'a80c4f17acd55265feec403c7aef86be0c25983ab279d83f3bcd3abbcb5b8b72',
        details: this.details(),
      })),
    };
  }

  private details() {
    return { parent_model: '', format: 'gguf', family: 'llama', families: ['llama'], parameter_size: '8.0B', quantization_level: 'Q4_0' };
  }

  private ps(): Json {
    const expires = new Date(Date.now() + 5 * 60_000).toISOString();
    return {
      models: [...this.loaded].map((name) => ({
        name,
        model: name,
        size: 5137025024,
        digest: 'a80c4f17acd55265feec403c7aef86be0c25983ab279d83f3bcd3abbcb5b8b72',
        details: this.details(),
        expires_at: expires,
        size_vram: 5137025024,
        context_length: 4096,
      })),
    };
  }

  private async pull(body: Json, response: ServerResponse): Promise<void> {
    const model = typeof body.model === 'string' ? body.model : typeof body.name === 'string' ? body.name : '';
    if (model === '') return this.sendError(response, 400, 'model is required');
    const lines: Json[] = [{ status: 'pulling manifest' }];
    const pullable = this.options.pullable === undefined || this.options.pullable.map(withTag).includes(withTag(model));
    if (!pullable) {
      lines.push({ error: 'pull model manifest: file does not exist' });
    } else {
      const layers = [
        { digest: 'sha256:6a0746a1ec1aef3e7ec53868f220ff6e389f6f8ef87a01d77c96807de94ca2aa', total: 4661211424 },
        { digest: 'sha256:4fa551d4f938f68b8c1e6afa9d28befb70e3f33f75d0753248d530364aeea40f', total: 12403 },
      ];
      const steps = this.options.pullSteps ?? 4;
      for (const layer of layers) {
        for (let step = 0; step <= steps; step++) {
          lines.push({ status: `pulling ${layer.digest.slice(7, 19)}`, digest: layer.digest, total: layer.total, completed: Math.round((layer.total * step) / steps) });
        }
      }
      lines.push({ status: 'verifying sha256 digest' }, { status: 'writing manifest' }, { status: 'success' });
    }
    response.writeHead(200, { 'content-type': 'application/x-ndjson' });
    for (const line of lines) {
      if (response.destroyed) return;
      if (line.status === 'success' && !this.installed.includes(withTag(model))) this.installed.push(withTag(model));
      response.write(`${JSON.stringify(line)}\n`);
      await sleep(this.options.pullLineDelayMs ?? 20);
    }
    response.end();
  }

  private remove(body: Json, response: ServerResponse): void {
    const model = typeof body.model === 'string' ? body.model : typeof body.name === 'string' ? body.name : '';
    const index = this.installed.indexOf(withTag(model));
    if (index < 0) return this.sendError(response, 404, `model '${model}' not found`);
    this.installed.splice(index, 1);
    this.loaded.delete(withTag(model));
    response.writeHead(200, { 'content-length': 0 });
    response.end();
  }

  /** The model named in a body, or undefined after answering 400/404 as Ollama does. */
  private requireModel(body: Json, response: ServerResponse): string | undefined {
    if (typeof body.model !== 'string' || body.model === '') {
      this.sendError(response, 400, 'model is required');
      return undefined;
    }
    if (!this.models.includes(withTag(body.model))) {
      this.sendError(response, 404, `model "${body.model}" not found, try pulling it first`);
      return undefined;
    }
    if (body.keep_alive === 0 || body.keep_alive === '0') this.loaded.delete(withTag(body.model));
    else this.loaded.add(withTag(body.model));
    return body.model;
  }

  private metrics(fault: OllamaFault | undefined): Json {
    const metrics: Json = { total_duration: 4883583458, load_duration: 1334875 };
    if (fault?.kind !== 'no-prompt-count') {
      metrics.prompt_eval_count = this.options.promptEvalCount ?? 26;
      metrics.prompt_eval_duration = 342546000;
    }
    metrics.eval_count = this.options.evalCount ?? 12;
    metrics.eval_duration = 4535599000;
    return metrics;
  }

  private async generation(body: Json, response: ServerResponse, fault: OllamaFault | undefined, endpoint: 'chat' | 'generate'): Promise<void> {
    const model = this.requireModel(body, response);
    if (model === undefined) return;
    const stream = body.stream !== false; // Ollama streams unless told not to
    const base = () => ({ model, created_at: new Date().toISOString() });
    const messages = Array.isArray(body.messages) ? (body.messages as Json[]) : [];
    const empty = endpoint === 'chat' ? messages.length === 0 : typeof body.prompt !== 'string' || body.prompt === '';
    if (empty) {
      // An empty request only loads (or, with keep_alive 0, unloads) the model.
      const reason = body.keep_alive === 0 || body.keep_alive === '0' ? 'unload' : 'load';
      const done = endpoint === 'chat' ? { ...base(), message: { role: 'assistant', content: '' }, done_reason: reason, done: true } : { ...base(), response: '', done: true, done_reason: reason };
      return stream ? this.streamLines(response, [done], undefined) : this.sendJson(response, done);
    }

    const plan = this.plan(body, messages, endpoint);
    const piece = (content: string, thinking?: string): Json =>
      endpoint === 'chat' ? { ...base(), message: { role: 'assistant', content, ...(thinking ? { thinking } : {}) }, done: false } : { ...base(), response: content, ...(thinking ? { thinking } : {}), done: false };
    const finalFields = { done_reason: plan.doneReason, done: true, ...this.metrics(fault), ...(endpoint === 'generate' && body.raw !== true ? { context: [1, 2, 3] } : {}) };

    if (!stream) {
      const content = plan.pieces.join('');
      const thinking = plan.thinking.join('');
      const whole: Json =
        endpoint === 'chat'
          ? { ...base(), message: { role: 'assistant', content, ...(thinking ? { thinking } : {}), ...(plan.toolCalls ? { tool_calls: plan.toolCalls } : {}) }, ...finalFields }
          : { ...base(), response: content, ...(thinking ? { thinking } : {}), ...finalFields };
      return this.sendJson(response, whole);
    }
    const lines: Json[] = plan.thinking.map((thought) => piece('', thought));
    for (const content of plan.pieces) lines.push(piece(content));
    if (plan.toolCalls) lines.push({ ...base(), message: { role: 'assistant', content: '', tool_calls: plan.toolCalls }, done: false });
    lines.push(endpoint === 'chat' ? { ...base(), message: { role: 'assistant', content: '' }, ...finalFields } : { ...base(), response: '', ...finalFields });
    await this.streamLines(response, lines, fault);
  }

  /** What the model "says" to this request. */
  private plan(body: Json, messages: Json[], endpoint: 'chat' | 'generate') {
    const options = (body.options ?? {}) as Json;
    const tools = Array.isArray(body.tools) ? (body.tools as Array<{ function?: { name?: string } }>) : [];
    const last = messages.at(-1);
    const imageCount =
      endpoint === 'chat' ? messages.reduce((sum, message) => sum + (Array.isArray(message.images) ? message.images.length : 0), 0) : Array.isArray(body.images) ? body.images.length : 0;
    let toolCalls: Json[] | undefined;
    let text = this.reply;
    const queued = this.replies.shift();
    if (queued !== undefined && tools.length === 0) {
      text = queued;
    } else if (tools.length > 0 && last?.role !== 'tool') {
      const call: Json = { function: { name: tools[0].function?.name ?? 'tool', arguments: this.options.toolArguments ?? { city: 'Paris' } } };
      if (this.options.toolCallIds) call.id = `call_${Math.random().toString(36).slice(2, 10)}`;
      toolCalls = [call];
      text = '';
    } else if (last?.role === 'tool') {
      text = `The tool said: ${String(last.content)}`;
    } else if (body.format === 'json') {
      text = JSON.stringify({ answer: this.reply });
    } else if (typeof body.format === 'object' && body.format !== null) {
      text = JSON.stringify(exampleOf(body.format as Json));
    } else if (imageCount > 0) {
      text = `I see ${imageCount} image${imageCount === 1 ? '' : 's'}.`;
    }
    let pieces = text === '' ? [] : text.split(/(?<= )/);
    let doneReason = 'stop';
    const limit = options.num_predict;
    if (typeof limit === 'number' && limit > 0 && pieces.length > limit) {
      pieces = pieces.slice(0, limit);
      doneReason = 'length';
    }
    const thinks = body.think !== undefined && body.think !== false;
    const thinking = thinks ? (this.options.thinking ?? 'Let me think. ').split(/(?<= )/) : [];
    return { pieces, thinking, toolCalls, doneReason };
  }

  private embed(body: Json, response: ServerResponse): void {
    const model = this.requireModel(body, response);
    if (model === undefined) return;
    const inputs = Array.isArray(body.input) ? body.input.map(String) : [String(body.input ?? '')];
    const size = typeof body.dimensions === 'number' ? body.dimensions : 4;
    const embeddings = inputs.map((input) => Array.from({ length: size }, (_, index) => Number((((input.length + 1) * (index + 3)) % 97 / 97 - 0.5).toFixed(6))));
    const tokens = inputs.reduce((sum, input) => sum + input.split(/\s+/).filter(Boolean).length, 0);
    this.sendJson(response, { model, embeddings, total_duration: 14143917, load_duration: 1019500, ...(tokens > 0 ? { prompt_eval_count: tokens } : {}) });
  }

  private async streamLines(response: ServerResponse, lines: Json[], fault: OllamaFault | undefined): Promise<void> {
    response.writeHead(200, { 'content-type': 'application/x-ndjson' });
    for (const [index, line] of lines.entries()) {
      if (response.destroyed) return;
      if (fault && 'afterLines' in fault && index === fault.afterLines) {
        if (fault.kind === 'reset-mid-stream') {
          response.socket?.destroy();
          return;
        }
        if (fault.kind === 'stall-mid-stream') return;
        if (fault.kind === 'error-mid-stream') {
          response.end(`${JSON.stringify({ error: fault.message ?? 'an error was encountered while running the model' })}\n`);
          return;
        }
        if (fault.kind === 'end-without-done') {
          response.end();
          return;
        }
      }
      response.write(`${JSON.stringify(line)}\n`);
      if (this.options.lineDelayMs) await sleep(this.options.lineDelayMs);
    }
    response.end();
  }

  private sendJson(response: ServerResponse, value: unknown): void {
    const text = JSON.stringify(value);
    response.writeHead(200, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
    response.end(text);
  }

  private sendError(response: ServerResponse, status: number, message: string): void {
    const text = JSON.stringify({ error: message });
    response.writeHead(status, { 'content-type': 'application/json; charset=utf-8', 'content-length': Buffer.byteLength(text) });
    response.end(text);
  }
}

/** A value shaped like a JSON schema, as a constrained model would produce it. */
/** A value of a JSON Schema (types in JSON Schema's or Gemini's upper-case spelling), as a model constrained to it answers. */
export function exampleOf(schema: Json, text = 'text'): unknown {
  switch (typeof schema.type === 'string' ? schema.type.toLowerCase() : schema.type) {
    case 'object': {
      const properties = (schema.properties ?? {}) as Record<string, Json>;
      return Object.fromEntries(Object.entries(properties).map(([key, property]) => [key, exampleOf(property, text)]));
    }
    case 'array':
      return [exampleOf((schema.items ?? {}) as Json, text)];
    case 'integer':
      return 22;
    case 'number':
      // Within the schema's bounds when it has them (a constrained model never leaves them).
      return typeof schema.maximum === 'number' ? ((typeof schema.minimum === 'number' ? schema.minimum : 0) + schema.maximum) / 2 : 1.5;
    case 'boolean':
      return true;
    case 'string':
      return Array.isArray(schema.enum) ? schema.enum[0] : text;
    default:
      return null;
  }
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
