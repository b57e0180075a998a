/**
 * The Gemini API, served natively under `/gemini` so that Google's SDKs (`@google/genai` with
 * `httpOptions.baseUrl` set to `<gateway>/gemini`) and plain HTTP clients of
 * generativelanguage.googleapis.com work unchanged:
 * `POST /gemini/{v1beta|v1|v1alpha}/models/{model}:{generateContent|streamGenerateContent|countTokens|embedContent|batchEmbedContents}`.
 * `{model}` names a model group of the gateway; the call takes the whole request path (key
 * allow-lists, limits, budget reservation, routing and fallbacks among the group's Gemini
 * deployments, usage record) and is relayed untranslated with the deployment's key and model.
 * The gateway key may come as `x-goog-api-key` (what the SDK sends), `?key=`, or as on every route.
 * Errors leave in Google's envelope `{"error":{"code","message","status"}}`.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { can, requirePermission } from '../../auth/permissions.js';
import { GatewayError } from '../../errors.js';
import type { Endpoint, NativeOperation } from '../../gateway/call-context.js';
import { geminiNativeFormat, type GeminiStreamForm } from '../../gateway/formats/gemini-native.js';
import type { Gateway } from '../../gateway/pipeline.js';
import { generationBounds } from '../../providers/gemini/generation-config.js';
import { assertNoCloudStorageInGeminiBody } from '../../gateway/cloud-storage-references.js';
import { assertNoProviderFilesInBody } from '../../gateway/provider-file-references.js';
import { assertNoGeminiContextCache } from '../../gateway/provider-stored-references.js';
import { geminiServerTools } from '../../gateway/server-tools.js';
import { someJsonObject } from '../../json-object.js';
import { callOf } from '../context.js';
import { renderError } from '../error-handler.js';
import { sendResult } from './openai.js';

const METHODS = {
  generateContent: 'completion',
  streamGenerateContent: 'completion',
  countTokens: 'embeddings',
  embedContent: 'embeddings',
  batchEmbedContents: 'embeddings',
} as const satisfies Record<string, NativeOperation['costKind']>;

type Method = keyof typeof METHODS;

/** Query parameters the Gemini API takes that the gateway understands; any other is refused by name. */
const QUERY_PARAMETERS = new Set(['key', 'alt']);

function isMethod(value: string): value is Method {
  return Object.hasOwn(METHODS, value);
}

/** `models/{model}:{method}` from the path after `/models/`. */
function parseTarget(rest: string): { model: string; method: Method } {
  const colon = rest.lastIndexOf(':');
  const model = colon > 0 ? safeDecode(rest.slice(0, colon)) : '';
  const method = colon > 0 ? rest.slice(colon + 1) : '';
  if (!model || !isMethod(method)) {
    throw new GatewayError('route_not_found', `no Gemini method "${method || rest}": this gateway serves models/{model}:generateContent, :streamGenerateContent, :countTokens, :embedContent and :batchEmbedContents`);
  }
  return { model, method };
}

function safeDecode(text: string): string {
  try {
    return decodeURIComponent(text);
  } catch {
    return text;
  }
}

/** The usage-log endpoint of a Gemini URL, read before authentication (a refused call is recorded under it). */
function endpointOf(url: string): Endpoint | undefined {
  const path = url.split('?')[0];
  const method = path.slice(path.lastIndexOf(':') + 1);
  return isMethod(method) ? `gemini/${method}` : undefined;
}

/**
 * The request's headers with the key Google's clients send (`x-goog-api-key`, or `?key=`) in the
 * place the authenticator reads; a key sent the usual way wins.
 */
export function withGoogleKey(request: FastifyRequest): FastifyRequest['headers'] {
  const { headers } = request;
  if (headers.authorization || headers['x-api-key'] || headers['api-key']) return headers;
  const header = headers['x-goog-api-key'];
  const fromQuery = (request.query as Record<string, unknown> | undefined)?.key;
  const key = typeof header === 'string' && header ? header : typeof fromQuery === 'string' && fromQuery ? fromQuery : undefined;
  return key ? { ...headers, 'x-api-key': key } : headers;
}

function streamForm(query: Record<string, unknown>, method: Method): GeminiStreamForm {
  const alt = query.alt;
  if (alt !== undefined && alt !== 'sse' && alt !== 'json') {
    throw new GatewayError('invalid_request', `alt=${String(alt)} is not supported: this gateway answers JSON, or SSE with alt=sse on streamGenerateContent`, { param: 'alt' });
  }
  if (alt === 'sse' && method !== 'streamGenerateContent') throw new GatewayError('invalid_request', `alt=sse applies to streamGenerateContent only, not ${method}`, { param: 'alt' });
  return alt === 'sse' ? 'sse' : 'array';
}

