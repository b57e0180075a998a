/**
 * The most a request can cost, reserved against budgets before the upstream call. It must never be
 * below the real cost, yet close enough not to refuse requests a budget could pay for:
 * - prompt tokens ≤ UTF-8 bytes of the text the model reads (a BPE token spans at least one byte),
 *   plus per-message framing and a fixed allowance per image;
 * - completion tokens ≤ max_tokens (else the deployment's default, else the model's output limit,
 *   else DEFAULT_MAX_OUTPUT_TOKENS), times n;
 * - at the dearest price among the deployments that may serve it (fallbacks included).
 * A response longer than the output bound when the client set no max_tokens is still charged in
 * full (the README says so).
 */
import type { ChatMessage, Deployment, TokenPrices } from '../providers/types.js';

export const DEFAULT_MAX_OUTPUT_TOKENS = 4096;
const IMAGE_TOKENS = 3_000;
const MESSAGE_FRAMING_TOKENS = 8;
const PICO_PER_MICRO = 1_000_000;

export interface CostInput {
  kind: 'chat' | 'completion' | 'embeddings';
  body: Record<string, unknown>;
}

function utf8Length(text: string): number {
  return Buffer.byteLength(text, 'utf8');
}

function contentBytes(content: ChatMessage['content']): { bytes: number; images: number } {
  if (typeof content === 'string') return { bytes: utf8Length(content), images: 0 };
  let bytes = 0;
  let images = 0;
  for (const part of content ?? []) {
    if (part.type === 'text' && typeof part.text === 'string') bytes += utf8Length(part.text);
    else if (part.type === 'image_url' || part.type === 'input_audio' || part.type === 'file') images++;
    else bytes += utf8Length(JSON.stringify(part));
  }
  return { bytes, images };
}

/** Upper bound of prompt tokens. */
export function promptTokenBound(input: CostInput): number {
  const { body } = input;
  if (input.kind === 'chat') {
    let tokens = 0;
    for (const message of (body.messages as ChatMessage[]) ?? []) {
      const { bytes, images } = contentBytes(message.content);
      tokens += bytes + images * IMAGE_TOKENS + MESSAGE_FRAMING_TOKENS;
      if (message.tool_calls) tokens += utf8Length(JSON.stringify(message.tool_calls));
    }
    if (body.tools) tokens += utf8Length(JSON.stringify(body.tools));
    if (body.response_format) tokens += utf8Length(JSON.stringify(body.response_format));
    return tokens + MESSAGE_FRAMING_TOKENS;
  }
  const text = input.kind === 'completion' ? body.prompt : body.input;
  return typeof text === 'string' ? utf8Length(text) + 1 : utf8Length(JSON.stringify(text ?? ''));
}

function outputBound(input: CostInput, deployment: Deployment): number {
  if (input.kind === 'embeddings') return 0;
  const requested = (input.body.max_completion_tokens ?? input.body.max_tokens) as number | undefined;
  const configured = (deployment.defaultParams.max_completion_tokens ?? deployment.defaultParams.max_tokens) as number | undefined;
  const limit = requested ?? configured ?? deployment.modelInfo.max_output_tokens ?? deployment.modelInfo.max_tokens ?? DEFAULT_MAX_OUTPUT_TOKENS;
  const choices = typeof input.body.n === 'number' && input.body.n > 1 ? input.body.n : 1;
  return limit * choices;
}

function dearestInput(prices: TokenPrices): number {
  return Math.max(prices.inputPerToken, prices.cacheWritePerToken ?? 0, prices.cacheReadPerToken ?? 0);
}

/** Micro-dollars (rounded up); 0 when no deployment has a known price. */
export function maxCostMicros(input: CostInput, deployments: Deployment[]): number {
  const promptTokens = promptTokenBound(input);
  let worst = 0;
  for (const deployment of deployments) {
    if (!deployment.prices) continue;
    const pico = promptTokens * dearestInput(deployment.prices) + outputBound(input, deployment) * deployment.prices.outputPerToken;
    worst = Math.max(worst, pico);
  }
  return Math.ceil(worst / PICO_PER_MICRO);
}
