/**
 * The Gemini API relayed as is (`/gemini/v1beta/models/{model}:{method}`): the client's body goes
 * to the deployment's `models/{upstream model}:{method}` with the deployment's key, the model named
 * inside embedding and counting requests rewritten to the deployment's (Google refuses a request
 * whose inner `model` differs from the URL's), and streams asked for as SSE (`alt=sse`) whatever
 * form the client wants: the route writes the events in the client's form.
 *
 * Vertex AI deployments of Google's Gemini models (`vertex_ai/gemini-…`) serve generateContent and
 * its stream too: the same GenerateContent messages at the publisher model's URL, with the
 * deployment's access token, and countTokens (Vertex's own); Vertex's text embedding models
 * (`vertex_ai/text-embedding-005`, `gemini-embedding-001`, …) serve embedContent and
 * batchEmbedContents through `:predict` (vertex/gemini-native.ts).
 *
 * Usage: generateContent answers carry `usageMetadata` (a stream: on its last events); embedding
 * answers carry no token counts, so those calls are billed on the gateway's local count of the input,
 * as on /v1/embeddings (Vertex's predictions do carry counts: there they are read);
 * countTokens is free (Google does not bill it).
 */
import { isJsonObject } from '../../json-object.js';
import { GatewayError } from '../../errors.js';
import { deploymentSecrets, redactUpstreamMessage } from '../../security/redact.js';
import type { NativeCall, NativeProvider } from '../native.js';
import { parseStreamJson } from '../shared/stream-json.js';
import type { ChatChunk, ChatStreamTransform, Deployment, EmittedChunk, MediaUnits, UpstreamRequest, Usage } from '../types.js';
import { googleError, streamError } from './errors.js';
import { withOutputCap } from './generation-config.js';
import { geminiHeaders, methodUrl, modelResource } from './request.js';
import { candidatesOf, laterStreamUsage, usageFromGemini, writesOutput } from './response.js';
import type { GeminiGenerateContentResponse } from './wire.js';
import { vertexRequest } from '../vertex/request.js';
import { isVertexEmbeddingModel, vertexPublisher } from '../vertex/settings.js';
import { vertexMethodUrl } from '../vertex/urls.js';
import { isVertexEmbedMethod, vertexEmbedAnswer, vertexEmbedUsage, vertexGeminiNativeRequest } from '../vertex/gemini-native.js';

type Json = Record<string, unknown>;

/** A copy of `request` naming the deployment's model where it named one. */
function withModel(request: unknown, model: string): unknown {
  return isJsonObject(request) && 'model' in request ? { ...request, model } : request;
}

function bodyFor(call: NativeCall, target: Deployment): Json {
  const model = modelResource(target.upstreamModel);
  const { body } = call;
  switch (call.method) {
    case 'batchEmbedContents':
      return Array.isArray(body.requests) ? { ...body, requests: body.requests.map((request) => withModel(request, model)) } : body;
    case 'embedContent':
      return withModel(body, model) as Json;
    case 'countTokens':
      return isJsonObject(body.generateContentRequest) ? { ...body, generateContentRequest: withModel(body.generateContentRequest, model) } : body;
    default:
      return withOutputCap(body, call.maxTokens);
  }
}

/** Vertex AI relays generateContent (and its stream) of Google's own models: the same messages, at the publisher model's URL. */
function isVertexProvider(provider: string): boolean {
  return provider === 'vertex_ai' || provider === 'vertex_ai_beta';
}

function serves(provider: string, method?: string, upstreamModel?: string): boolean {
  if (provider === 'gemini') return true;
  if (!isVertexProvider(provider) || method === undefined || upstreamModel === undefined || vertexPublisher(upstreamModel) !== 'google') return false;
  if (isVertexEmbedMethod(method)) return isVertexEmbeddingModel(upstreamModel);
  return (method === 'generateContent' || method === 'countTokens') && !/^(imagen-|imagegeneration@)/i.test(upstreamModel) && !isVertexEmbeddingModel(upstreamModel);
}

function buildRequest(call: NativeCall, target: Deployment): UpstreamRequest {
  const method = call.stream ? 'streamGenerateContent' : call.method;
  const vertexOwn = isVertexProvider(target.provider) ? vertexGeminiNativeRequest(call, target) : undefined;
  if (vertexOwn) return vertexOwn;
  if (isVertexProvider(target.provider)) return vertexRequest(target, vertexMethodUrl(target, 'google', method, call.stream ? '?alt=sse' : ''), bodyFor(call, target), 'sse');
  return {
    url: methodUrl(target, method, call.stream ? '?alt=sse' : ''),
    method: 'POST',
    headers: geminiHeaders(target),
    body: JSON.stringify(bodyFor(call, target)),
    framing: 'sse',
  };
}

const FREE: Usage = { promptTokens: 0, completionTokens: 0, totalTokens: 0 };

function usageOf({ method }: NativeCall, body: unknown, target?: Deployment): Usage | undefined {
  if (method === 'countTokens') return { ...FREE };
  if (target && isVertexProvider(target.provider) && isVertexEmbedMethod(method)) return vertexEmbedUsage(body);
  if (method === 'embedContent' || method === 'batchEmbedContents') return undefined;
  if (!isJsonObject(body)) return undefined;
  const grounded = isGrounded(body);
  return withGrounding(usageFromGemini((body as GeminiGenerateContentResponse).usageMetadata, writesOutput(candidatesOf(body as GeminiGenerateContentResponse))), grounded, grounded ? searchQueriesOf(body, new Set()).size : 0);
}

