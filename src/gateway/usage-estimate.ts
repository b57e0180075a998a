/** The gateway's own token count of a call, used when the upstream's report is missing or implausible. */
import type { Usage } from '../providers/types.js';
import type { Operation } from './call-context.js';
import { countChatPromptTokens, countTextTokens } from './token-count.js';

export async function estimateUsage(operation: Operation, completionText: string): Promise<Usage> {
  const promptTokens =
    operation.kind === 'chat'
      ? await countChatPromptTokens(operation.request.messages, operation.request.tools)
      : operation.kind === 'completion'
        ? await countTextTokens(typeof operation.request.prompt === 'string' ? operation.request.prompt : JSON.stringify(operation.request.prompt))
        : await countTextTokens(typeof operation.request.input === 'string' ? operation.request.input : JSON.stringify(operation.request.input));
  const completionTokens = await countTextTokens(completionText);
  return { promptTokens, completionTokens, totalTokens: promptTokens + completionTokens, estimated: true };
}
