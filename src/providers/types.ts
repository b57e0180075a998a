/**
 * Canonical types follow the OpenAI wire format, because that is what clients speak. Adapters map
 * between these and a provider's own format; they are pure (no I/O, no HTTP framework types).
 */
import type { GatewayError } from '../errors.js';

export type JsonObject = Record<string, unknown>;

export interface ChatContentPartText {
  type: 'text';
  text: string;
}
export interface ChatContentPartImage {
  type: 'image_url';
  image_url: { url: string; detail?: string };
}
export type ChatContentPart = ChatContentPartText | ChatContentPartImage | (JsonObject & { type: string });

export interface ChatToolCall {
  id: string;
  type: 'function';
  function: { name: string; arguments: string };
}

export interface ChatMessage {
  role: 'system' | 'developer' | 'user' | 'assistant' | 'tool' | 'function';
  content?: string | ChatContentPart[] | null;
  name?: string;
  tool_calls?: ChatToolCall[];
  tool_call_id?: string;
  [extra: string]: unknown;
}

export interface ChatTool {
  type: 'function';
  function: { name: string; description?: string; parameters?: JsonObject; strict?: boolean };
}

/** An OpenAI chat completion request; unknown fields are kept for pass-through. */
export interface ChatRequest {
  model: string;
  messages: ChatMessage[];
  stream?: boolean;
  stream_options?: { include_usage?: boolean } | null;
  max_tokens?: number | null;
  max_completion_tokens?: number | null;
  temperature?: number | null;
  top_p?: number | null;
  n?: number | null;
  stop?: string | string[] | null;
  seed?: number | null;
  tools?: ChatTool[];
  tool_choice?: 'auto' | 'none' | 'required' | { type: 'function'; function: { name: string } };
  parallel_tool_calls?: boolean;
  response_format?: { type: 'text' | 'json_object' | 'json_schema'; json_schema?: JsonObject };
  user?: string;
  [extra: string]: unknown;
}

export interface CompletionRequest {
  model: string;
  prompt: unknown;
  stream?: boolean;
  stream_options?: { include_usage?: boolean } | null;
  [extra: string]: unknown;
}

export interface EmbeddingsRequest {
  model: string;
  input: string | string[] | number[] | number[][];
  encoding_format?: 'float' | 'base64';
  dimensions?: number;
  user?: string;
  [extra: string]: unknown;
}

/**
 * Token usage, normalized. `undefined` means "the upstream did not say", which is not the same as
 * zero: unknown is not free.
 */
export interface Usage {
  promptTokens?: number;
  completionTokens?: number;
  totalTokens?: number;
  /** Prompt tokens served from the provider's cache (a subset of promptTokens). */
  cachedTokens?: number;
  /** Prompt tokens written to the provider's cache (Anthropic cache_creation_input_tokens). */
  cacheCreationTokens?: number;
  /**
   * The part of cacheCreationTokens written with a 1-hour lifetime (Anthropic
   * `cache_creation.ephemeral_1h_input_tokens`), billed at the 1-hour write rate.
   */
  cacheCreation1hTokens?: number;
  /** Prompt tokens that are image input (gpt-image-1 `input_tokens_details.image_tokens`; a subset of promptTokens). */
  imageInputTokens?: number;
  /**
   * Prompt tokens that are audio input, not served from the cache (Gemini `promptTokensDetails`
   * modality AUDIO less `cacheTokensDetails`' AUDIO; OpenAI `prompt_tokens_details.audio_tokens`; a
   * subset of promptTokens), billed at the audio input rate.
   */
  audioInputTokens?: number;
  /**
   * Completion tokens that are generated images (Gemini `candidatesTokensDetails` modality IMAGE; a
   * subset of completionTokens), billed at the image output rate.
   */
  imageOutputTokens?: number;
  /** Completion tokens spent on reasoning (a subset of completionTokens). */
  reasoningTokens?: number;
  /**
   * Tokens of search results the model read, reported beside the prompt (Perplexity's
   * `usage.citation_tokens`; not part of promptTokens), billed at TokenPrices.citationPerToken where
   * the deployment has that rate (sonar-deep-research), else not billed.
   */
  citationTokens?: number;
  /**
   * Reasoning tokens reported beside the completion, not inside it (Perplexity's top-level
   * `usage.reasoning_tokens`: deep research reasons through its search results before it writes),
   * billed at TokenPrices.researchReasoningPerToken where the deployment has that rate, else not billed.
   */
  researchReasoningTokens?: number;
  /**
   * Search queries the model ran by itself (Perplexity's `usage.num_search_queries`). Billed per
   * query only where the model is priced per query (sonar-deep-research: settle moves them to
   * `units.webSearches`); the Sonar models' request fee is one per call whatever this says.
   */
  searchQueries?: number;
  /**
   * The service tier the answer says served it (OpenAI's `service_tier`), kept only when that tier
   * is billed above the standard rates: `priority` (billing/cost.ts bills the priority rates).
   */
  serviceTier?: 'priority';
  /**
   * Where Anthropic says the model ran (`usage.inference_geo`), kept only when billed above the
   * standard rates: `us` (US-only inference, 1.1× every token rate; billing/cost.ts).
   */
  inferenceGeo?: 'us';
  /** True when the gateway counted the tokens itself because the upstream omitted usage. */
  estimated?: boolean;
  /** Billable units other than tokens (images, audio, characters, searches): see MediaUnits. */
  units?: MediaUnits;
}

