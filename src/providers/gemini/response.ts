/**
 * Gemini GenerateContentResponse → OpenAI chat completion: candidates become choices, text parts
 * are joined, thought parts become `reasoning_content`, functionCall parts become tool_calls, and
 * usageMetadata becomes OpenAI usage.
 */
import { isJsonObject } from '../../json-object.js';
import { randomBytes } from 'node:crypto';
import { GatewayError } from '../../errors.js';
import { usageToOpenAI } from '../shared/usage.js';
import type { ChatMessage, ChatResponse, ChatToolCall, Deployment, Usage } from '../types.js';
import type { GeminiCandidate, GeminiGenerateContentResponse, GeminiPart, GeminiUsageMetadata } from './wire.js';

/** A tool call that carries Gemini's thought signature back to the client (see request.ts). */
export type GeminiToolCall = ChatToolCall & { extra_content?: { google: { thought_signature: string } } };

const CONTENT_FILTER = new Set(['SAFETY', 'RECITATION', 'BLOCKLIST', 'PROHIBITED_CONTENT', 'SPII', 'IMAGE_SAFETY', 'IMAGE_PROHIBITED_CONTENT']);

/**
 * Gemini's finishReason as OpenAI's finish_reason; undefined (still generating) stays null.
 * STOP after a function call is `tool_calls`, as OpenAI clients expect before running tools.
 */
export function mapFinishReason(reason: string | undefined, hasToolCalls: boolean): string | null {
  if (reason === undefined) return null;
  if (reason === 'MAX_TOKENS') return 'length';
  if (CONTENT_FILTER.has(reason)) return 'content_filter';
  if (reason === 'STOP' && hasToolCalls) return 'tool_calls';
  return 'stop';
}

const count = (value: unknown): number => (typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : 0);
const isCount = (value: unknown): boolean => typeof value === 'number' && Number.isFinite(value) && value >= 0;

/**
 * usageMetadata as canonical usage. Proto3 JSON omits zero counts, so inside a usageMetadata object
 * an absent count is 0; without usageMetadata the usage is unknown (undefined). Except the output:
 * a stream's events before the last carry the prompt and the total alone, and an upstream may count
 * its output in the total only, so an absent `candidatesTokenCount` is what the total holds beyond
 * the prompt, thoughts and tool-use prompt; when the total holds nothing more it is 0 only for an
 * answer that wrote nothing (`wroteOutput` false: a blocked prompt, an empty candidate), and unknown
 * otherwise — the gateway then counts the answer's text (never zero for text it relayed).
 * Completion tokens include thought tokens (they are billed as output); prompt tokens include
 * toolUsePromptTokenCount (results of server-side tools, billed as input), so that prompt +
 * completion matches Gemini's totalTokenCount.
 * Audio input is billed above text on some models (gemini-2.0-flash: $0.70 against $0.10 per 1M):
 * the prompt's AUDIO tokens (promptTokensDetails and toolUsePromptTokensDetails) less the cached
 * ones (cacheTokensDetails, billed at the cache rate) are kept as audioInputTokens.
 * Generated images are billed above text output (gemini-2.5-flash-image: $30 against $2.50 per 1M):
 * the completion's IMAGE tokens (candidatesTokensDetails) are kept as imageOutputTokens.
 */
