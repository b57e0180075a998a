/**
 * A local upstream that speaks Google's Generative Language API (v1beta) the way
 * generativelanguage.googleapis.com does:
 * - `POST /v1beta/models/{model}:generateContent` → a GenerateContentResponse (candidates,
 *   usageMetadata, modelVersion, responseId), proto3 JSON: zero counts and candidate index 0 left out;
 * - `:streamGenerateContent?alt=sse` → `data: {GenerateContentResponse}\r\n\r\n` events (without
 *   `alt=sse`, one JSON array, as Google does);
 * - `:batchEmbedContents`, `:embedContent` and `:countTokens`; `imagen-*:predict` (mock-imagen.ts);
 * - `GET /v1beta/models/{model}` (models.get);
 * - speech generation on `*-tts` models (mock-gemini-speech.ts);
 * - the API key from `x-goog-api-key` (or `?key=`): missing → 403 PERMISSION_DENIED, wrong (when
 *   `apiKey` is set) → 400 INVALID_ARGUMENT with ErrorInfo API_KEY_INVALID;
 * - request bodies are parsed like protobuf messages: an unknown field (a snake/camel slip, a JSON
 *   Schema key such as additionalProperties in a schema) or an empty text part is a 400 with
 *   Google's wording, so adapter bugs surface as they would in production.
 * The answer: a functionCall when tools are declared (and mode is not NONE) and the last turn is
 * not a function response; a summary of the function responses when it is; JSON when
 * responseMimeType is application/json; `reply` otherwise. Thought parts when includeThoughts.
 * Faults are scripted per request (one per request, in order). Every request is recorded.
 */
import { exampleOf } from './mock-ollama.js';
import { createHash, randomBytes } from 'node:crypto';
import type { IncomingMessage, ServerResponse } from 'node:http';
import { imagenPredict } from './mock-imagen.js';
import { speechAnswer } from './mock-gemini-speech.js';
import { MockServer } from './mock-server.js';

type Json = Record<string, unknown>;

export interface GeminiRecordedRequest {
  method: string;
  /** Path and query as received. */
  url: string;
  path: string;
  query: Record<string, string>;
  /** `gemini-2.0-flash` from `/v1beta/models/gemini-2.0-flash:generateContent`. */
  model: string;
  /** `generateContent`, `streamGenerateContent`, `batchEmbedContents`, `embedContent`. */
  action: string;
  headers: IncomingMessage['headers'];
  body: Json;
  /** True when the client closed the connection before the response ended. */
  aborted: boolean;
}

export type GeminiFault =
  /** Any status with a given body (default: a Google envelope for the status). */
  | { kind: 'error'; status: number; body?: unknown; headers?: Record<string, string> }
  /** 429 RESOURCE_EXHAUSTED with QuotaFailure, Help and RetryInfo details. */
  | { kind: 'rate-limit'; retryDelay?: string }
  /** 503 UNAVAILABLE "The model is overloaded." */
  | { kind: 'unavailable' }
  /** 500 INTERNAL. */
  | { kind: 'internal' }
  /** 400 INVALID_ARGUMENT: the input token count exceeds the maximum. */
  | { kind: 'context-too-long' }
  /** The answer is stopped with finishReason SAFETY (after some text when streaming). */
  | { kind: 'safety' }
  /** The prompt is blocked: promptFeedback.blockReason SAFETY and no candidates. */
  | { kind: 'prompt-blocked' }
  /**
   * After `afterChunks` events (and `delayMs`, so that they reach the client first), an error
   * object arrives inside the stream.
   */
  | { kind: 'stream-error'; afterChunks: number; status?: 429 | 500 | 503; delayMs?: number }
  /** No usageMetadata anywhere. */
  | { kind: 'no-usage' }
  | { kind: 'stall' }
  | { kind: 'reset' }
  | { kind: 'delay'; ms: number };

export interface MockGeminiOptions {
  /** Text of a plain answer; default "Hello from Gemini!". */
  reply?: string;
  /** Arguments of the function call the mock makes when tools are declared. */
  functionArgs?: Json;
  promptTokens?: number;
  /** Answer tokens per candidate. */
  candidatesTokens?: number;
  /** Part of promptTokens served from a context cache. */
  cachedTokens?: number;
  /** Thought tokens when thinking is on (thinkingBudget > 0 or includeThoughts). */
  thoughtsTokens?: number;
  /** When set, any other key is refused like an invalid key. */
  apiKey?: string;
  /** Embedding length when outputDimensionality is not given; default 8. */
  embeddingDimensions?: number;
  chunkDelayMs?: number;
}

const JSON_TYPE = 'application/json; charset=UTF-8';