/**
 * What a media call bills besides tokens. `imageVariant` (`<quality>/<size>`, e.g. `hd/1024x1792`)
 * picks the per-image price where a model's price depends on it (dall-e).
 */
export interface MediaUnits {
  images?: number;
  imageVariant?: string;
  inputImages?: number;
  inputSeconds?: number;
  outputSeconds?: number;
  inputCharacters?: number;
  queries?: number;
  /** Web searches a server-side tool ran (Anthropic `server_tool_use.web_search_requests`, Responses `web_search_call` items). */
  webSearches?: number;
  /** Gemini prompts grounded with Google Search (an answer with `groundingMetadata`): Google bills per grounded prompt. */
  groundedPrompts?: number;
  /** Responses `file_search_call` items: OpenAI bills file search per call. */
  fileSearches?: number;
}

/** The OpenAI `usage` object. */
export interface OpenAIUsage {
  prompt_tokens: number;
  completion_tokens: number;
  total_tokens: number;
  prompt_tokens_details?: { cached_tokens?: number; [extra: string]: unknown } | null;
  completion_tokens_details?: { reasoning_tokens?: number; [extra: string]: unknown } | null;
  [extra: string]: unknown;
}

export interface ChatResponse {
  id: string;
  object: 'chat.completion';
  created: number;
  model: string;
  choices: Array<{
    index: number;
    message: ChatMessage;
    finish_reason: string | null;
    logprobs?: unknown;
    [extra: string]: unknown;
  }>;
  usage?: OpenAIUsage;
  system_fingerprint?: string | null;
  [extra: string]: unknown;
}

/** A streamed delta: every field optional, tool calls in pieces keyed by `index`. */
export interface ChatDelta {
  role?: ChatMessage['role'];
  content?: string | null;
  reasoning_content?: string | null;
  refusal?: string | null;
  tool_calls?: Array<{ index: number; id?: string; type?: 'function'; function?: { name?: string; arguments?: string } }>;
  [extra: string]: unknown;
}

export interface ChatChunk {
  id: string;
  object: 'chat.completion.chunk';
  created: number;
  model: string;
  choices: Array<{
    index: number;
    delta: ChatDelta;
    finish_reason: string | null;
    logprobs?: unknown;
    [extra: string]: unknown;
  }>;
  usage?: OpenAIUsage | null;
  [extra: string]: unknown;
}

export interface EmbeddingsResponse {
  object: 'list';
  data: Array<{ object: 'embedding'; index: number; embedding: number[] | string }>;
  model: string;
  /** Absent when the provider does not report embedding tokens (unknown, not zero). */
  usage?: { prompt_tokens: number; total_tokens: number };
}

