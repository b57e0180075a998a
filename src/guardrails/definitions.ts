/**
 * The `guardrails:` list of config.yaml, in LiteLLM's shape: each entry has a `guardrail_name` and
 * `litellm_params` with the built-in `guardrail` to run, its `mode` (when it runs) and `default_on`
 * (every call, unless the call names its own). Validated here into definitions the request path
 * uses; every error names the entry and the field.
 */
import { z } from 'zod';
import { PII_ENTITIES, type PiiAction, type PiiEntity } from './pii.js';

export type GuardrailMode = 'pre_call' | 'post_call' | 'during_call';
export type GuardrailKind = 'pii' | 'content_filter' | 'prompt_injection' | 'generic_api' | 'unavailable';

export interface PiiSettings {
  /** What happens to each entity type found; types not listed are not looked for. */
  entities: Map<PiiEntity | string, PiiAction>;
  /** Operator patterns for national ids (or any other entity), by entity name. */
  patterns: Array<{ entity: string; regex: RegExp }>;
  /** The answer gets the original values back in place of the placeholders. */
  outputParsePii: boolean;
}

export interface ContentFilterSettings {
  blockedWords: string[];
  blockedPatterns: RegExp[];
  deniedTopics: Array<{ name: string; keywords: string[] }>;
  maxPromptTokens?: number;
}

export interface InjectionSettings {
  /** A prompt whose heuristic score reaches this is blocked (0..1). */
  threshold: number;
}

/** LiteLLM's generic_guardrail_api: POST {api_base}/beta/litellm_basic_guardrail_api. */
export interface ExternalSettings {
  url: string;
  apiKey?: string;
  params: Record<string, unknown>;
  timeoutMs: number;
  /** When the API does not answer (or answers nonsense): run the call unchecked (open) or refuse it (closed). */
  failOpen: boolean;
}

export interface GuardrailDefinition {
  name: string;
  kind: GuardrailKind;
  /** The name the config used for the built-in (`pii`, `presidio`, ...). */
  configured: string;
  modes: GuardrailMode[];
  defaultOn: boolean;
  pii?: PiiSettings;
  filter?: ContentFilterSettings;
  injection?: InjectionSettings;
  external?: ExternalSettings;
  /** Set for a guardrail type that is not built in (lakera_v2, aporia, ...): a call that would run it is refused. */
  unavailable?: string;
}

const KIND_OF: Record<string, GuardrailKind> = {
  pii: 'pii',
  presidio: 'pii',
  content_filter: 'content_filter',
  litellm_content_filter: 'content_filter',
  prompt_injection: 'prompt_injection',
  detect_prompt_injection: 'prompt_injection',
  generic_guardrail_api: 'generic_api',
};

const MODES = ['pre_call', 'post_call', 'during_call'] as const;

const regexText = z.string().min(1).superRefine((value, context) => {
  try {
    new RegExp(value, 'u');
  } catch (error) {
    context.addIssue({ code: z.ZodIssueCode.custom, message: `is not a valid regular expression: ${(error as Error).message}` });
  }
});

const action = z
  .string()
  .transform((value) => value.toLowerCase())
  .pipe(z.enum(['mask', 'block'], { errorMap: () => ({ message: 'must be "mask" or "block"' }) }));

const paramsSchema = z
  .object({
    guardrail: z.string({ required_error: 'is required: the built-in guardrail to run (pii, presidio, content_filter, prompt_injection)' }),
    mode: z.union([z.enum(MODES), z.array(z.enum(MODES)).min(1)]).default('pre_call'),
    default_on: z.boolean().default(false),
    pii_entities_config: z.record(action).optional(),
    pii_patterns: z.array(z.object({ entity: z.string().min(1), regex: regexText, action: action.default('mask') }).strict()).optional(),
    output_parse_pii: z.boolean().default(false),
    blocked_words: z.array(z.string().min(1)).optional(),
    blocked_regex: z.array(regexText).optional(),
    denied_topics: z.array(z.object({ name: z.string().min(1), keywords: z.array(z.string().min(1)).min(1) }).strict()).optional(),
    max_prompt_tokens: z.number().int().positive().optional(),
    threshold: z.number().gt(0).max(1).optional(),
    api_base: z.string().url().optional(),
    api_key: z.string().min(1).optional(),
    additional_provider_specific_params: z.record(z.unknown()).optional(),
    timeout: z.number().positive().max(60).optional(),
    unreachable_fallback: z.enum(['fail_closed', 'fail_open']).optional(),
  })
  // Other types' fields (api_key, api_base, ...) are checked per type in guardrailDefinitions.
  .passthrough();

export const guardrailsConfigSchema = z.array(
  z
    .object({
      guardrail_name: z.string().min(1).regex(/^[A-Za-z0-9_.:-]+$/, 'may hold letters, digits and _ . : - only'),
      litellm_params: paramsSchema,
      guardrail_info: z.record(z.unknown()).optional(),
    })
    .strict(),
);

export type GuardrailsConfig = z.infer<typeof guardrailsConfigSchema>;

/** True for the guardrail types (`litellm_params.guardrail`) the gateway runs itself. */
export function isBuiltInGuardrail(type: unknown): boolean {
  return typeof type === 'string' && Object.hasOwn(KIND_OF, type);
}

