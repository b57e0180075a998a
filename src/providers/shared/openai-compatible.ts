/**
 * The adapter for every provider that speaks OpenAI's API (OpenAI, Groq, Together, Fireworks,
 * DeepInfra, OpenRouter, vLLM, LM Studio, Mistral, DeepSeek, xAI, Perplexity, HuggingFace) and, with
 * its own URL and header, Azure OpenAI and Azure AI inference endpoints (azure-ai.ts). Requests pass through with every field the client sent.
 */
import { GatewayError } from '../../errors.js';
import type {
  ChatChunk,
  ChatRequest,
  ChatResponse,
  ChatStreamTransform,
  CompletionRequest,
  Deployment,
  EmbeddingsRequest,
  EmbeddingsResponse,
  EmittedChunk,
  JsonObject,
  ProviderAdapter,
  UpstreamRequest,
  Usage,
} from '../types.js';
import { providerSpec } from '../specs.js';
import { errorEnvelopeFailure, parseHttpError } from './errors.js';
import { chatChunkInShape, chatResponseInShape, parsedChatChunk } from './chunk-shape.js';
import { parseStreamJson } from './stream-json.js';
import { openAIChunkNeedsParsing, openAIForwardablePrefix } from './chunk-usage.js';
import { serviceTierOf, usageFromOpenAI } from './usage.js';
import { deploymentSecrets, redactUpstreamMessage } from '../../security/redact.js';
import { azureAIUrl, azureAIUsesApiKeyHeader } from './azure-ai.js';

type Endpoint = 'chat/completions' | 'completions' | 'embeddings';

function endpointUrl(target: Deployment, endpoint: Endpoint): string {
  if (target.provider === 'azure') {
    const deployment = encodeURIComponent(target.upstreamModel);
    return `${target.apiBase}/openai/deployments/${deployment}/${endpoint}?api-version=${encodeURIComponent(target.apiVersion ?? '')}`;
  }
  if (target.provider === 'azure_ai') return azureAIUrl(target.apiBase, endpoint, target.apiVersion);
  return `${target.apiBase}/${endpoint}`;
}

function headersFor(target: Deployment): Record<string, string> {
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: 'application/json' };
  // Azure AI's inference API refuses body parameters it does not define (stream_options among
  // them) unless told to pass them to the model, as the other OpenAI-compatible upstreams get them.
  if (target.provider === 'azure_ai') headers['extra-parameters'] = 'pass-through';
  if (target.apiKey) {
    if (target.provider === 'azure' || (target.provider === 'azure_ai' && azureAIUsesApiKeyHeader(target.apiBase))) headers['api-key'] = target.apiKey;
    else headers.authorization = `Bearer ${target.apiKey}`;
  }
  return Object.assign(headers, target.headers);
}

const OUTPUT_LIMITS = ['max_completion_tokens', 'max_tokens'] as const;

function outputLimitOf(fields: Record<string, unknown>): unknown {
  return fields.max_completion_tokens ?? fields.max_tokens ?? undefined;
}

/** Client fields win; deployment defaults (litellm_params max_tokens, temperature, ...) fill gaps. */
function withDefaults<T extends JsonObject>(request: T, target: Deployment): T {
  const body: JsonObject = { ...request };
  for (const [key, value] of Object.entries(target.defaultParams)) {
    if (body[key] === undefined) body[key] = value;
  }
  // Every output limit sent is the one the reservation and the usage bounds read (billing/max-cost.ts):
  // the client's max_completion_tokens, else its max_tokens, else the deployment's. An upstream may
  // honour either name (servers that predate max_completion_tokens read max_tokens only), so a body
  // that carries both — the client's two, or one of its own beside a default — carries that one value in each.
  const limit = outputLimitOf(request) ?? outputLimitOf(target.defaultParams);
  if (limit !== undefined) for (const field of OUTPUT_LIMITS) if (body[field] !== undefined && body[field] !== null) body[field] = limit;
  if (target.provider === 'azure') delete body.model;
  else body.model = target.upstreamModel;
  return body as T;
}

function streamingBody<T extends JsonObject & { stream?: boolean; stream_options?: { include_usage?: boolean } | null }>(body: T, target: Deployment): T {
  // Ask for usage on the final chunk so every stream can be billed; the relay hides that chunk
  // from clients that did not ask for it.
  if (body.stream === true && providerSpec(target.provider)?.supportsStreamUsage) {
    body.stream_options = { ...(body.stream_options ?? {}), include_usage: true };
  }
  return body;
}

function post(url: string, target: Deployment, body: JsonObject): UpstreamRequest {
  return { url, method: 'POST', headers: headersFor(target), body: JSON.stringify(body), framing: 'sse' };
}

function invalidResponse(target: Deployment, what: string): GatewayError {
  return new GatewayError('upstream_invalid_response', `${target.provider} returned ${what}`, { provider: target.provider });
}