/** What a deployment's pricing is, in integer pico-dollars (1e-12 USD) per token. */
export interface TokenPrices {
  inputPerToken: number;
  outputPerToken: number;
  cacheReadPerToken?: number;
  cacheWritePerToken?: number;
  /** Cache writes with a 1-hour lifetime (Anthropic `ttl: "1h"`); absent: the cache write rate. */
  cacheWrite1hPerToken?: number;
  /** Image input tokens (gpt-image-1); absent: the input rate. */
  imageInputPerToken?: number;
  /** Audio input tokens (Gemini 2.x Flash, gpt-4o-audio-preview); absent: the input rate. */
  audioInputPerToken?: number;
  /** Image output tokens (Gemini's image-generating models); absent: the output rate. */
  imageOutputPerToken?: number;
  /** Citation tokens (Usage.citationTokens, Perplexity deep research); absent: not billed. */
  citationPerToken?: number;
  /** Reasoning tokens reported beside the completion (Usage.researchReasoningTokens, Perplexity); absent: not billed. */
  researchReasoningPerToken?: number;
  /** Rates of a call whose prompt is above `aboveTokens` tokens: the whole call is billed at them (billing/cost.ts). */
  longContext?: LongContextPrices;
  /** Rates of an answer served at OpenAI's priority tier (`service_tier: "priority"`); absent: 2× every rate (billing/cost.ts). */
  priority?: PriorityPrices;
}

/** OpenAI's priority processing rates; an absent cache read rate is the priority input rate. */
export interface PriorityPrices {
  inputPerToken: number;
  outputPerToken: number;
  cacheReadPerToken?: number;
}

/** A long-context tier (Gemini 2.5 Pro above 200k prompt tokens); an absent rate is the base one. */
export interface LongContextPrices {
  aboveTokens: number;
  inputPerToken: number;
  outputPerToken: number;
  cacheReadPerToken?: number;
  cacheWritePerToken?: number;
  cacheWrite1hPerToken?: number;
}

/** Pico-dollars per unit of media (MediaUnits); an absent price leaves that unit's cost unknown. */
export interface MediaPrices {
  /** Per generated image, by `<quality>/<size>` variant, with `*` for any other. */
  outputPerImage?: Record<string, number>;
  inputPerImage?: number;
  inputPerSecond?: number;
  outputPerSecond?: number;
  inputPerCharacter?: number;
  inputPerQuery?: number;
  /** Per web search a server-side tool ran (MediaUnits.webSearches). */
  perWebSearch?: number;
  /** Per prompt grounded with Google Search (MediaUnits.groundedPrompts). */
  perGroundedPrompt?: number;
  /** Per file search call (MediaUnits.fileSearches). */
  perFileSearch?: number;
}

export interface ModelInfo {
  id?: string;
  mode?: 'chat' | 'completion' | 'embedding' | string;
  max_tokens?: number;
  max_input_tokens?: number;
  max_output_tokens?: number;
  input_cost_per_token?: number;
  output_cost_per_token?: number;
  cache_read_input_token_cost?: number;
  cache_creation_input_token_cost?: number;
  cache_creation_input_token_cost_above_1hr?: number;
  input_cost_per_image_token?: number;
  input_cost_per_audio_token?: number;
  output_cost_per_image_token?: number;
  input_cost_per_token_above_200k_tokens?: number;
  output_cost_per_token_above_200k_tokens?: number;
  cache_read_input_token_cost_above_200k_tokens?: number;
  cache_creation_input_token_cost_above_200k_tokens?: number;
  input_cost_per_token_above_128k_tokens?: number;
  output_cost_per_token_above_128k_tokens?: number;
  /** The model the deployment runs, for prices (an Azure deployment named "prod-gpt"). */
  base_model?: string;
  supports_vision?: boolean;
  supports_function_calling?: boolean;
  input_cost_per_image?: number;
  output_cost_per_image?: number;
  input_cost_per_second?: number;
  output_cost_per_second?: number;
  input_cost_per_character?: number;
  input_cost_per_query?: number;
  /** USD per web search / grounded prompt: a number, or LiteLLM's object by search context size. */
  search_context_cost_per_query?: number | { search_context_size_low?: number; search_context_size_medium?: number; search_context_size_high?: number };
  /** USD per 1,000 file search calls (Responses `file_search`). */
  file_search_cost_per_1k_calls?: number;
  /** USD per citation token (Perplexity `usage.citation_tokens`; Perplexity deployments only). */
  citation_cost_per_token?: number;
  /** USD per reasoning token reported beside the completion (Perplexity `usage.reasoning_tokens`; Perplexity deployments only). */
  output_cost_per_reasoning_token?: number;
  [extra: string]: unknown;
}