// Field names of the v1beta messages the mock parses (proto3 JSON also accepts snake_case).
const FIELDS = {
  request: ['contents', 'systemInstruction', 'tools', 'toolConfig', 'generationConfig', 'safetySettings', 'cachedContent'],
  content: ['role', 'parts'],
  part: ['text', 'thought', 'thoughtSignature', 'inlineData', 'fileData', 'functionCall', 'functionResponse', 'executableCode', 'codeExecutionResult', 'videoMetadata'],
  blob: ['mimeType', 'data'],
  fileData: ['mimeType', 'fileUri'],
  functionCall: ['id', 'name', 'args'],
  functionResponse: ['id', 'name', 'response', 'parts', 'willContinue', 'scheduling'],
  tool: ['functionDeclarations', 'googleSearch', 'googleSearchRetrieval', 'codeExecution', 'urlContext'],
  functionDeclaration: ['name', 'description', 'parameters', 'parametersJsonSchema', 'response', 'responseJsonSchema', 'behavior'],
  toolConfig: ['functionCallingConfig', 'retrievalConfig'],
  functionCallingConfig: ['mode', 'allowedFunctionNames'],
  generationConfig: [
    'stopSequences',
    'responseMimeType',
    'responseSchema',
    'responseJsonSchema',
    'responseModalities',
    'candidateCount',
    'maxOutputTokens',
    'temperature',
    'topP',
    'topK',
    'seed',
    'presencePenalty',
    'frequencyPenalty',
    'responseLogprobs',
    'logprobs',
    'enableEnhancedCivicAnswers',
    'speechConfig',
    'thinkingConfig',
    'mediaResolution',
  ],
  thinkingConfig: ['includeThoughts', 'thinkingBudget', 'thinkingLevel'],
  schema: [
    'type',
    'format',
    'title',
    'description',
    'nullable',
    'enum',
    'maxItems',
    'minItems',
    'properties',
    'required',
    'minProperties',
    'maxProperties',
    'minLength',
    'maxLength',
    'pattern',
    'example',
    'anyOf',
    'propertyOrdering',
    'default',
    'items',
    'minimum',
    'maximum',
  ],
  embedRequest: ['model', 'content', 'taskType', 'title', 'outputDimensionality'],
} as const;

const SCHEMA_TYPES = new Set(['TYPE_UNSPECIFIED', 'STRING', 'NUMBER', 'INTEGER', 'BOOLEAN', 'ARRAY', 'OBJECT', 'NULL']);
const CALLING_MODES = new Set(['MODE_UNSPECIFIED', 'AUTO', 'ANY', 'NONE', 'VALIDATED']);

/** A 4xx the mock answers because the request is malformed. */
class BadRequest extends Error {
  constructor(message: string) {
    super(message);
  }
}

const snake = (name: string) => name.replace(/[A-Z]/g, (letter) => `_${letter.toLowerCase()}`);
const camel = (name: string) => name.replace(/_([a-z])/g, (_, letter: string) => letter.toUpperCase());

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** Checks a message's field names like a protobuf JSON parser; returns it with camelCase keys. */
function message(value: unknown, fields: readonly string[], path: string): Json {
  if (!isObject(value)) throw new BadRequest(`Invalid value at '${path}', expected an object`);
  const normalized: Json = {};
  for (const [key, field] of Object.entries(value)) {
    const name = camel(key);
    if (!fields.includes(name)) {
      throw new BadRequest(`Invalid JSON payload received. Unknown name "${key}"${path ? ` at '${path}'` : ''}: Cannot find field.`);
    }
    normalized[name] = field;
  }
  return normalized;
}

function list(value: unknown, path: string): unknown[] {
  if (value === undefined) return [];
  if (!Array.isArray(value)) throw new BadRequest(`Invalid value at '${path}', expected a list`);
  return value;
}

function join(path: string, name: string): string {
  return path ? `${path}.${snake(name)}` : snake(name);
}

function checkSchema(value: unknown, path: string): void {
  const schema = message(value, FIELDS.schema, path);
  if (schema.type !== undefined && (typeof schema.type !== 'string' || !SCHEMA_TYPES.has(schema.type))) {
    throw new BadRequest(`Invalid value at '${join(path, 'type')}' (type.googleapis.com/google.ai.generativelanguage.v1beta.Type), ${JSON.stringify(schema.type)}`);
  }
  if (schema.enum !== undefined && !list(schema.enum, join(path, 'enum')).every((item) => typeof item === 'string')) {
    throw new BadRequest(`Invalid value at '${join(path, 'enum')}' (TYPE_STRING), expected strings`);
  }
  if (schema.items !== undefined) checkSchema(schema.items, join(path, 'items'));
  list(schema.anyOf, join(path, 'anyOf')).forEach((item, index) => checkSchema(item, `${join(path, 'anyOf')}[${index}]`));
  if (schema.properties !== undefined) {
    if (!isObject(schema.properties)) throw new BadRequest(`Invalid value at '${join(path, 'properties')}', expected an object`);
    for (const [name, property] of Object.entries(schema.properties)) checkSchema(property, `${join(path, 'properties')}[${JSON.stringify(name)}].value`);
  }
}

