/**
 * A local upstream that speaks Anthropic's Messages API (POST /v1/messages and
 * /v1/messages/count_tokens, anthropic-version
 * 2023-06-01) as the API reference describes it: an API key (`x-api-key`, or a bearer token as
 * @anthropic-ai/sdk 1.x sends it) and `anthropic-version` required (401 authentication_error /
 * 400 invalid_request_error otherwise), request bodies
 * validated the way the real API refuses them, Message JSON with `usage` including cache tokens,
 * and SSE streams framed `event: <type>\ndata: <json>\n\n` in the documented order (message_start,
 * per block content_block_start / ping / content_block_delta… / content_block_stop, message_delta,
 * message_stop). It answers with a tool_use block when tools are offered (unless tool_choice is
 * none or the conversation already carries the tool's result) and with a thinking block when
 * thinking is enabled. Tests script faults per request: error statuses with Anthropic's error
 * body, mid-stream `event: error`, resets, stalls, delays.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { MockServer } from './mock-server.js';

export interface RecordedAnthropicRequest {
  method: string;
  url: string;
  headers: IncomingMessage['headers'];
  body: Record<string, unknown>;
  /** True when the client (the gateway) closed the connection before the response ended. */
  aborted: boolean;
}

export type AnthropicFault =
  /** An HTTP error with Anthropic's envelope; the type defaults to the one the API uses for the status. */
  | { kind: 'error'; status: number; type?: string; message?: string; headers?: Record<string, string>; details?: Record<string, unknown> }
  /**
   * `event: error` after this many stream events (0: before message_start), then the stream ends;
   * `pauseMs` holds the error back so that the events before it reach the client on their own.
   */
  | { kind: 'stream-error'; afterEvents: number; type?: string; message?: string; pauseMs?: number }
  | { kind: 'reset' }
  | { kind: 'reset-mid-stream'; afterEvents: number }
  | { kind: 'stall' }
  | { kind: 'delay'; ms: number };

export interface MockAnthropicOptions {
  /** Text the assistant answers with; default "Hello from the mock Claude!". */
  reply?: string;
  /** Thinking text when the request enables thinking. */
  thinking?: string;
  /** Input of the tool_use block; by default a sample built from the tool's input_schema. */
  toolInput?: Record<string, unknown>;
  inputTokens?: number;
  outputTokens?: number;
  cacheReadTokens?: number;
  cacheCreationTokens?: number;
  /** `usage.inference_geo` of every answer (where the model ran: "us" for US-only inference, billed at 1.1×); absent by default. */
  inferenceGeo?: string;
  /** When set, any other x-api-key is refused with 401. */
  apiKey?: string;
  chunkDelayMs?: number;
  /**
   * Writes JSON answers indented and stream data with a space after each JSON colon: still valid,
   * but bytes a relay that parses and re-serializes would not reproduce.
   */
  unusualSpacing?: boolean;
}

type JsonObject = Record<string, unknown>;

interface Block {
  type: 'text' | 'tool_use' | 'thinking';
  text?: string;
  id?: string;
  name?: string;
  input?: JsonObject;
  thinking?: string;
  signature?: string;
}

/** The error type the API uses for each status (API reference, "HTTP errors"). */
const ERROR_TYPES: Record<number, string> = {
  400: 'invalid_request_error',
  401: 'authentication_error',
  403: 'permission_error',
  404: 'not_found_error',
  413: 'request_too_large',
  429: 'rate_limit_error',
  500: 'api_error',
  529: 'overloaded_error',
};

const IMAGE_MEDIA_TYPES = new Set(['image/jpeg', 'image/png', 'image/gif', 'image/webp']);

class InvalidRequest extends Error {}

