/**
 * What the logging callbacks get of a call's content — the prompt and the answer text — whenever
 * message logging is on (litellm_settings.turn_off_message_logging not set), whether or not the
 * usage row stores prompts. Each part is bounded (CONTENT_MAX_CHARS): the prompt is copied with its
 * strings cut once the bound is spent (keys and other values count too), the answer text is cut at
 * the bound, and a cut part is marked; so a queued call holds at most about 2 × CONTENT_MAX_CHARS
 * characters of content.
 *
 * On the request path the prompt is only copied (no serialisation). A stream's answer is handed
 * over as what the stream relayed (streamed-answer.ts), unparsed, while that stays small
 * (STREAMED_PARTS_MAX_CHARS): its text is read once, when the recorded call is handed to the
 * callbacks (resolvedContent, partsAnswer), not while the stream is relayed.
 */
import type { Operation } from '../../gateway/call-context.js';
import type { StreamedAnswer, StreamedPart } from '../../gateway/streamed-answer.js';
import type { UsageLogRow } from '../../storage/schema.js';

/** Characters kept of each of the prompt and the answer text per call. */
export const CONTENT_MAX_CHARS = 8_192;

/** Raw characters of a stream's relayed events handed over unparsed; a larger stream's text is read at once. */
const STREAMED_PARTS_MAX_CHARS = 65_536;

export interface CallContent {
  /** A bounded copy of the prompt (chat messages, a completion prompt, embedding input, a native body). */
  prompt: unknown;
  promptTruncated: boolean;
  /** The answer text (for a stream: what was streamed), cut at CONTENT_MAX_CHARS. */
  answer: string | undefined;
  answerTruncated: boolean;
  /** A stream's answer not read yet (then `answer` is undefined): resolvedContent reads it. */
  streamed?: StreamedAnswer;
}

/** The prompt of an operation: what promptOf serialises for the usage row (gateway/request-body.ts). */
function promptValueOf(operation: Operation): unknown {
  switch (operation.kind) {
    case 'chat':
      return operation.request.messages ?? null;
    case 'completion':
      return operation.request.prompt ?? null;
    case 'embeddings':
      return operation.request.input ?? null;
    case 'native':
      return operation.request.native;
  }
}

interface Budget {
  left: number;
  cut: boolean;
}

/** A copy of a JSON value whose strings, keys and other values together stay within the budget. */
function bounded(value: unknown, budget: Budget, depth: number): unknown {
  if (typeof value === 'string') {
    if (value.length <= budget.left) {
      budget.left -= value.length;
      return value;
    }
    const kept = value.slice(0, Math.max(0, budget.left));
    budget.left = 0;
    budget.cut = true;
    return kept;
  }
  budget.left -= 1;
  if (value === null || typeof value !== 'object') return value;
  if (depth > 32) {
    budget.cut = true;
    return null;
  }
  if (Array.isArray(value)) {
    const copy: unknown[] = [];
    for (const item of value) {
      if (budget.left <= 0) {
        budget.cut = true;
        break;
      }
      copy.push(bounded(item, budget, depth + 1));
    }
    return copy;
  }
  const copy: Record<string, unknown> = {};
  for (const key of Object.keys(value)) {
    if (budget.left <= 0) {
      budget.cut = true;
      break;
    }
    budget.left -= key.length;
    copy[key] = bounded((value as Record<string, unknown>)[key], budget, depth + 1);
  }
  return copy;
}

/** The bounded content of a call; a stream's answer may come as the parts it relayed (`streamed`), read later. */
export function callContentOf(operation: Operation | undefined, answer: string | undefined, streamed?: StreamedAnswer): CallContent {
  const budget: Budget = { left: CONTENT_MAX_CHARS, cut: false };
  const prompt = operation ? bounded(promptValueOf(operation), budget, 0) : undefined;
  if (answer === undefined && streamed !== undefined) {
    const content: CallContent = { prompt, promptTruncated: budget.cut, answer: undefined, answerTruncated: false, streamed };
    return partsSize(streamed.parts) <= STREAMED_PARTS_MAX_CHARS ? content : resolvedContent(content);
  }
  return { prompt, promptTruncated: budget.cut, ...boundedAnswer(answer) };
}

function boundedAnswer(answer: string | undefined): Pick<CallContent, 'answer' | 'answerTruncated'> {
  const answerTruncated = answer !== undefined && answer.length > CONTENT_MAX_CHARS;
  return { answer: answerTruncated ? answer!.slice(0, CONTENT_MAX_CHARS) : answer, answerTruncated };
}

function partsSize(parts: readonly StreamedPart[]): number {
  let size = 0;
  // A chunk the gateway made itself counts as a typical event's size.
  for (const part of parts) size += typeof part === 'string' ? part.length : 256;
  return size;
}

