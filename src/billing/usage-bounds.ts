/**
 * Sanity bounds for the token counts an upstream reports. Usage is billed as reported, but a
 * report beyond what the request could possibly have produced (a broken or hostile upstream
 * claiming 10^15 tokens) must not reach spend, budgets or credits: such a count is replaced by the
 * gateway's own count and the row is flagged.
 *
 * The bounds are generous on purpose — honest usage must never be flagged:
 * - prompt tokens ≤ max(4 × estimate, estimate + 1000), where the estimate is max-cost.ts's
 *   byte bound (UTF-8 bytes of everything the model reads, per-message framing, 3000 tokens per
 *   image / audio / file part) plus the size of inline attachment data, plus MAX_INPUT_IMAGE_TOKENS
 *   per image sent to an image edit (gpt-image-1 bills the images it reads). Each BPE token spans at
 *   least one byte, so the estimate alone is already above the true count; the margin covers
 *   tokenizers that differ; plus, on gpt-4o-mini, 48,169 tokens an image, and on a Claude call
 *   with tools the tool-use system prompt and Anthropic-defined tools' definitions that Anthropic
 *   adds and bills (max-cost.ts, providerAddedPromptTokens). When the request makes
 *   the provider read more than it sent (a file, image or video by id or URL, a stored
 *   conversation, server-side tools such as web search), the bound is at least the model's input
 *   window (model_info.max_input_tokens, else 2,000,000).
 * - completion tokens ≤ the effective output limit × the completions generated (n, or best_of when
 *   larger, for each prompt of a prompt array): max_completion_tokens / max_tokens as sent
 *   (else the deployment's default, else model_info.max_output_tokens / max_tokens, else 131,072),
 *   plus a 32,768-token allowance per choice when the request asks for reasoning (providers differ
 *   on whether thinking counts against the limit), plus the bytes of a predicted output per choice
 *   (OpenAI bills its rejected tokens as completion tokens).
 * - cached, cache-creation, image-input and audio-input tokens never exceed the prompt, 1-hour
 *   cache writes never exceed the cache-creation tokens, reasoning tokens never exceed the
 *   completion; the total is recomputed as prompt + completion once anything was adjusted.
 * - Perplexity's research usage, reported beside the prompt and completion: citation tokens and
 *   reasoning tokens never exceed RESEARCH_TOKEN_BOUND (2,000,000) each, search queries never
 *   exceed MAX_RESEARCH_SEARCHES (1,000) — what the reservation holds for them (max-cost.ts, where
 *   the figures are argued), so that a report above is charged no more than was reserved.
 */
import type { ChatMessage, Deployment, MediaUnits, Usage } from '../providers/types.js';
import { isJsonObject, someJsonObject } from '../json-object.js';
import { billableOutputLimit, DEFAULT_INPUT_WINDOW, feedsToolResults, MAX_RESEARCH_SEARCHES, namesKeptItem, namesRemoteDocument, readsTimedMedia, promptTokenBound, providerAddedPromptTokens, RESEARCH_TOKEN_BOUND, STORED_INPUT_FIELDS, type CostInput } from './max-cost.js';

export { DEFAULT_INPUT_WINDOW, DEFAULT_OUTPUT_TOKEN_LIMIT, REASONING_ALLOWANCE } from './max-cost.js';
const PROMPT_MULTIPLIER = 4;
const PROMPT_ALLOWANCE = 1_000;

export interface UsageLimits {
  promptTokens: number;
  completionTokens: number;
}

/** The local count that replaces an implausible report. */
export interface LocalCount {
  promptTokens: number;
  completionTokens: number;
}

export type AdjustedField = 'prompt_tokens' | 'completion_tokens' | 'total_tokens' | 'cached_tokens' | 'cache_creation_tokens' | 'cache_creation_1h_tokens' | 'image_input_tokens' | 'audio_input_tokens' | 'reasoning_tokens' | 'image_output_tokens' | 'citation_tokens' | 'research_reasoning_tokens' | 'num_search_queries';

export interface BoundedUsage {
  usage: Usage;
  /** The fields that were replaced or clamped; empty when the report was plausible. */
  adjusted: AdjustedField[];
}

/**
 * The most prompt and completion tokens the request could honestly be billed for on `deployment`.
 * `reportedPrompt`: the prompt tokens the upstream reported, when known — a count within the
 * request's own bound needs no look for input the provider reads beyond it (a walk of the body, on
 * every call otherwise).
 */
export function usageLimits(input: CostInput, deployment: Deployment, reportedPrompt?: number): UsageLimits {
  return { promptTokens: promptLimit(input, deployment, reportedPrompt), completionTokens: billableOutputLimit(input, deployment) };
}