function checkPart(value: unknown, path: string): Json {
  const part = message(value, FIELDS.part, path);
  const data = ['text', 'inlineData', 'fileData', 'functionCall', 'functionResponse', 'executableCode', 'codeExecutionResult'].filter(
    (name) => part[name] !== undefined && part[name] !== '' && part[name] !== null,
  );
  // An empty string is proto3's default: the text field counts as unset.
  if (data.length === 0) throw new BadRequest(`* GenerateContentRequest.${path}.data: required oneof field 'data' must have one initialized field\n`);
  if (part.inlineData !== undefined) {
    const blob = message(part.inlineData, FIELDS.blob, join(path, 'inlineData'));
    if (typeof blob.mimeType !== 'string' || typeof blob.data !== 'string') throw new BadRequest(`* GenerateContentRequest.${join(path, 'inlineData')}: mime_type and data are required\n`);
    if (!/^[A-Za-z0-9+/_-]*=*$/.test(blob.data)) throw new BadRequest(`Invalid value at '${join(path, 'inlineData')}.data' (TYPE_BYTES), Base64 decoding failed`);
  }
  if (part.fileData !== undefined) {
    const file = message(part.fileData, FIELDS.fileData, join(path, 'fileData'));
    if (typeof file.fileUri !== 'string') throw new BadRequest(`* GenerateContentRequest.${join(path, 'fileData')}.file_uri: file_uri is required\n`);
  }
  if (part.functionCall !== undefined) {
    const call = message(part.functionCall, FIELDS.functionCall, join(path, 'functionCall'));
    if (typeof call.name !== 'string' || call.name === '') throw new BadRequest(`* GenerateContentRequest.${join(path, 'functionCall')}.name: name is required\n`);
    if (call.args !== undefined && !isObject(call.args)) throw new BadRequest(`Invalid value at '${join(path, 'functionCall')}.args' (type.googleapis.com/google.protobuf.Struct)`);
  }
  if (part.functionResponse !== undefined) {
    const response = message(part.functionResponse, FIELDS.functionResponse, join(path, 'functionResponse'));
    if (typeof response.name !== 'string' || response.name === '') throw new BadRequest(`* GenerateContentRequest.${join(path, 'functionResponse')}.name: name is required\n`);
    if (!isObject(response.response)) throw new BadRequest(`Invalid value at '${join(path, 'functionResponse')}.response' (type.googleapis.com/google.protobuf.Struct)`);
  }
  return part;
}

function checkContent(value: unknown, path: string, system: boolean): Json {
  const content = message(value, FIELDS.content, path);
  if (!system && content.role !== undefined && content.role !== 'user' && content.role !== 'model') {
    throw new BadRequest('Please use a valid role: user, model.');
  }
  const parts = list(content.parts, join(path, 'parts'));
  if (parts.length === 0) throw new BadRequest(`* GenerateContentRequest.${join(path, 'parts')}: contents.parts must not be empty.\n`);
  content.parts = parts.map((part, index) => checkPart(part, `${join(path, 'parts')}[${index}]`));
  return content;
}

