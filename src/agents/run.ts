/**
 * POST /agents/{name}/run: renders the agent's prompt from the run's input, calls the agent's model
 * through the gateway (as `agent/<name>`, so the calls take every check and are billed and recorded
 * like any other, each usage row naming the agent and this run), asks for structured output where
 * every deployment of the model supports `response_format` (OpenAI json_schema, Gemini
 * responseSchema, Ollama `format`, Anthropic's forced tool), otherwise asks for JSON in the prompt;
 * parses and validates the answer against output_schema, and asks once more, with the validation
 * error, when it does not validate.
 */
import { performance } from 'node:perf_hooks';
import { GatewayError } from '../errors.js';
import type { CallContext, GatewayResult } from '../gateway/call-context.js';
import { newCallId } from '../gateway/call-id.js';
import type { ChatMessage, ChatRequest } from '../providers/types.js';
import { adapterFor } from '../providers/registry.js';
import type { ModelCatalog } from '../routing/catalog.js';
import type { AgentExecutionTable } from '../storage/schema.js';
import { AGENT_PREFIX, type AgentDefinition } from './definition.js';
import { schemaHasConfidence, validationError } from './output-schema.js';
import { inputReadBy, renderTemplate } from './template.js';
import type { RunResultView } from '../http/agent-views.js';

export interface RunDependencies {
  chat(context: CallContext, request: ChatRequest): Promise<GatewayResult>;
  catalog: ModelCatalog;
  /** general_settings.store_prompts_in_spend_logs: keep the run's input and output. */
  storePrompts: boolean;
  /** general_settings.disable_spend_logs: keep no error text either (usage rows keep none). */
  withoutContent?: boolean;
  /** Stores what the run concluded (not awaited by the run). */
  record(row: AgentExecutionTable): void;
}

export interface RunInput {
  entity_type: string | null;
  input_data: Record<string, unknown>;
}

/** The run's answer, filled in as the run goes. */
export type RunAnswer = { -readonly [Name in keyof RunResultView]: RunResultView[Name] };

/** The longest `entity_type` a run takes (the gateway's bound for stored names and labels). */
export const ENTITY_TYPE_CHARS = 256;

/** The run's body, or the 400 naming the field. */
export function parseRunInput(body: unknown): RunInput {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new GatewayError('invalid_request', 'the body must be a JSON object: {"entity_type": "rfq", "input_data": {...}}', { param: 'body' });
  const { entity_type: entityType, input_data: input, ...rest } = body as Record<string, unknown>;
  const unknown = Object.keys(rest);
  if (unknown.length > 0) throw new GatewayError('invalid_request', `${unknown[0]}: unknown field; a run takes entity_type and input_data`, { param: unknown[0] });
  if (typeof input !== 'object' || input === null || Array.isArray(input)) throw new GatewayError('invalid_request', 'input_data must be a JSON object', { param: 'input_data' });
  if (entityType !== undefined && entityType !== null && typeof entityType !== 'string') throw new GatewayError('invalid_request', 'entity_type must be a string', { param: 'entity_type' });
  // A label stored with the run's outcome whatever the prompt settings: bounded like the other labels the gateway stores.
  if (typeof entityType === 'string' && entityType.length > ENTITY_TYPE_CHARS) throw new GatewayError('invalid_request', `entity_type is ${entityType.length} characters long; at most ${ENTITY_TYPE_CHARS} are accepted`, { param: 'entity_type' });
  return { entity_type: entityType ?? null, input_data: input as Record<string, unknown> };
}

/** Errors that end a run as a failed execution (the model could not answer); any other is the caller's 4xx. */
const MODEL_FAILURES = new Set(['deployments_cooling_down', 'deployments_at_capacity', 'deployments_down', 'model_unavailable', 'context_window_exceeded', 'content_policy_violation']);