function promptLimit(input: CostInput, deployment: Deployment, reportedPrompt: number | undefined): number {
  const estimate = promptTokenBound(input) + inlineAttachmentBytes(input) + inputImages(input) * MAX_INPUT_IMAGE_TOKENS;
  // gpt-4o-mini's images cost up to 48,169 tokens each, Claude's tool prompt and Anthropic-defined
  // tools up to a few thousand (max-cost.ts): beyond any multiple of the estimate of a short call.
  const limit = Math.max(PROMPT_MULTIPLIER * estimate, estimate + PROMPT_ALLOWANCE) + providerAddedPromptTokens(input, deployment);
  if ((reportedPrompt !== undefined && reportedPrompt <= limit) || (!readsBeyondRequest(input) && !readsTimedMedia(input, deployment))) return limit;
  return Math.max(limit, deployment.modelInfo.max_input_tokens ?? DEFAULT_INPUT_WINDOW);
}

/**
 * The most input tokens one image given to gpt-image-1 (an edit) is billed: scaled down to fit
 * 2048 px and to a shortest side of 512 px, it covers at most 4 tiles of 512 px at 129 tokens, plus
 * 65; with `input_fidelity: "high"` OpenAI adds 4,160 tokens (square) or 6,240 (portrait,
 * landscape). The request's form fields do not say which images are square, so 6,240.
 */
export const MAX_INPUT_IMAGE_TOKENS = 65 + 4 * 129 + 6_240;
/**
 * What the images routes hold per image in `max_tokens` (http/routes/openai-media.ts,
 * MAX_IMAGE_OUTPUT_TOKENS): one for each image to generate (`units.images`) and one for each image
 * sent to edit. Whatever they hold beyond the images to generate is for images sent.
 */
const IMAGE_RESERVATION_TOKENS = 6_240;

/**
 * Images the request sends the model to read (gpt-image-1 edits): `units.inputImages` when the route
 * names them, else the images the route's `max_tokens` holds beyond the images to generate. The
 * uploads themselves are not in the request body, which is all the bounds see.
 */
function inputImages(input: CostInput): number {
  const units = input.body.units as MediaUnits | undefined;
  if (typeof units !== 'object' || units === null) return 0;
  if (typeof units.inputImages === 'number' && Number.isFinite(units.inputImages) && units.inputImages > 0) return Math.ceil(units.inputImages);
  const maxTokens = input.body.max_tokens;
  if (typeof units.images !== 'number' || !Number.isFinite(units.images) || typeof maxTokens !== 'number' || !Number.isFinite(maxTokens)) return 0;
  return Math.max(0, Math.ceil(maxTokens / IMAGE_RESERVATION_TOKENS - units.images));
}

/**
 * Length of attachment data sent inline (base64 images, audio, files): a large document reads as
 * many tokens. String lengths only (base64 is ASCII), so a multi-megabyte image costs nothing here.
 */
function inlineAttachmentBytes(input: CostInput): number {
  if (input.kind !== 'chat') return 0;
  let bytes = 0;
  for (const message of (input.body.messages as ChatMessage[] | undefined) ?? []) {
    if (!Array.isArray(message.content)) continue;
    for (const part of message.content) if (part.type !== 'text') bytes += attachmentDataLength(part as AttachmentPart);
  }
  return bytes;
}

interface AttachmentPart {
  image_url?: { url?: unknown } | string;
  input_audio?: { data?: unknown };
  file?: { file_data?: unknown };
}

function attachmentDataLength(part: AttachmentPart): number {
  const lengthOf = (value: unknown) => (typeof value === 'string' ? value.length : 0);
  const image = typeof part.image_url === 'string' ? part.image_url : part.image_url?.url;
  return lengthOf(image) + lengthOf(part.input_audio?.data) + lengthOf(part.file?.file_data);
}


/** A media URL the provider fetches and reads (an image, a video, a document), not data carried inline. */
function isRemoteUrl(value: unknown): boolean {
  return typeof value === 'string' && !value.startsWith('data:');
}

/**
 * Whether a body names input the provider fetches or keeps itself, whose tokens its size says
 * nothing about: a stored file, conversation or prompt (STORED_INPUT_FIELDS, a Responses `prompt`
 * by id), an earlier item or spoken answer by id (namesKeptItem), an image or document by URL
 * (chat `image_url`, Responses `input_image`, an Anthropic source of type `url` or `file`),
 * Gemini `fileData`. Walked without recursion.
 */
