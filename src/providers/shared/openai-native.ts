/**
 * OpenAI-format endpoints the gateway relays without a canonical model of their own — images,
 * moderations, rerank (Cohere / Jina format, as OpenAI-compatible rerank servers and LiteLLM serve
 * it), and any `/openai/v1/*` path — to OpenAI, Azure OpenAI and OpenAI-compatible deployments:
 * `{api_base}/{path}` (Azure: `{api_base}/openai/deployments/{deployment}/{path}?api-version=…`)
 * with the deployment's key and its model in `model`; the answer is relayed as received.
 *
 * Usage: tokens where the answer carries `usage` (gpt-image-1, chat-like endpoints); otherwise
 * the media units the call billed — images returned (with the `<quality>/<size>` variant that
 * prices dall-e), characters of moderation input, search units of a rerank (Cohere's
 * `meta.billed_units.search_units`, never fewer than one per 100 documents sent).
 *
 * On `cohere/…` deployments, rerank goes to Cohere's own Rerank API v2 (cohere/rerank.ts).
 *
 * `responses` carries Responses requests with built-in tools (web_search, file_search, …), which
 * only OpenAI's servers run: JSON or a stream of Responses events, relayed as received, with usage
 * from the Response's `usage` (openai-responses-native.ts).
 */
import { isJsonObject } from '../../json-object.js';
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type { NativeCall, NativeProvider, Upload } from '../native.js';
import { providerSpec } from '../specs.js';
import type { ChatChunk, ChatStreamTransform, Deployment, EmittedChunk, MediaUnits, UpstreamRequest, Usage } from '../types.js';
import { ResponsesNativeStreamTransform, responsesText, usageFromResponses, usageOfResponse } from './openai-responses-native.js';
import { BILLED_BESIDE_CONTENT, usageFromOpenAI } from './usage.js';
import { GatewayError } from '../../errors.js';
import { outputCapField } from '../../billing/reservation-plan.js';
import { deploymentSecrets, redactUpstreamMessage } from '../../security/redact.js';
import { buildCohereRerankRequest, cohereRerankAnswer } from '../cohere/rerank.js';
import { buildGoogleMediaRequest, googleMediaAnswer, googleMediaBytes, googleMediaUsage, googleServesMethod, isGoogleProvider } from './google-media.js';

type Json = Record<string, unknown>;

function serves(provider: string, method?: string): boolean {
  const format = providerSpec(provider)?.format;
  if (format === 'openai' || format === 'azure') return true;
  // Cohere's own Rerank API (cohere/rerank.ts).
  if (format === 'cohere') return method === 'rerank';
  // Google's native equivalents (Imagen), mapped rather than relayed (google-media.ts).
  return isGoogleProvider(provider) && googleServesMethod(method);
}

function urlOf(target: Deployment, path: string): string {
  // Azure serves the Responses API per resource (the deployment named in `model`), not per deployment path.
  if (target.provider === 'azure' && path === 'responses') return `${target.apiBase}/openai/responses?api-version=${encodeURIComponent(target.apiVersion ?? '')}`;
  if (target.provider === 'azure') {
    return `${target.apiBase}/openai/deployments/${encodeURIComponent(target.upstreamModel)}/${path}?api-version=${encodeURIComponent(target.apiVersion ?? '')}`;
  }
  return `${target.apiBase}/${path}`;
}

export function headersFor(target: Deployment, stream = false): Record<string, string> {
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: stream ? 'text/event-stream' : 'application/json' };
  if (target.apiKey) {
    if (target.provider === 'azure') headers['api-key'] = target.apiKey;
    else headers.authorization = `Bearer ${target.apiKey}`;
  }
  return Object.assign(headers, target.headers);
}