/** One configured upstream target: an entry of `model_list`. */
export interface Deployment {
  /** Stable id: `model_info.id` or a hash of the entry. */
  id: string;
  /** The model group clients name (`model_name`). */
  modelName: string;
  /** Provider id (`openai`, `azure`, `anthropic`, ...). */
  provider: string;
  /** The model name the upstream expects (the part after `provider/`). */
  upstreamModel: string;
  apiBase: string;
  apiKey?: string;
  apiVersion?: string;
  /** Extra headers sent upstream (`litellm_params.extra_headers`). */
  headers: Record<string, string>;
  rpm?: number;
  tpm?: number;
  /** Whole-request timeout, ms. */
  timeoutMs?: number;
  /** False when timeoutMs is only the router's default (no litellm_params.timeout): a run-time router timeout then applies. */
  timeoutFromParams?: boolean;
  /** Time to first byte for streams, ms. */
  streamTimeoutMs?: number;
  /** litellm_params.max_stream_duration, ms: how long a stream may last in all (0: no cap). */
  maxStreamDurationMs?: number;
  weight?: number;
  order?: number;
  /** litellm_params.drop_params: overrides litellm_settings.drop_params for this deployment. */
  dropParams?: boolean;
  /** litellm_params.tags: with router_settings.enable_tag_filtering, the request tags this deployment serves ("default": untagged requests). */
  tags?: string[];
  /** "eu" | "us": where the deployment runs (litellm_params.region_name, else its Vertex location or AWS region; routing/region-filter.ts). */
  region?: 'eu' | 'us';
  /** Default call parameters (max_tokens, temperature, ...) applied when the client omits them. */
  defaultParams: JsonObject;
  modelInfo: ModelInfo;
  prices?: TokenPrices;
  /** Google Vertex AI deployments: where the model runs and what authenticates the calls. */
  vertex?: VertexTarget;
  /** Prices of images, audio, characters and searches (billing/media-pricing.ts). */
  mediaPrices?: MediaPrices;
  /**
   * Pico-dollars per second of an attempt (litellm_params input_cost_per_second + output_cost_per_second),
   * when the deployment has no per-token rate above 0: the call is billed by its duration (billing/cost.ts durationCostMicros).
   */
  perSecondPico?: number;
  /** False when the deployment cannot be called (e.g. its API key is absent). */
  available: boolean;
  unavailableReason?: string;
  /**
   * True when the deployment is unavailable only for a value the environment would supply: a key,
   * base URL, AWS credentials or region, or Google Cloud project left to the provider's variables,
   * or an os.environ/ reference that is unset (`check-config --allow-missing-env` lets these pass).
   */
  unavailableForEnvironment?: boolean;
  /** litellm_params.max_retries: retries of a failed call on this deployment (overrides the router's num_retries). */
  maxRetries?: number;
  /** AWS credentials and region of a Bedrock deployment (requests are SigV4-signed with them). */
  aws?: AwsCredentials;
}

/** Where a Vertex AI model is called, and with which Google credentials. */
export interface VertexTarget {
  project: string;
  location: string;
  /**
   * A service-account key (JSON text) or the path of a credentials file; undefined for
   * Application Default Credentials (gcloud login, the metadata server).
   */
  credentials?: string;
}

/**
 * Headers the upstream client adds just before sending, because obtaining them may need I/O (an
 * OAuth access token, cached and refreshed before it expires). Adapters stay pure: they only name it.
 */
export interface RequestAuthorizer {
  headers(): Promise<Record<string, string>>;
}

export interface AwsCredentials {
  accessKeyId: string;
  secretAccessKey: string;
  sessionToken?: string;
  region: string;
}

/** `eventstream`: AWS's binary application/vnd.amazon.eventstream framing (Bedrock streams). */
export type Framing = 'sse' | 'ndjson' | 'json' | 'eventstream';

export interface UpstreamRequest {
  url: string;
  method: 'POST' | 'GET' | 'DELETE';
  headers: Record<string, string>;
  body?: string;
  /** Instead of `body`: a multipart upload's parts, streamed (a fresh stream over the same buffers each time it is sent). */
  bodyStream?: () => import('node:stream').Readable;
  /** How the response body is framed when streaming. */
  framing: Framing;
  /** Credentials resolved at send time (Vertex AI's access token); their headers win. */
  authorizer?: RequestAuthorizer;
}

export interface ProviderErrorInfo {
  message: string;
  status: number;
  retryable: boolean;
  /** Seconds to wait, from Retry-After or the provider's own hint. */
  retryAfterSeconds?: number;
  /** A finer kind, for retry policies and fallbacks. */
  kind?: 'context_window_exceeded' | 'content_policy_violation' | 'rate_limit' | 'authentication' | 'other';
}