/** An item of an embeddings answer's `data`: an object with its vector (a list, or base64 text). */
function isEmbeddingItem(item: unknown): boolean {
  if (typeof item !== 'object' || item === null || Array.isArray(item)) return false;
  const { embedding } = item as { embedding?: unknown };
  return Array.isArray(embedding) || typeof embedding === 'string';
}

export function parseOpenAIChatResponse(body: unknown, target: Deployment): ChatResponse {
  if (typeof body !== 'object' || body === null || !Array.isArray((body as ChatResponse).choices)) {
    throw errorEnvelopeFailure(body, target) ?? invalidResponse(target, 'a chat completion without "choices"');
  }
  return chatResponseInShape(body as Record<string, unknown> & { choices: unknown[] });
}

/** Usage from an OpenAI chunk, including Groq's `x_groq.usage`. */
export function chunkUsage(chunk: ChatChunk): Usage | undefined {
  if (chunk.usage) return usageFromOpenAI(chunk.usage, serviceTierOf(chunk));
  const groq = chunk.x_groq as { usage?: unknown } | undefined;
  return groq?.usage ? usageFromOpenAI(groq.usage) : undefined;
}

/**
 * A pass-through chunk (known to carry no usage) whose object is parsed only if someone reads it.
 * A class, so that the getter lives on the prototype instead of being built per chunk.
 */
class LazyChunk implements EmittedChunk {
  readonly usageFree = true;
  private parsed: ChatChunk | undefined;

  constructor(readonly raw: string) {}

  get chunk(): ChatChunk {
    this.parsed ??= parsedChatChunk(this.raw);
    return this.parsed;
  }
}

export class OpenAIStreamTransform implements ChatStreamTransform {
  usage: Usage | undefined;
  error: GatewayError | undefined;
  unterminated = false;
  private done = false;

  constructor(private readonly target: Deployment) {}

  forwardable(run: string): number {
    return openAIForwardablePrefix(run);
  }

  /**
   * Passes each chunk through as its raw text and parses it only when it may carry usage or an
   * error: most chunks are forwarded without ever being parsed.
   */
  push(data: string): EmittedChunk[] {
    if (data === '[DONE]') {
      this.done = true;
      return [];
    }
    // A multi-line data field (pretty-printed JSON) is parsed and re-serialized: its raw newlines
    // cannot go into one SSE data line.
    const multiLine = data.includes('\n');
    if (!multiLine && !openAIChunkNeedsParsing(data)) return [new LazyChunk(data)];
    const read = parseStreamJson(data, this.target);
    if ('error' in read) {
      this.error = read.error;
      return [];
    }
    const parsed = read.value;
    const record = parsed as Record<string, unknown>;
    if (record.error !== undefined && record.choices === undefined) {
      const info = parseHttpError(500, data, {});
      this.error = new GatewayError('upstream_error', `${this.target.provider} stream error: ${redactUpstreamMessage(info.message, deploymentSecrets(this.target))}`, { provider: this.target.provider });
      return [];
    }
    const chunk = chatChunkInShape(parsed);
    const usage = chunkUsage(chunk);
    if (usage) this.usage = usage;
    return [multiLine ? { chunk } : { chunk, raw: data }];
  }

  end(): EmittedChunk[] {
    // Finish reasons pass through unparsed: whether one came is the relay's to read.
    this.unterminated = !this.done;
    return [];
  }
}

export const openAICompatibleAdapter: ProviderAdapter = {
  id: 'openai-compatible',

  buildChatRequest(request: ChatRequest, target: Deployment): UpstreamRequest {
    return post(endpointUrl(target, 'chat/completions'), target, streamingBody(withDefaults(request, target), target));
  },

  parseChatResponse: parseOpenAIChatResponse,

  createStreamTransform(target: Deployment): ChatStreamTransform {
    return new OpenAIStreamTransform(target);
  },

  parseError: parseHttpError,

  buildCompletionRequest(request: CompletionRequest, target: Deployment): UpstreamRequest {
    return post(endpointUrl(target, 'completions'), target, streamingBody(withDefaults(request, target), target));
  },

  buildEmbeddingsRequest(request: EmbeddingsRequest, target: Deployment): UpstreamRequest {
    const body: JsonObject = { ...request };
    if (target.provider === 'azure') delete body.model;
    else body.model = target.upstreamModel;
    return post(endpointUrl(target, 'embeddings'), target, body);
  },

  parseEmbeddingsResponse(body: unknown, target: Deployment): EmbeddingsResponse {
    if (typeof body !== 'object' || body === null || !Array.isArray((body as EmbeddingsResponse).data)) {
      throw invalidResponse(target, 'an embeddings response without "data"');
    }
    // The answer is relayed as received (its vectors are not read), but each item must be an
    // embedding: the gateway re-encodes float lists for clients that asked for base64.
    if (!(body as EmbeddingsResponse).data.every(isEmbeddingItem)) throw invalidResponse(target, 'an embeddings response whose "data" holds something other than embeddings');
    return body as EmbeddingsResponse;
  },
};
