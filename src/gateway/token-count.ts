/**
 * Counts tokens when an upstream omits usage (some streaming servers do) and for
 * /v1/messages/count_tokens. Uses the o200k BPE (gpt-tokenizer), loaded on first use so start-up
 * and the normal request path never pay for it. Counts for non-OpenAI models are estimates.
 */
import type { ChatMessage } from '../providers/types.js';

type Counter = (text: string) => number;
let counter: Promise<Counter> | undefined;

function loadCounter(): Promise<Counter> {
  counter ??= import('gpt-tokenizer').then((module) => (text: string) => module.countTokens(text));
  return counter;
}

export async function countTextTokens(text: string): Promise<number> {
  if (text.length === 0) return 0;
  return (await loadCounter())(text);
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
  let total = 3;
  for (const message of messages) {
    total += 3 + count(messageText(message)) + (message.name ? 1 : 0);
  }
  if (tools && tools.length > 0) total += count(JSON.stringify(tools));
  return total;
}
