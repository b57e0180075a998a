/**
 * Responses clients send some fields on every request as hints — `parallel_tool_calls` (the Agents
 * SDK, Codex), `user` / `safety_identifier` — that several providers have no parameter for. Sent to
 * such a provider, the pipeline's parameter policy would refuse the whole call. Knowing which
 * parameters the model group's deployments take (their adapters' `supportedParams`; undefined means
 * "passes everything through"), the hints no deployment takes are dropped with a warning; every
 * other field is left for the policy (refused, or dropped under drop_params). Signed thinking
 * (`thinking_blocks`) is kept only for groups with an adapter that declares `thinking`.
 */
import type { ChatRequest } from '../../../providers/types.js';

const HINTS = ['parallel_tool_calls', 'user'] as const;

export function fitToDeployments(request: ChatRequest, supported: Array<ReadonlySet<string> | undefined>): { request: ChatRequest; warnings: string[] } {
  if (supported.length === 0) return { request, warnings: [] };
  const takes = (field: string) => supported.some((set) => set === undefined || set.has(field));
  const fitted: ChatRequest = { ...request };
  const warnings: string[] = [];
  for (const field of HINTS) {
    if (fitted[field] === undefined || takes(field)) continue;
    delete fitted[field];
    warnings.push(`ignored "${field}": the model's provider has no equivalent`);
  }
  // Signed thinking is Anthropic's: only adapters that declare `thinking` read it, and an
  // OpenAI-compatible upstream would receive a message field it does not know.
  if (!supported.some((set) => set?.has('thinking') === true) && fitted.messages.some((message) => message.thinking_blocks !== undefined)) {
    fitted.messages = fitted.messages.map((message) => {
      if (message.thinking_blocks === undefined) return message;
      const { thinking_blocks: _dropped, ...rest } = message;
      return rest as typeof message;
    });
  }
  return { request: fitted, warnings };
}
