/**
 * The OpenAI request fields both Ollama endpoints take, mapped to Ollama's request: sampling fields
 * go into `options` (the Modelfile parameters of docs/modelfile.md), `response_format` becomes
 * `format`, `reasoning_effort` becomes `think`, and `keep_alive` passes through.
 */
import { GatewayError } from '../../errors.js';
import type { ChatRequest, Deployment, JsonObject, UpstreamRequest } from '../types.js';

/** Fields both adapters map (the pipeline refuses or drops any other). */
const COMMON_PARAMS = [
  'temperature',
  'top_p',
  'top_k',
  'max_tokens',
  'max_completion_tokens',
  'stop',
  'seed',
  'frequency_penalty',
  'presence_penalty',
  'num_ctx',
  'response_format',
  'keep_alive',
  'think',
  'reasoning_effort',
  // Accepted so that OpenAI clients that always send them keep working: `n` is checked to be 1,
  // `user` only labels the end user for abuse monitoring, which a local server does not do.
  'n',
  'user',
] as const;

export const GENERATE_PARAMS: ReadonlySet<string> = new Set(COMMON_PARAMS);
export const CHAT_PARAMS: ReadonlySet<string> = new Set([...COMMON_PARAMS, 'tools', 'tool_choice']);

/** Ollama's request fields besides the model and its input. */
export interface OllamaControls {
  options?: JsonObject;
  format?: 'json' | JsonObject;
  keep_alive?: string | number;
  think?: boolean | string;
}

function invalid(param: string, message: string): GatewayError {
  return new GatewayError('invalid_request', message, { param });
}

/** Client fields win; the deployment's default parameters (litellm_params) fill the gaps. */
export function withDefaults(request: ChatRequest, target: Deployment): ChatRequest {
  const merged: ChatRequest = { ...request };
  for (const [key, value] of Object.entries(target.defaultParams)) {
    if (merged[key] === undefined || merged[key] === null) merged[key] = value;
  }
  return merged;
}

function present(value: unknown): boolean {
  return value !== undefined && value !== null;
}

function positiveInteger(request: ChatRequest, field: string): number | undefined {
  const value = request[field];
  if (!present(value)) return undefined;
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 1) throw invalid(field, `"${field}" must be a positive integer, got ${JSON.stringify(value)}`);
  return value;
}

function samplingOptions(request: ChatRequest): JsonObject | undefined {
  const options: JsonObject = {};
  for (const field of ['temperature', 'top_p', 'seed', 'frequency_penalty', 'presence_penalty'] as const) {
    if (present(request[field])) options[field] = request[field];
  }
  const topK = positiveInteger(request, 'top_k');
  if (topK !== undefined) options.top_k = topK;
  // max_completion_tokens is the newer name of max_tokens; either caps the reply (num_predict).
  const maxTokens = positiveInteger(request, 'max_completion_tokens') ?? positiveInteger(request, 'max_tokens');
  if (maxTokens !== undefined) options.num_predict = maxTokens;
  // Ollama reads `stop` into a []string and refuses a bare string.
  if (typeof request.stop === 'string') options.stop = [request.stop];
  else if (Array.isArray(request.stop) && request.stop.length > 0) options.stop = request.stop;
  const contextLength = positiveInteger(request, 'num_ctx');
  if (contextLength !== undefined) options.num_ctx = contextLength;
  return Object.keys(options).length > 0 ? options : undefined;
}

function formatFor(request: ChatRequest): OllamaControls['format'] {
  const responseFormat = request.response_format;
  if (!present(responseFormat) || responseFormat?.type === 'text') return undefined;
  if (responseFormat?.type === 'json_object') return 'json';
  if (responseFormat?.type === 'json_schema') {
    const schema = responseFormat.json_schema?.schema;
    if (typeof schema !== 'object' || schema === null || Array.isArray(schema)) {
      throw invalid('response_format', 'response_format.json_schema.schema must be a JSON schema object (Ollama constrains the reply to it)');
    }
    return schema as JsonObject;
  }
  throw invalid('response_format', `response_format.type must be "text", "json_object" or "json_schema", got ${JSON.stringify(responseFormat?.type)}`);
}

/** OpenAI's reasoning_effort in Ollama's terms; an explicit `think` (boolean or level) wins. */
function thinkFor(request: ChatRequest): OllamaControls['think'] {
  const think = request.think;
  if (present(think)) {
    if (typeof think !== 'boolean' && typeof think !== 'string') throw invalid('think', `"think" must be true, false or a level ("low", "medium", "high"), got ${JSON.stringify(think)}`);
    return think;
  }
  const effort = request.reasoning_effort;
  if (!present(effort)) return undefined;
  switch (effort) {
    case 'none':
      return false;
    case 'minimal': // Ollama's lowest level
      return 'low';
    case 'low':
    case 'medium':
    case 'high':
      return effort;
    default:
      throw invalid('reasoning_effort', `"reasoning_effort" must be "none", "minimal", "low", "medium" or "high", got ${JSON.stringify(effort)}`);
  }
}

function keepAliveFor(request: ChatRequest): OllamaControls['keep_alive'] {
  const keepAlive = request.keep_alive;
  if (!present(keepAlive)) return undefined;
  if (typeof keepAlive === 'string' || (typeof keepAlive === 'number' && Number.isFinite(keepAlive))) return keepAlive;
  throw invalid('keep_alive', `"keep_alive" must be a duration such as "5m" or a number of seconds, got ${JSON.stringify(keepAlive)}`);
}

/** The controls of a request whose defaults are already applied. */
export function controlsFor(request: ChatRequest): OllamaControls {
  if (present(request.n) && request.n !== 1) throw invalid('n', `Ollama returns one choice per request; "n" must be 1, got ${JSON.stringify(request.n)}`);
  const controls: OllamaControls = {};
  const format = formatFor(request);
  if (format !== undefined) controls.format = format;
  const options = samplingOptions(request);
  if (options) controls.options = options;
  const keepAlive = keepAliveFor(request);
  if (keepAlive !== undefined) controls.keep_alive = keepAlive;
  const think = thinkFor(request);
  if (think !== undefined) controls.think = think;
  return controls;
}

/** A POST to an Ollama endpoint; Bearer auth only for servers behind a proxy that wants a key. */
export function ollamaPost(target: Deployment, path: string, body: JsonObject, stream: boolean): UpstreamRequest {
  const headers: Record<string, string> = { 'content-type': 'application/json', accept: stream ? 'application/x-ndjson' : 'application/json' };
  if (target.apiKey) headers.authorization = `Bearer ${target.apiKey}`;
  return { url: `${target.apiBase}${path}`, method: 'POST', headers: Object.assign(headers, target.headers), body: JSON.stringify(body), framing: stream ? 'ndjson' : 'json' };
}
