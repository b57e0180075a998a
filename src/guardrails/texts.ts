/**
 * The texts of a request a guardrail reads, and the same request with those texts rewritten (a new
 * copy; the call's request object is never written). Chat: every message's text content (string or
 * text parts); completions: the prompt strings; embeddings: the input strings. Answers: the text
 * fields of a JSON answer in any client format (OpenAI chat/completions, Anthropic, Responses).
 */
import type { Operation } from '../gateway/call-context.js';
import { isJsonObject } from '../json-object.js';
import type { ChatContentPart, ChatMessage, JsonObject } from '../providers/types.js';

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
    const request = rewriteOtherFields(changed ? { ...operation.request, messages } : operation.request, rewrite, CHAT_READ_ELSEWHERE);
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
    request = rewriteOtherFields(request, rewrite, COMPLETION_READ_ELSEWHERE);
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

/**
 * Top-level fields of a chat or completions request that hold no text the model reads: sampling
 * and output settings, identifiers, the gateway's own routing, caching and logging fields. Every
 * other field is read — tool definitions, the predicted output, structured-output schemas
 * (`response_format`: its name, description, property descriptions and enum values; vLLM's and
 * SGLang's `guided_json`, `guided_choice`, `guided_regex`, `guided_grammar`), and any field an
 * OpenAI-compatible server takes that this list does not name — since the request reaches the
 * upstream with its other fields as sent, and a field the guardrails skipped would carry text past them.
 */
const NOT_READ_FIELDS = new Set([
  'model', 'stream', 'stream_options', 'max_tokens', 'max_completion_tokens', 'temperature', 'top_p', 'top_k', 'min_p', 'n', 'best_of', 'echo',
  'stop', 'seed', 'tool_choice', 'parallel_tool_calls', 'user', 'metadata', 'guardrails', 'logprobs', 'top_logprobs', 'logit_bias',
  'presence_penalty', 'frequency_penalty', 'repetition_penalty', 'reasoning_effort', 'reasoning', 'thinking', 'service_tier', 'store',
  'modalities', 'prompt_cache_key', 'safety_identifier', 'verbosity', 'tags', 'caching', 'cache', 'ttl', 'num_retries', 'fallbacks',
  'timeout', 'drop_params', 'mock_response', 'mock_testing_fallbacks', 'request_timeout', 'stream_timeout', 'context_window_fallback_dict',
]);
const CHAT_READ_ELSEWHERE = new Set(['messages']);
const COMPLETION_READ_ELSEWHERE = new Set(['prompt', 'suffix']);

