/**
 * The configured guardrails by name, and which of them apply to a call: every `default_on` one,
 * those the request names (`guardrails` in the body or `metadata.guardrails`), and those on the
 * calling key's and team's metadata (`metadata.guardrails`, as LiteLLM keeps them). A client can add
 * guardrails, never remove one the operator turned on.
 */
import { GatewayError } from '../errors.js';
import type { CallContext } from '../gateway/call-context.js';
import type { GuardrailDefinition } from './definitions.js';

export class GuardrailRegistry {
  private readonly byName = new Map<string, GuardrailDefinition>();
  private readonly defaults: GuardrailDefinition[];

  constructor(readonly definitions: readonly GuardrailDefinition[]) {
    for (const definition of definitions) this.byName.set(definition.name, definition);
    this.defaults = definitions.filter((definition) => definition.defaultOn);
  }

  get size(): number {
    return this.definitions.length;
  }

  /** The guardrails of a call, in config order; an unknown name asked for by the request is refused. */
  activeFor(context: CallContext): GuardrailDefinition[] {
    const requested = context.requestOptions?.guardrails;
    const principal = context.caller.principal;
    const fromKey = namesIn(principal?.key.metadata?.guardrails);
    const fromTeam = namesIn(principal?.team?.metadata?.guardrails);
    if (this.defaults.length === 0 && !requested && fromKey.length === 0 && fromTeam.length === 0) return [];
    const names = new Set<string>();
    for (const name of requested ?? []) {
      if (!this.byName.has(name)) {
        const known = [...this.byName.keys()];
        throw new GatewayError('invalid_request', `guardrail "${name}" is not configured on this gateway (configured: ${known.length > 0 ? known.join(', ') : 'none'}); the request was not run`, { param: 'guardrails' });
      }
      names.add(name);
    }
    // A key or team naming a guardrail that a config reload removed: the call is refused rather than run unchecked.
    for (const name of [...fromKey, ...fromTeam]) {
      if (!this.byName.has(name)) throw new GatewayError('permission_denied', `the key's guardrail "${name}" is not configured on this gateway, so its calls are refused; an admin must fix the key or the config`, { param: 'guardrails' });
      names.add(name);
    }
    return this.definitions.filter((definition) => definition.defaultOn || names.has(definition.name));
  }
}

function namesIn(value: unknown): string[] {
  if (!Array.isArray(value)) return [];
  return value.filter((name): name is string => typeof name === 'string');
}