export function usageFromGemini(metadata: GeminiUsageMetadata | undefined, wroteOutput = true): Usage | undefined {
  if (typeof metadata !== 'object' || metadata === null) return undefined;
  const promptTokens = count(metadata.promptTokenCount) + count(metadata.toolUsePromptTokenCount);
  const reasoningTokens = count(metadata.thoughtsTokenCount);
  // A total that is no count (1e999 parses to Infinity) is recomputed, as an absent one is.
  const total = count(metadata.totalTokenCount);
  let completionTokens: number | undefined = count(metadata.candidatesTokenCount) + reasoningTokens;
  if (!isCount(metadata.candidatesTokenCount)) {
    const beyond = total - promptTokens - reasoningTokens;
    if (beyond > 0) completionTokens = beyond + reasoningTokens;
    else if (wroteOutput && reasoningTokens === 0) completionTokens = undefined;
  }
  const usage: Usage = {
    promptTokens,
    completionTokens,
    totalTokens: total > 0 ? total : promptTokens + (completionTokens ?? 0),
    cachedTokens: count(metadata.cachedContentTokenCount),
    reasoningTokens,
  };
  const audio = modalityTokens(metadata.promptTokensDetails, 'AUDIO') + modalityTokens(metadata.toolUsePromptTokensDetails, 'AUDIO') - modalityTokens(metadata.cacheTokensDetails, 'AUDIO');
  if (audio > 0) usage.audioInputTokens = audio;
  const image = modalityTokens(metadata.candidatesTokensDetails, 'IMAGE');
  if (image > 0) usage.imageOutputTokens = image;
  return usage;
}

/**
 * A stream's usage after one more event's usageMetadata: the later counts, keeping the audio split
 * an earlier event gave when the later one has none (the prompt does not change within a stream),
 * and the image output an earlier event gave when the later one has no split (output counts only
 * grow within a stream, so images once reported were generated).
 */
export function laterStreamUsage(previous: Usage | undefined, next: Usage): Usage {
  const audio = next.audioInputTokens === undefined && previous?.audioInputTokens !== undefined;
  const image = next.imageOutputTokens === undefined && previous?.imageOutputTokens !== undefined;
  if (!audio && !image) return next;
  return { ...next, ...(audio ? { audioInputTokens: previous!.audioInputTokens } : {}), ...(image ? { imageOutputTokens: previous!.imageOutputTokens } : {}) };
}

/** The tokens a modality list (promptTokensDetails, …) gives one modality; 0 when it is absent. */
function modalityTokens(details: unknown, modality: string): number {
  if (!Array.isArray(details)) return 0;
  let tokens = 0;
  for (const detail of details as unknown[]) {
    if (typeof detail === 'object' && detail !== null && (detail as { modality?: unknown }).modality === modality) tokens += count((detail as { tokenCount?: unknown }).tokenCount);
  }
  return tokens;
}

/** `chatcmpl-` + Gemini's responseId, or a random id when Gemini sent none. */
export function completionId(responseId: string | undefined): string {
  return `chatcmpl-${responseId && responseId.length > 0 ? responseId : randomBytes(12).toString('base64url')}`;
}

/** Numbers tool calls across one response (all candidates), so ids stay unique within it. */
export class ToolCallIds {
  private next = 0;

  /** Gemini's own call id when it sent one (newer models do), else `call_<n>`. */
  idFor(part: GeminiPart): string {
    const own = part.functionCall?.id;
    const id = own && own.length > 0 ? own : `call_${this.next}`;
    this.next++;
    return id;
  }
}

export function toolCallOf(part: GeminiPart, ids: ToolCallIds): GeminiToolCall {
  const call = part.functionCall!;
  const toolCall: GeminiToolCall = { id: ids.idFor(part), type: 'function', function: { name: call.name, arguments: JSON.stringify(call.args ?? {}) } };
  if (part.thoughtSignature) toolCall.extra_content = { google: { thought_signature: part.thoughtSignature } };
  return toolCall;
}

interface SplitParts {
  text: string[];
  thoughts: string[];
  calls: GeminiPart[];
}

/** Sorts a candidate's parts into answer text, thought text and function calls. */
export function splitParts(parts: GeminiPart[] | undefined): SplitParts {
  const split: SplitParts = { text: [], thoughts: [], calls: [] };
  // An upstream's parts may hold anything: only objects are parts, only an object a function call.
  for (const part of Array.isArray(parts) ? (parts as unknown[]) : []) {
    if (!isJsonObject(part)) continue;
    if (isJsonObject(part.functionCall)) split.calls.push(part as GeminiPart);
    else if (typeof part.text === 'string') (part.thought === true ? split.thoughts : split.text).push(part.text);
  }
  return split;
}