function referencesStoredInput(value: unknown): boolean {
  return someJsonObject(value, (node) => {
    for (const field of STORED_INPUT_FIELDS) {
      const named = node[field];
      if ((typeof named === 'string' && named !== '') || isJsonObject(named)) return true;
    }
    if (isJsonObject(node.fileData) || isJsonObject(node.file_data)) return true;
    if ((node.type === 'url' || node.type === 'file') && (isRemoteUrl(node.url) || typeof node.file_id === 'string')) return true;
    const image = node.image_url;
    if (isRemoteUrl(image) || (isJsonObject(image) && isRemoteUrl(image.url))) return true;
    if (namesKeptItem(node) || namesRemoteDocument(node)) return true;
    return isJsonObject(node.prompt) && typeof node.prompt.id === 'string';
  });
}

/**
 * Whether the provider reads input the request does not carry: a file, image or video referenced
 * by id or URL, a stored conversation, server-side tools (web search and the like bill their
 * results as input).
 */
function readsBeyondRequest(input: CostInput): boolean {
  const { body } = input;
  // Server-side tools (web search, grounding, …) feed the model their results (the reservation holds them too).
  if (feedsToolResults(input)) return true;
  // A relayed native body (Gemini fileData, Anthropic url sources, Responses input_image URLs and previous_response_id, ...).
  if (input.relayed === true) return referencesStoredInput(body.native ?? body);
  if (input.kind !== 'chat') return false;
  if (referencesStoredInput(body.messages)) return true;
  if (body.web_search_options !== undefined && body.web_search_options !== null) return true;
  if (Array.isArray(body.tools) && body.tools.some((tool) => typeof tool !== 'object' || tool === null || (tool as { type?: unknown }).type !== 'function')) return true;
  for (const message of (body.messages as ChatMessage[] | undefined) ?? []) {
    if (!Array.isArray(message.content)) continue;
    for (const part of message.content) {
      const file = (part as { file?: { file_data?: unknown } }).file;
      if (part.type === 'file' && typeof file?.file_data !== 'string') return true;
    }
  }
  return false;
}

/** A reported count is plausible when it is a whole number from 0 to the limit. */
function plausible(value: number, limit: number): boolean {
  return Number.isSafeInteger(value) && value >= 0 && value <= limit;
}

/** Whether any reported count is beyond its limit (or not a whole number): the local count is then needed. */
export function exceedsLimits(usage: Usage, limits: UsageLimits): boolean {
  const prompt = usage.promptTokens;
  const completion = usage.completionTokens;
  if (prompt !== undefined && !plausible(prompt, limits.promptTokens)) return true;
  if (completion !== undefined && !plausible(completion, limits.completionTokens)) return true;
  const promptCap = prompt ?? limits.promptTokens;
  const completionCap = completion ?? limits.completionTokens;
  if (usage.cachedTokens !== undefined && !plausible(usage.cachedTokens, promptCap)) return true;
  if (usage.cacheCreationTokens !== undefined && !plausible(usage.cacheCreationTokens, promptCap)) return true;
  if (usage.cacheCreation1hTokens !== undefined && !plausible(usage.cacheCreation1hTokens, usage.cacheCreationTokens ?? promptCap)) return true;
  if (usage.imageInputTokens !== undefined && !plausible(usage.imageInputTokens, promptCap)) return true;
  if (usage.audioInputTokens !== undefined && !plausible(usage.audioInputTokens, promptCap)) return true;
  if (usage.reasoningTokens !== undefined && !plausible(usage.reasoningTokens, completionCap)) return true;
  if (usage.imageOutputTokens !== undefined && !plausible(usage.imageOutputTokens, completionCap)) return true;
  if (usage.citationTokens !== undefined && !plausible(usage.citationTokens, RESEARCH_TOKEN_BOUND)) return true;
  if (usage.researchReasoningTokens !== undefined && !plausible(usage.researchReasoningTokens, RESEARCH_TOKEN_BOUND)) return true;
  if (usage.searchQueries !== undefined && !plausible(usage.searchQueries, MAX_RESEARCH_SEARCHES)) return true;
  // Some providers count a little more in the total than prompt + completion; only the limits bound it.
  if (usage.totalTokens !== undefined && !plausible(usage.totalTokens, limits.promptTokens + limits.completionTokens)) return true;
  return false;
}

/**
 * The usage to bill: each implausible count replaced by the local count (never above its limit),
 * and the counts that depend on it kept consistent. Plausible counts are kept as reported.
 */
