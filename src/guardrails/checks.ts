/**
 * Running the configured guardrails on a call's texts: before the call (mask or block the prompt)
 * and on its JSON answer (block, or put masked values back). A refusal is a GatewayError with code
 * `guardrail_violation` naming the guardrail; it never names the PII value it found.
 */
import { GatewayError } from '../errors.js';
import { countTextTokens } from '../gateway/token-count.js';
import { contentViolation, injectionScore } from './content-filter.js';
import type { GuardrailDefinition } from './definitions.js';
import { findPii, maskText, type PiiFinding, PiiVault } from './pii.js';

export type { GuardrailOutcome } from '../gateway/call-context.js';

export function violation(guardrail: GuardrailDefinition, what: 'prompt' | 'answer', reason: string): GatewayError {
  return new GatewayError('guardrail_violation', `Blocked by guardrail "${guardrail.name}": the ${what} ${reason}`, { param: 'guardrails' });
}

function piiEntities(guardrail: GuardrailDefinition): Set<string> {
  return new Set(guardrail.pii!.entities.keys());
}

function blockedFinding(guardrail: GuardrailDefinition, findings: PiiFinding[]): PiiFinding | undefined {
  return findings.find((finding) => guardrail.pii!.entities.get(finding.entity) === 'block');
}

/** Runs the PII guardrail on texts: throws on an entity to block; otherwise the rewrite that masks, the entity types it masked and how many values. */
export function piiPrecheck(guardrail: GuardrailDefinition, texts: readonly string[], vault: PiiVault): { rewrite?: (text: string) => string; masked: Set<string>; count: number } {
  const entities = piiEntities(guardrail);
  const masked = new Set<string>();
  let count = 0;
  for (const text of texts) {
    const findings = findPii(text, entities, guardrail.pii!.patterns);
    const blocked = blockedFinding(guardrail, findings);
    if (blocked) throw violation(guardrail, 'prompt', `contains PII of type ${blocked.entity}, which this guardrail blocks`);
    for (const finding of findings) masked.add(finding.entity);
    count += findings.length;
  }
  if (masked.size === 0) return { masked, count };
  return { masked, count, rewrite: piiMasking(guardrail, vault) };
}

/** Replaces every value of the PII guardrail's entity types (masked or blocked) by its placeholder from the vault. */
export function piiMasking(guardrail: GuardrailDefinition, vault: PiiVault): (text: string) => string {
  const entities = piiEntities(guardrail);
  return (text) => maskText(text, findPii(text, entities, guardrail.pii!.patterns), vault);
}

/** Throws when the prompt breaks a content filter or scores as a prompt injection. */
export async function textPrecheck(guardrail: GuardrailDefinition, texts: readonly string[]): Promise<void> {
  if (guardrail.filter) {
    for (const text of texts) {
      const reason = contentViolation(text, guardrail.filter);
      if (reason) throw violation(guardrail, 'prompt', reason);
    }
    const max = guardrail.filter.maxPromptTokens;
    if (max !== undefined) {
      const tokens = await countTextTokens(texts.join('\n'));
      if (tokens > max) throw violation(guardrail, 'prompt', `has about ${tokens} tokens; this guardrail allows at most ${max}`);
    }
  }
  if (guardrail.injection) {
    for (const text of texts) {
      const score = injectionScore(text);
      if (score >= guardrail.injection.threshold) throw violation(guardrail, 'prompt', `looks like a prompt injection (score ${score}, threshold ${guardrail.injection.threshold})`);
    }
  }
}

/** Checks answer texts with a post_call guardrail; throws on a violation. */
export function answerCheck(guardrail: GuardrailDefinition, texts: readonly string[]): void {
  if (guardrail.pii) {
    const entities = new Set([...guardrail.pii.entities].filter(([, action]) => action === 'block').map(([entity]) => entity));
    for (const text of texts) {
      const found = findPii(text, entities, guardrail.pii.patterns)[0];
      if (found) throw violation(guardrail, 'answer', `contains PII of type ${found.entity}, which this guardrail blocks`);
    }
  }
  if (guardrail.filter) {
    for (const text of texts) {
      const reason = contentViolation(text, guardrail.filter);
      if (reason) throw violation(guardrail, 'answer', reason);
    }
  }
  if (guardrail.injection) {
    for (const text of texts) {
      const score = injectionScore(text);
      if (score >= guardrail.injection.threshold) throw violation(guardrail, 'answer', `looks like a prompt injection (score ${score}, threshold ${guardrail.injection.threshold})`);
    }
  }
}
