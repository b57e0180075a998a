/**
 * The normalized copy of a client's request body that the stages work on. The client's object is
 * never written: the copy drops the gateway's own fields (`fallbacks`, and with the platform layer
 * `power_level`) so the upstream never sees them, and takes the power level's model and cap.
 */
import { GatewayError } from '../errors.js';
import type { ModelChoice } from '../platform/layer.js';
import { capMaxTokens } from '../platform/power-levels.js';
import type { Operation } from './call-context.js';
import { toolFunctionsOf, valueText } from './streamed-answer.js';

/**
 * Per-request fallbacks (LiteLLM's `fallbacks` body field), and the operation on a copy of the body
 * without them.
 */
export function splitRequestFallbacks(operation: Operation): { operation: Operation; fallbacks: string[] | undefined } {
  const { fallbacks: value, ...rest } = operation.request as Record<string, unknown>;
  const copy = { ...operation, request: rest } as Operation;
  if (value === undefined || value === null) return { operation: copy, fallbacks: undefined };
  if (!Array.isArray(value)) throw new GatewayError('invalid_request', '"fallbacks" must be an array of model names', { param: 'fallbacks' });
  const fallbacks = value.map((item, index) => {
    if (typeof item === 'string') return item;
    if (typeof item === 'object' && item !== null && typeof (item as { model?: unknown }).model === 'string') return (item as { model: string }).model;
    throw new GatewayError('invalid_request', `fallbacks[${index}] must be a model name`, { param: 'fallbacks' });
  });
  return { operation: copy, fallbacks };
}

/** Applies the platform's model choice to the stages' own copy of the body (never the client's). */
export function applyModelChoice(copy: Record<string, unknown>, choice: ModelChoice): void {
  delete copy.power_level;
  if (choice.chosen) copy.model = choice.modelName;
  capMaxTokens(copy, choice.maxTokens);
}

/** What the client sent, for the usage row when prompts are stored. */
export function promptOf(operation: Operation): string {
  switch (operation.kind) {
    case 'chat':
      return JSON.stringify(operation.request.messages ?? null);
    case 'completion':
      return JSON.stringify(operation.request.prompt ?? null);
    case 'embeddings':
      return JSON.stringify(operation.request.input ?? null);
    case 'native':
      return JSON.stringify(operation.request.native);
  }
}

/** All a chat or legacy completion response holds that the provider bills as output, for a local count: responseTextOf plus reasoning and refusals. */
export function billedResponseTextOf(parsed: unknown): string {
  let text = responseTextOf(parsed);
  const choices = (parsed as { choices?: unknown }).choices;
  if (!Array.isArray(choices)) return text;
  for (const choice of choices as Array<{ message?: Record<string, unknown> | null } | null>) {
    const message = choice !== null && typeof choice === 'object' ? choice.message : undefined;
    if (message === null || typeof message !== 'object') continue;
    for (const field of ['reasoning_content', 'reasoning', 'refusal'] as const) if (typeof message[field] === 'string') text += message[field];
  }
  return text;
}

/** The text of a chat or legacy completion response (message content, tool calls, or text). */
export function responseTextOf(parsed: unknown): string {
  const choices = (parsed as { choices?: unknown }).choices;
  if (!Array.isArray(choices)) return '';
  let text = '';
  for (const choice of choices as Array<{ message?: { content?: unknown }; text?: unknown } | null>) {
    // An upstream's answer may hold anything: a choice that is not an object has no text.
    if (choice === null || typeof choice !== 'object') continue;
    const content = choice.message?.content;
    if (typeof content === 'string') text += content;
    else if (Array.isArray(content)) for (const part of content as Array<{ text?: unknown }>) if (typeof part?.text === 'string') text += part.text;
    if (typeof choice.text === 'string') text += choice.text;
    for (const call of toolFunctionsOf(choice.message)) text += valueText(call.name) + valueText(call.arguments);
  }
  return text;
}
