/**
 * How much of a budget (or credit balance) a call reserves, and the output cap that keeps the call
 * inside it. The worst case of a request without max_tokens is the model's whole output window
 * (16k tokens of gpt-4o: $0.16), which would refuse every call on a small budget that a real answer
 * fits in. So when the client names no output limit and a hard limit applies, the call reserves its
 * prompt plus `general_settings.budget_reservation_output_tokens` (default 1024) of output per
 * choice — fewer when the budget left pays for fewer, down to MINIMUM_ANSWER_TOKENS — and that
 * number is sent upstream as the completion limit, so the provider cannot bill more output than
 * was reserved. A call the client capped itself (max_tokens) reserves exactly that, as before.
 */
import { GatewayError } from '../errors.js';
import type { Deployment } from '../providers/types.js';
import { beyondTokensPico, dearestInputPrice, dearestOutputPrice, generatedChoices, maxCostMicros, mayCarryAudio, mayProduceImages, modelOutputLimit, predictionTokenBound, pricesCall, promptReadBound, promptTokenBound, type CostInput } from './max-cost.js';
import { reservedPrices } from './priority-default.js';

export const DEFAULT_RESERVATION_OUTPUT_TOKENS = 1024;
/** The smallest answer worth calling for: below this a call is refused rather than cut to nothing. */
export const MINIMUM_ANSWER_TOKENS = 16;
const PICO_PER_MICRO = 1_000_000;

export interface ReservationPlan {
  /** The request's promptTokenBound, when the plan was made from one (token estimates reuse it). */
  readonly promptBound?: number;
  /**
   * Output tokens per choice the reservation is sized for when the gateway may choose them (the
   * client set no max_tokens); undefined when the client's own limit fixes the output.
   */
  readonly outputTokens: number | undefined;
  /** Micro-dollars the call may cost with at most `outputTokens` per choice (none: the worst case as sent). */
  costMicros(outputTokens?: number): number;
  /** The most output tokens per choice that `micros` pays for after the prompt, on every deployment (0: none). */
  affordableOutputTokens(micros: number): number;
  /**
   * A deployment the call may reach that has no price for it (max-cost.ts pricesCall), if any: the
   * plan reserves nothing for it, so a caller held to money must be refused (unpricedCallRefusal).
   */
  readonly unpriced?: Deployment;
}

/**
 * The refusal of a call a budget or credits hold, when a deployment it may reach has no price for
 * it: its answer would be recorded at an unknown cost, charged nothing (README, Money and access).
 */
export function unpricedCallRefusal(deployment: Deployment, holder: string): GatewayError {
  return new GatewayError('permission_denied', `model "${deployment.modelName}" has no price for this call (set its model_info prices, e.g. input_cost_per_token / output_cost_per_token, or output_cost_per_image), so ${holder} cannot call it: every call it makes must be charged`);
}

/**
 * True when the client limited the output itself (or the operation has none), or when the request
 * is relayed as sent so that no limit the gateway chose would reach the provider.
 */
function clientLimited(input: CostInput): boolean {
  if (input.kind === 'embeddings' || input.relayed === true) return true;
  const requested = input.body.max_completion_tokens ?? input.body.max_tokens;
  return typeof requested === 'number' && Number.isFinite(requested) && requested > 0;
}

export function reservationPlan(input: CostInput, deployments: readonly Deployment[], allowanceTokens = DEFAULT_RESERVATION_OUTPUT_TOKENS): ReservationPlan {
  const priced = deployments.filter((deployment) => deployment.prices);
  const timed = deployments.filter((deployment) => deployment.perSecondPico !== undefined);
  const flexible = !clientLimited(input) && priced.length > 0;
  // Never more than the smallest output window among the candidates (a larger cap would be refused upstream).
  const outputTokens = flexible ? Math.max(1, Math.min(allowanceTokens, ...priced.map((deployment) => modelOutputLimit(input, deployment)))) : undefined;
  const prompt = promptTokenBound(input);
  const choices = generatedChoices(input.body);
  const prediction = predictionTokenBound(input.body);
  // Audio input's own rate applies only when the request may carry audio (max-cost.ts).
  const audio = priced.some((deployment) => deployment.prices!.audioInputPerToken !== undefined) && mayCarryAudio(input);
  return {
    promptBound: prompt,
    outputTokens,
    unpriced: deployments.find((deployment) => !pricesCall(input, deployment)),
    costMicros(tokens) {
      if (tokens === undefined) return maxCostMicros(input, deployments, prompt);
      // Deployments priced per second reserve their longest attempt (cost.ts durationBoundPico);
      // every deployment what it bills beyond tokens (searches, media units: max-cost.ts).
      let worst = timed.reduce((most, deployment) => Math.max(most, beyondTokensPico(input, deployment)), 0);
      for (const deployment of priced) {
        const read = promptReadBound(input, deployment, prompt);
        const prices = reservedPrices(deployment, input.body)!;
        const pico = read * dearestInputPrice(prices, read, audio) + (tokens + prediction) * choices * dearestOutputPrice(prices, read, mayProduceImages(input, deployment));
        worst = Math.max(worst, pico + beyondTokensPico(input, deployment));
      }
      return Math.ceil(worst / PICO_PER_MICRO);
    },
    affordableOutputTokens(micros) {
      let fewest = Number.MAX_SAFE_INTEGER;
      for (const deployment of priced) {
        const prices = reservedPrices(deployment, input.body)!;
        const read = promptReadBound(input, deployment, prompt);
        const left = micros * PICO_PER_MICRO - read * dearestInputPrice(prices, read, audio) - beyondTokensPico(input, deployment);
        if (left <= 0) return 0;
        const output = dearestOutputPrice(prices, prompt, mayProduceImages(input, deployment));
        const perChoice = output > 0 ? Math.floor(left / (output * choices)) - prediction : Number.MAX_SAFE_INTEGER;
        fewest = Math.min(fewest, Math.max(0, perChoice));
      }
      return fewest;
    },
  };
}

/** A plan of a fixed amount (callers that bound the cost themselves). */
export function fixedPlan(micros: number): ReservationPlan {
  return { outputTokens: undefined, costMicros: () => micros, affordableOutputTokens: () => 0 };
}

/** The field a completion limit goes in for these deployments. */
export function outputCapField(kind: CostInput["kind"], deployments: readonly Deployment[]): 'max_tokens' | 'max_completion_tokens' {
  // OpenAI refuses max_tokens on its reasoning models and names max_completion_tokens the current
  // field; other OpenAI-compatible servers know max_tokens (the Anthropic, Gemini and Ollama
  // adapters read either).
  const openAIOnly = deployments.length > 0 && deployments.every((deployment) => deployment.provider === 'openai' || deployment.provider === 'azure');
  return kind === 'chat' && openAIOnly ? 'max_completion_tokens' : 'max_tokens';
}

/** The request copy with the output capped at `tokens` per choice, in `field`. */
export function withOutputCap<T extends object>(request: T, tokens: number, field: string): T {
  return { ...request, [field]: tokens };
}

/**
 * The request as the client limited it: usage plausibility is judged against the client's limit
 * (or the model's), not the gateway's cap — a provider that ignores the cap still bills what it
 * produced, and every token it bills is charged.
 */
export function withoutOutputCap<T extends object>(request: T, cap: { field: string } | undefined): T {
  if (!cap) return request;
  const copy = { ...request } as Record<string, unknown>;
  delete copy[cap.field];
  return copy as T;
}
