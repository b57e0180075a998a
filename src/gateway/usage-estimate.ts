/** The gateway's own token count of a call, used when the upstream's report is missing or implausible. */
import type { Usage } from '../providers/types.js';
import type { Operation } from './call-context.js';
import { countChatPromptTokens, countTextTokens } from './token-count.js';

export async function estimateUsage(operation: Operation, completionText: string): Promise<Usage> {
  const promptTokens = await promptTokensOf(operation);
  const completionTokens = await countTextTokens(completionText);
  return { promptTokens, completionTokens, totalTokens: promptTokens + completionTokens, estimated: true };
}

function promptTokensOf(operation: Operation): Promise<number> {
  switch (operation.kind) {
    case 'chat':
      return countChatPromptTokens(operation.request.messages, operation.request.tools);
    case 'completion':
      return countTextTokens(typeof operation.request.prompt === 'string' ? operation.request.prompt : JSON.stringify(operation.request.prompt));
    case 'embeddings':
      return countTextTokens(typeof operation.request.input === 'string' ? operation.request.input : JSON.stringify(operation.request.input));
    case 'native':
      return countTextTokens(nativeText(operation.request.native));
  }
}

/** Fields of a native body that are identifiers or encoded media, not text the model reads as tokens of text. */
const NOT_TEXT = new Set(['role', 'mimeType', 'mime_type', 'data', 'fileUri', 'file_uri', 'model', 'taskType', 'type']);

/** The text of a native body: its string leaves, field names and framing left out. */
function nativeText(value: unknown, field?: string): string {
  if (typeof value === 'string') return field !== undefined && NOT_TEXT.has(field) ? '' : `${value}\n`;
  if (Array.isArray(value)) return value.map((item) => nativeText(item, field)).join('');
  if (typeof value === 'object' && value !== null) return Object.entries(value).map(([key, item]) => nativeText(item, key)).join('');
  return '';
}
