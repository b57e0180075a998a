/**
 * OpenAI's `/v1/responses` relayed untranslated (a Responses request with built-in tools, which
 * only OpenAI's servers run): usage read from the Response's `usage` (`input_tokens`,
 * `input_tokens_details.cached_tokens`, `output_tokens`, `output_tokens_details.reasoning_tokens`),
 * and a stream's events passed on exactly as they came — `event:` and `data:` lines — with the
 * usage taken from the terminal event (`response.completed`, `response.incomplete` or
 * `response.failed`, each carrying the Response). An `error` event is the upstream's failure: it
 * is not forwarded but raised, so that the gateway retries it before the first event went out, or
 * ends the stream with its own error event after; so is a stream that ends before a terminal event.
 */
import { isJsonObject } from '../../json-object.js';
import { GatewayError } from '../../errors.js';
import { deploymentSecrets, redactUpstreamMessage } from '../../security/redact.js';
import type { ChatChunk, ChatStreamTransform, Deployment, EmittedChunk, MediaUnits, Usage } from '../types.js';


function count(value: unknown): number {
  return typeof value === 'number' && Number.isFinite(value) && value >= 0 ? Math.floor(value) : 0;
}

/** A Response's `usage` in the gateway's terms; undefined when there is none (unknown, not free). */
export function usageFromResponses(raw: unknown): Usage | undefined {
  if (!isJsonObject(raw) || (typeof raw.input_tokens !== 'number' && typeof raw.output_tokens !== 'number')) return undefined;
  // gpt-image-1 splits its input into text and image tokens, billed at different rates ($5 and $10
  // per 1M on gpt-image-1): the image part is kept (Usage.imageInputTokens); the input is never fewer
  // than its parts.
  const details = isJsonObject(raw.input_tokens_details) ? raw.input_tokens_details : undefined;
  const imageTokens = count(details?.image_tokens);
  const promptTokens = Math.max(count(raw.input_tokens), imageTokens + count(details?.text_tokens));
  const completionTokens = count(raw.output_tokens);
  const usage: Usage = { promptTokens, completionTokens, totalTokens: promptTokens + completionTokens };
  if (imageTokens > 0) usage.imageInputTokens = imageTokens;
  const cached = isJsonObject(raw.input_tokens_details) ? count(raw.input_tokens_details.cached_tokens) : 0;
  if (cached > 0) usage.cachedTokens = Math.min(cached, promptTokens);
  const reasoning = isJsonObject(raw.output_tokens_details) ? count(raw.output_tokens_details.reasoning_tokens) : 0;
  if (reasoning > 0) usage.reasoningTokens = Math.min(reasoning, completionTokens);
  return usage;
}

/**
 * Built-in tool calls a Response's output records that OpenAI bills per call beside the tokens
 * (billing/media-pricing.ts): one per `web_search_call` and per `file_search_call` item.
 */
export function toolCallUnits(output: unknown): MediaUnits | undefined {
  if (!Array.isArray(output)) return undefined;
  let webSearches = 0;
  let fileSearches = 0;
  for (const item of output as unknown[]) {
    if (!isJsonObject(item)) continue;
    if (item.type === 'web_search_call') webSearches++;
    else if (item.type === 'file_search_call') fileSearches++;
  }
  if (webSearches === 0 && fileSearches === 0) return undefined;
  return { ...(webSearches > 0 ? { webSearches } : {}), ...(fileSearches > 0 ? { fileSearches } : {}) };
}

/** A Response's usage with the tool calls its output records and the tier that served it (a priority answer costs more). */
export function usageOfResponse(response: Record<string, unknown>): Usage | undefined {
  const usage = usageFromResponses(response.usage);
  const units = toolCallUnits(response.output);
  const billed = usage && units ? { ...usage, units } : usage;
  return billed && response.service_tier === 'priority' ? { ...billed, serviceTier: 'priority' } : billed;
}

/** Text a Response produced (output text, refusals, function call arguments): for a local count when usage is missing. */
export function responsesText(body: unknown): string {
  if (!isJsonObject(body) || !Array.isArray(body.output)) return '';
  let text = '';
  for (const item of body.output as unknown[]) {
    if (!isJsonObject(item)) continue;
    if (typeof item.arguments === 'string') text += item.arguments;
    if (!Array.isArray(item.content)) continue;
    for (const part of item.content as unknown[]) {
      if (isJsonObject(part) && typeof part.text === 'string') text += part.text;
      if (isJsonObject(part) && typeof part.refusal === 'string') text += part.refusal;
    }
  }
  return text;
}

