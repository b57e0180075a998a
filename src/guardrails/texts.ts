/**
 * The texts of a request a guardrail reads, and the same request with those texts rewritten (a new
 * copy; the call's request object is never written). Chat: every message's text content (string or
 * text parts); completions: the prompt strings; embeddings: the input strings. Answers: the text
 * fields of a JSON answer in any client format (OpenAI chat/completions, Anthropic, Responses).
 */
import type { Operation } from '../gateway/call-context.js';
import type { ChatMessage, ChatRequest } from '../providers/types.js';

export type Rewrite = (text: string) => string;

/** The texts of the operation's request, or undefined for an operation guardrails cannot read. */
export function requestTexts(operation: Operation): string[] | undefined {
  const texts: string[] = [];
  rewriteRequest(operation, (text) => {
    texts.push(text);
    return text;
  });
  return operation.kind === 'native' ? undefined : texts;
}

/**
 * The field of a completions or embeddings request a guardrail cannot read — a `prompt` or `input`
 * of token ids rather than text — or undefined: such a request is refused rather than run unchecked.
 */
export function unreadableField(operation: Operation): 'prompt' | 'input' | undefined {
  const isText = (value: unknown) => typeof value === 'string' || (Array.isArray(value) && value.every((item) => typeof item === 'string'));
  if (operation.kind === 'completion' && operation.request.prompt !== undefined && operation.request.prompt !== null && !isText(operation.request.prompt)) return 'prompt';
  if (operation.kind === 'embeddings' && !isText(operation.request.input)) return 'input';
  return undefined;
}

/** The operation with each text replaced by `rewrite(text)`; the same object when nothing changed. */
export function rewriteRequest(operation: Operation, rewrite: Rewrite): Operation {
  if (operation.kind === 'chat') {
    let changed = false;
    const messages = operation.request.messages.map((message) => {
      const next = rewriteMessage(message, rewrite);
      if (next !== message) changed = true;
      return next;
    });
    // Other texts the model reads: tool definitions (descriptions and parameter schemas, also the
    // legacy `functions`) and the predicted output.
    let request: ChatRequest = changed ? { ...operation.request, messages } : operation.request;
    for (const field of ['tools', 'functions', 'prediction'] as const) {
      const value = operation.request[field];
      if (value === undefined || value === null) continue;
      const next = rewriteStrings(value, rewrite);
      if (next !== value) request = { ...request, [field]: next };
    }
    return request === operation.request ? operation : { ...operation, request };
  }
  if (operation.kind === 'completion') {
    const prompt = operation.request.prompt;
    let request = operation.request;
    if (typeof prompt === 'string') {
      const next = rewrite(prompt);
      if (next !== prompt) request = { ...request, prompt: next };
    } else if (Array.isArray(prompt) && prompt.every((item) => typeof item === 'string')) {
      const next = (prompt as string[]).map(rewrite);
      if (!next.every((item, index) => item === prompt[index])) request = { ...request, prompt: next };
    }
    // The text after the insertion point is read as much as the prompt.
    if (typeof request.suffix === 'string') {
      const suffix = rewrite(request.suffix);
      if (suffix !== request.suffix) request = { ...request, suffix };
    }
    return request === operation.request ? operation : { ...operation, request };
  }
  if (operation.kind === 'embeddings') {
    const input = operation.request.input;
    if (typeof input === 'string') {
      const next = rewrite(input);
      return next === input ? operation : { ...operation, request: { ...operation.request, input: next } };
    }
    if (Array.isArray(input) && input.every((item) => typeof item === 'string')) {
      const next = (input as string[]).map(rewrite);
      return next.every((item, index) => item === input[index]) ? operation : { ...operation, request: { ...operation.request, input: next } };
    }
  }
  return operation;
}

/** A chat message with its texts rewritten: content (string, text and refusal parts), name, tool-call arguments. */
function rewriteMessage(message: ChatMessage, rewrite: Rewrite): ChatMessage {
  let next = message;
  if (typeof message.content === 'string') {
    const content = rewrite(message.content);
    if (content !== message.content) next = { ...next, content };
  } else if (Array.isArray(message.content)) {
    let partChanged = false;
    const parts = message.content.map((part) => {
      const type = (part as { type?: string }).type;
      const key = type === 'text' ? 'text' : type === 'refusal' ? 'refusal' : undefined;
      const text = key ? (part as unknown as Record<string, unknown>)[key] : undefined;
      if (!key || typeof text !== 'string') return part;
      const rewritten = rewrite(text);
      if (rewritten === text) return part;
      partChanged = true;
      return { ...part, [key]: rewritten };
    });
    if (partChanged) next = { ...next, content: parts as typeof message.content };
  }
  const record = message as unknown as Record<string, unknown>;
  for (const field of ['name', 'refusal', 'tool_calls', 'function_call'] as const) {
    const value = record[field];
    if (value === undefined || value === null) continue;
    const rewritten = rewriteStrings(value, rewrite);
    if (rewritten !== value) next = { ...next, [field]: rewritten } as ChatMessage;
  }
  return next;
}

/** Fields that hold identifiers or JSON-schema syntax, not text for the model: not read. */
const NOT_TEXT_KEYS = new Set(['id', 'type', 'format', 'pattern', '$ref', '$schema', 'required', 'strict']);

/** Every string inside a JSON value rewritten (object keys kept); the same value when nothing changed. */
function rewriteStrings(value: unknown, rewrite: Rewrite, key = ''): unknown {
  if (NOT_TEXT_KEYS.has(key)) return value;
  if (typeof value === 'string') return rewrite(value);
  if (Array.isArray(value)) {
    const next = value.map((item) => rewriteStrings(item, rewrite));
    return next.every((item, index) => item === value[index]) ? value : next;
  }
  if (typeof value === 'object' && value !== null) {
    let changed = false;
    const entries = Object.entries(value).map(([name, item]) => {
      const next = rewriteStrings(item, rewrite, name);
      if (next !== item) changed = true;
      return [name, next] as const;
    });
    return changed ? Object.fromEntries(entries) : value;
  }
  return value;
}

// What the model wrote that the client reads: text, refusals, reasoning (OpenAI-compatible
// `reasoning_content`, Anthropic `thinking`) and tool-call arguments (a JSON string; Anthropic's
// `tool_use` input is an object, every string in it read).
const ANSWER_TEXT_KEYS = new Set(['content', 'text', 'refusal', 'output_text', 'reasoning_content', 'reasoning', 'thinking', 'arguments']);
const ANSWER_OBJECT_KEYS = new Set(['input']);

/** The text values of a JSON answer (message content, completion text, reasoning, tool-call arguments; Anthropic and Responses blocks). */
export function answerTexts(value: unknown, into: string[] = [], key = ''): string[] {
  if (ANSWER_OBJECT_KEYS.has(key) && typeof value === 'object' && value !== null) {
    rewriteStrings(value, (text) => (into.push(text), text));
  } else if (typeof value === 'string') {
    if (ANSWER_TEXT_KEYS.has(key)) into.push(value);
  } else if (Array.isArray(value)) {
    for (const item of value) answerTexts(item, into, key);
  } else if (typeof value === 'object' && value !== null) {
    for (const [name, item] of Object.entries(value)) if (name !== 'usage') answerTexts(item, into, name);
  }
  return into;
}
