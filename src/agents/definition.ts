/**
 * What an agent is: a named set of model settings (model group, fallbacks, temperature, max tokens,
 * system prompt) plus what a run needs (prompt template, output schema, confidence threshold).
 * One validator for config.yaml's `agents:` entries and the API's bodies, so that an agent accepted
 * one way is exactly one the other accepts; a 400 names the field.
 */
import { z } from 'zod';
import { GatewayError } from '../errors.js';
import { compileOutputSchema } from './output-schema.js';
import { checkTemplate } from './template.js';

export const AGENT_NAME = /^[a-z0-9][a-z0-9-]{0,62}$/;
export const AGENT_PREFIX = 'agent/';

const fields = {
  display_name: z.string().min(1).max(200),
  type: z.string().min(1).max(100),
  description: z.string().max(4000),
  model: z.string().min(1).max(200),
  fallbacks: z.array(z.string().min(1).max(200)).max(10),
  temperature: z.number().min(0).max(2).nullable(),
  max_tokens: z.number().int().positive().nullable(),
  confidence_threshold: z.number().min(0).max(1),
  system_prompt: z.string().max(100_000),
  prompt_template: z.string().max(100_000).nullable(),
  output_schema: z.record(z.unknown()).nullable(),
  status: z.enum(['active', 'paused']),
  metadata: z.record(z.unknown()),
};

/** An agent as stored and served. */
export interface AgentDefinition {
  name: string;
  display_name: string;
  type: string;
  description: string;
  model: string;
  fallbacks: string[];
  temperature: number | null;
  max_tokens: number | null;
  confidence_threshold: number;
  system_prompt: string;
  prompt_template: string | null;
  output_schema: Record<string, unknown> | null;
  status: 'active' | 'paused';
  metadata: Record<string, unknown>;
}

export type AgentFields = Omit<AgentDefinition, 'name'>;

/** A new agent's body (model required; the rest defaults). */
export const agentCreateSchema = z
  .object({
    name: z
      .string()
      .regex(AGENT_NAME, 'must be a slug: lower-case letters, digits and "-" (e.g. "email-parser"), at most 63 characters')
      // GET /agents/stats is the totals route: an agent cannot take its name.
      .refine((name) => name !== 'stats', '"stats" is reserved (GET /agents/stats); choose another name'),
    display_name: fields.display_name.optional(),
    type: fields.type.optional(),
    description: fields.description.optional(),
    model: fields.model,
    fallbacks: fields.fallbacks.optional(),
    temperature: fields.temperature.optional(),
    max_tokens: fields.max_tokens.optional(),
    confidence_threshold: fields.confidence_threshold.optional(),
    system_prompt: fields.system_prompt.optional(),
    prompt_template: fields.prompt_template.optional(),
    output_schema: fields.output_schema.optional(),
    status: fields.status.optional(),
    metadata: fields.metadata.optional(),
  })
  .strict();

/** A change: any field but the name. */
export const agentPatchSchema = z.object(fields).partial().strict();

/** The config file's `agents:` section: a list of agents as the API creates them. */
export const agentsConfigSchema = z.array(agentCreateSchema);

/** Parses with `schema`, or the 400 that names the first bad field. */
function parseOrRefuse<T>(schema: z.ZodType<T>, body: unknown, where: string): T {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new GatewayError('invalid_request', `${where} must be a JSON object`, { param: 'body' });
  const parsed = schema.safeParse(body);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    const path = issue.path.join('.');
    const message = issue.code === 'unrecognized_keys' ? `unknown field(s) ${issue.keys.map((key) => `"${key}"`).join(', ')}; an agent has ${['name', ...Object.keys(fields)].join(', ')}` : issue.message;
    throw new GatewayError('invalid_request', `${path || issue.code === 'unrecognized_keys' ? `${path || where}: ` : ''}${message}`, { param: path || (issue.code === 'unrecognized_keys' ? issue.keys[0] : undefined) });
  }
  return parsed.data;
}

/** A complete, checked agent from a create body (defaults filled in). */
export function agentFromCreate(body: unknown): AgentDefinition {
  const parsed = parseOrRefuse(agentCreateSchema, body, 'the agent');
  return checkAgent({
    name: parsed.name,
    display_name: parsed.display_name ?? parsed.name,
    type: parsed.type ?? parsed.name.replaceAll('-', '_'),
    description: parsed.description ?? '',
    model: parsed.model,
    fallbacks: parsed.fallbacks ?? [],
    temperature: parsed.temperature ?? null,
    max_tokens: parsed.max_tokens ?? null,
    confidence_threshold: parsed.confidence_threshold ?? 0,
    system_prompt: parsed.system_prompt ?? '',
    prompt_template: parsed.prompt_template ?? null,
    output_schema: parsed.output_schema ?? null,
    status: parsed.status ?? 'active',
    metadata: parsed.metadata ?? {},
  });
}

/** `current` with a PATCH body applied, checked as a whole. */
export function agentWithPatch(current: AgentDefinition, body: unknown): AgentDefinition {
  if (typeof body === 'object' && body !== null && 'name' in body) throw new GatewayError('invalid_request', 'name: an agent cannot be renamed; create a new one', { param: 'name' });
  const patch = parseOrRefuse(agentPatchSchema, body, 'the change');
  if (Object.keys(patch).length === 0) throw new GatewayError('invalid_request', `the body names no field; an agent has ${Object.keys(fields).join(', ')}`, { param: 'body' });
  return checkAgent({ ...current, ...(patch as Partial<AgentFields>) });
}

/** The checks zod cannot make: the template's placeholders and the output schema compile. */
export function checkAgent(agent: AgentDefinition): AgentDefinition {
  if (agent.prompt_template !== null) checkTemplate(agent.prompt_template, 'prompt_template');
  if (agent.output_schema !== null) compileOutputSchema(agent.output_schema);
  return agent;
}

/** The agent name in a model field (`agent/<name>`), or undefined for any other model. */
export function agentNameOf(model: unknown): string | undefined {
  return typeof model === 'string' && model.startsWith(AGENT_PREFIX) ? model.slice(AGENT_PREFIX.length) : undefined;
}
