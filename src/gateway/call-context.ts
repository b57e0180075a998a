/**
 * The vocabulary of one gateway call, shared by the HTTP layer, auth, the platform layer and the
 * request path: who calls and on which endpoint, what they asked for, and what the gateway answers.
 * It imports nothing from the request path itself, so any module may depend on it.
 */
import type { ServerResponse } from 'node:http';
import type { Caller } from '../auth/caller.js';
import type { PowerLevel } from '../platform/power-level-names.js';
import type { Upload } from '../providers/native.js';
import type { ChatRequest, CompletionRequest, EmbeddingsRequest, MediaUnits } from '../providers/types.js';
import type { ClientConnection } from './client-connection.js';

export type { Caller } from '../auth/caller.js';

/**
 * The prompt of an attempt that timed out after the upstream read it, or the whole of an answer the
 * gateway could not read (unreadableAnswerOf): billed by the provider whose key it ran on.
 */
export interface UnansweredRead {
  promptTokens: number;
  /** The output of an answer that came but could not be read; absent for a timed-out read. */
  completionTokens?: number;
  costMicros: number | undefined;
  /** Read on the user's own key (BYOK): their provider bills it, so it costs no credits and no spend. */
  byok: boolean;
  /** The power level that attempt is charged at (its deployment's). */
  level: PowerLevel | undefined;
}

export type Endpoint =
  | 'chat/completions'
  | 'completions'
  | 'embeddings'
  | 'messages'
  | 'responses'
  | 'gemini/generateContent'
  | 'gemini/streamGenerateContent'
  | 'gemini/countTokens'
  | 'gemini/embedContent'
  | 'gemini/batchEmbedContents'
  | 'anthropic/messages'
  | 'anthropic/count_tokens'
  | 'images/generations'
  | 'images/edits'
  | 'moderations'
  | 'rerank'
  | 'openai/passthrough'
  | 'pass_through'
  | 'audio/speech'
  | 'audio/transcriptions';

/**
 * Every field of T, optional ones included (as undefined): the type of the literals that create a
 * call and its context, so that a field added to either cannot be left out of them (one shape per
 * object on the request path: bench/README.md, "Every call has one shape").
 */
export type EveryField<T> = { [K in keyof Required<T>]: T[K] | undefined };

/** What the HTTP layer knows about a call before the request path runs. */
export interface CallContext {
  callId: string;
  /** performance.now() when the request arrived. */
  startedAt: number;
  startedAtEpochMs: number;
  endpoint: Endpoint;
  caller: Caller;
  /** Tells when the client goes away before the response is complete. */
  client: ClientConnection;
  /** Set once the call's usage record is queued, so that no call is recorded twice. */
  recorded: boolean;
  /**
   * Attempts that timed out after the upstream had read the whole request, before an answer: the
   * provider bills their prompts, so the call's record charges them (stages/settle.ts, record.ts),
   * also when a retry then answers.
   */
  unansweredReads?: UnansweredRead[];
  /** The X-Power-Level header, as sent (the platform layer parses it). */
  requestedPowerLevel?: string;
  /** The run of POST /agents/{name}/run this call belongs to (its execution id), set by that route. */
  agentExecution?: string;
  /** The x-switchboard-task header, as sent (routing rules match on it). */
  requestedTask?: string;
  /** The end user the call is made for (the body's `user`, or an end-user header), bounded. */
  endUser?: string;
  /** The request's tags (body `tags`, `metadata.tags`, `x-litellm-tags`), bounded. */
  requestTags?: string[];
  /** The client's address as the gateway saw it. */
  requesterIp?: string;
  /** The client's W3C `traceparent` header, continued by the otel callback's request span. */
  traceparent?: string;
  /** The otel callback's own state of this call (its request span's ids: otel.ts), once an attempt or the record needed it. */
  trace?: unknown;
  /** The request's `metadata` object (LiteLLM's), kept on the usage row; never sent upstream. */
  requestMetadata?: Record<string, unknown>;
  /** The per-request options read off the body and headers (gateway/request-options.ts). */
  requestOptions?: RequestOptions;
  /** What each guardrail that ran did (stages/guardrails-pre.ts, guardrails-post.ts), kept on the usage row's metadata. */
  guardrails?: GuardrailOutcome[];
  /**
   * Masks the prompt's logged copy only (the usage row, the callbacks): set when a during_call PII
   * guardrail refused the call (guardrails/during-call.ts). The upstream already had the prompt; the
   * logs do not keep the values it was refused for.
   */
  logMasking?: (text: string) => string;
}

