/**
 * Counts tokens when an upstream omits usage (some streaming servers do) and for
 * /v1/messages/count_tokens. Uses the o200k BPE (o200k.ts: gpt-tokenizer's ranks in a compact
 * table), loaded on first use so start-up and the normal request path never pay for it. Counts for
 * non-OpenAI models are estimates. Text that spells a special token (`<|endoftext|>`) is ordinary
 * text in a prompt or an answer — providers read and bill it as such — and is counted as text.
 *
 * BPE costs grow with the square of a word's length (64k characters without a space take 2 s),
 * and a whole prompt counted at once blocks the event loop for every other request. So text is
 * counted in slices of at most SLICE_CHARACTERS, cut before whitespace where there is some (which
 * keeps the count exact: the tokenizer splits there too), yielding to the event loop between
 * slices every few milliseconds.
 */
import type { ChatMessage } from '../providers/types.js';
import { o200kCounter } from './o200k.js';

type Counter = (text: string) => number;
let counter: Promise<Counter> | undefined;

/** Longest slice counted at once: about 2 ms of work even for text without any whitespace. */
const SLICE_CHARACTERS = 2048;
/** Work done before the event loop gets a turn. */
const YIELD_AFTER_MS = 4;

/**
 * Most characters /v1/messages/count_tokens accepts (messages, system and tools together): about
 * 500k tokens, beyond every model's context window.
 */
export const MAX_COUNT_TOKENS_CHARACTERS = 2_000_000;

function loadCounter(): Promise<Counter> {
  counter ??= o200kCounter();
  return counter;
}

function yieldToEventLoop(): Promise<void> {
  return new Promise((resolve) => setImmediate(resolve));
}

/** Where the slice starting at `start` ends: before the last whitespace in its second half, else at the cap. */
function sliceEnd(text: string, start: number): number {
  const limit = start + SLICE_CHARACTERS;
  if (limit >= text.length) return text.length;
  for (let index = limit; index > start + SLICE_CHARACTERS / 2; index--) {
    const code = text.charCodeAt(index);
    if (code === 32 || code === 10 || code === 9 || code === 13) return index;
  }
  // Never split a surrogate pair.
  const code = text.charCodeAt(limit - 1);
  return code >= 0xd800 && code <= 0xdbff ? limit - 1 : limit;
}

/** Tokens of a text, counted slice by slice; `clock` carries the time since the last yield across calls. */
async function countSliced(count: Counter, text: string, clock: { since: number }): Promise<number> {
  let total = 0;
  for (let start = 0; start < text.length; ) {
    const end = sliceEnd(text, start);
    total += count(text.slice(start, end));
    start = end;
    if (performance.now() - clock.since >= YIELD_AFTER_MS) {
      await yieldToEventLoop();
      clock.since = performance.now();
    }
  }
  return total;
}

export async function countTextTokens(text: string): Promise<number> {
  if (text.length === 0) return 0;
  return countSliced(await loadCounter(), text, { since: performance.now() });
}

/** Characters a chat prompt's counting would read (what MAX_COUNT_TOKENS_CHARACTERS bounds). */
export function promptCharacters(messages: ChatMessage[], tools?: unknown[]): number {
  let total = 0;
  for (const message of messages) total += messageText(message).length;
  if (tools && tools.length > 0) total += JSON.stringify(tools).length;
  return total;
}

/** Text of a message's content, as a model would read it (image parts are not counted here). */
export function messageText(message: Pick<ChatMessage, 'content' | 'tool_calls' | 'name'>): string {
  let text = '';
  const content = message.content;
  if (typeof content === 'string') text += content;
  else if (Array.isArray(content)) {
    for (const part of content) if (part.type === 'text' && typeof part.text === 'string') text += part.text;
  }
  for (const call of message.tool_calls ?? []) text += call.function.name + call.function.arguments;
  return text;
}

/** Prompt tokens of a chat request: content plus OpenAI's per-message framing (3 per message, 3 to prime). */
export async function countChatPromptTokens(messages: ChatMessage[], tools?: unknown[]): Promise<number> {
  const count = await loadCounter();
  const clock = { since: performance.now() };
  let total = 3;
  for (const message of messages) {
    total += 3 + (await countSliced(count, messageText(message), clock)) + (message.name ? 1 : 0);
  }
  if (tools && tools.length > 0) total += await countSliced(count, JSON.stringify(tools), clock);
  return total;
}
