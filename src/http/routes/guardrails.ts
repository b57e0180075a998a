/**
 * GET /guardrails/list, LiteLLM's shape: `{ guardrails: [{ guardrail_name, litellm_params: { guardrail,
 * mode, default_on }, guardrail_info }] }`, for any authenticated key (clients pick guardrails by name).
 * Detection settings (patterns, word lists) are not listed: they would tell a caller how to evade them.
 */
import type { FastifyInstance } from 'fastify';
import type { GuardrailRegistry } from '../../guardrails/registry.js';

export function registerGuardrailRoutes(app: FastifyInstance, guardrails: GuardrailRegistry | undefined): void {
  app.get('/guardrails/list', async () => ({
    guardrails: (guardrails?.definitions ?? []).map((definition) => ({
      guardrail_name: definition.name,
      litellm_params: { guardrail: definition.configured, mode: definition.modes.length === 1 ? definition.modes[0] : definition.modes, default_on: definition.defaultOn },
      guardrail_info: { type: definition.kind, ...(definition.pii ? { pii_entities: Object.fromEntries(definition.pii.entities), output_parse_pii: definition.pii.outputParsePii } : {}) },
    })),
  }));
}