/** A form field's or file name's value inside a quoted header parameter: C0 controls, DEL, `"` and `\` percent-encoded (undici's FormData encodes CR, LF and `"`). */
function quoted(value: string): string {
  return value.replace(/[\u0000-\u001f\u007f"\\]/g, (character) => encodeURIComponent(character));
}

/**
 * The upload as multipart/form-data: the client's fields (the deployment's model in `model`), then
 * each file's chunks as they were received — streamed, never concatenated.
 */
export function multipartRequest(call: NativeCall, upload: Upload, target: Deployment, url = urlOf(target, call.method), withModel = true): UpstreamRequest {
  const boundary = `----switchboard${randomBytes(12).toString('hex')}`;
  const fields = withModel ? { ...call.body, model: target.upstreamModel } : call.body;
  let head = '';
  for (const [name, value] of Object.entries(fields)) {
    for (const item of Array.isArray(value) ? value : [value]) head += `--${boundary}\r\nContent-Disposition: form-data; name="${quoted(name)}"\r\n\r\n${String(item)}\r\n`;
  }
  const parts: Buffer[][] = [];
  let length = 0;
  (call.uploads ?? [upload]).forEach((file, index) => {
    const fileHead = Buffer.from(`${index === 0 ? head : ''}--${boundary}\r\nContent-Disposition: form-data; name="${quoted(file.field)}"; filename="${quoted(file.filename)}"\r\nContent-Type: ${file.contentType.replace(/[\r\n]/g, '')}\r\n\r\n`, 'utf8');
    const fileTail = Buffer.from('\r\n', 'utf8');
    parts.push([fileHead, ...file.chunks, fileTail]);
    length += fileHead.length + file.bytes + fileTail.length;
  });
  const tailBytes = Buffer.from(`--${boundary}--\r\n`, 'utf8');
  const headers = headersFor(target);
  headers['content-type'] = `multipart/form-data; boundary=${boundary}`;
  headers['content-length'] = String(length + tailBytes.length);
  return { url, method: 'POST', headers, bodyStream: () => Readable.from([...parts.flat(), tailBytes]), framing: 'json' };
}

/**
 * The output limits of each relayed generation, as OpenAI's API reference names them: a chat
 * completion's max_completion_tokens (max_tokens is its deprecated name, refused by the reasoning
 * models), a text completion's max_tokens, a Response's max_output_tokens.
 */
const RELAYED_OUTPUT_LIMITS = new Map<string, readonly string[]>([
  ['chat/completions', ['max_completion_tokens', 'max_tokens']],
  ['completions', ['max_tokens']],
  ['responses', ['max_output_tokens']],
]);

/**
 * Lowers a relayed body's output limits to `cap` (the relay's `max_tokens`: the client's own limit,
 * or a routing rule's or power level's cap, which the reservation and the usage bounds were sized
 * by). Every limit the body names above it (or as null or a non-number) becomes the cap, one at or
 * under it is kept; a body that names none gets the endpoint's own: for a chat completion,
 * max_completion_tokens on OpenAI and Azure, and max_tokens on other OpenAI-compatible servers,
 * which may not know the newer name (billing/reservation-plan.ts outputCapField, as the chat route chooses).
 */
function capRelayedOutput(body: Json, fields: readonly string[], cap: number, target: Deployment): void {
  let named = false;
  for (const field of fields) {
    const value = body[field];
    if (value === undefined) continue;
    named = true;
    if (!(typeof value === 'number' && value <= cap)) body[field] = cap;
  }
  if (!named) body[fields.length > 1 ? outputCapField('chat', [target]) : fields[0]] = cap;
}

/** Relayed paths whose streams report usage only when asked (`stream_options.include_usage`). */
const RELAYED_COMPLETION_STREAM = /^(chat\/)?completions$/;

function buildRequest(call: NativeCall, target: Deployment): UpstreamRequest {
  if (isGoogleProvider(target.provider)) return buildGoogleMediaRequest(call, target);
  if (providerSpec(target.provider)?.format === 'cohere') return buildCohereRerankRequest(call, target);
  if (call.upload) return multipartRequest(call, call.upload, target);
  const body: Json = { ...call.body, model: target.upstreamModel };
  // A routing rule or power level may cap the output below what the client asked for.
  if (call.maxTokens !== undefined) {
    const fields = RELAYED_OUTPUT_LIMITS.get(call.method);
    if (fields) capRelayedOutput(body, fields, call.maxTokens, target);
  }
  // A relayed chat or text completion stream asks for the usage chunk whatever the client asked:
  // without it the call is billed on the streamed text, and a reasoning model streams none of the
  // reasoning it bills as output. The chunk is hidden from a client that did not ask (OpenAIRelayEncoder).
  if (call.stream && RELAYED_COMPLETION_STREAM.test(call.method) && providerSpec(target.provider)?.supportsStreamUsage) {
    body.stream_options = { ...(isJsonObject(body.stream_options) ? body.stream_options : {}), include_usage: true };
  }
  return { url: urlOf(target, call.method), method: 'POST', headers: headersFor(target, call.stream), body: JSON.stringify(body), framing: 'sse' };
}

/** `<quality>/<size>` as dall-e prices images; dall-e-3's default quality is "standard", its default size 1024x1024. */
export function imageVariant(body: Json): string {
  const quality = typeof body.quality === 'string' && body.quality !== 'auto' ? body.quality : 'standard';
  const size = typeof body.size === 'string' && body.size !== 'auto' ? body.size : '1024x1024';
  return `${quality}/${size}`;
}

/**
 * gpt-image-1 (and gpt-4o-transcribe) report tokens as the Responses API does (`input_tokens`,
 * `output_tokens`), read as a Response's usage is: a count that is not a finite number from 0 up
 * (-1, 1e999) counts as none.
 */
function tokenUsage(raw: unknown): Usage | undefined {
  if (!isJsonObject(raw)) return undefined;
  if (typeof raw.input_tokens === 'number' || typeof raw.output_tokens === 'number') return usageFromResponses(raw);
  return usageFromOpenAI(raw);
}

/** A count of media units as reported (seconds, search units): a finite number from 0 up, else undefined (not reported). */
function reportedUnits(value: unknown): number | undefined {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined;
}

/** Documents a search unit covers (Cohere's pricing: one query over up to 100 documents). */
const DOCUMENTS_PER_SEARCH_UNIT = 100;

/**
 * The fewest search units a rerank of `documents` is billed: each document is at least one chunk,
 * 100 to a unit, and a query is at least one. A report below it (0, a fraction: an upstream that
 * lowers its own count) or none at all bills this.
 */
function fewestSearchUnits(documents: unknown): number {
  return Math.max(1, Math.ceil((Array.isArray(documents) ? documents.length : 0) / DOCUMENTS_PER_SEARCH_UNIT));
}

/** Characters of a moderation or speech input: strings, and the text parts of multi-modal input. */
export function inputCharacters(input: unknown): number {
  if (typeof input === 'string') return [...input].length;
  if (Array.isArray(input)) return input.reduce<number>((sum, item) => sum + (typeof item === 'string' ? [...item].length : isJsonObject(item) && typeof item.text === 'string' ? [...item.text].length : 0), 0);
  return 0;
}

function withUnits(units: MediaUnits): Usage {
  return { promptTokens: 0, completionTokens: 0, totalTokens: 0, units };
}

function usageOf(call: NativeCall, body: unknown, target?: Deployment): Usage | undefined {
  if (target && isGoogleProvider(target.provider) && googleServesMethod(call.method)) return googleMediaUsage(call, body);
  if (!isJsonObject(body)) return undefined;
  const reported = tokenUsage(body.usage);
  // The tier that served the call (chat, completions): a priority answer is billed at the priority rates.
  const tokens = reported && body.service_tier === 'priority' ? { ...reported, serviceTier: 'priority' as const } : reported;
  switch (call.method) {
    case 'images/generations':
    case 'images/edits':
    case 'images/variations': {
      if (tokens) return tokens;
      const images = Array.isArray(body.data) ? body.data.length : 0;
      return withUnits({ images, imageVariant: imageVariant(call.body) });
    }
    case 'moderations':
      return withUnits({ inputCharacters: inputCharacters(call.body.input) });
    case 'audio/transcriptions': {
      // Seconds of audio: the answer's `usage` (type "duration") or `duration` (verbose_json), else the file's own (WAV).
      const usage = isJsonObject(body.usage) ? body.usage : undefined;
      // A negative count would bill a negative cost: a value that is no duration is taken as none reported.
      const reported = (usage?.type === 'duration' ? reportedUnits(usage.seconds) : undefined) ?? reportedUnits(body.duration);
      const seconds = reported ?? call.upload?.seconds;
      if (seconds !== undefined) return withUnits({ inputSeconds: seconds });
      return tokens;
    }
    case 'responses':
      return usageOfResponse(body);
    case 'rerank': {
      const billed = isJsonObject(body.meta) && isJsonObject(body.meta.billed_units) ? reportedUnits(body.meta.billed_units.search_units) : undefined;
      return withUnits({ queries: Math.max(billed ?? 0, fewestSearchUnits(call.body.documents)) });
    }
    default:
      return tokens;
  }
}

/** Text the model produced, for a local count when the answer reports no usage (chat-like bodies only). */
function textOf(body: unknown): string {
  if (isJsonObject(body) && body.object === 'response') return responsesText(body);
  if (!isJsonObject(body) || !Array.isArray(body.choices)) return '';
  let text = '';
  for (const choice of body.choices as Json[]) {
    const message = isJsonObject(choice?.message) ? choice.message : undefined;
    if (typeof message?.content === 'string') text += message.content;
    if (typeof choice?.text === 'string') text += choice.text;
    if (message) text += billedBesideContent(message);
  }
  return text;
}

/**
 * Output a provider bills beside a message's or a delta's `content`, for a local count: reasoning
 * (DeepSeek's `reasoning_content`, OpenRouter's and Groq's `reasoning`), refusals and tool calls'
 * arguments — as the chat route counts them (gateway/streamed-answer.ts billedText). Without it a
 * relayed reasoning stream the client left before its usage, or that carried none, was billed as
 * if the reasoning had been free (item 200).
 */
function billedBesideContent(message: Json): string {
  let text = '';
  for (const field of BILLED_BESIDE_CONTENT) if (typeof message[field] === 'string') text += message[field];
  if (Array.isArray(message.tool_calls)) {
    for (const call of message.tool_calls as unknown[]) if (isJsonObject(call) && isJsonObject(call.function) && typeof call.function.arguments === 'string') text += call.function.arguments;
  }
  return text;
}

/**
 * A stream relayed from an OpenAI-format endpoint, passed on exactly as it came (`event:` and
 * `data:` lines, the upstream's own `data: [DONE]`): Responses events (the built-in tools relay,
 * or `/openai/v1/responses`) are read by ResponsesNativeStreamTransform; chat and text completion
 * chunks (`/openai/v1/chat/completions`, `/openai/v1/completions`) give their text (for a local
 * count when the stream carries no usage) and the `usage` of the chunk that reports it (the client's
 * `stream_options.include_usage`); an `{"error": …}` chunk is the upstream's failure, raised.
 */
export class OpenAIRelayStreamTransform implements ChatStreamTransform {
  private readonly responses: ResponsesNativeStreamTransform;
  private chatUsage: Usage | undefined;
  private chatError: GatewayError | undefined;
  private readonly created = Math.floor(Date.now() / 1000);

  constructor(private readonly target: Deployment) {
    this.responses = new ResponsesNativeStreamTransform(target);
  }

  get usage(): Usage | undefined {
    return this.chatUsage ?? this.responses.usage;
  }

  get error(): GatewayError | undefined {
    return this.chatError ?? this.responses.error;
  }

  get units(): MediaUnits | undefined {
    return this.responses.units;
  }

  push(data: string, event?: string): EmittedChunk[] {
    const raw = `${event ? `event: ${event}\n` : ''}data: ${data}\n\n`;
    if (data.trim() === '[DONE]') return [{ chunk: this.chunk(''), raw, usageFree: true }];
    let parsed: unknown;
    try {
      parsed = JSON.parse(data);
    } catch {
      return this.responses.push(data, event);
    }
    if (!isJsonObject(parsed) || (!Array.isArray(parsed.choices) && !isJsonObject(parsed.error) && !(isJsonObject(parsed.usage) && parsed.type === undefined))) return this.responses.push(data, event);
    if (isJsonObject(parsed.error)) {
      const message = typeof parsed.error.message === 'string' ? parsed.error.message : 'the upstream reported an error';
      this.chatError = new GatewayError('upstream_error', `${this.target.provider} stream error: ${redactUpstreamMessage(message, deploymentSecrets(this.target))}`, { provider: this.target.provider });
      return [];
    }
    const usage = usageFromOpenAI(parsed.usage, parsed.service_tier);
    if (usage) this.chatUsage = usage;
    let text = '';
    for (const choice of Array.isArray(parsed.choices) ? (parsed.choices as unknown[]) : []) {
      if (!isJsonObject(choice)) continue;
      if (typeof choice.text === 'string') text += choice.text;
      const delta = isJsonObject(choice.delta) ? choice.delta : undefined;
      if (typeof delta?.content === 'string') text += delta.content;
      if (delta) text += billedBesideContent(delta);
    }
    // The usage-only chunk (`choices: []`) keeps its empty choices, so that the relay's encoder can
    // hide the chunk the gateway asked for from a client that did not (buildRequest).
    const usageOnly = usage !== undefined && Array.isArray(parsed.choices) && parsed.choices.length === 0;
    return [{ chunk: usageOnly ? { ...this.chunk(''), choices: [] } : this.chunk(text), raw, usageFree: usage === undefined }];
  }

  end(): EmittedChunk[] {
    return this.responses.end();
  }

  private chunk(text: string): ChatChunk {
    return { id: '', object: 'chat.completion.chunk', created: this.created, model: this.target.upstreamModel, choices: [{ index: 0, delta: { content: text }, finish_reason: null }] };
  }
}

export const openAINative: NativeProvider = {
  label: 'OpenAI-compatible',
  serves,
  buildRequest,
  usageOf,
  textOf,
  answerOf: (call, body, target) => (isGoogleProvider(target.provider) ? googleMediaAnswer(call, body, target) : providerSpec(target.provider)?.format === 'cohere' ? cohereRerankAnswer(call, body) : undefined),
  bytesOf: (call, body, target) => (isGoogleProvider(target.provider) ? googleMediaBytes(call, body, target) : undefined),
  // Streams: `responses` (built-in tools) and what `/openai/v1/*` relays; the media endpoints refuse `stream`.
  createStreamTransform: (target) => new OpenAIRelayStreamTransform(target),
};


/**
 * OpenAI's `/v1/responses` with built-in tools (web_search, file_search, code_interpreter, …): these
 * run on OpenAI's (and Azure OpenAI's) servers only, so OpenAI-compatible servers are not asked.
 */
export const openAIResponsesNative: NativeProvider = {
  ...openAINative,
  label: 'OpenAI or Azure OpenAI',
  serves: (provider) => provider === 'openai' || provider === 'azure',
};
