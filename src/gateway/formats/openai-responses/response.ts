/**
 * Canonical (OpenAI-format) chat completion → Responses `response` object, the pieces the stream
 * encoder shares with it (the object's frame, usage, status), and the reverse a stored response
 * needs: its output as the assistant turn of the conversation that `previous_response_id` continues.
 */
import { usageFromOpenAI } from '../../../providers/shared/usage.js';
import type { ChatMessage, ChatResponse, JsonObject, Usage } from '../../../providers/types.js';
import { reasoningOf } from '../anthropic-messages/response.js';
import { itemId } from './input-items.js';
import { decodeThinkingBlocks, encodeThinkingBlocks, signedBlocksOf } from './reasoning-blocks.js';
import type { ResponseObject, ResponseOutputItem, ResponseReasoningItem, ResponsesRequestContext, ResponseStatus, ResponseUsage } from './types.js';

export function responseUsage(usage: Usage | undefined): ResponseUsage | null {
  if (!usage) return null;
  const input = usage.promptTokens ?? 0;
  const output = usage.completionTokens ?? 0;
  return {
    input_tokens: input,
    input_tokens_details: { cached_tokens: usage.cachedTokens ?? 0 },
    output_tokens: output,
    output_tokens_details: { reasoning_tokens: usage.reasoningTokens ?? 0 },
    total_tokens: usage.totalTokens ?? input + output,
  };
}

/** finish_reason → the response's status: a cut answer is "incomplete", with the reason. */
export function statusOf(finishReason: string | null | undefined): { status: ResponseStatus; incomplete: ResponseObject['incomplete_details'] } {
  if (finishReason === 'length') return { status: 'incomplete', incomplete: { reason: 'max_output_tokens' } };
  if (finishReason === 'content_filter') return { status: 'incomplete', incomplete: { reason: 'content_filter' } };
  return { status: 'completed', incomplete: null };
}

export function outputTextOf(output: ResponseOutputItem[]): string {
  let text = '';
  for (const item of output) if (item.type === 'message') for (const part of item.content) text += typeof part.text === 'string' ? part.text : '';
  return text;
}

/** The response object around an output; the stream encoder sends it in its lifecycle events. */
export function responseFrame(context: ResponsesRequestContext, state: { status: ResponseStatus; output: ResponseOutputItem[]; usage: ResponseUsage | null; incomplete?: ResponseObject['incomplete_details']; error?: ResponseObject['error'] }): ResponseObject {
  return {
    id: context.id,
    object: 'response',
    created_at: context.createdAt,
    completed_at: state.status === 'completed' ? Math.floor(Date.now() / 1000) : null,
    background: false,
    status: state.status,
    error: state.error ?? null,
    incomplete_details: state.incomplete ?? null,
    instructions: context.instructions,
    max_output_tokens: context.maxOutputTokens,
    model: context.model,
    output: state.output,
    output_text: outputTextOf(state.output),
    parallel_tool_calls: context.parallelToolCalls,
    previous_response_id: context.previousResponseId,
    reasoning: context.reasoning,
    store: context.store,
    temperature: context.temperature,
    text: { format: context.textFormat },
    tool_choice: context.toolChoice,
    tools: context.tools,
    top_p: context.topP,
    truncation: 'disabled',
    usage: state.usage,
    user: context.user,
    metadata: context.metadata,
  };
}

/** A stored response's frame in another state (the replay's first events). */
export function responseFrameOf(response: ResponseObject, state: Pick<ResponseObject, 'status' | 'output' | 'usage'>): ResponseObject {
  return { ...response, ...state, output_text: outputTextOf(state.output), completed_at: null, incomplete_details: null, error: null };
}

function textOf(content: ChatMessage['content']): string {
  if (typeof content === 'string') return content;
  if (!Array.isArray(content)) return '';
  return content.map((part) => (part.type === 'text' && typeof part.text === 'string' ? part.text : '')).join('');
}

export function chatToResponse(response: ChatResponse, context: ResponsesRequestContext): ResponseObject {
  const choice = response.choices?.[0];
  const message = choice?.message;
  const { status, incomplete } = statusOf(choice?.finish_reason);
  const itemStatus = status === 'incomplete' ? 'incomplete' : 'completed';
  const output: ResponseOutputItem[] = [];
  const reasoning = reasoningOf(message);
  const signed = signedBlocksOf(message?.thinking_blocks);
  if (reasoning !== undefined || signed.length > 0) {
    const item: ResponseReasoningItem = { id: itemId('rs'), type: 'reasoning', summary: [], content: reasoning === undefined ? [] : [{ type: 'reasoning_text', text: reasoning }], status: 'completed' };
    if (signed.length > 0) item.encrypted_content = encodeThinkingBlocks(signed);
    output.push(item);
  }
  const text = textOf(message?.content) || (typeof message?.refusal === 'string' ? message.refusal : '');
  if (text.length > 0) {
    output.push({ id: itemId('msg'), type: 'message', role: 'assistant', status: itemStatus, content: [{ type: 'output_text', text, annotations: [], logprobs: [] }] });
  }
  for (const call of message?.tool_calls ?? []) {
    output.push({ id: itemId('fc'), type: 'function_call', status: 'completed', call_id: call.id || itemId('call'), name: call.function?.name ?? '', arguments: call.function?.arguments ?? '' });
  }
  return responseFrame(context, { status, incomplete, output, usage: responseUsage(usageFromOpenAI(response.usage)) });
}

/**
 * A response's output as the assistant turn the next request continues from. Reasoning text is
 * left out (only its author could read it); signed thinking goes back as `thinking_blocks`.
 */
export function outputToMessages(output: ResponseOutputItem[]): ChatMessage[] {
  let text = '';
  const toolCalls: NonNullable<ChatMessage['tool_calls']> = [];
  const thinking: JsonObject[] = [];
  for (const item of output) {
    // A natively relayed response may hold refusal parts and items of other kinds: only text, calls and signed thinking continue.
    if (item.type === 'message') text += item.content.map((part) => (typeof part.text === 'string' ? part.text : '')).join('');
    else if (item.type === 'function_call') toolCalls.push({ id: item.call_id, type: 'function', function: { name: item.name, arguments: item.arguments } });
    else if (item.type === 'reasoning') thinking.push(...(decodeThinkingBlocks(item.encrypted_content) ?? []));
  }
  if (text.length === 0 && toolCalls.length === 0) return [];
  const message: ChatMessage = { role: 'assistant', content: text.length > 0 ? text : null };
  if (toolCalls.length > 0) message.tool_calls = toolCalls;
  if (thinking.length > 0) message.thinking_blocks = thinking;
  return [message];
}