/** What one guardrail did on a call, kept on its usage row and in x-switchboard-guardrails. */
export interface GuardrailOutcome {
  name: string;
  stage: 'pre_call' | 'during_call' | 'post_call';
  action: 'passed' | 'masked' | 'modified' | 'blocked' | 'restored';
  /** Entity types masked (PII), or the reason of a block. */
  detail?: string;
  /** On `masked`: how many values were replaced by placeholders. */
  count?: number;
}

/** LiteLLM's per-request controls, read once at the edge and never sent upstream. */
export interface RequestOptions {
  /** `num_retries` (or x-litellm-num-retries): retries of this call, in place of the router's. */
  numRetries?: number;
  /** `timeout` (or x-litellm-timeout), in ms: the upstream timeout of this call's attempts. */
  timeoutMs?: number;
  /** `mock_response`: answered locally with this text, no upstream call, cost 0. */
  mockResponse?: string;
  /** `guardrails` (or `metadata.guardrails`): guardrails this call asks for beyond the default-on ones. */
  guardrails?: string[];
  /** Things the gateway did to the request that the client should know of (x-switchboard-warnings). */
  warnings?: string[];
}

/**
 * A provider-native API the gateway relays (`/gemini/...`, `/anthropic/...`), its body untranslated;
 * `openai-responses` is OpenAI's own `/v1/responses` (built-in tools), served by OpenAI and Azure only.
 */
export type NativeApi = 'gemini' | 'anthropic' | 'openai' | 'openai-responses' | 'openai-rest';

/**
 * The stages' view of a native call: the model group, whether it streams, and the limits read from
 * the native body in the canonical names the bounds use (`max_tokens`, `n`, `thinking`); the
 * native body itself travels in `native`, counted whole as prompt input by the cost bounds.
 */
export interface NativeRequest {
  model: string;
  stream?: boolean;
  max_tokens?: number;
  n?: number;
  /** Set when the model may think (billed as output beyond max_tokens on some models). */
  thinking?: Record<string, unknown>;
  /** The most media units (images, characters, searches) the call can bill: reserved, and the bound on what is billed. */
  units?: MediaUnits;
  /**
   * Where a provider enforces no maximum the reservation could hold (Gemini 3's search queries): the
   * most of each unit billed when the answer reports more than `units` reserved (billing/usage-bounds.ts
   * boundUnits). Absent: `units` is the bound.
   */
  unitsBound?: MediaUnits;
  /**
   * Server-side tools the provider runs for this call (`tools[0] "web_search_20250305"`): their
   * results reach the model as input the request does not carry (billing/usage-bounds.ts).
   */
  serverTools?: string[];
  native: Record<string, unknown>;
}

/**
 * A provider-native call: `method` is the provider's (`generateContent`, ...), `costKind` how the
 * bounds treat it (a generation, or embeddings and counting that produce no output tokens).
 */
export interface NativeOperation {
  kind: 'native';
  api: NativeApi;
  method: string;
  costKind: 'completion' | 'embeddings';
  request: NativeRequest;
  /** Client headers the provider's API reads (`anthropic-beta`, ...), forwarded; the deployment's own headers win. */
  headers?: Record<string, string>;
  /** The answer is bytes (audio), streamed to the client as they arrive; billed by `request.units`. */
  bytes?: boolean;
  /** A multipart call's file (audio to transcribe); `request.native` holds the other form fields. */
  upload?: Upload;
  /** Every file of a multipart call that sends several (images to edit and their mask), `upload` first. */
  uploads?: Upload[];
  /** The HTTP method sent upstream when it is not POST (`/openai/v1/*` GET and DELETE). */
  httpMethod?: 'GET' | 'DELETE';
  /** The client's query string (`?…`), forwarded (`/openai/v1/*` GET and DELETE). */
  query?: string;
}

/** The operation a call asks for, with its (validated) request body. */
export type Operation =
  | { kind: 'chat'; request: ChatRequest }
  | { kind: 'completion'; request: CompletionRequest }
  | { kind: 'embeddings'; request: EmbeddingsRequest }
  | NativeOperation;

export type OperationKind = Operation['kind'];

export type GatewayResult =
  | { kind: 'json'; status: number; headers: Record<string, string>; body: string }
  | { kind: 'stream'; headers: Record<string, string>; pump(response: ServerResponse): Promise<void> };