function isObject(value: unknown): value is JsonObject {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** What the API sends with every answer ("Rate limits" in Anthropic's docs): the organization's limits. */
export const ANTHROPIC_RATE_LIMIT_HEADERS = {
  'anthropic-organization-id': 'org-mock',
  'anthropic-ratelimit-requests-limit': '4000',
  'anthropic-ratelimit-requests-remaining': '3999',
  'anthropic-ratelimit-requests-reset': '2026-12-05T00:00:01Z',
  'anthropic-ratelimit-input-tokens-limit': '400000',
  'anthropic-ratelimit-input-tokens-remaining': '399000',
  'anthropic-ratelimit-input-tokens-reset': '2026-12-05T00:00:01Z',
  'anthropic-ratelimit-output-tokens-limit': '80000',
  'anthropic-ratelimit-output-tokens-remaining': '79900',
  'anthropic-ratelimit-output-tokens-reset': '2026-12-05T00:00:01Z',
};

/** The top-level fields of a Messages API request (API reference, "Create a Message"). */
const MESSAGES_FIELDS = new Set(['model', 'messages', 'max_tokens', 'system', 'metadata', 'stop_sequences', 'stream', 'temperature', 'top_p', 'top_k', 'tools', 'tool_choice', 'thinking', 'service_tier', 'container', 'mcp_servers', 'output_config', 'context_management']);

export class MockAnthropic extends MockServer {
  readonly requests: RecordedAnthropicRequest[] = [];
  /** Faults applied to the next requests, in order (one per request). */
  readonly faults: AnthropicFault[] = [];
  private counter = 0;

  constructor(readonly options: MockAnthropicOptions = {}) {
    super();
  }

  /** Starts listening; the URL has no /v1 (the API's base URL is https://api.anthropic.com). */
  async start(): Promise<string> {
    return this.listen('');
  }


  get reply(): string {
    return this.options.reply ?? 'Hello from the mock Claude!';
  }

  protected async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const requestId = `req_mock${++this.counter}`;
    let body: JsonObject = {};
    let parseFailed = false;
    try {
      const parsed: unknown = text ? JSON.parse(text) : {};
      if (isObject(parsed)) body = parsed;
      else parseFailed = true;
    } catch {
      parseFailed = true;
    }
    const record: RecordedAnthropicRequest = { method: request.method ?? 'GET', url: request.url ?? '/', headers: request.headers, body, aborted: false };
    this.requests.push(record);
    response.on('close', () => {
      if (!response.writableFinished) record.aborted = true;
    });

    const path = (request.url ?? '').split('?')[0];
    if (request.method !== 'POST' || (path !== '/v1/messages' && path !== '/v1/messages/count_tokens')) return this.sendError(response, requestId, 404, 'not_found_error', 'Not Found');
    // The API reference documents x-api-key; @anthropic-ai/sdk 1.x sends the key as a bearer token.
    const bearer = /^Bearer (.+)$/i.exec(request.headers.authorization ?? '')?.[1];
    const apiKey = request.headers['x-api-key'] ?? bearer;
    if (typeof apiKey !== 'string' || apiKey === '') return this.sendError(response, requestId, 401, 'authentication_error', 'x-api-key header is required');
    if (this.options.apiKey !== undefined && apiKey !== this.options.apiKey) return this.sendError(response, requestId, 401, 'authentication_error', 'invalid x-api-key');
    if (!request.headers['anthropic-version']) return this.sendError(response, requestId, 400, 'invalid_request_error', 'anthropic-version: header is required');
    if (parseFailed) return this.sendError(response, requestId, 400, 'invalid_request_error', 'There was an error parsing the body of your request as JSON');
    // The API refuses fields it does not define, as the real one does ("Extra inputs are not permitted").
    const extra = Object.keys(body).find((field) => !MESSAGES_FIELDS.has(field));
    if (extra !== undefined) return this.sendError(response, requestId, 400, 'invalid_request_error', `${extra}: Extra inputs are not permitted`);

    const fault = this.faults.shift();
    if (fault?.kind === 'error') {
      const type = fault.type ?? ERROR_TYPES[fault.status] ?? (fault.status >= 500 ? 'api_error' : 'invalid_request_error');
      return this.sendError(response, requestId, fault.status, type, fault.message ?? `mock ${type}`, fault.headers, fault.details);
    }
    if (fault?.kind === 'stall') return;
    if (fault?.kind === 'reset') {
      request.socket.destroy();
      return;
    }
    if (fault?.kind === 'delay') await sleep(fault.ms);

    if (path === '/v1/messages/count_tokens') {
      // Counting takes what a Messages request takes, without max_tokens (and without stream).
      if (typeof body.model !== 'string' || !Array.isArray(body.messages)) return this.sendError(response, requestId, 400, 'invalid_request_error', 'model: Field required; messages: Field required');
      if (body.max_tokens !== undefined || body.stream !== undefined) return this.sendError(response, requestId, 400, 'invalid_request_error', `${body.max_tokens !== undefined ? 'max_tokens' : 'stream'}: Extra inputs are not permitted`);
      this.sendJson(response, requestId, { input_tokens: this.options.inputTokens ?? 25 });
      return;
    }
    try {
      validate(body);
    } catch (error) {
      if (error instanceof InvalidRequest) return this.sendError(response, requestId, 400, 'invalid_request_error', error.message);
      throw error;
    }

    const message = this.answer(body);
    if (body.stream === true) return this.stream(response, requestId, message, fault);
    this.sendJson(response, requestId, message);
  }

  private usage(outputTokens: number) {
    return {
      input_tokens: this.options.inputTokens ?? 25,
      cache_creation_input_tokens: this.options.cacheCreationTokens ?? 0,
      cache_read_input_tokens: this.options.cacheReadTokens ?? 0,
      output_tokens: outputTokens,
      service_tier: 'standard',
      ...(this.options.inferenceGeo !== undefined ? { inference_geo: this.options.inferenceGeo } : {}),
    };
  }

  /** The Message this mock answers the request with. */
  private answer(body: JsonObject) {
    const messages = body.messages as Array<{ role: string; content: unknown }>;
    const last = messages[messages.length - 1];
    const lastBlocks = Array.isArray(last.content) ? (last.content as JsonObject[]) : [];
    const toolResult = last.role === 'user' ? lastBlocks.find((block) => block.type === 'tool_result') : undefined;
    const tools = Array.isArray(body.tools) ? (body.tools as JsonObject[]) : [];
    const choice = isObject(body.tool_choice) ? body.tool_choice : { type: 'auto' };
    const blocks: Block[] = [];

    const thinking = isObject(body.thinking) && body.thinking.type === 'enabled';
    if (thinking) blocks.push({ type: 'thinking', thinking: this.options.thinking ?? 'The user wants an answer; let me think it through.', signature: `EqQBCgIYAhIM${this.counter}mockSignature` });

    let stopReason = 'end_turn';
    let stopSequence: string | null = null;
    if (tools.length > 0 && choice.type !== 'none' && !toolResult) {
      const tool = choice.type === 'tool' ? (tools.find((candidate) => candidate.name === choice.name) ?? tools[0]) : tools[0];
      // Claude narrates before a tool call only when it chose the tool itself.
      if (choice.type === 'auto') blocks.push({ type: 'text', text: 'Let me look that up.' });
      const input = this.options.toolInput ?? (sample(tool.input_schema) as JsonObject);
      blocks.push({ type: 'tool_use', id: `toolu_mock${String(this.counter).padStart(4, '0')}`, name: String(tool.name), input });
      stopReason = 'tool_use';
    } else {
      let text = toolResult ? `The tool answered: ${toolResultText(toolResult)}` : this.reply;
      for (const sequence of Array.isArray(body.stop_sequences) ? (body.stop_sequences as string[]) : []) {
        const at = text.indexOf(sequence);
        if (at >= 0) {
          text = text.slice(0, at);
          stopReason = 'stop_sequence';
          stopSequence = sequence;
        }
      }
      blocks.push({ type: 'text', text });
    }
    return {
      id: `msg_mock${String(this.counter).padStart(6, '0')}`,
      type: 'message' as const,
      role: 'assistant' as const,
      model: String(body.model),
      content: blocks.map(blockForResponse),
      stop_reason: stopReason,
      stop_sequence: stopSequence,
      usage: this.usage(this.options.outputTokens ?? 15),
    };
  }

  private async stream(response: ServerResponse, requestId: string, message: ReturnType<MockAnthropic['answer']>, fault: AnthropicFault | undefined): Promise<void> {
    const events: Array<[string, unknown]> = [];
    events.push(['message_start', { type: 'message_start', message: { ...message, content: [], stop_reason: null, stop_sequence: null, usage: this.usage(1) } }]);
    message.content.forEach((block, index) => {
      const start =
        block.type === 'text'
          ? { type: 'text', text: '' }
          : block.type === 'tool_use'
            ? { type: 'tool_use', id: block.id, name: block.name, input: {} }
            : { type: 'thinking', thinking: '', signature: '' };
      events.push(['content_block_start', { type: 'content_block_start', index, content_block: start }]);
      if (index === 0) events.push(['ping', { type: 'ping' }]);
      for (const delta of deltasOf(block)) events.push(['content_block_delta', { type: 'content_block_delta', index, delta }]);
      events.push(['content_block_stop', { type: 'content_block_stop', index }]);
    });
    // message_delta's usage is cumulative; the current API repeats the input counts there.
    const { service_tier: _tier, ...finalUsage } = message.usage;
    events.push(['message_delta', { type: 'message_delta', delta: { stop_reason: message.stop_reason, stop_sequence: message.stop_sequence }, usage: finalUsage }]);
    events.push(['message_stop', { type: 'message_stop' }]);

    response.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', 'request-id': requestId, ...ANTHROPIC_RATE_LIMIT_HEADERS });
    for (const [index, [name, data]] of events.entries()) {
      if (fault?.kind === 'stream-error' && index === fault.afterEvents) {
        const type = fault.type ?? 'overloaded_error';
        if (fault.pauseMs) await sleep(fault.pauseMs);
        response.end(frame('error', { type: 'error', error: { type, message: fault.message ?? 'Overloaded' } }));
        return;
      }
      if (fault?.kind === 'reset-mid-stream' && index === fault.afterEvents) {
        response.socket?.destroy();
        return;
      }
      if (response.destroyed) return;
      response.write(frame(name, data, this.options.unusualSpacing));
      if (this.options.chunkDelayMs) await sleep(this.options.chunkDelayMs);
    }
    response.end();
  }

  private sendJson(response: ServerResponse, requestId: string, value: unknown): void {
    const text = this.options.unusualSpacing ? JSON.stringify(value, null, 3) : JSON.stringify(value);
    response.writeHead(200, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text), 'request-id': requestId, ...ANTHROPIC_RATE_LIMIT_HEADERS });
    response.end(text);
  }

  private sendError(
    response: ServerResponse,
    requestId: string,
    status: number,
    type: string,
    message: string,
    headers: Record<string, string> = {},
    details?: Record<string, unknown>,
  ): void {
    const text = JSON.stringify({ type: 'error', error: { type, message, ...(details ? { details } : {}) }, request_id: requestId });
    response.writeHead(status, { 'content-type': 'application/json', 'request-id': requestId, ...headers });
    response.end(text);
  }
}