/** Fields each built-in reads; any other field given to it is refused by name. */
const FIELDS_OF: Record<GuardrailKind, string[]> = {
  pii: ['pii_entities_config', 'pii_patterns', 'output_parse_pii'],
  content_filter: ['blocked_words', 'blocked_regex', 'denied_topics', 'max_prompt_tokens'],
  prompt_injection: ['threshold'],
  generic_api: ['api_base', 'api_key', 'additional_provider_specific_params', 'timeout', 'unreachable_fallback'],
  unavailable: [],
};
const COMMON = ['guardrail', 'mode', 'default_on'];

/** The definitions of a validated list; throws an Error naming the entry for what zod cannot check. */
export function guardrailDefinitions(config: GuardrailsConfig | undefined): { definitions: GuardrailDefinition[]; warnings: string[] } {
  const definitions: GuardrailDefinition[] = [];
  const warnings: string[] = [];
  const seen = new Set<string>();
  (config ?? []).forEach((entry, index) => {
    const where = `guardrails[${index}] (${entry.guardrail_name})`;
    if (seen.has(entry.guardrail_name)) throw new Error(`${where}: guardrail_name "${entry.guardrail_name}" is used twice`);
    seen.add(entry.guardrail_name);
    const params = entry.litellm_params;
    const kind = KIND_OF[params.guardrail];
    if (!kind) {
      const reason = `guardrail type "${params.guardrail}" is not built in (built in: ${Object.keys(KIND_OF).join(', ')})`;
      warnings.push(`${where}: ${reason}; calls that would run it are refused`);
      const modes = Array.isArray(params.mode) ? [...new Set(params.mode)] : [params.mode];
      definitions.push({ name: entry.guardrail_name, kind: 'unavailable', configured: params.guardrail, modes, defaultOn: params.default_on, unavailable: reason });
      return;
    }
    for (const [field, value] of Object.entries(params)) {
      if (value === undefined || COMMON.includes(field) || FIELDS_OF[kind].includes(field)) continue;
      if (field === 'output_parse_pii' && value === false) continue;
      throw new Error(`${where}: litellm_params.${field} does not apply to a ${params.guardrail} guardrail`);
    }
    const modes = Array.isArray(params.mode) ? [...new Set(params.mode)] : [params.mode];
    const definition: GuardrailDefinition = { name: entry.guardrail_name, kind, configured: params.guardrail, modes, defaultOn: params.default_on };
    if (kind === 'pii') {
      if (params.guardrail === 'presidio') warnings.push(`${where}: "presidio" runs the built-in PII detector; no Presidio server is called`);
      const entities = new Map<string, PiiAction>();
      for (const [name, value] of Object.entries(params.pii_entities_config ?? Object.fromEntries(PII_ENTITIES.map((entity) => [entity, 'mask' as const])))) {
        if (!(PII_ENTITIES as readonly string[]).includes(name) && !(params.pii_patterns ?? []).some((pattern) => pattern.entity === name)) {
          throw new Error(`${where}: pii_entities_config names "${name}", which is neither built in (${PII_ENTITIES.join(', ')}) nor one of pii_patterns`);
        }
        entities.set(name, value);
      }
      for (const pattern of params.pii_patterns ?? []) if (!entities.has(pattern.entity)) entities.set(pattern.entity, pattern.action);
      definition.pii = { entities, patterns: (params.pii_patterns ?? []).map((pattern) => ({ entity: pattern.entity, regex: new RegExp(pattern.regex, 'gu') })), outputParsePii: params.output_parse_pii };
      if (params.output_parse_pii && !modes.includes('pre_call')) throw new Error(`${where}: output_parse_pii restores what the prompt's masking replaced, so the guardrail needs mode pre_call`);
      const masking = [...entities].filter(([, action]) => action === 'mask').map(([entity]) => entity);
      if (modes.includes('during_call') && !modes.includes('pre_call') && masking.length > 0) {
        throw new Error(`${where}: mode during_call runs alongside the upstream call, which already has the prompt, so it cannot mask (${masking.join(', ')}); use mode pre_call to mask, or action block for every entity`);
      }
    }
    if (kind === 'content_filter') {
      const filter: ContentFilterSettings = {
        blockedWords: params.blocked_words ?? [],
        blockedPatterns: (params.blocked_regex ?? []).map((text) => new RegExp(text, 'iu')),
        deniedTopics: params.denied_topics ?? [],
        maxPromptTokens: params.max_prompt_tokens,
      };
      if (filter.blockedWords.length + filter.blockedPatterns.length + filter.deniedTopics.length === 0 && filter.maxPromptTokens === undefined) {
        throw new Error(`${where}: a content_filter needs at least one of blocked_words, blocked_regex, denied_topics, max_prompt_tokens`);
      }
      definition.filter = filter;
    }
    if (kind === 'generic_api') {
      if (!params.api_base) throw new Error(`${where}: a generic_guardrail_api needs litellm_params.api_base (the URL of the guardrail API)`);
      definition.external = {
        url: `${params.api_base.replace(/\/+$/, '')}/beta/litellm_basic_guardrail_api`,
        apiKey: params.api_key,
        params: params.additional_provider_specific_params ?? {},
        timeoutMs: Math.round((params.timeout ?? 10) * 1000),
        failOpen: params.unreachable_fallback === 'fail_open',
      };
    }
    if (kind === 'prompt_injection') definition.injection = { threshold: params.threshold ?? 0.5 };
    definitions.push(definition);
  });
  return { definitions, warnings };
}
