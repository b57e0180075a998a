/**
 * Mock responses (LiteLLM's `mock_response` body field): after resolve and admit — so only a key
 * that may use the model gets one, and its rate limits count the request — the call is answered
 * locally with the given text, in the client's format (JSON or a stream; OpenAI or Anthropic), and
 * recorded as a mock: tokens counted locally, cost 0, the reservations released. No upstream is
 * called. Useful for testing clients and budgets without spending anything.
 */
import type { ServerResponse } from 'node:http';
import { formatUsd } from '../../billing/cost.js';
import { responseToChunks } from '../../cache/entry.js';
import { GatewayError } from '../../errors.js';
import type { ChatResponse, Usage } from '../../providers/types.js';
import type { GatewayResult } from '../call-context.js';
import type { Call, Stage } from '../call.js';
import type { UsageRecorder } from '../record.js';
import { estimateUsage } from '../usage-estimate.js';
import { awaitDuringCall } from '../../guardrails/during-call.js';

export function mockStage(recorder: UsageRecorder): Stage {
  // A call without "mock_response" passes straight on (no promise of this stage's own).
  return (call, next) => {
    const text = call.context.requestOptions?.mockResponse;
    return text === undefined ? next(call) : answerWithMock(recorder, call, text);
  };
}

async function answerWithMock(recorder: UsageRecorder, call: Call, text: string): Promise<GatewayResult> {
  if (call.operation.kind === 'embeddings') throw new GatewayError('invalid_request', '"mock_response" answers chat and completion calls; embeddings have no text answer to mock', { param: 'mock_response' });
  const usage = await estimateUsage(call.operation, text);
  await awaitDuringCall(call); // a during_call guardrail's refusal replaces the mocked answer too
  recorder.recordMock(call, usage);
  return mockResult(call, text, usage);
}

function openAIUsage(usage: Usage) {
  const prompt = usage.promptTokens ?? 0;
  const completion = usage.completionTokens ?? 0;
  return { prompt_tokens: prompt, completion_tokens: completion, total_tokens: prompt + completion };
}

function headersOf(call: Call): Record<string, string> {
  const headers: Record<string, string> = {
    'x-switchboard-call-id': call.context.callId,
    'x-switchboard-model-group': call.resolution!.group.name,
    'x-switchboard-mock-response': 'true',
    'x-switchboard-response-cost': formatUsd(0),
    'x-switchboard-attempted-retries': '0',
    'x-switchboard-attempted-fallbacks': '0',
  };
  const ticket = call.admission?.ticket;
  if (ticket) Object.assign(headers, ticket.headers);
  return headers;
}

function streamed(headers: Record<string, string>, contentType: string, text: string): GatewayResult {
  headers['content-type'] = contentType;
  headers['cache-control'] = 'no-cache';
  headers.connection = 'keep-alive';
  headers['x-accel-buffering'] = 'no';
  return {
    kind: 'stream',
    headers,
    pump: (response: ServerResponse) =>
      new Promise<void>((resolve) => {
        response.end(text, () => resolve());
        response.once('close', () => resolve());
      }),
  };
}

export function mockResult(call: Call, text: string, usage: Usage): GatewayResult {
  const headers = headersOf(call);
  const created = Math.floor(Date.now() / 1000);
  // The model the client named, as LiteLLM's mock answers.
  const model = call.operation.request.model;
  const includeUsage = (call.operation.request as { stream_options?: { include_usage?: unknown } }).stream_options?.include_usage === true;
  if (call.operation.kind === 'completion') {
    const id = `cmpl-${call.context.callId}`;
    const choice = { text, index: 0, logprobs: null, finish_reason: 'stop' };
    if (!call.stream) return { kind: 'json', status: 200, headers, body: JSON.stringify({ id, object: 'text_completion', created, model, choices: [choice], usage: openAIUsage(usage) }) };
    let body = `data: ${JSON.stringify({ id, object: 'text_completion', created, model, choices: [choice] })}\n\n`;
    if (includeUsage) body += `data: ${JSON.stringify({ id, object: 'text_completion', created, model, choices: [], usage: openAIUsage(usage) })}\n\n`;
    return streamed(headers, 'text/event-stream; charset=utf-8', `${body}data: [DONE]\n\n`);
  }
  const response: ChatResponse = {
    id: `chatcmpl-${call.context.callId}`,
    object: 'chat.completion',
    created,
    model,
    choices: [{ index: 0, message: { role: 'assistant', content: text }, finish_reason: 'stop' }],
    usage: openAIUsage(usage),
  } as ChatResponse;
  if (!call.stream) return { kind: 'json', status: 200, headers, body: call.format.chat(response, undefined) };
  const encoder = call.format.stream({ includeUsage });
  const chunks = responseToChunks(response);
  return streamed(headers, encoder.contentType, encoder.chunks(chunks.map((chunk) => ({ chunk }))) + encoder.end({ usage, last: chunks[chunks.length - 1], usageForwarded: false }));
}