export async function runAgent(deps: RunDependencies, agent: AgentDefinition, input: RunInput, base: CallContext): Promise<RunAnswer> {
  if (agent.status === 'paused') throw new GatewayError('agent_paused', `agent "${agent.name}" is paused by an operator; POST /agents/${agent.name}/resume serves it again`, { param: 'name' });
  const started = performance.now();
  const createdAt = Date.now();
  const executionId = newCallId(createdAt);
  const structured = supportsStructuredOutput(deps.catalog, agent.model);
  const system = systemPrompt(agent, structured);
  const messages: ChatMessage[] = [
    ...(system === '' ? [] : [{ role: 'system' as const, content: system }]),
    { role: 'user', content: agent.prompt_template !== null ? renderTemplate(agent.prompt_template, input) : JSON.stringify(input.input_data) },
  ];
  const answer: RunAnswer = {
    execution_id: executionId, agent: agent.name, status: 'failed', entity_type: input.entity_type, output: null, confidence: null, error: null,
    model_used: null, upstream_model: null, provider: null, structured_output: structured, attempts: 0,
    tokens: { prompt: 0, completion: 0, total: 0 }, cost_usd: 0, cost_micros: 0, execution_time_ms: 0, call_id: null, call_ids: [],
  };
  // The stored outcome keeps what went wrong, but quotes content (the model's answer, the upstream's
  // error text) only where usage rows keep it: the caller's answer quotes it all.
  let storedError: string | null = null;
  for (let attempt = 1; attempt <= 2; attempt++) {
    // The end user the request named (a header) is the run's: its customer's block flag, limits and region apply.
    // The client's address and trace context are the request's: each call's usage row and span say where it came from.
    const context: CallContext = {
      callId: newCallId(), startedAt: performance.now(), startedAtEpochMs: Date.now(), endpoint: 'chat/completions', caller: base.caller, client: base.client, recorded: false, requestedPowerLevel: base.requestedPowerLevel, agentExecution: executionId,
      ...(base.endUser === undefined ? {} : { endUser: base.endUser }),
      ...(base.requesterIp === undefined ? {} : { requesterIp: base.requesterIp }),
      ...(base.traceparent === undefined ? {} : { traceparent: base.traceparent }),
    };
    answer.attempts = attempt;
    answer.call_id = context.callId;
    answer.call_ids.push(context.callId);
    let content: string;
    try {
      content = readResult(await deps.chat(context, chatRequest(agent, messages, structured)), answer);
    } catch (caught) {
      if (!(caught instanceof GatewayError) || !(caught.code.startsWith('upstream_') || MODEL_FAILURES.has(caught.code))) throw caught;
      answer.status = 'failed';
      answer.error = `${caught.code}: ${caught.message}`;
      storedError = deps.withoutContent ? caught.code : answer.error;
      break;
    }
    const checked = checkOutput(agent, content);
    answer.output = checked.output;
    if (checked.error === undefined) {
      answer.error = null;
      storedError = null;
      answer.confidence = confidenceOf(agent, checked.output);
      answer.status = answer.confidence !== null && answer.confidence < agent.confidence_threshold ? 'low_confidence' : 'success';
      break;
    }
    answer.status = 'failed';
    answer.error = checked.error;
    storedError = (deps.storePrompts ? checked.error : checked.summary) ?? null;
    messages.push({ role: 'assistant', content }, { role: 'user', content: `That answer is not valid: ${checked.error}. Answer again with only the corrected JSON object.` });
  }
  answer.execution_time_ms = Math.round(performance.now() - started);
  answer.cost_usd = answer.cost_micros / 1_000_000;
  deps.record({
    execution_id: executionId, agent: agent.name, created_at: createdAt, entity_type: input.entity_type, status: answer.status, confidence: answer.confidence,
    // What the model was sent of the input (the fields the template reads), never unbilled padding.
    input: deps.storePrompts ? JSON.stringify(agent.prompt_template !== null ? inputReadBy(agent.prompt_template, input.input_data) : input.input_data) : null, output: deps.storePrompts && answer.output !== null ? JSON.stringify(answer.output) : null,
    error: storedError, execution_time_ms: answer.execution_time_ms,
  });
  return answer;
}

/** True when every deployment of the model can be given `response_format`. */
export function supportsStructuredOutput(catalog: ModelCatalog, model: string): boolean {
  const deployments = catalog.resolve(model)?.available ?? [];
  return deployments.length > 0 && deployments.every((deployment) => adapterFor(deployment.provider, deployment.upstreamModel)?.supportedParams?.has('response_format') ?? true);
}