/** Parses a GenerateContentRequest the way the API does; throws BadRequest with Google's wording. */
function checkGenerateRequest(body: Json): Json {
  const request = message(body, FIELDS.request, '');
  const contents = list(request.contents, 'contents');
  if (contents.length === 0) throw new BadRequest('* GenerateContentRequest.contents: contents is not specified\n');
  request.contents = contents.map((content, index) => checkContent(content, `contents[${index}]`, false));
  if (request.systemInstruction !== undefined) request.systemInstruction = checkContent(request.systemInstruction, 'system_instruction', true);
  request.tools = list(request.tools, 'tools').map((value, toolIndex) => {
    const tool = message(value, FIELDS.tool, `tools[${toolIndex}]`);
    tool.functionDeclarations = list(tool.functionDeclarations, `tools[${toolIndex}].function_declarations`).map((item, index) => {
      const path = `tools[${toolIndex}].function_declarations[${index}]`;
      const declaration = message(item, FIELDS.functionDeclaration, path);
      if (typeof declaration.name !== 'string' || !/^[A-Za-z_][A-Za-z0-9_.:-]{0,127}$/.test(declaration.name)) {
        throw new BadRequest(`* GenerateContentRequest.${path}.name: Invalid function name. Must start with a letter or an underscore. Must be alphameric (a-z, A-Z, 0-9), underscores (_), dots (.), colons (:), or dashes (-), with a maximum length of 128.\n`);
      }
      if (declaration.parameters !== undefined) {
        checkSchema(declaration.parameters, `${path}.parameters`);
        const parameters = declaration.parameters as Json;
        if (parameters.type === 'OBJECT' && (!isObject(parameters.properties) || Object.keys(parameters.properties).length === 0)) {
          throw new BadRequest(`* GenerateContentRequest.${path}.parameters.properties: should be non-empty for OBJECT type\n`);
        }
      }
      return declaration;
    });
    return tool;
  });
  if (request.toolConfig !== undefined) {
    const toolConfig = message(request.toolConfig, FIELDS.toolConfig, 'tool_config');
    if (toolConfig.functionCallingConfig !== undefined) {
      const config = message(toolConfig.functionCallingConfig, FIELDS.functionCallingConfig, 'tool_config.function_calling_config');
      if (config.mode !== undefined && (typeof config.mode !== 'string' || !CALLING_MODES.has(config.mode))) {
        throw new BadRequest(`Invalid value at 'tool_config.function_calling_config.mode' (type.googleapis.com/google.ai.generativelanguage.v1beta.FunctionCallingConfig.Mode), ${JSON.stringify(config.mode)}`);
      }
      toolConfig.functionCallingConfig = config;
    }
    request.toolConfig = toolConfig;
  }
  if (request.generationConfig !== undefined) {
    const config = message(request.generationConfig, FIELDS.generationConfig, 'generation_config');
    if (config.responseSchema !== undefined) checkSchema(config.responseSchema, 'generation_config.response_schema');
    if (config.thinkingConfig !== undefined) config.thinkingConfig = message(config.thinkingConfig, FIELDS.thinkingConfig, 'generation_config.thinking_config');
    if (config.stopSequences !== undefined && list(config.stopSequences, 'generation_config.stop_sequences').length > 5) {
      throw new BadRequest('* GenerateContentRequest.generation_config.stop_sequences: the number of stop sequences must not exceed 5\n');
    }
    request.generationConfig = config;
  }
  return request;
}

function googleError(code: number, status: string, text: string, details?: unknown[]): Json {
  return { error: { code, message: text, status, ...(details ? { details } : {}) } };
}

const STATUS_NAMES: Record<number, string> = {
  400: 'INVALID_ARGUMENT',
  401: 'UNAUTHENTICATED',
  403: 'PERMISSION_DENIED',
  404: 'NOT_FOUND',
  429: 'RESOURCE_EXHAUSTED',
  500: 'INTERNAL',
  503: 'UNAVAILABLE',
  504: 'DEADLINE_EXCEEDED',
};

export function rateLimitBody(model: string, retryDelay = '7s'): Json {
  return googleError(429, 'RESOURCE_EXHAUSTED', 'You exceeded your current quota, please check your plan and billing details. For more information on this error, head to: https://ai.google.dev/gemini-api/docs/rate-limits.', [
    {
      '@type': 'type.googleapis.com/google.rpc.QuotaFailure',
      violations: [
        {
          quotaMetric: 'generativelanguage.googleapis.com/generate_content_free_tier_requests',
          quotaId: 'GenerateRequestsPerMinutePerProjectPerModel-FreeTier',
          quotaDimensions: { location: 'global', model },
          quotaValue: '15',
        },
      ],
    },
    { '@type': 'type.googleapis.com/google.rpc.Help', links: [{ description: 'Learn more about Gemini API quotas', url: 'https://ai.google.dev/gemini-api/docs/rate-limits' }] },
    { '@type': 'type.googleapis.com/google.rpc.RetryInfo', retryDelay },
  ]);
}

const SAFETY_RATINGS_BLOCKED = [
  { category: 'HARM_CATEGORY_SEXUALLY_EXPLICIT', probability: 'NEGLIGIBLE' },
  { category: 'HARM_CATEGORY_HATE_SPEECH', probability: 'NEGLIGIBLE' },
  { category: 'HARM_CATEGORY_HARASSMENT', probability: 'NEGLIGIBLE' },
  { category: 'HARM_CATEGORY_DANGEROUS_CONTENT', probability: 'HIGH', blocked: true },
];

interface Answer {
  /** Parts of each candidate. */
  parts: Json[];
  finishReason: string;
  thinking: boolean;
}

export class MockGemini extends MockServer {
  readonly requests: GeminiRecordedRequest[] = [];
  /** Faults applied to the next requests, in order (one per request). */
  readonly faults: GeminiFault[] = [];

  /** The next answers' text, one per generateContent request, in place of what the mock would say. */
  readonly replies: string[] = [];