function frame(event: string, data: unknown, unusualSpacing = false): string {
  const json = JSON.stringify(data);
  return `event: ${event}\ndata: ${unusualSpacing ? spacedJson(json) : json}\n\n`;
}

/** One-line JSON with a space after every colon outside strings. */
function spacedJson(json: string): string {
  let out = '';
  let inString = false;
  let escaped = false;
  for (const character of json) {
    out += character;
    if (inString) {
      if (escaped) escaped = false;
      else if (character === '\\') escaped = true;
      else if (character === '"') inString = false;
    } else if (character === '"') inString = true;
    else if (character === ':') out += ' ';
  }
  return out;
}

function blockForResponse(block: Block): JsonObject {
  switch (block.type) {
    case 'text':
      return { type: 'text', text: block.text };
    case 'tool_use':
      return { type: 'tool_use', id: block.id, name: block.name, input: block.input };
    case 'thinking':
      return { type: 'thinking', thinking: block.thinking, signature: block.signature };
  }
}

/** The deltas that stream a block: words of text, JSON in pieces (after the usual empty one), thinking then its signature. */
function deltasOf(block: JsonObject): JsonObject[] {
  if (block.type === 'text') return String(block.text).split(/(?<= )/).filter(Boolean).map((text) => ({ type: 'text_delta', text }));
  if (block.type === 'thinking') {
    return [...String(block.thinking).split(/(?<=[,;.] )/).map((thinking) => ({ type: 'thinking_delta', thinking })), { type: 'signature_delta', signature: block.signature }];
  }
  const json = JSON.stringify(block.input);
  const middle = Math.ceil(json.length / 2);
  return [json.slice(0, middle), json.slice(middle)].reduce<JsonObject[]>((deltas, partial) => [...deltas, { type: 'input_json_delta', partial_json: partial }], [{ type: 'input_json_delta', partial_json: '' }]);
}