/** A response's candidates that are objects (an upstream's `candidates` may be anything). */
export function candidatesOf(response: GeminiGenerateContentResponse): GeminiCandidate[] {
  const candidates: unknown = response.candidates;
  return Array.isArray(candidates) ? (candidates.filter(isJsonObject) as GeminiCandidate[]) : [];
}

function choiceOf(candidate: GeminiCandidate, ids: ToolCallIds): ChatResponse['choices'][number] {
  const { text, thoughts, calls } = splitParts(candidate.content?.parts);
  const message: ChatMessage = { role: 'assistant', content: text.length > 0 ? text.join('') : null };
  if (thoughts.length > 0) message.reasoning_content = thoughts.join('');
  if (calls.length > 0) message.tool_calls = calls.map((part) => toolCallOf(part, ids));
  // A finished response without finishReason has nothing to report: it stopped.
  const finish = mapFinishReason(candidate.finishReason ?? 'STOP', calls.length > 0);
  return { index: typeof candidate.index === 'number' ? candidate.index : 0, message, finish_reason: finish, logprobs: null };
}

function isResponse(body: unknown): body is GeminiGenerateContentResponse {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) return false;
  const record = body as Record<string, unknown>;
  return Array.isArray(record.candidates) || typeof record.promptFeedback === 'object' || typeof record.usageMetadata === 'object';
}

/** The usage a GenerateContentResponse reports (`usageMetadata`), however odd the rest of it. */
export function usageOfGeminiAnswer(body: unknown): Usage | undefined {
  return typeof body === 'object' && body !== null ? usageFromGemini((body as { usageMetadata?: GeminiUsageMetadata }).usageMetadata, writesOutput(candidatesOf(body as GeminiGenerateContentResponse))) : undefined;
}

/** Whether candidates hold output Google bills: text, thoughts, a function call, generated media or code. */
export function writesOutput(candidates: GeminiCandidate[]): boolean {
  for (const candidate of candidates) {
    const parts = candidate?.content?.parts;
    if (!Array.isArray(parts)) continue;
    for (const part of parts as unknown[]) {
      if (!isJsonObject(part)) continue;
      if (typeof part.text === 'string' ? part.text.length > 0 : Object.keys(part).some((key) => key !== 'thoughtSignature' && key !== 'thought')) return true;
    }
  }
  return false;
}

export function parseGeminiChatResponse(body: unknown, target: Deployment): ChatResponse {
  if (!isResponse(body)) {
    throw new GatewayError('upstream_invalid_response', `${target.provider} returned a body that is not a GenerateContentResponse`, { provider: target.provider });
  }
  const ids = new ToolCallIds();
  const candidates = candidatesOf(body).sort((a, b) => (typeof a.index === 'number' ? a.index : 0) - (typeof b.index === 'number' ? b.index : 0));
  const choices = candidates.map((candidate) => choiceOf(candidate, ids));
  // The prompt itself was blocked: Gemini returns no candidate, only promptFeedback.blockReason.
  if (choices.length === 0 && body.promptFeedback?.blockReason) {
    choices.push({ index: 0, message: { role: 'assistant', content: null }, finish_reason: 'content_filter', logprobs: null });
  }
  const response: ChatResponse = {
    id: completionId(body.responseId),
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: body.modelVersion ?? target.upstreamModel,
    choices,
  };
  const usage = usageFromGemini(body.usageMetadata, writesOutput(candidates));
  if (usage) {
    response.usage = usageToOpenAI(usage);
    // An output count Gemini did not give is left out, not reported as 0 (the gateway counts the text).
    if (usage.completionTokens === undefined) delete (response.usage as { completion_tokens?: number }).completion_tokens;
  }
  return response;
}