  constructor(readonly options: MockGeminiOptions = {}) {
    super();
  }

  /** Starts listening; returns the base URL to use as `api_base` (no version path). */
  async start(): Promise<string> {
    return this.listen('');
  }


  get reply(): string {
    return this.options.reply ?? 'Hello from Gemini!';
  }

  protected async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    const text = Buffer.concat(chunks).toString('utf8');
    const url = new URL(request.url ?? '/', 'http://mock');
    const route = /^\/v1beta\/(?:models|tunedModels)\/([^/:]+):([A-Za-z]+)$/.exec(url.pathname);
    const record: GeminiRecordedRequest = {
      method: request.method ?? 'GET',
      url: request.url ?? '/',
      path: url.pathname,
      query: Object.fromEntries(url.searchParams),
      model: route ? decodeURIComponent(route[1]) : '',
      action: route ? route[2] : '',
      headers: request.headers,
      body: {},
      aborted: false,
    };
    this.requests.push(record);
    response.on('close', () => {
      if (!response.writableFinished) record.aborted = true;
    });

    let body: unknown = {};
    if (text.length > 0) {
      try {
        body = JSON.parse(text);
      } catch {
        return this.sendJson(response, 400, googleError(400, 'INVALID_ARGUMENT', `Invalid JSON payload received. Unexpected token.\n${text.slice(0, 40)}\n^`));
      }
    }
    record.body = isObject(body) ? body : {};

    const key = request.headers['x-goog-api-key'] ?? url.searchParams.get('key');
    if (!key) {
      return this.sendJson(
        response,
        403,
        googleError(403, 'PERMISSION_DENIED', "Method doesn't allow unregistered callers (callers without established identity). Please use API Key or other form of API consumer identity to call this API."),
      );
    }
    if (this.options.apiKey !== undefined && key !== this.options.apiKey) {
      return this.sendJson(
        response,
        400,
        googleError(400, 'INVALID_ARGUMENT', 'API key not valid. Please pass a valid API key.', [
          { '@type': 'type.googleapis.com/google.rpc.ErrorInfo', reason: 'API_KEY_INVALID', domain: 'googleapis.com', metadata: { service: 'generativelanguage.googleapis.com' } },
          { '@type': 'type.googleapis.com/google.rpc.LocalizedMessage', locale: 'en-US', message: 'API key not valid. Please pass a valid API key.' },
        ]),
      );
    }
    const resource = /^\/v1beta\/models\/([^/:]+)$/.exec(url.pathname);
    if (resource && request.method === 'GET') {
      // models.get: the model's metadata (Imagen's methods are "predict").
      const name = decodeURIComponent(resource[1]);
      return this.sendJson(response, 200, { name: `models/${name}`, version: '002', displayName: name, inputTokenLimit: 480, outputTokenLimit: 8192, supportedGenerationMethods: name.startsWith('imagen-') ? ['predict'] : ['generateContent', 'countTokens'] });
    }
    if (!route || request.method !== 'POST') {
      return this.sendJson(response, 404, googleError(404, 'NOT_FOUND', `Method not found: ${request.method} ${url.pathname}`));
    }

    const fault = this.faults.shift();
    if (fault?.kind === 'stall') return;
    if (fault?.kind === 'reset') {
      request.socket.destroy();
      return;
    }
    if (fault?.kind === 'delay') await sleep(fault.ms);
    const failure = this.failureFor(fault, record.model);
    if (failure) {
      response.writeHead(failure.status, { 'content-type': JSON_TYPE, ...failure.headers });
      response.end(JSON.stringify(failure.body));
      return;
    }