/**
 * Whether a deployment serves `/v1/responses` itself: OpenAI, and Azure OpenAI from API version
 * 2025-03-01-preview on (older versions have no Responses API; their deployments are translated).
 */
export function servesResponsesNatively(deployment: Pick<Deployment, 'provider' | 'apiVersion'>): boolean {
  if (deployment.provider === 'openai') return true;
  if (deployment.provider !== 'azure') return false;
  const date = /^(\d{4}-\d{2}-\d{2})/.exec(deployment.apiVersion ?? '')?.[1];
  return date !== undefined && date >= '2025-03-01';
}

const TERMINAL_EVENTS = new Set(['response.completed', 'response.incomplete', 'response.failed']);
/** Events whose `delta` is generated text (counted locally if the stream ends without usage). */
const TEXT_DELTAS = new Set(['response.output_text.delta', 'response.refusal.delta', 'response.function_call_arguments.delta', 'response.reasoning_text.delta', 'response.reasoning_summary_text.delta']);

export class ResponsesNativeStreamTransform implements ChatStreamTransform {
  usage: Usage | undefined;
  error: GatewayError | undefined;
  private readonly created = Math.floor(Date.now() / 1000);
  /** Whether a Responses event came, and whether the terminal one did: a stream that ends between the two was cut short. */
  private started = false;
  private terminated = false;
  /** Ids of the billed tool call items the stream announced (output_item.added), for a stream cut before its end. */
  private readonly toolCalls = { web_search_call: new Set<string>(), file_search_call: new Set<string>() };

  get units(): MediaUnits | undefined {
    const webSearches = this.toolCalls.web_search_call.size;
    const fileSearches = this.toolCalls.file_search_call.size;
    if (webSearches === 0 && fileSearches === 0) return undefined;
    return { ...(webSearches > 0 ? { webSearches } : {}), ...(fileSearches > 0 ? { fileSearches } : {}) };
  }

  constructor(private readonly target: Deployment) {}

  push(data: string, event?: string): EmittedChunk[] {
    let parsed: unknown;
    try {
      parsed = JSON.parse(data);
    } catch {
      this.error = new GatewayError('upstream_error', `${this.target.provider} sent a Responses stream event that is not JSON`, { provider: this.target.provider });
      return [];
    }
    const type = isJsonObject(parsed) && typeof parsed.type === 'string' ? parsed.type : event;
    if (type === 'error' && isJsonObject(parsed)) {
      const message = typeof parsed.message === 'string' ? parsed.message : 'the upstream reported an error';
      const code = typeof parsed.code === 'string' ? ` (${parsed.code.slice(0, 64)})` : '';
      this.error = new GatewayError('upstream_error', `${this.target.provider} stream error: ${redactUpstreamMessage(message, deploymentSecrets(this.target))}${code}`, { provider: this.target.provider });
      return [];
    }
    const terminal = type !== undefined && TERMINAL_EVENTS.has(type);
    this.started = true;
    if (terminal) this.terminated = true;
    // Events carrying the Response (response.created, …, the terminal one) give the chunk its id (the relay records it).
    const response = isJsonObject(parsed) && isJsonObject(parsed.response) ? parsed.response : undefined;
    if (terminal && response) {
      this.usage = usageOfResponse(response) ?? this.usage;
    }
    if ((type === 'response.output_item.added' || type === 'response.output_item.done') && isJsonObject(parsed) && isJsonObject(parsed.item)) {
      const { item } = parsed;
      const calls = item.type === 'web_search_call' || item.type === 'file_search_call' ? this.toolCalls[item.type] : undefined;
      calls?.add(typeof item.id === 'string' ? item.id.slice(0, 128) : `#${typeof parsed.output_index === 'number' ? parsed.output_index : calls.size}`);
    }
    const text = type !== undefined && TEXT_DELTAS.has(type) && isJsonObject(parsed) && typeof parsed.delta === 'string' ? parsed.delta : '';
    const chunk: ChatChunk = { id: typeof response?.id === 'string' ? response.id : '', object: 'chat.completion.chunk', created: this.created, model: this.target.upstreamModel, choices: [{ index: 0, delta: { content: text }, finish_reason: null }] };
    return [{ chunk, raw: `${event ? `event: ${event}\n` : ''}data: ${data}\n\n`, usageFree: !terminal }];
  }

  end(): EmittedChunk[] {
    // Every Responses stream ends with a terminal event (or an `error` event, raised above): one
    // that stops before it was cut short, and is not relayed as if it were whole.
    if (this.started && !this.terminated && !this.error) {
      this.error = new GatewayError('upstream_connection', `${this.target.provider} ended the stream before response.completed (or another terminal event)`, { provider: this.target.provider });
    }
    return [];
  }
}