function toolResultText(block: JsonObject): string {
  if (typeof block.content === 'string') return block.content;
  if (Array.isArray(block.content)) return (block.content as JsonObject[]).map((part) => (typeof part.text === 'string' ? part.text : '')).join('');
  return '';
}

/** A value that satisfies a JSON schema, for tool inputs. */
function sample(schema: unknown): unknown {
  if (!isObject(schema)) return {};
  if (Array.isArray(schema.enum) && schema.enum.length > 0) return schema.enum[0];
  switch (schema.type) {
    case 'string':
      return 'Paris';
    case 'integer':
    case 'number':
      return 21;
    case 'boolean':
      return true;
    case 'array':
      return [sample(schema.items)];
    default: {
      const properties = isObject(schema.properties) ? schema.properties : {};
      return Object.fromEntries(Object.entries(properties).map(([name, property]) => [name, sample(property)]));
    }
  }
}

/** Refuses what the real API refuses, with its messages, so that adapter mistakes fail loudly. */
function validate(body: JsonObject): void {
  if (typeof body.model !== 'string' || body.model === '') throw new InvalidRequest('model: Field required');
  if (typeof body.max_tokens !== 'number' || !Number.isInteger(body.max_tokens)) throw new InvalidRequest('max_tokens: Field required');
  if (!Array.isArray(body.messages)) throw new InvalidRequest('messages: Field required');
  if (body.system !== undefined && typeof body.system !== 'string' && !Array.isArray(body.system)) throw new InvalidRequest('system: Input should be a valid string or list');
  const toolNames = new Set(Array.isArray(body.tools) ? (body.tools as JsonObject[]).map((tool) => tool.name) : []);
  for (const [index, tool] of (Array.isArray(body.tools) ? (body.tools as JsonObject[]) : []).entries()) {
    if (typeof tool.name !== 'string' || !isObject(tool.input_schema) || tool.input_schema.type !== 'object') throw new InvalidRequest(`tools.${index}: tools need a name and an input_schema of type "object"`);
  }
  if (isObject(body.tool_choice) && body.tool_choice.type === 'tool' && !toolNames.has(body.tool_choice.name)) throw new InvalidRequest(`tool_choice: tool "${String(body.tool_choice.name)}" is not defined in tools`);
  if (isObject(body.thinking) && body.thinking.type === 'enabled') {
    const budget = body.thinking.budget_tokens;
    if (typeof budget !== 'number' || budget < 1024) throw new InvalidRequest('thinking.enabled.budget_tokens: Input should be greater than or equal to 1024');
    if ((body.max_tokens as number) <= budget) throw new InvalidRequest('`max_tokens` must be greater than `thinking.budget_tokens`');
  }
  const messages = body.messages as unknown[];
  if (messages.length === 0) throw new InvalidRequest('messages: at least one message is required');
  let previousToolUses = new Set<string>();
  messages.forEach((message, index) => {
    if (!isObject(message) || (message.role !== 'user' && message.role !== 'assistant')) throw new InvalidRequest(`messages.${index}.role: Input should be 'user' or 'assistant'`);
    const content = message.content;
    if (typeof content === 'string') {
      if (content.length === 0 && index !== messages.length - 1) throw new InvalidRequest(`messages.${index}: text content blocks must be non-empty`);
      previousToolUses = new Set();
      return;
    }
    if (!Array.isArray(content) || content.length === 0) throw new InvalidRequest(`messages.${index}.content: Input should be a valid string or a non-empty list`);
    const toolUses = new Set<string>();
    let seenOther = false;
    (content as unknown[]).forEach((block, blockIndex) => {
      const where = `messages.${index}.content.${blockIndex}`;
      if (!isObject(block)) throw new InvalidRequest(`${where}: Input should be an object`);
      switch (block.type) {
        case 'text':
          if (typeof block.text !== 'string' || block.text.length === 0) throw new InvalidRequest(`${where}: text content blocks must be non-empty`);
          seenOther = true;
          break;
        case 'image': {
          const source = isObject(block.source) ? block.source : {};
          const valid = (source.type === 'base64' && IMAGE_MEDIA_TYPES.has(String(source.media_type)) && typeof source.data === 'string') || (source.type === 'url' && typeof source.url === 'string');
          if (!valid) throw new InvalidRequest(`${where}.source: Input tag '${String(source.type)}' found using 'type' does not match any of the expected tags: 'base64', 'url'`);
          seenOther = true;
          break;
        }
        case 'document':
          seenOther = true;
          break;
        case 'tool_use':
          if (message.role !== 'assistant') throw new InvalidRequest(`${where}: tool_use blocks are only allowed in assistant messages`);
          if (typeof block.id !== 'string' || typeof block.name !== 'string' || !isObject(block.input)) throw new InvalidRequest(`${where}: tool_use blocks need an id, a name and an object input`);
          if (toolNames.size === 0) throw new InvalidRequest(`${where}: Requests which include \`tool_use\` or \`tool_result\` blocks must define tools.`);
          toolUses.add(block.id);
          break;
        case 'tool_result':
          if (message.role !== 'user') throw new InvalidRequest(`${where}: tool_result blocks are only allowed in user messages`);
          if (seenOther) throw new InvalidRequest(`messages.${index}: \`tool_result\` blocks must come first in the user message content`);
          if (!previousToolUses.has(String(block.tool_use_id))) {
            throw new InvalidRequest(`${where}: unexpected \`tool_use_id\` found in \`tool_result\` blocks: ${String(block.tool_use_id)}. Each \`tool_result\` block must have a corresponding \`tool_use\` block in the previous message.`);
          }
          break;
        case 'thinking':
        case 'redacted_thinking':
          if (message.role !== 'assistant') throw new InvalidRequest(`${where}: thinking blocks are only allowed in assistant messages`);
          break;
        default:
          throw new InvalidRequest(`${where}.type: Input tag '${String(block.type)}' found using 'type' does not match any of the expected tags`);
      }
    });
    previousToolUses = toolUses;
  });
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}