    try {
      switch (record.action) {
        case 'generateContent': {
          const checked = checkGenerateRequest(record.body);
          const config = isObject(checked.generationConfig) ? checked.generationConfig : {};
          const audio = Array.isArray(config.responseModalities) && config.responseModalities.includes('AUDIO');
          if (audio || record.model.endsWith('-tts')) {
            const answer = speechAnswer(checked, record.model);
            return this.sendJson(response, answer.status, answer.body);
          }
          return this.sendJson(response, 200, this.generate(checked, record.model, fault));
        }
        case 'streamGenerateContent':
          return await this.stream(response, checkGenerateRequest(record.body), record.model, fault, url.searchParams.get('alt') === 'sse');
        case 'batchEmbedContents':
          return this.sendJson(response, 200, this.batchEmbed(record.body, record.model));
        case 'countTokens':
          return this.sendJson(response, 200, this.countTokens(record.body, record.model));
        case 'predict': {
          if (!record.model.startsWith('imagen-')) return this.sendJson(response, 400, googleError(400, 'INVALID_ARGUMENT', `models/${record.model} is not found for API version v1beta, or is not supported for predict.`));
          const answer = imagenPredict(record.body, 'gemini');
          return this.sendJson(response, answer.status, answer.body);
        }
        case 'embedContent': {
          const embedRequest = message(record.body, FIELDS.embedRequest, '');
          return this.sendJson(response, 200, { embedding: { values: this.embed(embedRequest, 'content') } });
        }
        default:
          return this.sendJson(response, 404, googleError(404, 'NOT_FOUND', `Method not found: ${record.action}`));
      }
    } catch (error) {
      if (error instanceof BadRequest) return this.sendJson(response, 400, googleError(400, 'INVALID_ARGUMENT', error.message));
      throw error;
    }
  }

  private failureFor(fault: GeminiFault | undefined, model: string): { status: number; body: unknown; headers?: Record<string, string> } | undefined {
    switch (fault?.kind) {
      case 'error':
        return { status: fault.status, body: fault.body ?? googleError(fault.status, STATUS_NAMES[fault.status] ?? 'UNKNOWN', `mock failure ${fault.status}`), headers: fault.headers };
      case 'rate-limit':
        return { status: 429, body: rateLimitBody(model, fault.retryDelay) };
      case 'unavailable':
        return { status: 503, body: googleError(503, 'UNAVAILABLE', 'The model is overloaded. Please try again later.') };
      case 'internal':
        return { status: 500, body: googleError(500, 'INTERNAL', 'An internal error has occurred. Please retry or report in https://developers.generativeai.google/guide/troubleshooting') };
      case 'context-too-long':
        return { status: 400, body: googleError(400, 'INVALID_ARGUMENT', 'The input token count (1250000) exceeds the maximum number of tokens allowed (1048576).') };
      default:
        return undefined;
    }
  }

  /** What the model answers, from the last turn and the request's configuration. */
  private answer(request: Json): Answer {
    const contents = request.contents as Json[];
    const lastParts = (contents.at(-1)?.parts ?? []) as Json[];
    const config = (request.generationConfig ?? {}) as Json;
    const thinkingConfig = (config.thinkingConfig ?? {}) as Json;
    const thinking = thinkingConfig.includeThoughts === true || (typeof thinkingConfig.thinkingBudget === 'number' && thinkingConfig.thinkingBudget > 0);
    const thoughts: Json[] = thinkingConfig.includeThoughts === true ? [{ text: 'The user wants an answer; I will give one.', thought: true }] : [];

    const responses = lastParts.filter((part) => part.functionResponse !== undefined).map((part) => part.functionResponse as Json);
    if (responses.length > 0) {
      const summary = responses.map((item) => `${String(item.name)} returned ${JSON.stringify(item.response)}`).join('; ');
      return { parts: [...thoughts, { text: `Function results: ${summary}` }], finishReason: 'STOP', thinking };
    }
    const declarations = ((request.tools ?? []) as Json[]).flatMap((tool) => (tool.functionDeclarations ?? []) as Json[]);
    const calling = ((request.toolConfig as Json | undefined)?.functionCallingConfig ?? {}) as Json;
    if (declarations.length > 0 && calling.mode !== 'NONE') {
      const allowed = Array.isArray(calling.allowedFunctionNames) ? (calling.allowedFunctionNames as string[]) : [];
      const name = allowed[0] ?? String(declarations[0].name);
      const call: Json = { functionCall: { name, args: this.options.functionArgs ?? { city: 'Paris' } } };
      if (thinking) call.thoughtSignature = Buffer.from(`signature-of-${name}`).toString('base64');
      return { parts: [...thoughts, call], finishReason: 'STOP', thinking };
    }
    const queued = this.replies.shift();
    if (queued !== undefined) return { parts: [...thoughts, { text: queued }], finishReason: 'STOP', thinking };
    if (config.responseMimeType === 'application/json' && config.responseSchema !== undefined) {
      // Constrained decoding: the answer is an instance of the response schema.
      return { parts: [...thoughts, { text: JSON.stringify(exampleOf(config.responseSchema as Json, this.reply)) }], finishReason: 'STOP', thinking };
    }
    if (config.responseMimeType === 'application/json') {
      return { parts: [...thoughts, { text: JSON.stringify({ answer: this.reply }) }], finishReason: 'STOP', thinking };
    }
    return { parts: [...thoughts, { text: this.reply }], finishReason: 'STOP', thinking };
  }

  private usage(candidates: number, thinking: boolean, blocked: boolean): Json {
    const prompt = this.options.promptTokens ?? 12;
    const output = blocked ? 0 : (this.options.candidatesTokens ?? 5) * candidates;
    const thoughts = thinking && !blocked ? (this.options.thoughtsTokens ?? 7) : 0;
    const cached = this.options.cachedTokens ?? 0;
    // Proto3 JSON: zero counts are left out.
    const usage: Json = { promptTokenCount: prompt };
    if (output > 0) usage.candidatesTokenCount = output;
    usage.totalTokenCount = prompt + output + thoughts;
    if (cached > 0) usage.cachedContentTokenCount = cached;
    usage.promptTokensDetails = [{ modality: 'TEXT', tokenCount: prompt }];
    if (cached > 0) usage.cacheTokensDetails = [{ modality: 'TEXT', tokenCount: cached }];
    if (output > 0) usage.candidatesTokensDetails = [{ modality: 'TEXT', tokenCount: output }];
    if (thoughts > 0) usage.thoughtsTokenCount = thoughts;
    return usage;
  }

  private envelope(model: string, responseId: string, fields: Json, withUsage: Json | undefined): Json {
    return { ...fields, ...(withUsage ? { usageMetadata: withUsage } : {}), modelVersion: model, responseId };
  }

  private generate(request: Json, model: string, fault: GeminiFault | undefined): Json {
    const responseId = newResponseId();
    const noUsage = fault?.kind === 'no-usage';
    if (fault?.kind === 'prompt-blocked') {
      return this.envelope(model, responseId, { promptFeedback: { blockReason: 'SAFETY', safetyRatings: SAFETY_RATINGS_BLOCKED } }, noUsage ? undefined : this.usage(0, false, true));
    }
    const count = candidateCount(request);
    if (fault?.kind === 'safety') {
      const candidates = range(count).map((index) => withIndex({ finishReason: 'SAFETY', safetyRatings: SAFETY_RATINGS_BLOCKED }, index));
      return this.envelope(model, responseId, { candidates }, noUsage ? undefined : this.usage(0, false, true));
    }
    const answer = this.answer(request);
    const candidates = range(count).map((index) => withIndex({ content: { parts: answer.parts, role: 'model' }, finishReason: answer.finishReason, avgLogprobs: -0.0421 }, index));
    return this.envelope(model, responseId, { candidates }, noUsage ? undefined : this.usage(count, answer.thinking, false));
  }

  /** The events of a stream: text in slices, a function call whole, the finishReason last. */
  private streamEvents(request: Json, model: string, fault: GeminiFault | undefined): Json[] {
    const responseId = newResponseId();
    const noUsage = fault?.kind === 'no-usage';
    const promptOnly = noUsage ? undefined : this.usage(0, false, true);
    if (fault?.kind === 'prompt-blocked') {
      return [this.envelope(model, responseId, { promptFeedback: { blockReason: 'SAFETY', safetyRatings: SAFETY_RATINGS_BLOCKED } }, promptOnly)];
    }
    const count = candidateCount(request);
    const answer = this.answer(request);
    const slices: Json[][] = [];
    for (const part of answer.parts) {
      if (typeof part.text === 'string' && part.thought !== true) {
        for (const piece of part.text.split(/(?<= )/)) slices.push([{ text: piece }]);
      } else {
        slices.push([part]);
      }
    }
    if (fault?.kind === 'safety') {
      // Some text, then the safety stop without content, as Gemini streams a blocked answer.
      const shown = slices.slice(0, Math.max(1, Math.floor(slices.length / 2)));
      const events = shown.map((parts) => this.envelope(model, responseId, { candidates: range(count).map((index) => withIndex({ content: { parts, role: 'model' } }, index)) }, promptOnly));
      events.push(this.envelope(model, responseId, { candidates: range(count).map((index) => withIndex({ finishReason: 'SAFETY', safetyRatings: SAFETY_RATINGS_BLOCKED }, index)) }, noUsage ? undefined : this.usage(count, false, false)));
      return events;
    }
    return slices.map((parts, position) => {
      const last = position === slices.length - 1;
      const candidates = range(count).map((index) => withIndex({ content: { parts, role: 'model' }, ...(last ? { finishReason: answer.finishReason } : {}) }, index));
      return this.envelope(model, responseId, { candidates }, noUsage ? undefined : last ? this.usage(count, answer.thinking, false) : promptOnly);
    });
  }

  private async stream(response: ServerResponse, request: Json, model: string, fault: GeminiFault | undefined, sse: boolean): Promise<void> {
    const events = this.streamEvents(request, model, fault);
    if (!sse) {
      // Without alt=sse Google streams one JSON array of responses.
      response.writeHead(200, { 'content-type': JSON_TYPE });
      response.end(`[${events.map((event) => JSON.stringify(event)).join(',\r\n')}]`);
      return;
    }
    response.writeHead(200, { 'content-type': 'text/event-stream', 'cache-control': 'no-cache', 'x-content-type-options': 'nosniff' });
    for (const [index, event] of events.entries()) {
      if (response.destroyed) return;
      if (fault?.kind === 'stream-error' && index === fault.afterChunks) {
        if (fault.delayMs) await sleep(fault.delayMs);
        if (response.destroyed) return;
        const status = fault.status ?? 503;
        const error = status === 429 ? rateLimitBody(model) : googleError(status, STATUS_NAMES[status], status === 503 ? 'The model is overloaded. Please try again later.' : 'An internal error has occurred.');
        response.end(`data: ${JSON.stringify(error)}\r\n\r\n`);
        return;
      }
      response.write(`data: ${JSON.stringify(event)}\r\n\r\n`);
      if (this.options.chunkDelayMs) await sleep(this.options.chunkDelayMs);
    }
    response.end();
  }

  private embed(request: Json, path: string): number[] {
    const content = checkContent(request.content, path, true);
    const text = (content.parts as Json[]).map((part) => String(part.text ?? '')).join('');
    const dimensions = typeof request.outputDimensionality === 'number' ? request.outputDimensionality : (this.options.embeddingDimensions ?? 8);
    return embeddingOf(text, dimensions);
  }

  /** CountTokensResponse: `contents` or a whole `generateContentRequest` (whose model must be the URL's), not both. */
  private countTokens(body: Json, model: string): Json {
    const request = message(body, ['contents', 'generateContentRequest'], '');
    if ((request.contents === undefined) === (request.generateContentRequest === undefined)) {
      throw new BadRequest('* CountTokensRequest: exactly one of contents and generate_content_request must be set\n');
    }
    const inner = request.generateContentRequest;
    if (isObject(inner) && inner.model !== `models/${model}`) {
      throw new BadRequest(`* CountTokensRequest.generate_content_request.model: must be models/${model}, got ${JSON.stringify(inner.model)}\n`);
    }
    const prompt = this.options.promptTokens ?? 12;
    return { totalTokens: prompt, promptTokensDetails: [{ modality: 'TEXT', tokenCount: prompt }] };
  }

  private batchEmbed(body: Json, model: string): Json {
    const request = message(body, ['requests'], '');
    const requests = list(request.requests, 'requests');
    if (requests.length === 0) throw new BadRequest('* BatchEmbedContentsRequest.requests: requests is empty\n');
    return {
      embeddings: requests.map((item, index) => {
        const path = `requests[${index}]`;
        const embedRequest = message(item, FIELDS.embedRequest, path);
        if (embedRequest.model !== `models/${model}`) {
          throw new BadRequest(`* BatchEmbedContentsRequest.${path}.model: the model in each request must be the model of the batch (models/${model}), got ${JSON.stringify(embedRequest.model)}\n`);
        }
        return { values: this.embed(embedRequest, `${path}.content`) };
      }),
    };
  }

  private sendJson(response: ServerResponse, status: number, value: unknown): void {
    const text = JSON.stringify(value);
    response.writeHead(status, { 'content-type': JSON_TYPE, 'content-length': Buffer.byteLength(text), vary: 'Origin, X-Origin, Referer' });
    response.end(text);
  }
}