/** Whether an answer was grounded with Google Search: a candidate carries `groundingMetadata` (Google bills the prompt). */
function isGrounded(body: unknown): boolean {
  return isJsonObject(body) && candidatesOf(body as GeminiGenerateContentResponse).some((candidate) => isJsonObject((candidate as { groundingMetadata?: unknown }).groundingMetadata));
}

/**
 * The search queries a grounded answer ran, added to `into`: Gemini 3 bills each distinct non-empty
 * one of `groundingMetadata.webSearchQueries` (empty ones and repeats are not billed).
 */
function searchQueriesOf(body: unknown, into: Set<string>): Set<string> {
  for (const candidate of candidatesOf(body as GeminiGenerateContentResponse)) {
    const metadata = (candidate as { groundingMetadata?: unknown }).groundingMetadata;
    const queries: unknown = isJsonObject(metadata) ? metadata.webSearchQueries : undefined;
    if (!Array.isArray(queries)) continue;
    for (const query of queries as unknown[]) if (typeof query === 'string' && query.trim() !== '') into.add(query);
  }
  return into;
}

/** One grounded prompt (Gemini 2.x bills per prompt) and its search queries (Gemini 3 bills per query): billing/media-pricing.ts. */
function groundingUnits(queries: number): MediaUnits {
  return queries > 0 ? { groundedPrompts: 1, webSearches: queries } : { groundedPrompts: 1 };
}

function withGrounding(usage: Usage | undefined, grounded: boolean, queries: number): Usage | undefined {
  return usage && grounded ? { ...usage, units: groundingUnits(queries) } : usage;
}

/** Text and function calls of every candidate (thoughts included: they are billed as output). */
function textOf(body: unknown): string {
  if (!isJsonObject(body)) return '';
  let text = '';
  // An upstream's candidates and parts may hold anything: only objects are read.
  for (const candidate of candidatesOf(body as GeminiGenerateContentResponse)) {
    const content: unknown = candidate.content;
    const parts: unknown = isJsonObject(content) ? content.parts : undefined;
    for (const part of Array.isArray(parts) ? (parts as unknown[]) : []) {
      if (!isJsonObject(part)) continue;
      if (typeof part.text === 'string') text += part.text;
      if (isJsonObject(part.functionCall)) text += JSON.stringify(part.functionCall);
    }
  }
  return text;
}

/**
 * Each event goes out unchanged (`raw`); the chunk beside it carries the event's text so that the
 * relay can count it when the stream ends without usage. Usage is the last usageMetadata seen.
 */
class GeminiNativeStreamTransform implements ChatStreamTransform {
  private lastUsage: Usage | undefined;
  /** Whether an event carried groundingMetadata (the last one, usually): the prompt is billed as grounded. */
  private grounded = false;
  error: GatewayError | undefined;

  /** The distinct search queries the stream's grounding reported (allocated on the first grounded event). */
  private queries: Set<string> | undefined;

  get usage(): Usage | undefined {
    return withGrounding(this.lastUsage, this.grounded, this.queries?.size ?? 0);
  }

  get units(): MediaUnits | undefined {
    return this.grounded ? groundingUnits(this.queries?.size ?? 0) : undefined;
  }
  private readonly created = Math.floor(Date.now() / 1000);

  constructor(private readonly target: Deployment) {}

  push(data: string): EmittedChunk[] {
    const read = parseStreamJson(data, this.target);
    if ('error' in read) {
      this.error = read.error;
      return [];
    }
    const parsed = read.value;
    const error = googleError(parsed);
    if (error) {
      this.error = streamError(error, this.target.provider, deploymentSecrets(this.target));
      return [];
    }
    if (!isJsonObject(parsed)) {
      this.error = new GatewayError('upstream_invalid_response', `${this.target.provider} sent a stream event that is not a GenerateContentResponse: ${redactUpstreamMessage(data, deploymentSecrets(this.target), 200)}`, { provider: this.target.provider });
      return [];
    }
    const usage = usageFromGemini((parsed as GeminiGenerateContentResponse).usageMetadata);
    if (usage) this.lastUsage = laterStreamUsage(this.lastUsage, usage);
    if (isGrounded(parsed)) {
      this.grounded = true;
      this.queries = searchQueriesOf(parsed, this.queries ?? new Set());
    }
    const chunk: ChatChunk = {
      id: '',
      object: 'chat.completion.chunk',
      created: this.created,
      model: this.target.upstreamModel,
      choices: [{ index: 0, delta: { content: textOf(parsed) }, finish_reason: null }],
    };
    return [{ chunk, raw: data, usageFree: true }];
  }

  end(): EmittedChunk[] {
    return [];
  }
}

export const geminiNative: NativeProvider = {
  label: 'gemini',
  serves,
  buildRequest,
  usageOf,
  textOf,
  answerOf: (call, body, target) => (isVertexProvider(target.provider) && isVertexEmbedMethod(call.method) ? vertexEmbedAnswer(call, body, target) : undefined),
  createStreamTransform: (target) => new GeminiNativeStreamTransform(target),
};