export function boundUsage(reported: Usage, limits: UsageLimits, local: LocalCount): BoundedUsage {
  const adjusted: AdjustedField[] = [];
  const usage: Usage = { ...reported };
  if (reported.promptTokens !== undefined && !plausible(reported.promptTokens, limits.promptTokens)) {
    usage.promptTokens = Math.min(local.promptTokens, limits.promptTokens);
    adjusted.push('prompt_tokens');
  }
  if (reported.completionTokens !== undefined && !plausible(reported.completionTokens, limits.completionTokens)) {
    usage.completionTokens = Math.min(local.completionTokens, limits.completionTokens);
    adjusted.push('completion_tokens');
  }
  const prompt = usage.promptTokens ?? limits.promptTokens;
  const completion = usage.completionTokens ?? limits.completionTokens;
  usage.cachedTokens = clamp(usage.cachedTokens, prompt, 'cached_tokens', adjusted);
  usage.cacheCreationTokens = clamp(usage.cacheCreationTokens, prompt - (usage.cachedTokens ?? 0), 'cache_creation_tokens', adjusted);
  usage.cacheCreation1hTokens = clamp(usage.cacheCreation1hTokens, usage.cacheCreationTokens ?? prompt - (usage.cachedTokens ?? 0), 'cache_creation_1h_tokens', adjusted);
  usage.imageInputTokens = clamp(usage.imageInputTokens, prompt, 'image_input_tokens', adjusted);
  usage.audioInputTokens = clamp(usage.audioInputTokens, prompt, 'audio_input_tokens', adjusted);
  usage.reasoningTokens = clamp(usage.reasoningTokens, completion, 'reasoning_tokens', adjusted);
  usage.imageOutputTokens = clamp(usage.imageOutputTokens, completion, 'image_output_tokens', adjusted);
  usage.citationTokens = clamp(usage.citationTokens, RESEARCH_TOKEN_BOUND, 'citation_tokens', adjusted);
  usage.researchReasoningTokens = clamp(usage.researchReasoningTokens, RESEARCH_TOKEN_BOUND, 'research_reasoning_tokens', adjusted);
  usage.searchQueries = clamp(usage.searchQueries, MAX_RESEARCH_SEARCHES, 'num_search_queries', adjusted);
  if (usage.totalTokens !== undefined && (adjusted.length > 0 || !plausible(usage.totalTokens, limits.promptTokens + limits.completionTokens))) {
    const total = (usage.promptTokens ?? 0) + (usage.completionTokens ?? 0);
    if (usage.totalTokens !== total) {
      usage.totalTokens = total;
      adjusted.push('total_tokens');
    }
  }
  for (const field of ['cachedTokens', 'cacheCreationTokens', 'cacheCreation1hTokens', 'imageInputTokens', 'audioInputTokens', 'reasoningTokens', 'imageOutputTokens', 'citationTokens', 'researchReasoningTokens', 'searchQueries'] as const) if (usage[field] === undefined) delete usage[field];
  return { usage, adjusted };
}

function clamp(value: number | undefined, limit: number, field: AdjustedField, adjusted: AdjustedField[]): number | undefined {
  if (value === undefined || plausible(value, limit)) return value;
  adjusted.push(field);
  return Number.isFinite(value) && value > 0 ? Math.min(Math.floor(value), Math.max(0, limit)) : 0;
}

/**
 * The most of each media unit a native call is billed for: what admission reserved (`units`), or
 * where the provider enforces no maximum, the larger `unitsBound` (NativeRequest.unitsBound).
 */
export function billedUnitsBound(request: { units?: MediaUnits; unitsBound?: MediaUnits }): MediaUnits | undefined {
  return request.unitsBound ? { ...request.units, ...request.unitsBound } : request.units;
}

/**
 * Media units an upstream reports (images, characters, searches) never beyond what the request
 * could produce (`bound`, what admission reserved for): a count over it is held to it. A count that
 * is no count (negative, NaN, infinite: a negative one would bill a credit) is replaced by the
 * request's own (the bound), or 0 when the request names none.
 */
export function boundUnits(usage: Usage | undefined, bound: MediaUnits | undefined): Usage | undefined {
  const units = usage?.units;
  if (!units) return usage;
  const held: MediaUnits = { ...units };
  for (const key of ['images', 'inputImages', 'inputSeconds', 'outputSeconds', 'inputCharacters', 'queries', 'webSearches', 'groundedPrompts', 'fileSearches'] as const) {
    const limit = bound?.[key];
    const value = held[key];
    if (value === undefined) continue;
    if (!(Number.isFinite(value) && value >= 0)) held[key] = limit ?? 0;
    else if (limit !== undefined && value > limit) held[key] = limit;
  }
  return { ...usage, units: held };
}