/** The content with a stream's answer read from its parts (the text, bounded); other content as it is. */
export function resolvedContent(content: CallContent): CallContent {
  const streamed = content.streamed;
  if (!streamed) return content;
  // Read once, with the finish reasons the stream's trace reads (StreamedAnswer).
  const { text } = streamed;
  const answerTruncated = text.length > CONTENT_MAX_CHARS;
  return { prompt: content.prompt, promptTruncated: content.promptTruncated, answer: answerTruncated ? text.slice(0, CONTENT_MAX_CHARS) : text, answerTruncated };
}

/** The prompt as a value (null when the call had none). */
export function promptValue(content: CallContent): unknown {
  return content.prompt ?? null;
}

interface GenAiPart {
  type: 'text' | 'tool_call' | 'tool_call_response';
  content?: unknown;
  id?: string;
  name?: string;
  arguments?: unknown;
  response?: unknown;
}

/**
 * The prompt as the GenAI semantic conventions' input messages (gen_ai.input.messages: role and
 * parts). A cut prompt, or one that is not a list of chat messages, is one user message whose text
 * part is the prompt's JSON.
 */
export function genAiInputMessages(content: CallContent): Array<{ role: string; parts: GenAiPart[] }> {
  const value = promptValue(content);
  if (Array.isArray(value) && value.every((message) => message !== null && typeof message === 'object' && typeof (message as { role?: unknown }).role === 'string')) {
    return (value as Array<Record<string, unknown>>).map((message) => ({ role: message.role as string, parts: partsOf(message) }));
  }
  return [{ role: 'user', parts: [{ type: 'text', content: typeof value === 'string' ? value : JSON.stringify(value) }] }];
}

function partsOf(message: Record<string, unknown>): GenAiPart[] {
  const parts: GenAiPart[] = [];
  const body = message.content;
  if (typeof body === 'string') parts.push({ type: 'text', content: body });
  else if (Array.isArray(body)) {
    for (const part of body as Array<Record<string, unknown>>) {
      if (part && part.type === 'text' && typeof part.text === 'string') parts.push({ type: 'text', content: part.text });
      else parts.push({ type: 'text', content: JSON.stringify(part) });
    }
  }
  if (message.role === 'tool') return [{ type: 'tool_call_response', id: typeof message.tool_call_id === 'string' ? message.tool_call_id : undefined, response: body }];
  for (const call of Array.isArray(message.tool_calls) ? (message.tool_calls as Array<{ id?: string; function?: { name?: string; arguments?: string } }>) : []) {
    parts.push({ type: 'tool_call', id: call.id, name: call.function?.name, arguments: call.function?.arguments });
  }
  return parts;
}

/**
 * JSON.stringify(genAiInputMessages(content)), written directly for the usual message (a role
 * other than tool, string content, no tool calls): the span's attribute without building the
 * message objects first.
 */
export function genAiInputJson(content: CallContent): string {
  const value = promptValue(content);
  if (!Array.isArray(value)) return JSON.stringify(genAiInputMessages(content));
  let json = '[';
  for (const message of value as unknown[]) {
    if (message === null || typeof message !== 'object') return JSON.stringify(genAiInputMessages(content));
    const { role, content: body, tool_calls: calls } = message as Record<string, unknown>;
    if (typeof role !== 'string') return JSON.stringify(genAiInputMessages(content));
    if (json.length > 1) json += ',';
    json += role !== 'tool' && typeof body === 'string' && calls === undefined ? `{"role":${JSON.stringify(role)},"parts":[{"type":"text","content":${JSON.stringify(body)}}]}` : JSON.stringify({ role, parts: partsOf(message as Record<string, unknown>) });
  }
  return `${json}]`;
}

/** JSON.stringify(genAiOutputMessages(content, finishReason)), written directly. */
export function genAiOutputJson(content: CallContent, finishReason: string | undefined): string {
  return `[{"role":"assistant","parts":[{"type":"text","content":${JSON.stringify(content.answer ?? '')}}]${finishReason ? `,"finish_reason":${JSON.stringify(finishReason)}` : ''}}]`;
}

/** The answer as the GenAI semantic conventions' output messages (gen_ai.output.messages). */
export function genAiOutputMessages(content: CallContent, finishReason: string | undefined): Array<{ role: string; parts: GenAiPart[]; finish_reason?: string }> {
  return [{ role: 'assistant', parts: [{ type: 'text', content: content.answer ?? '' }], ...(finishReason ? { finish_reason: finishReason } : {}) }];
}

/** A recorded call as the row-based destinations get it: its usage row and, when message logging is on, its content. */
export interface LoggedCall {
  row: UsageLogRow;
  content: CallContent | undefined;
}
