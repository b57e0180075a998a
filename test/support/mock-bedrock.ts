/**
 * A local upstream that speaks the Bedrock Runtime API the way bedrock-runtime.{region}.amazonaws.com
 * does (shapes from the AWS SDK's @aws-sdk/client-bedrock-runtime models and the API reference):
 * - `POST /model/{modelId}/converse` → a ConverseResponse (output.message, stopReason, usage, metrics);
 * - `POST /model/{modelId}/converse-stream` → `application/vnd.amazon.eventstream`: binary frames
 *   (messageStart, contentBlockStart/Delta/Stop, messageStop, metadata) written in small slices that
 *   cut frames at arbitrary points, as a network would;
 * - `POST /model/{modelId}/invoke` → Titan (`inputText` → `embedding`, `inputTextTokenCount`) and
 *   Cohere embed (`texts` → `embeddings.float`) bodies;
 * - every request's SigV4 signature is VERIFIED: the mock recomputes it with aws4 from the request
 *   as received (method, path, signed headers, body) and the credentials it knows, and refuses a
 *   mismatch as AWS does (403 InvalidSignatureException), an unknown access key (403
 *   UnrecognizedClientException), a missing signature (403 MissingAuthenticationTokenException);
 * - errors as Bedrock sends them: `{"message": …}` with `x-amzn-errortype: <Name>:http://internal.amazon.com/coral/com.amazon.bedrock/`;
 * - ConverseRequest fields are checked: an unknown top-level or inferenceConfig key is a 400
 *   ValidationException, so adapter slips surface.
 * The answer: a toolUse when tools are declared and the last user turn holds no toolResult; a
 * summary of the tool results when it does; `reply` otherwise. Faults are scripted per request.
 */
import { randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import aws4 from 'aws4';
import { EventStreamCodec } from '@smithy/eventstream-codec';
import { fromUtf8, toUtf8 } from '@smithy/util-utf8';
import { MockServer } from './mock-server.js';

type Json = Record<string, unknown>;

export interface BedrockCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
}

export interface BedrockRecordedRequest {
  path: string;
  /** The model id, decoded (`anthropic.claude-3-5-haiku-20241022-v1:0`). */
  modelId: string;
  action: 'converse' | 'converse-stream' | 'invoke';
  headers: IncomingMessage['headers'];
  body: Json;
  /** The region and service of the credential scope. */
  region: string;
  service: string;
  /** True when the client closed the connection before the response ended. */
  aborted?: boolean;
}

export type BedrockFault =
  /** Any HTTP error with Bedrock's body and error-type header. */
  | { kind: 'error'; status: number; type: string; message: string }
  /** 429 ThrottlingException. */
  | { kind: 'throttle' }
  /** A stream that sends `afterEvents` events, then an exception message (`throttlingException`, `modelStreamErrorException`, …). */
  | { kind: 'stream-exception'; exception: string; afterEvents: number; message?: string };

export interface MockBedrockOptions {
  credentials: BedrockCredentials;
  /** Region the signatures must be scoped to; default us-east-1. */
  region?: string;
  reply?: string;
  functionArgs?: Json;
  inputTokens?: number;
  outputTokens?: number;
  /** Bytes per write of a stream (frames are cut wherever this falls); default 7. */
  sliceBytes?: number;
  /** Pause between stream events, ms (the event's bytes still leave in slices). */
  eventDelayMs?: number;
}

const ERROR_NAMESPACE = ':http://internal.amazon.com/coral/com.amazon.bedrock/';
const REQUEST_FIELDS = new Set(['messages', 'system', 'inferenceConfig', 'toolConfig', 'additionalModelRequestFields', 'guardrailConfig', 'promptVariables', 'additionalModelResponseFieldPaths', 'requestMetadata', 'performanceConfig']);
const INFERENCE_FIELDS = new Set(['maxTokens', 'temperature', 'topP', 'stopSequences']);
const BLOCK_FIELDS = new Set(['text', 'image', 'document', 'video', 'toolUse', 'toolResult', 'guardContent', 'cachePoint', 'reasoningContent', 'citationsContent']);

class BedrockError extends Error {
  constructor(
    readonly status: number,
    readonly type: string,
    message: string,
  ) {
    super(message);
  }
}

const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

export class MockBedrock extends MockServer {
  readonly requests: BedrockRecordedRequest[] = [];
  readonly faults: BedrockFault[] = [];
  /** Requests refused because of their signature. */
  readonly refusedSignatures: string[] = [];
  private readonly codec = new EventStreamCodec(toUtf8, fromUtf8);

