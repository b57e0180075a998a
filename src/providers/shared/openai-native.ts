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
 * `meta.billed_units.search_units`, else one per query).
 *
 * `responses` carries Responses requests with built-in tools (web_search, file_search, …), which
 * only OpenAI's servers run: JSON or a stream of Responses events, relayed as received, with usage
 * from the Response's `usage` (openai-responses-native.ts).
 */
import { randomBytes } from 'node:crypto';
import { Readable } from 'node:stream';
import type { NativeCall, NativeProvider, Upload } from '../native.js';
import { providerSpec } from '../specs.js';
import type { Deployment, MediaUnits, UpstreamRequest, Usage } from '../types.js';
import { ResponsesNativeStreamTransform, responsesText, usageFromResponses } from './openai-responses-native.js';
import { usageFromOpenAI } from './usage.js';
import { GatewayError } from '../../errors.js';
import { buildGoogleMediaRequest, googleMediaAnswer, googleMediaBytes, googleMediaUsage, googleServesMethod, isGoogleProvider } from './google-media.js';

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

function serves(provider: string, method?: string): boolean {
  const format = providerSpec(provider)?.format;
  if (format === 'openai' || format === 'azure') return true;
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

function headersFor(target: Deployment, stream = false): Record<string, string> {
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: stream ? 'text/event-stream' : 'application/json' };
  if (target.apiKey) {
    if (target.provider === 'azure') headers['api-key'] = target.apiKey;
    else headers.authorization = `Bearer ${target.apiKey}`;
  }
  return Object.assign(headers, target.headers);
}

/** A form field's or file name's value inside a quoted header parameter. */
function quoted(value: string): string {
  return value.replace(/[\r\n"\\]/g, (character) => encodeURIComponent(character));
}

/**
 * The upload as multipart/form-data: the client's fields (the deployment's model in `model`), then
 * each file's chunks as they were received — streamed, never concatenated.
 */
function multipartRequest(call: NativeCall, upload: Upload, target: Deployment): UpstreamRequest {
  const boundary = `----switchboard${randomBytes(12).toString('hex')}`;
  const fields = { ...call.body, model: target.upstreamModel };
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
  return { url: urlOf(target, call.method), method: 'POST', headers, bodyStream: () => Readable.from([...parts.flat(), tailBytes]), framing: 'json' };
}

function buildRequest(call: NativeCall, target: Deployment): UpstreamRequest {
  if (isGoogleProvider(target.provider)) return buildGoogleMediaRequest(call, target);
  if (call.upload) return multipartRequest(call, call.upload, target);
  const body: Json = { ...call.body, model: target.upstreamModel };
  // A routing rule or power level may cap a Response's output below what the client asked for.
  if (call.method === 'responses' && call.maxTokens !== undefined && !(typeof body.max_output_tokens === 'number' && body.max_output_tokens <= call.maxTokens)) body.max_output_tokens = call.maxTokens;
  return { url: urlOf(target, call.method), method: 'POST', headers: headersFor(target, call.stream), body: JSON.stringify(body), framing: 'sse' };
}

/** `<quality>/<size>` as dall-e prices images; dall-e-3's default quality is "standard", its default size 1024x1024. */
export function imageVariant(body: Json): string {
  const quality = typeof body.quality === 'string' && body.quality !== 'auto' ? body.quality : 'standard';
  const size = typeof body.size === 'string' && body.size !== 'auto' ? body.size : '1024x1024';
  return `${quality}/${size}`;
}

/** gpt-image-1 reports tokens as the Responses API does (`input_tokens`, `output_tokens`). */
function tokenUsage(raw: unknown): Usage | undefined {
  if (!isObject(raw)) return undefined;
  if (typeof raw.input_tokens === 'number' || typeof raw.output_tokens === 'number') {
    const promptTokens = typeof raw.input_tokens === 'number' ? raw.input_tokens : 0;
    const completionTokens = typeof raw.output_tokens === 'number' ? raw.output_tokens : 0;
    return { promptTokens, completionTokens, totalTokens: promptTokens + completionTokens };
  }
  return usageFromOpenAI(raw);
}

/** Characters of a moderation or speech input: strings, and the text parts of multi-modal input. */
export function inputCharacters(input: unknown): number {
  if (typeof input === 'string') return [...input].length;
  if (Array.isArray(input)) return input.reduce<number>((sum, item) => sum + (typeof item === 'string' ? [...item].length : isObject(item) && typeof item.text === 'string' ? [...item.text].length : 0), 0);
  return 0;
}

function withUnits(units: MediaUnits): Usage {
  return { promptTokens: 0, completionTokens: 0, totalTokens: 0, units };
}

function usageOf(call: NativeCall, body: unknown, target?: Deployment): Usage | undefined {
  if (target && isGoogleProvider(target.provider) && call.method === 'images/generations') return googleMediaUsage(call, body);
  if (!isObject(body)) return undefined;
  const tokens = tokenUsage(body.usage);
  switch (call.method) {
    case 'images/generations':
    case 'images/edits': {
      if (tokens) return tokens;
      const images = Array.isArray(body.data) ? body.data.length : 0;
      return withUnits({ images, imageVariant: imageVariant(call.body) });
    }
    case 'moderations':
      return withUnits({ inputCharacters: inputCharacters(call.body.input) });
    case 'audio/transcriptions': {
      // Seconds of audio: the answer's `usage` (type "duration") or `duration` (verbose_json), else the file's own (WAV).
      const usage = isObject(body.usage) ? body.usage : undefined;
      const reported = usage?.type === 'duration' && typeof usage.seconds === 'number' ? usage.seconds : typeof body.duration === 'number' ? body.duration : undefined;
      const seconds = reported ?? call.upload?.seconds;
      if (seconds !== undefined) return withUnits({ inputSeconds: seconds });
      return tokens;
    }
    case 'responses':
      return usageFromResponses(body.usage);
    case 'rerank': {
      const billed = isObject(body.meta) && isObject(body.meta.billed_units) ? body.meta.billed_units.search_units : undefined;
      return withUnits({ queries: typeof billed === 'number' && billed >= 0 ? billed : 1 });
    }
    default:
      return tokens;
  }
}

/** Text the model produced, for a local count when the answer reports no usage (chat-like bodies only). */
function textOf(body: unknown): string {
  if (isObject(body) && body.object === 'response') return responsesText(body);
  if (!isObject(body) || !Array.isArray(body.choices)) return '';
  let text = '';
  for (const choice of body.choices as Json[]) {
    const message = isObject(choice?.message) ? choice.message : undefined;
    if (typeof message?.content === 'string') text += message.content;
    if (typeof choice?.text === 'string') text += choice.text;
  }
  return text;
}

export const openAINative: NativeProvider = {
  label: 'OpenAI-compatible',
  serves,
  buildRequest,
  usageOf,
  textOf,
  answerOf: (call, body, target) => (isGoogleProvider(target.provider) ? googleMediaAnswer(call, body, target) : undefined),
  bytesOf: (call, body, target) => (isGoogleProvider(target.provider) ? googleMediaBytes(call, body, target) : undefined),
  // Of the relayed OpenAI-format endpoints only `responses` (built-in tools) is ever asked for a stream.
  createStreamTransform: (target) => new ResponsesNativeStreamTransform(target),
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
