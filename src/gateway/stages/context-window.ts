/**
 * LiteLLM's context-window pre-call check (router_settings.enable_pre_call_checks): before a group's
 * deployments are tried, those whose `model_info.max_input_tokens` the prompt exceeds are left out,
 * the prompt counted with the admission estimate (billing/token-estimate.ts, no tokenizer). When no
 * deployment fits, the call fails with context_window_exceeded — which moves it along
 * context_window_fallbacks, as in LiteLLM — without any upstream call.
 */
import { estimatedPromptTokens } from '../../billing/token-estimate.js';
import { GatewayError } from '../../errors.js';
import type { Deployment } from '../../providers/types.js';
import type { Operation } from '../call-context.js';

/** The deployments the prompt fits; throws when there were some and none fits. */
export function fittingDeployments(ranked: Deployment[], operation: Operation, groupName: string): Deployment[] {
  // Provider-native calls (/gemini, /anthropic, media) carry their own formats: not estimated here.
  if (operation.kind === 'native') return ranked;
  const windows = ranked.map((deployment) => contextWindowOf(deployment));
  if (windows.every((window) => window === undefined)) return ranked;
  const promptTokens = estimatedPromptTokens({ kind: operation.kind, body: operation.request as Record<string, unknown> });
  const fitting = ranked.filter((_, index) => windows[index] === undefined || promptTokens <= windows[index]!);
  if (fitting.length > 0 || ranked.length === 0) return fitting;
  const largest = Math.max(...windows.map((window) => window ?? 0));
  throw new GatewayError(
    'context_window_exceeded',
    `the prompt (about ${promptTokens} tokens) exceeds the context window of every deployment of "${groupName}" (the largest takes ${largest} input tokens, model_info.max_input_tokens): shorten the prompt or configure context_window_fallbacks`,
    { param: 'messages' },
  );
}

function contextWindowOf(deployment: Deployment): number | undefined {
  const window = deployment.modelInfo.max_input_tokens;
  return typeof window === 'number' && window > 0 ? window : undefined;
}