function systemPrompt(agent: AgentDefinition, structured: boolean): string {
  const parts = agent.system_prompt ? [agent.system_prompt] : [];
  if (!structured) {
    parts.push(agent.output_schema ? `Answer with one JSON object, and nothing else, that follows this JSON Schema:\n${JSON.stringify(agent.output_schema)}` : 'Answer with one JSON object and nothing else.');
  }
  return parts.join('\n\n');
}

function chatRequest(agent: AgentDefinition, messages: ChatMessage[], structured: boolean): ChatRequest {
  const request: ChatRequest = { model: `${AGENT_PREFIX}${agent.name}`, messages: [...messages], stream: false };
  if (structured) {
    request.response_format = agent.output_schema
      ? { type: 'json_schema', json_schema: { name: agent.name.replaceAll('-', '_'), schema: agent.output_schema } }
      : { type: 'json_object' };
  }
  return request;
}

/** The answer's text; adds the call's tokens and cost (the settle stage's, as recorded) to the run's. */
function readResult(result: GatewayResult, answer: RunAnswer): string {
  if (result.kind !== 'json') throw new GatewayError('internal', 'an agent run expected a JSON answer');
  const headers = result.headers;
  const cost = headers['x-switchboard-response-cost'];
  if (cost !== undefined) answer.cost_micros += microsOf(cost);
  answer.model_used = headers['x-switchboard-model-group'] ?? answer.model_used;
  answer.provider = headers['x-switchboard-provider'] ?? answer.provider;
  const body = JSON.parse(result.body) as { model?: string; usage?: { prompt_tokens?: number; completion_tokens?: number; total_tokens?: number }; choices?: Array<{ message?: { content?: unknown } }> };
  answer.upstream_model = body.model ?? answer.upstream_model;
  answer.tokens.prompt += body.usage?.prompt_tokens ?? 0;
  answer.tokens.completion += body.usage?.completion_tokens ?? 0;
  answer.tokens.total += body.usage?.total_tokens ?? 0;
  const content = body.choices?.[0]?.message?.content;
  return typeof content === 'string' ? content : '';
}

/** A USD decimal string (formatUsd) back to integer micro-dollars, without floating point. */
export function microsOf(usd: string): number {
  const negative = usd.startsWith('-');
  const [whole, fraction = ''] = usd.replace(/^-/, '').split('.');
  const micros = Number(whole) * 1_000_000 + Number(fraction.padEnd(6, '0').slice(0, 6));
  return negative ? -micros : micros;
}

/**
 * The parsed output and, when it is not acceptable, why: `error` in full (it may quote the answer:
 * for the model's retry and the caller), `summary` without any of the answer's content (stored
 * when prompts are not).
 */
export function checkOutput(agent: AgentDefinition, content: string): { output: unknown; error?: string; summary?: string } {
  const text = content.trim().replace(/^```(?:json)?\s*/i, '').replace(/\s*```$/, '');
  let output: unknown;
  try {
    output = JSON.parse(text);
  } catch {
    return { output: null, error: `the answer is not JSON (${JSON.stringify(content.slice(0, 200))})`, summary: 'the answer is not JSON' };
  }
  if (agent.output_schema) {
    // ajv's messages name the output's property paths (the answer's own keys): left out of the summary.
    const error = validationError(agent.output_schema, output);
    if (error !== undefined) return { output, error: `the output does not match output_schema: ${error}`, summary: 'the output does not match output_schema' };
  } else if (typeof output !== 'object' || output === null || Array.isArray(output)) {
    return { output, error: 'the answer is not a JSON object', summary: 'the answer is not a JSON object' };
  }
  return { output };
}

function confidenceOf(agent: AgentDefinition, output: unknown): number | null {
  if (!schemaHasConfidence(agent.output_schema) || typeof output !== 'object' || output === null) return null;
  const value = (output as Record<string, unknown>).confidence;
  return typeof value === 'number' && Number.isFinite(value) ? value : null;
}
