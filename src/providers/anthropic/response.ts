/** Anthropic Message → OpenAI chat completion. */
import { isJsonObject } from '../../json-object.js';
import { GatewayError } from '../../errors.js';
import type { ChatMessage, ChatResponse, ChatToolCall, Deployment, JsonObject } from '../types.js';
import { finishReasonFromStopReason } from './finish-reason.js';
import { JSON_TOOL_NAME } from './json-response.js';
import { openAIUsageFromAnthropic } from './usage.js';
import type { AnthropicMessage, ResponseContentBlock } from './wire.js';

function isMessage(body: unknown): body is AnthropicMessage {
  return isJsonObject(body) && body.type === 'message' && Array.isArray(body.content);
}

/** The assistant message built from content blocks, in their order. */
function messageFromBlocks(blocks: ResponseContentBlock[]): { message: ChatMessage; answeredWithJsonTool: boolean } {
  let text = '';
  let reasoning = '';
  let json: string | undefined;
  const toolCalls: ChatToolCall[] = [];
  const thinkingBlocks: JsonObject[] = [];
  for (const block of blocks) {
    if (block.type === 'text' && typeof block.text === 'string') {
      text += block.text;
    } else if (block.type === 'tool_use' && typeof block.id === 'string' && typeof block.name === 'string') {
      const input = JSON.stringify(block.input ?? {});
      if (block.name === JSON_TOOL_NAME) json = input;
      else toolCalls.push({ id: block.id, type: 'function', function: { name: block.name, arguments: input } });
    } else if (block.type === 'thinking' && typeof block.thinking === 'string') {
      reasoning += block.thinking;
      thinkingBlocks.push({ type: 'thinking', thinking: block.thinking, signature: block.signature });
    } else if (block.type === 'redacted_thinking') {
      thinkingBlocks.push({ type: 'redacted_thinking', data: block.data });
    }
    // Server-tool blocks (web search results, code execution, ...) have no OpenAI equivalent.
  }
  // With response_format the answer tool's input is the content; text the model may have written
  // around it (only possible when the tool was not forced) is not part of the JSON answer.
  const content = json ?? (text.length > 0 ? text : toolCalls.length > 0 ? null : '');
  const message: ChatMessage = { role: 'assistant', content };
  if (toolCalls.length > 0) message.tool_calls = toolCalls;
  // LiteLLM's fields: reasoning_content for reading, thinking_blocks (signed) for sending back.
  if (thinkingBlocks.length > 0) {
    message.reasoning_content = reasoning;
    message.thinking_blocks = thinkingBlocks;
  }
  return { message, answeredWithJsonTool: json !== undefined && toolCalls.length === 0 };
}

export function parseAnthropicResponse(body: unknown, target: Deployment): ChatResponse {
  if (!isMessage(body)) {
    throw new GatewayError('upstream_invalid_response', `${target.provider} returned a body that is not a Message (no "type":"message" with "content")`, { provider: target.provider });
  }
  const { message, answeredWithJsonTool } = messageFromBlocks(body.content);
  const finishReason = answeredWithJsonTool && body.stop_reason === 'tool_use' ? 'stop' : finishReasonFromStopReason(body.stop_reason);
  const response: ChatResponse = {
    id: body.id,
    object: 'chat.completion',
    created: Math.floor(Date.now() / 1000),
    model: typeof body.model === 'string' ? body.model : target.upstreamModel,
    choices: [{ index: 0, message, finish_reason: finishReason ?? 'stop', logprobs: null }],
  };
  if (isJsonObject(body.usage)) response.usage = openAIUsageFromAnthropic(body.usage);
  return response;
}