function candidateCount(request: Json): number {
  const count = ((request.generationConfig ?? {}) as Json).candidateCount;
  return typeof count === 'number' && count > 1 ? count : 1;
}

function range(count: number): number[] {
  return Array.from({ length: count }, (_, index) => index);
}

/** Proto3 JSON leaves out index 0. */
function withIndex(candidate: Json, index: number): Json {
  return index === 0 ? candidate : { ...candidate, index };
}

function newResponseId(): string {
  return randomBytes(16).toString('base64url').slice(0, 22);
}

/** A deterministic unit-length vector for a text. */
export function embeddingOf(text: string, dimensions: number): number[] {
  const digest = createHash('sha256').update(text).digest();
  const raw = Array.from({ length: dimensions }, (_, index) => digest[index % digest.length] / 255 - 0.5);
  const norm = Math.sqrt(raw.reduce((sum, value) => sum + value * value, 0)) || 1;
  return raw.map((value) => Math.fround(value / norm));
}

export function sleep(ms: number): Promise<void> {
  return new Promise((resolve) => setTimeout(resolve, ms));
}

/** A config with Gemini model groups (chat and embeddings) pointing at a mock. */
export function geminiConfig(apiBase: string, masterKey: string, extra = ''): string {
  return `
model_list:
  - model_name: gemini-flash
    litellm_params:
      model: gemini/gemini-2.0-flash
      api_base: ${apiBase}
      api_key: gemini-upstream-test-key
  - model_name: gemini-embedding
    litellm_params:
      model: gemini/text-embedding-004
      api_base: ${apiBase}
      api_key: gemini-upstream-test-key
    model_info:
      mode: embedding
general_settings:
  master_key: ${masterKey}
${extra}`;
}
