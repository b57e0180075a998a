/**
 * Guardrails: the configured list (GET /guardrails/list, LiteLLM's shape; README "Guardrails") and
 * what the guardrails did on one call (a spend-log row's `metadata.guardrails`).
 */
import { request } from './http';

type Json = Record<string, unknown>;
const isObject = (value: unknown): value is Json => typeof value === 'object' && value !== null && !Array.isArray(value);

export interface Guardrail {
  name: string;
  /** The type the config named (pii, presidio, content_filter, generic_guardrail_api, ...). */
  guardrail: string;
  /** The built-in it runs as (pii, content_filter, prompt_injection, generic_api, unavailable). */
  type: string | null;
  modes: string[];
  defaultOn: boolean;
  /** PII guardrails: what each entity type gets (mask or block). */
  piiEntities: Record<string, string> | null;
  outputParsePii: boolean;
}

interface ListAnswer {
  guardrails: Array<{ guardrail_name: string; litellm_params?: { guardrail?: string; mode?: string | string[]; default_on?: boolean }; guardrail_info?: Json | null }>;
}

export async function listGuardrails(): Promise<Guardrail[]> {
  const body = await request<ListAnswer>('/guardrails/list');
  return body.guardrails.map((entry) => {
    const params = entry.litellm_params ?? {};
    const info = isObject(entry.guardrail_info) ? entry.guardrail_info : {};
    const mode = params.mode;
    return {
      name: entry.guardrail_name,
      guardrail: params.guardrail ?? '—',
      type: typeof info.type === 'string' ? info.type : null,
      modes: Array.isArray(mode) ? mode : typeof mode === 'string' ? [mode] : [],
      defaultOn: params.default_on === true,
      piiEntities: isObject(info.pii_entities) ? (Object.fromEntries(Object.entries(info.pii_entities).map(([key, value]) => [key, String(value)])) as Record<string, string>) : null,
      outputParsePii: info.output_parse_pii === true,
    };
  });
}

/** What one guardrail did on a call, as the gateway records it on the usage row. */
export interface GuardrailOutcome {
  name: string;
  stage: string;
  action: string;
  detail: string | null;
  count: number | null;
}

/** The guardrail outcomes of a spend-log row's metadata (empty when none ran). */
export function guardrailOutcomes(metadata: unknown): GuardrailOutcome[] {
  if (!isObject(metadata) || !Array.isArray(metadata.guardrails)) return [];
  return metadata.guardrails.filter(isObject).map((item) => ({
    name: typeof item.name === 'string' ? item.name : '?',
    stage: typeof item.stage === 'string' ? item.stage : '',
    action: typeof item.action === 'string' ? item.action : 'unknown',
    detail: typeof item.detail === 'string' && item.detail !== '' ? item.detail : null,
    count: typeof item.count === 'number' && Number.isFinite(item.count) ? item.count : null,
  }));
}

/** A sentence for what a guardrail did: passed, masked 2 values (EMAIL_ADDRESS), blocked, ... */
export function outcomeText(outcome: GuardrailOutcome): string {
  switch (outcome.action) {
    case 'passed':
      return outcome.detail ? `passed, ${outcome.detail}` : 'passed';
    case 'masked': {
      const types = outcome.detail ? outcome.detail.split(',').join(', ') : '';
      const what = outcome.count !== null ? `${outcome.count} ${outcome.count === 1 ? 'entity' : 'entities'}` : 'entities';
      return `masked ${what}${types ? ` (${types})` : ''}`;
    }
    case 'modified':
      return 'intervened (the guardrail API rewrote the text)';
    case 'restored':
      return 'restored the masked values in the answer';
    case 'blocked':
      return outcome.detail ? `blocked: ${outcome.detail}` : 'blocked';
    default:
      return outcome.action;
  }
}