function checkQuery(query: Record<string, unknown>): void {
  const unknown = Object.keys(query).filter((name) => !QUERY_PARAMETERS.has(name));
  if (unknown.length > 0) {
    throw new GatewayError('invalid_request', `unsupported query parameter${unknown.length > 1 ? 's' : ''} ${unknown.map((name) => `"${name}"`).join(', ')}: the gateway's Gemini routes take only "key" and "alt"`, { param: unknown[0] });
  }
}

/** Keys of a Gemini part that carries media, inline or by reference (both JSON spellings). */
const MEDIA_PART_KEYS = ['inlineData', 'inline_data', 'fileData', 'file_data'] as const;

/**
 * Google bills the images, video, audio and PDFs a multimodal embedding model (gemini-embedding-2)
 * embeds, but an embedContent / batchEmbedContents answer reports no tokens: the call is billed on
 * the gateway's count of its text, where media counts for nothing. So a media part is refused
 * before any upstream call, unless the caller holds llm.manage_providers (an admin key).
 */
function assertTextOnlyEmbedding(body: Record<string, unknown>): void {
  let found: string | undefined;
  someJsonObject(body, (node) => {
    found = MEDIA_PART_KEYS.find((key) => node[key] !== undefined && node[key] !== null);
    return found !== undefined;
  });
  if (found) {
    throw new GatewayError(
      'invalid_request',
      `a "${found}" part (an image, video, audio or document to embed) is billed by Google in tokens its embedding answers never report, so it would be embedded for free: embed text parts, or use a key with the llm.manage_providers permission`,
      { param: found },
    );
  }
}

/**
 * The stages' view of the call: the output cap and candidate count from generationConfig, and
 * thinking unless the request turns it off (Gemini 2.5 models think by default, billed as output).
 */
export function nativeOperation(model: string, method: Method, body: unknown, unbilledTools = false): NativeOperation {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) {
    throw new GatewayError('invalid_request', `the body of ${method} must be a JSON object (a ${method === 'batchEmbedContents' ? 'BatchEmbedContentsRequest' : method === 'embedContent' ? 'EmbedContentRequest' : method === 'countTokens' ? 'CountTokensRequest' : 'GenerateContentRequest'})`);
  }
  const native = body as Record<string, unknown>;
  // gs:// URIs are read with the operator's cloud identity (gateway/cloud-storage-references.ts).
  assertNoCloudStorageInGeminiBody(native, unbilledTools);
  // Files API URIs name files of the account the deployment's key shares with every key (gateway/provider-file-references.ts).
  assertNoProviderFilesInBody(native, unbilledTools);
  // So do context caches (gateway/provider-stored-references.ts).
  assertNoGeminiContextCache(native, unbilledTools);
  const costKind = METHODS[method];
  if ((method === 'embedContent' || method === 'batchEmbedContents') && !unbilledTools) assertTextOnlyEmbedding(native);
  const request: NativeOperation['request'] = { model, stream: method === 'streamGenerateContent', native };
  if (costKind === 'completion') {
    // Grounding is billed per grounded prompt; tools the gateway cannot price are refused (gateway/server-tools.ts).
    const tools = geminiServerTools(native, unbilledTools);
    if (tools.units) request.units = tools.units;
    if (tools.unitsBound) request.unitsBound = tools.unitsBound;
    if (tools.serverTools) request.serverTools = tools.serverTools;
    // Read as Google reads them: proto names (`generation_config.candidate_count`) and numeric strings too.
    const bounds = generationBounds(native);
    if (bounds.maxOutputTokens !== undefined) request.max_tokens = bounds.maxOutputTokens;
    if (bounds.candidateCount !== undefined) request.n = bounds.candidateCount;
    if (bounds.thinking) request.thinking = {};
  }
  return { kind: 'native', api: 'gemini', method: method === 'streamGenerateContent' ? 'generateContent' : method, costKind, request };
}

export function registerGeminiRoutes(app: FastifyInstance, deps: { gateway: Gateway }): void {
  const { gateway } = deps;
  app.post(
    '/gemini/:version/models/*',
    {
      config: { endpoint: 'gemini/generateContent', endpointOf, errorFormat: 'gemini', googleKey: true },
      preHandler: requirePermission('llm.execute'),
    },
    async (request, reply) => {
      const { version } = request.params as { version: string };
      if (version !== 'v1beta' && version !== 'v1' && version !== 'v1alpha') {
        throw new GatewayError('route_not_found', `no Gemini API version "${version}": use /gemini/v1beta (or v1, v1alpha)`);
      }
      const { model, method } = parseTarget((request.params as { '*': string })['*']);
      const query = (request.query ?? {}) as Record<string, unknown>;
      checkQuery(query);
      const form = streamForm(query, method);
      const result = await gateway.native(callOf(request), nativeOperation(model, method, request.body, can(request, 'llm.manage_providers')), geminiNativeFormat(form, (error) => renderError(error, 'gemini')));
      if (result.kind === 'json') result.headers['content-type'] = 'application/json; charset=UTF-8';
      return sendResult(reply, result);
    },
  );
}