/** The request with every string of its other read fields rewritten (rewriteStrings); the same object when nothing changed. */
function rewriteOtherFields<T extends Record<string, unknown>>(request: T, rewrite: Rewrite, readElsewhere: ReadonlySet<string>): T {
  let next = request;
  for (const [field, value] of Object.entries(request)) {
    if (value === undefined || value === null || NOT_READ_FIELDS.has(field) || readElsewhere.has(field)) continue;
    const rewritten = rewriteStrings(value, rewrite);
    if (rewritten !== value) next = { ...next, [field]: rewritten };
  }
  return next;
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
      const next = type === 'file' || type === 'image_url' ? rewriteDocumentPart(part, rewrite) : part;
      const key = type === 'text' ? 'text' : type === 'refusal' ? 'refusal' : undefined;
      const text = key ? (part as unknown as Record<string, unknown>)[key] : undefined;
      if (!key || typeof text !== 'string') {
        if (next !== part) partChanged = true;
        return next;
      }
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

// Documents. A `file` part (`file.file_data`, a data: URL: what Anthropic `document` blocks and
// Responses `input_file` items become too) or a data: URL in an `image_url` part (Gemini takes any
// media type there as inlineData) of a text media type is decoded and read — and masked, written
// back as base64 — as the other texts are; images, audio and video are not read (the guardrails read
// text). Any other document (a PDF, a file id, a part of a type not listed here) cannot be read, so a
// call with a guardrail refuses it (unreadablePart) rather than send it unchecked.
const TEXT_MEDIA = /^(?:text\/[\w.+-]+|application\/(?:json|xml|yaml|x-yaml|x-ndjson|ndjson|javascript|x-javascript|ecmascript|sql|x-sh|x-python|csv|x-csv|[\w.-]+\+(?:json|xml)))$/;
const NOT_TEXT_MEDIA = /^(?:image|audio|video)\//;
const DATA_URL = /^data:([^;,]*)((?:;[^;,]*)*?)(;base64)?,(.*)$/is;
const BASE64 = /^[A-Za-z0-9+/_-]*={0,2}$/;
const UTF8 = new TextDecoder('utf-8', { fatal: true });

type DataUrlContent = { kind: 'text'; text: string; rebuild: (text: string) => string } | { kind: 'media' } | { kind: 'unreadable'; what: string };

/** What a data: URL holds for a guardrail: text (decoded, and how to write it back), media it does not read, or what it cannot read. */
function dataUrlContent(url: string): DataUrlContent {
  const match = DATA_URL.exec(url);
  if (!match) return { kind: 'unreadable', what: 'a malformed data: URL' };
  const [, rawType, params, base64, payload] = match;
  const mediaType = (rawType.trim() || 'text/plain').toLowerCase();
  if (NOT_TEXT_MEDIA.test(mediaType)) return { kind: 'media' };
  if (!TEXT_MEDIA.test(mediaType)) return { kind: 'unreadable', what: `a ${mediaType} document` };
  const charset = /;\s*charset=([^;]*)/i.exec(params)?.[1]?.trim().replace(/^"|"$/g, '').toLowerCase();
  if (charset !== undefined && !['utf-8', 'utf8', 'us-ascii', 'ascii'].includes(charset)) return { kind: 'unreadable', what: `a ${mediaType} document in charset ${charset} (send it as UTF-8)` };
  let text: string;
  try {
    if (base64) {
      const clean = payload.replace(/\s+/g, '');
      if (!BASE64.test(clean)) return { kind: 'unreadable', what: `a ${mediaType} document that is not valid base64` };
      text = UTF8.decode(Buffer.from(clean, 'base64'));
    } else {
      text = decodeURIComponent(payload);
    }
  } catch {
    return { kind: 'unreadable', what: `a ${mediaType} document that is not valid UTF-8 text` };
  }
  return { kind: 'text', text, rebuild: (next) => `data:${rawType}${params};base64,${Buffer.from(next, 'utf8').toString('base64')}` };
}

/** A `file` or `image_url` part with its text document (and a file's name) rewritten; the same part when nothing changed. */
function rewriteDocumentPart(part: ChatContentPart, rewrite: Rewrite): ChatContentPart {
  const record = part as unknown as Record<string, unknown>;
  if (record.type === 'image_url') {
    const image = record.image_url;
    const url = typeof image === 'string' ? image : isJsonObject(image) ? image.url : undefined;
    if (typeof url !== 'string' || !url.startsWith('data:')) return part;
    const content = dataUrlContent(url);
    if (content.kind !== 'text') return part;
    const text = rewrite(content.text);
    if (text === content.text) return part;
    const next = content.rebuild(text);
    return { ...part, image_url: typeof image === 'string' ? next : { ...(image as JsonObject), url: next } } as ChatContentPart;
  }
  const file = record.file;
  if (!isJsonObject(file)) return part;
  let next = file;
  if (typeof file.filename === 'string') {
    const filename = rewrite(file.filename);
    if (filename !== file.filename) next = { ...next, filename };
  }
  if (typeof file.file_data === 'string') {
    const content = dataUrlContent(file.file_data);
    if (content.kind === 'text') {
      const text = rewrite(content.text);
      if (text !== content.text) next = { ...next, file_data: content.rebuild(text) };
    }
  }
  return next === file ? part : ({ ...part, file: next } as ChatContentPart);
}

/**
 * The first content part of a chat request a guardrail cannot read — a document that is not text
 * (a PDF, an uploaded file's id, text in another charset), a part of a type not known here — or
 * undefined: with a guardrail on the call such a request is refused rather than run unchecked.
 */
export function unreadablePart(operation: Operation): { param: string; what: string } | undefined {
  if (operation.kind !== 'chat') return undefined;
  const messages = operation.request.messages;
  for (let index = 0; index < messages.length; index++) {
    const content = messages[index].content;
    if (!Array.isArray(content)) continue;
    for (let partIndex = 0; partIndex < content.length; partIndex++) {
      const what = unreadableWhat(content[partIndex]);
      if (what) return { param: `messages[${index}].content[${partIndex}]`, what };
    }
  }
  return undefined;
}

function unreadableWhat(part: ChatContentPart): string | undefined {
  const record = part as unknown as Record<string, unknown>;
  switch (record.type) {
    case 'text':
    case 'refusal':
    case 'input_audio':
      return undefined;
    case 'image_url': {
      const image = record.image_url;
      const url = typeof image === 'string' ? image : isJsonObject(image) ? image.url : undefined;
      // An image by reference (an http(s) URL) is an image; the gateway does not fetch it.
      if (typeof url !== 'string' || !url.startsWith('data:')) return undefined;
      const content = dataUrlContent(url);
      return content.kind === 'unreadable' ? content.what : undefined;
    }
    case 'file': {
      const file = record.file;
      const data = isJsonObject(file) ? file.file_data : undefined;
      if (typeof data !== 'string') return 'a file sent by id (not inline as "file_data")';
      const content = dataUrlContent(data);
      return content.kind === 'unreadable' ? content.what : undefined;
    }
    default:
      return `a content part of type ${JSON.stringify(record.type)}`;
  }
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
