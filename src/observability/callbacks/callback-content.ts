/**
 * What the logging callbacks get of a call's content — the prompt and the answer text — whenever
 * message logging is on (litellm_settings.turn_off_message_logging not set), whether or not the
 * usage row stores prompts. Each part is bounded (CONTENT_MAX_CHARS): a longer part is cut and
 * marked, so a queued call holds at most about 2 × CONTENT_MAX_CHARS characters of content.
 *
 * On the request path the prompt is serialised once (or the usage row's serialisation is reused)
 * and cut; its parsing and the GenAI message shapes are built only when a batch is sent.
 */
import type { Operation } from '../../gateway/call-context.js';

/** Characters kept of each of the prompt (as JSON) and the answer text per call. */
export const CONTENT_MAX_CHARS = 8_192;

export interface CallContent {
  /** The prompt as JSON (chat messages, a completion prompt, embedding input, a native body), cut at CONTENT_MAX_CHARS. */
  prompt: string | undefined;
  promptTruncated: boolean;
  /** The answer text (for a stream: what was streamed), cut at CONTENT_MAX_CHARS. */
  answer: string | undefined;
  answerTruncated: boolean;
}

/** The prompt of an operation: what promptOf serialises (gateway/request-body.ts). */
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

/** The bounded content of a call; `serialized` is the prompt's JSON when the usage row already made it. */
export function callContentOf(operation: Operation | undefined, serialized: string | undefined, answer: string | undefined): CallContent {
  let prompt = serialized;
  if (prompt === undefined && operation) {
    try {
      prompt = JSON.stringify(promptValueOf(operation));
    } catch {
      prompt = undefined;
    }
  }
  const promptTruncated = prompt !== undefined && prompt.length > CONTENT_MAX_CHARS;
  const answerTruncated = answer !== undefined && answer.length > CONTENT_MAX_CHARS;
  return {
    prompt: promptTruncated ? prompt!.slice(0, CONTENT_MAX_CHARS) : prompt,
    promptTruncated,
    answer: answerTruncated ? answer!.slice(0, CONTENT_MAX_CHARS) : answer,
    answerTruncated,
  };
}

/** The prompt as a value: parsed when whole, else the cut JSON text. */
export function promptValue(content: CallContent): unknown {
  if (content.prompt === undefined) return null;
  if (content.promptTruncated) return content.prompt;
  try {
    return JSON.parse(content.prompt);
  } catch {
    return content.prompt;
  }
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

/** The answer as the GenAI semantic conventions' output messages (gen_ai.output.messages). */
export function genAiOutputMessages(content: CallContent, finishReason: string | undefined): Array<{ role: string; parts: GenAiPart[]; finish_reason?: string }> {
  return [{ role: 'assistant', parts: [{ type: 'text', content: content.answer ?? '' }], ...(finishReason ? { finish_reason: finishReason } : {}) }];
}