/**
 * One emitted chunk: the canonical object and, when unchanged from upstream, its raw JSON text.
 * A pass-through chunk may parse `chunk` lazily, on first access: readers that only forward it
 * should use `raw`.
 */
export interface EmittedChunk {
  readonly chunk: ChatChunk;
  readonly raw?: string;
  /** The transform checked `raw`: it carries no usage object, so nobody needs to look again. */
  readonly usageFree?: boolean;
  /**
   * A run of upstream events forwarded exactly as they came (`data: …\n\n` each, none carrying
   * usage or an error; see ChatStreamTransform.forwardable). `chunk` is then the run's last chunk.
   */
  readonly sse?: string;
}

/** Turns upstream stream events into OpenAI chunks; holds the state of one stream. */
export interface ChatStreamTransform {
  /** One upstream event's data (an SSE `data:` payload or an NDJSON line). */
  push(data: string, event?: string): EmittedChunk[];
  /** The stream ended; returns any chunks still pending. */
  end(): EmittedChunk[];
  /** Usage seen so far (from the final chunk, if the upstream sent it). */
  readonly usage: Usage | undefined;
  /** An error the upstream reported inside the stream, if any. */
  readonly error: GatewayError | undefined;
  /**
   * Optional: uses of server-side tools (web searches, …) seen in the events so far: billed when the
   * stream ends (the client gone, a cut) before the usage that reports them.
   */
  readonly units?: MediaUnits;
  /**
   * Optional: set by `end()` when the stream ended without the upstream's end-of-stream marker
   * (OpenAI's `data: [DONE]`). The relay then takes a stream in which no choice reported a finish
   * reason as cut short — an error, not a complete answer. (A transform that sees every event
   * checks its own end instead, as Anthropic's does for message_stop.)
   */
  readonly unterminated?: boolean;
  /**
   * Optional: given the text of complete plain SSE events (`data: <json>\n\n` each), how many of
   * its leading characters (an event boundary; 0 for none) may skip `push` and be forwarded as
   * they are, because no event in them carries anything this transform must see or change
   * (usage, an error, the end marker).
   */
  forwardable?(run: string): number;
}

export interface ProviderAdapter {
  readonly id: string;
  buildChatRequest(request: ChatRequest, target: Deployment): UpstreamRequest;
  parseChatResponse(body: unknown, target: Deployment): ChatResponse;
  /**
   * The usage an answer reports in the provider's own fields (Anthropic's `usage.input_tokens`,
   * Gemini's `usageMetadata`), read only when parseChatResponse fails on it: the answer is still
   * billed (attempt-json.ts). Undefined for adapters whose answers report OpenAI's `usage`.
   */
  usageOfAnswer?(body: unknown): Usage | undefined;
  /**
   * Where the provider says an answer ran, when that is billed above the standard rates and
   * OpenAI's usage shape has no field for it (Anthropic's `usage.inference_geo: "us"`, 1.1×).
   * A stream's transform reports it in its own usage.
   */
  inferenceGeoOf?(body: unknown): Usage['inferenceGeo'];
  createStreamTransform(target: Deployment, request: ChatRequest): ChatStreamTransform;
  parseError(status: number, body: string, headers: Record<string, string | string[] | undefined>): ProviderErrorInfo;
  buildCompletionRequest?(request: CompletionRequest, target: Deployment): UpstreamRequest;
  buildEmbeddingsRequest?(request: EmbeddingsRequest, target: Deployment): UpstreamRequest;
  /** `request` carries encoding_format (the official clients ask for base64 by default). */
  parseEmbeddingsResponse?(body: unknown, target: Deployment, request?: EmbeddingsRequest): EmbeddingsResponse;
  /**
   * The OpenAI chat request fields this adapter maps (besides model, messages, stream,
   * stream_options). A field outside it is dropped with a warning when drop_params is on, and
   * refused with a 400 naming it otherwise. Undefined means every field passes through.
   */
  readonly supportedParams?: ReadonlySet<string>;
  /** What the adapter cannot honour of an accepted field's value (e.g. a tool_choice it cannot enforce), for the x-switchboard-warnings header. */
  chatRequestWarnings?(request: ChatRequest): string[];
}
