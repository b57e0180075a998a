/**
 * The texts of a request a guardrail reads, and the same request with those texts rewritten (a new
 * copy; the call's request object is never written). Chat: every message's text content (string or
 * text parts); completions: the prompt strings; embeddings: the input strings. Answers: the text
 * fields of a JSON answer in any client format (OpenAI chat/completions, Anthropic, Responses).
 */
import type { Operation } from '../gateway/call-context.js';

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

/** The operation with each text replaced by `rewrite(text)`; the same object when nothing changed. */
export function rewriteRequest(operation: Operation, rewrite: Rewrite): Operation {
  if (operation.kind === 'chat') {
    let changed = false;
    const messages = operation.request.messages.map((message) => {
      if (typeof message.content === 'string') {
        const content = rewrite(message.content);
        if (content === message.content) return message;
        changed = true;
        return { ...message, content };
      }
      if (!Array.isArray(message.content)) return message;
      let partChanged = false;
      const parts = message.content.map((part) => {
        const text = (part as { type?: string; text?: unknown }).text;
        if ((part as { type?: string }).type !== 'text' || typeof text !== 'string') return part;
        const next = rewrite(text);
        if (next === text) return part;
        partChanged = true;
        return { ...part, text: next };
      });
      if (!partChanged) return message;
      changed = true;
      return { ...message, content: parts };
    });
    return changed ? { ...operation, request: { ...operation.request, messages } } : operation;
  }
  if (operation.kind === 'completion') {
    const prompt = operation.request.prompt;
    if (typeof prompt === 'string') {
      const next = rewrite(prompt);
      return next === prompt ? operation : { ...operation, request: { ...operation.request, prompt: next } };
    }
    if (Array.isArray(prompt) && prompt.every((item) => typeof item === 'string')) {
      const next = (prompt as string[]).map(rewrite);
      return next.every((item, index) => item === prompt[index]) ? operation : { ...operation, request: { ...operation.request, prompt: next } };
    }
    return operation;
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

const ANSWER_TEXT_KEYS = new Set(['content', 'text', 'refusal', 'output_text']);

/** The text values of a JSON answer (message content, completion text, Anthropic and Responses text blocks). */
export function answerTexts(value: unknown, into: string[] = [], key = ''): string[] {
  if (typeof value === 'string') {
    if (ANSWER_TEXT_KEYS.has(key)) into.push(value);
  } else if (Array.isArray(value)) {
    for (const item of value) answerTexts(item, into, key);
  } else if (typeof value === 'object' && value !== null) {
    for (const [name, item] of Object.entries(value)) if (name !== 'usage') answerTexts(item, into, name);
  }
  return into;
}