  constructor(readonly options: MockBedrockOptions) {
    super();
  }

  async start(): Promise<string> {
    return this.listen();
  }

  protected async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const raw = Buffer.concat(chunks).toString('utf8');
    try {
      const route = /^\/model\/([^/]+)\/(converse|converse-stream|invoke)$/.exec(request.url ?? '');
      if (request.method !== 'POST' || !route) throw new BedrockError(404, 'UnknownOperationException', 'Unknown operation');
      const scope = this.verifySignature(request, raw);
      let body: Json;
      try {
        const parsed: unknown = JSON.parse(raw);
        if (!isObject(parsed)) throw new Error('not an object');
        body = parsed;
      } catch {
        throw new BedrockError(400, 'ValidationException', 'Malformed input request, please reformat your input and try again.');
      }
      const action = route[2] as BedrockRecordedRequest['action'];
      const modelId = decodeURIComponent(route[1]);
      const record: BedrockRecordedRequest = { path: request.url!, modelId, action, headers: request.headers, body, ...scope };
      this.requests.push(record);
      response.on('close', () => {
        if (!response.writableFinished) record.aborted = true;
      });
      const fault = this.faults.shift();
      if (fault?.kind === 'error') throw new BedrockError(fault.status, fault.type, fault.message);
      if (fault?.kind === 'throttle') throw new BedrockError(429, 'ThrottlingException', 'Too many requests, please wait before trying again.');
      if (action === 'invoke') return this.sendJson(response, 200, this.embed(modelId, body));
      this.validate(body);
      const content = this.answer(body);
      if (action === 'converse') {
        return this.sendJson(response, 200, {
          output: { message: { role: 'assistant', content } },
          stopReason: content.some((block) => 'toolUse' in block) ? 'tool_use' : 'end_turn',
          usage: this.usage(),
          metrics: { latencyMs: 120 },
        });
      }
      await this.stream(response, content, fault?.kind === 'stream-exception' ? fault : undefined);
    } catch (error) {
      if (!(error instanceof BedrockError)) throw error;
      this.sendJson(response, error.status, { message: error.message }, { 'x-amzn-errortype': `${error.type}${ERROR_NAMESPACE}` });
    }
  }

  /** Recomputes the SigV4 signature with aws4 from the request as received; throws as AWS refuses. */
  private verifySignature(request: IncomingMessage, body: string): { region: string; service: string } {
    const authorization = request.headers.authorization;
    const parsed = authorization ? /^AWS4-HMAC-SHA256 Credential=([^/]+)\/(\d{8})\/([^/]+)\/([^/]+)\/aws4_request, SignedHeaders=([^,]+), Signature=([0-9a-f]{64})$/.exec(authorization) : null;
    if (!parsed) {
      this.refusedSignatures.push('missing');
      throw new BedrockError(403, 'MissingAuthenticationTokenException', 'Missing Authentication Token');
    }
    const [, accessKeyId, , region, service, signedNames] = parsed;
    const { credentials } = this.options;
    if (accessKeyId !== credentials.accessKeyId || (credentials.sessionToken && request.headers['x-amz-security-token'] !== credentials.sessionToken)) {
      this.refusedSignatures.push('unknown key');
      throw new BedrockError(403, 'UnrecognizedClientException', 'The security token included in the request is invalid.');
    }
    const headers: Record<string, string> = {};
    for (const name of signedNames.split(';')) {
      const value = request.headers[name];
      if (value === undefined) throw new BedrockError(403, 'InvalidSignatureException', `Signed header ${name} is missing from the request.`);
      if (name !== 'host') headers[name] = Array.isArray(value) ? value.join(',') : value;
    }
    const options = { host: request.headers.host, path: request.url, method: request.method, service, region, headers, body };
    aws4.sign(options, credentials);
    const expected = (options.headers as Record<string, string>).Authorization;
    if (expected !== authorization || region !== (this.options.region ?? 'us-east-1') || service !== 'bedrock') {
      this.refusedSignatures.push('mismatch');
      throw new BedrockError(
        403,
        'InvalidSignatureException',
        'The request signature we calculated does not match the signature you provided. Check your AWS Secret Access Key and signing method. Consult the service documentation for details.',
      );
    }
    return { region, service };
  }

  private validate(body: Json): void {
    for (const key of Object.keys(body)) if (!REQUEST_FIELDS.has(key)) throw new BedrockError(400, 'ValidationException', `Malformed input request: #: extraneous key [${key}] is not permitted, please reformat your input and try again.`);
    if (isObject(body.inferenceConfig)) {
      for (const key of Object.keys(body.inferenceConfig)) if (!INFERENCE_FIELDS.has(key)) throw new BedrockError(400, 'ValidationException', `1 validation error detected: inferenceConfig.${key} is not a member`);
    }
    if (!Array.isArray(body.messages) || body.messages.length === 0) throw new BedrockError(400, 'ValidationException', 'A conversation must start with a user message. Try again with a conversation that starts with a user message.');
    let previous = '';
    body.messages.forEach((message, index) => {
      if (!isObject(message) || (message.role !== 'user' && message.role !== 'assistant') || !Array.isArray(message.content)) {
        throw new BedrockError(400, 'ValidationException', `1 validation error detected: Value at 'messages.${index + 1}' failed to satisfy constraint`);
      }
      if (message.role === previous) throw new BedrockError(400, 'ValidationException', 'A conversation must alternate between user and assistant roles. Make sure the conversation alternates between user and assistant roles and try again.');
      previous = message.role;
      for (const block of message.content) {
        if (!isObject(block) || Object.keys(block).length !== 1 || !BLOCK_FIELDS.has(Object.keys(block)[0])) throw new BedrockError(400, 'ValidationException', `messages.${index + 1}.content: each ContentBlock must set exactly one member`);
        if (block.text === '') throw new BedrockError(400, 'ValidationException', 'The text field in the ContentBlock object is blank. Add text to the text field, and try again.');
      }
    });
    if ((body.messages[0] as Json).role !== 'user') throw new BedrockError(400, 'ValidationException', 'A conversation must start with a user message. Try again with a conversation that starts with a user message.');
  }

  private answer(body: Json): Json[] {
    const messages = body.messages as Array<{ role: string; content: Json[] }>;
    const last = messages.at(-1)!;
    const results = last.role === 'user' ? last.content.filter((block) => isObject(block.toolResult)) : [];
    if (results.length > 0) {
      const texts = results.map((block) => ((block.toolResult as Json).content as Json[]).map((item) => item.text).join(''));
      return [{ text: `Tool said: ${texts.join('; ')}` }];
    }
    const tools = isObject(body.toolConfig) && Array.isArray(body.toolConfig.tools) ? (body.toolConfig.tools as Array<{ toolSpec: { name: string } }>) : [];
    if (tools.length > 0) {
      return [{ text: 'Let me check.' }, { toolUse: { toolUseId: `tooluse_${randomBytes(8).toString('hex')}`, name: tools[0].toolSpec.name, input: this.options.functionArgs ?? { city: 'Paris' } } }];
    }
    return [{ text: this.options.reply ?? 'Hello from Bedrock!' }];
  }

  private usage(): Json {
    const inputTokens = this.options.inputTokens ?? 20;
    const outputTokens = this.options.outputTokens ?? 10;
    return { inputTokens, outputTokens, totalTokens: inputTokens + outputTokens };
  }

  private events(content: Json[]): Array<[string, Json]> {
    const events: Array<[string, Json]> = [['messageStart', { role: 'assistant' }]];
    content.forEach((block, index) => {
      if (typeof block.text === 'string') {
        const words = block.text.split(/(?<= )/);
        for (const word of words) events.push(['contentBlockDelta', { contentBlockIndex: index, delta: { text: word } }]);
      } else if (isObject(block.toolUse)) {
        const { toolUseId, name, input } = block.toolUse as { toolUseId: string; name: string; input: unknown };
        events.push(['contentBlockStart', { contentBlockIndex: index, start: { toolUse: { toolUseId, name } } }]);
        const text = JSON.stringify(input);
        const middle = Math.floor(text.length / 2);
        events.push(['contentBlockDelta', { contentBlockIndex: index, delta: { toolUse: { input: text.slice(0, middle) } } }]);
        events.push(['contentBlockDelta', { contentBlockIndex: index, delta: { toolUse: { input: text.slice(middle) } } }]);
      }
      events.push(['contentBlockStop', { contentBlockIndex: index }]);
    });
    events.push(['messageStop', { stopReason: content.some((block) => 'toolUse' in block) ? 'tool_use' : 'end_turn' }]);
    events.push(['metadata', { usage: this.usage(), metrics: { latencyMs: 150 } }]);
    return events;
  }

  private frame(headers: Record<string, string>, payload: Json): Uint8Array {
    const tagged = Object.fromEntries(Object.entries(headers).map(([name, value]) => [name, { type: 'string' as const, value }]));
    // The `p` padding field Bedrock adds to every event (it hides the payload's length).
    return this.codec.encode({ headers: tagged, body: fromUtf8(JSON.stringify({ ...payload, p: 'abcdefghijklmnopqrstuvwxyz'.slice(0, 1 + (JSON.stringify(payload).length % 26)) })) });
  }

  private async stream(response: ServerResponse, content: Json[], fault: Extract<BedrockFault, { kind: 'stream-exception' }> | undefined): Promise<void> {
    response.writeHead(200, { 'content-type': 'application/vnd.amazon.eventstream', 'x-amzn-requestid': randomBytes(16).toString('hex') });
    let events = this.events(content);
    const frames: Uint8Array[] = [];
    if (fault) events = events.slice(0, fault.afterEvents);
    for (const [type, payload] of events) frames.push(this.frame({ ':event-type': type, ':content-type': 'application/json', ':message-type': 'event' }, payload));
    if (fault) {
      frames.push(this.frame({ ':exception-type': fault.exception, ':content-type': 'application/json', ':message-type': 'exception' }, { message: fault.message ?? 'The service is busy.' }));
    }
    const slice = this.options.sliceBytes ?? 7;
    const write = async (bytes: Uint8Array) => {
      for (let start = 0; start < bytes.length; start += slice) {
        if (response.destroyed) return;
        if (!response.write(bytes.subarray(start, start + slice))) await new Promise((resolve) => response.once('drain', resolve));
        // Let slices leave as separate TCP writes now and then.
        if (start % (slice * 16) === 0) await new Promise((resolve) => setImmediate(resolve));
      }
    };
    if (this.options.eventDelayMs) {
      for (const frame of frames) {
        if (response.destroyed) return;
        await write(frame);
        await new Promise((resolve) => setTimeout(resolve, this.options.eventDelayMs));
      }
    } else await write(Buffer.concat(frames));
    if (!response.destroyed) response.end();
  }

  private embed(modelId: string, body: Json): Json {
    const vector = (text: string, dimensions: number) => Array.from({ length: dimensions }, (_, index) => ((text.length + index) % 7) / 7);
    if (modelId.startsWith('amazon.titan-embed-text')) {
      for (const key of Object.keys(body)) if (!['inputText', 'dimensions', 'normalize', 'embeddingTypes'].includes(key)) throw new BedrockError(400, 'ValidationException', `Malformed input request: #: extraneous key [${key}] is not permitted, please reformat your input and try again.`);
      if (typeof body.inputText !== 'string') throw new BedrockError(400, 'ValidationException', 'Malformed input request: #: required key [inputText] not found, please reformat your input and try again.');
      const dimensions = typeof body.dimensions === 'number' ? body.dimensions : 1024;
      return { embedding: vector(body.inputText, dimensions), embeddingsByType: { float: vector(body.inputText, dimensions) }, inputTextTokenCount: body.inputText.split(/\s+/).filter(Boolean).length + 1 };
    }
    if (modelId.startsWith('cohere.embed')) {
      if (!Array.isArray(body.texts) || typeof body.input_type !== 'string') throw new BedrockError(400, 'ValidationException', 'Malformed input request: #: required key [input_type] not found');
      const texts = body.texts as string[];
      const embeddings = texts.map((text) => vector(text, 8));
      const byType = Array.isArray(body.embedding_types);
      return { id: randomBytes(8).toString('hex'), texts, embeddings: byType ? { float: embeddings } : embeddings, response_type: byType ? 'embeddings_by_type' : 'embeddings_floats' };
    }
    throw new BedrockError(400, 'ValidationException', `The provided model identifier is invalid.`);
  }

  private sendJson(response: ServerResponse, status: number, body: unknown, headers: Record<string, string> = {}): void {
    response.writeHead(status, { 'content-type': 'application/json', 'x-amzn-requestid': randomBytes(16).toString('hex'), ...headers });
    response.end(JSON.stringify(body));
  }
}

export const BEDROCK_TEST_CREDENTIALS: BedrockCredentials = { accessKeyId: 'AKIAIOSFODNN7EXAMPLE', secretAccessKey: 'wJalrXUtnFEMI/K7MDENG/bPxRfiCYEXAMPLEKEY' };
