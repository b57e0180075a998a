/**
 * A seeded, bounded fuzzer over the request bodies of every main surface: starting from a valid
 * body, each case replaces one field (at any depth) with a value of the wrong kind — a number as a
 * string, an object as an array, null, 1e308, a negative, "NaN", a deep nest within the body limit,
 * a long string, a lone surrogate in a JSON escape, an empty array — or sends the body with a
 * duplicated key. The property: every answer is a well-formed JSON error in the surface's own
 * envelope (OpenAI's; Anthropic's on /v1/messages; Google's on /gemini) with a 4xx status the
 * client can act on, or a 200 when the mutated body is still valid; never a 5xx, never a hang
 * (each request has a deadline), and the gateway logs no unhandled error.
 *
 * Each target is fuzzed twice: with the master key (every path × every replacement, plus added
 * fields) and with an ordinary key carrying a budget, a TPM, an RPM and a parallel limit (sampled),
 * so that the reservation arithmetic sees every mutated number. Seeds are fixed (298_000 + i,
 * 298_500 + i); the run takes about 50 s, ~25,000 requests.
 *
 * Before the fix the fuzzer found 1 distinct failure, on 37 mutated bodies: a chat request
 * routed to an Anthropic deployment whose history held an assistant tool call with
 * `function.arguments` of any kind but a string (a number, an object, an array, true, …) answered
 * 500 "internal error: argumentsText.trim is not a function" and logged an unhandled TypeError
 * (providers/anthropic/request.ts called .trim() on it), streamed or not. Now it is a 400 naming
 * `messages[i].tool_calls[j].function.arguments`. Every other surface held already: no other 5xx,
 * hang, unhandled rejection or error log line in the runs. (The mock Gemini upstream cannot build
 * quadrillions of candidates or dimensions; those few cases are left out, see mockCannotAnswer.)
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, beforeEach, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { MockAnthropic } from '../support/mock-anthropic.js';
import { MockGemini } from '../support/mock-gemini.js';
import { MockOpenAI } from '../support/mock-openai.js';
import { MockOpenAIMedia } from '../support/mock-openai-media.js';
import { chat, contents, gemini, surfaceModelsConfig } from '../support/model-surfaces.js';
import { seededRandom } from '../support/random.js';

const openai = new MockOpenAI();
const anthropic = new MockAnthropic();
const google = new MockGemini();
const media = new MockOpenAIMedia('sk-upstream');
let gateway: TestGateway;
/** Every line the gateway logs at level error or above (an unhandled error is one). */
const errorLines: string[] = [];
const unhandled: unknown[] = [];
const onUnhandled = (reason: unknown) => unhandled.push(reason);

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
type Envelope = 'openai' | 'anthropic' | 'google';
interface Target {
  name: string;
  path: string;
  body: { [key: string]: Json };
  envelope: Envelope;
}

const PNG = 'data:image/png;base64,iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==';
const CHAT_MESSAGES = [
  { role: 'system', content: 's' },
  { role: 'user', content: [{ type: 'text', text: 'hi' }, { type: 'image_url', image_url: { url: PNG, detail: 'low' } }] },
  { role: 'assistant', content: null, tool_calls: [{ id: 'call_1', type: 'function', function: { name: 'f', arguments: '{"a":1}' } }] },
  { role: 'tool', tool_call_id: 'call_1', content: 'result' },
  { role: 'user', content: 'and?', name: 'bob' },
];
const CHAT_TOOLS = [{ type: 'function', function: { name: 'f', description: 'd', parameters: { type: 'object', properties: { a: { type: 'integer' } } } } }];

const TARGETS: Target[] = [
  { name: 'chat', path: '/v1/chat/completions', envelope: 'openai', body: chat('premium', { messages: CHAT_MESSAGES, temperature: 0.5, top_p: 1, n: 1, stop: ['x'], user: 'u', seed: 1, tools: CHAT_TOOLS, tool_choice: { type: 'function', function: { name: 'f' } }, response_format: { type: 'json_schema', json_schema: { name: 's', schema: { type: 'object' } } }, logit_bias: { '50256': -100 }, metadata: { a: 'b' }, tags: ['t'], fallbacks: ['premium'] }) as never },
  { name: 'chat stream', path: '/v1/chat/completions', envelope: 'openai', body: chat('premium', { stream: true, stream_options: { include_usage: true }, max_completion_tokens: 10, messages: [{ role: 'system', content: 's' }, { role: 'user', content: [{ type: 'text', text: 'hi' }] }], tools: CHAT_TOOLS, parallel_tool_calls: false }) as never },
  { name: 'completions', path: '/v1/completions', envelope: 'openai', body: { model: 'premium', prompt: ['hi', 'there'], max_tokens: 10, temperature: 0, logprobs: 1, echo: false, suffix: 'z', n: 1, best_of: 1, stop: 'x' } },
  { name: 'completions stream', path: '/v1/completions', envelope: 'openai', body: { model: 'premium', prompt: 'hi', max_tokens: 10, stream: true, stream_options: { include_usage: true } } },
  { name: 'embeddings', path: '/v1/embeddings', envelope: 'openai', body: { model: 'premium', input: ['hi', 'there'], encoding_format: 'float', dimensions: 3, user: 'u' } },
  { name: 'embeddings of tokens', path: '/v1/embeddings', envelope: 'openai', body: { model: 'premium', input: [[1, 2, 3], [4]] } },
  { name: 'responses', path: '/v1/responses', envelope: 'openai', body: { model: 'premium', input: [{ role: 'user', content: [{ type: 'input_text', text: 'hi' }, { type: 'input_image', image_url: PNG }] }, { type: 'function_call', call_id: 'c1', name: 'f', arguments: '{}' }, { type: 'function_call_output', call_id: 'c1', output: 'ok' }], instructions: 'be brief', max_output_tokens: 16, reasoning: { effort: 'low' }, text: { format: { type: 'text' } }, tools: [{ type: 'function', name: 'f', parameters: { type: 'object' } }], tool_choice: 'auto', store: false } },
  { name: 'responses stream', path: '/v1/responses', envelope: 'openai', body: { model: 'premium', input: 'hi', max_output_tokens: 16, stream: true } },
  { name: 'messages (Anthropic)', path: '/v1/messages', envelope: 'anthropic', body: { model: 'claude-premium', max_tokens: 10, system: [{ type: 'text', text: 's', cache_control: { type: 'ephemeral' } }], messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }, { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG.split(',')[1] } }] }, { role: 'assistant', content: [{ type: 'tool_use', id: 'tu_1', name: 't', input: { a: 1 } }] }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'tu_1', content: 'ok' }] }], temperature: 0.2, top_k: 5, stop_sequences: ['x'], metadata: { user_id: 'u' }, tools: [{ name: 't', description: 'd', input_schema: { type: 'object' } }], tool_choice: { type: 'auto' } } },
  { name: 'messages (Anthropic) stream', path: '/v1/messages', envelope: 'anthropic', body: { model: 'claude-premium', max_tokens: 2048, stream: true, system: 's', thinking: { type: 'enabled', budget_tokens: 1024 }, messages: [{ role: 'user', content: 'hi' }, { role: 'assistant', content: 'ok' }, { role: 'user', content: 'more' }] } },
  { name: 'messages (OpenAI group)', path: '/v1/messages', envelope: 'anthropic', body: { model: 'premium', max_tokens: 10, system: 's', messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }] }, { role: 'assistant', content: [{ type: 'tool_use', id: 'tu_1', name: 't', input: {} }] }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'tu_1', content: [{ type: 'text', text: 'ok' }] }] }], tools: [{ name: 't', input_schema: { type: 'object' } }], tool_choice: { type: 'tool', name: 't' }, thinking: { type: 'enabled', budget_tokens: 1024 } } },
  { name: 'messages (OpenAI group) stream', path: '/v1/messages', envelope: 'anthropic', body: { model: 'premium', max_tokens: 10, stream: true, messages: [{ role: 'user', content: 'hi' }], stop_sequences: ['x'], metadata: { user_id: 'u' } } },
  // The same OpenAI and Anthropic bodies through the request mappers to Anthropic's and Google's wire formats.
  { name: 'chat → Anthropic', path: '/v1/chat/completions', envelope: 'openai', body: chat('claude-premium', { messages: CHAT_MESSAGES, temperature: 0.5, top_p: 1, stop: ['x'], user: 'u', tools: CHAT_TOOLS, tool_choice: 'required', response_format: { type: 'json_object' }, reasoning_effort: 'low', max_tokens: 2048, metadata: { a: 'b' } }) as never },
  { name: 'chat → Gemini', path: '/v1/chat/completions', envelope: 'openai', body: chat('gemini-premium', { messages: CHAT_MESSAGES, temperature: 0.5, top_p: 1, n: 1, stop: ['x'], seed: 1, tools: CHAT_TOOLS, tool_choice: { type: 'function', function: { name: 'f' } }, response_format: { type: 'json_schema', json_schema: { name: 's', schema: { type: 'object', properties: { a: { type: 'string' } } } } }, presence_penalty: 0, frequency_penalty: 0 }) as never },
  { name: 'chat → Gemini stream', path: '/v1/chat/completions', envelope: 'openai', body: chat('gemini-premium', { stream: true, stream_options: { include_usage: true }, messages: CHAT_MESSAGES, tools: CHAT_TOOLS }) as never },
  { name: 'responses → Anthropic', path: '/v1/responses', envelope: 'openai', body: { model: 'claude-premium', input: [{ role: 'user', content: [{ type: 'input_text', text: 'hi' }] }, { type: 'function_call', call_id: 'c1', name: 'f', arguments: '{}' }, { type: 'function_call_output', call_id: 'c1', output: 'ok' }], instructions: 'be brief', max_output_tokens: 16, tools: [{ type: 'function', name: 'f', parameters: { type: 'object' } }], tool_choice: 'auto' } },
  { name: 'responses → Gemini', path: '/v1/responses', envelope: 'openai', body: { model: 'gemini-premium', input: [{ role: 'user', content: [{ type: 'input_text', text: 'hi' }, { type: 'input_image', image_url: PNG }] }], instructions: 'be brief', max_output_tokens: 16, text: { format: { type: 'json_schema', name: 's', schema: { type: 'object', properties: { a: { type: 'string' } } } } } } },
  { name: 'messages → Gemini', path: '/v1/messages', envelope: 'anthropic', body: { model: 'gemini-premium', max_tokens: 10, system: [{ type: 'text', text: 's' }], messages: [{ role: 'user', content: [{ type: 'text', text: 'hi' }, { type: 'image', source: { type: 'base64', media_type: 'image/png', data: PNG.split(',')[1] } }] }, { role: 'assistant', content: [{ type: 'tool_use', id: 'tu_1', name: 't', input: { a: 1 } }] }, { role: 'user', content: [{ type: 'tool_result', tool_use_id: 'tu_1', content: 'ok' }] }], tools: [{ name: 't', input_schema: { type: 'object', properties: { a: { type: 'integer' } } } }], tool_choice: { type: 'any' }, stop_sequences: ['x'] } },
  { name: 'messages → Gemini stream', path: '/v1/messages', envelope: 'anthropic', body: { model: 'gemini-premium', max_tokens: 10, stream: true, messages: [{ role: 'user', content: 'hi' }] } },
  { name: 'chat → Anthropic stream', path: '/v1/chat/completions', envelope: 'openai', body: chat('claude-premium', { stream: true, stream_options: { include_usage: true }, messages: CHAT_MESSAGES, tools: CHAT_TOOLS, parallel_tool_calls: false, thinking: { type: 'enabled', budget_tokens: 1024 }, max_tokens: 2048 }) as never },
  { name: 'embeddings → Gemini', path: '/v1/embeddings', envelope: 'openai', body: { model: 'gemini-premium', input: ['hi', 'there'], dimensions: 3 } },
  { name: 'gemini generateContent', path: gemini('gemini-premium', 'generateContent'), envelope: 'google', body: { contents: [{ role: 'user', parts: [{ text: 'hi' }, { inlineData: { mimeType: 'image/png', data: PNG.split(',')[1] } }] }, { role: 'model', parts: [{ functionCall: { name: 'f', args: { a: 1 } } }] }, { role: 'user', parts: [{ functionResponse: { name: 'f', response: { ok: true } } }] }], systemInstruction: { parts: [{ text: 's' }] }, tools: [{ functionDeclarations: [{ name: 'f', parameters: { type: 'OBJECT', properties: { a: { type: 'INTEGER' } } } }] }], toolConfig: { functionCallingConfig: { mode: 'AUTO' } }, generationConfig: { maxOutputTokens: 10, temperature: 0.1, stopSequences: ['x'], candidateCount: 1, thinkingConfig: { thinkingBudget: 0 } }, safetySettings: [{ category: 'HARM_CATEGORY_HARASSMENT', threshold: 'BLOCK_NONE' }] } },
  { name: 'gemini streamGenerateContent', path: `${gemini('gemini-premium', 'streamGenerateContent')}?alt=sse`, envelope: 'google', body: contents as never },
  { name: 'gemini countTokens', path: gemini('gemini-premium', 'countTokens'), envelope: 'google', body: { contents: contents.contents } as never },
  { name: 'gemini embedContent', path: gemini('gemini-premium', 'embedContent'), envelope: 'google', body: { model: 'models/gemini-premium', content: { parts: [{ text: 'hi' }] }, taskType: 'RETRIEVAL_QUERY', outputDimensionality: 3 } },
  { name: 'moderations', path: '/v1/moderations', envelope: 'openai', body: { model: 'premium-media', input: ['hi', 'there'] } },
  { name: 'moderations multimodal', path: '/v1/moderations', envelope: 'openai', body: { model: 'premium-media', input: [{ type: 'text', text: 'hi' }, { type: 'image_url', image_url: { url: PNG } }] } },
  { name: 'rerank', path: '/v1/rerank', envelope: 'openai', body: { model: 'premium-media', query: 'q', documents: ['a', { text: 'b' }], top_n: 1, return_documents: true, max_chunks_per_doc: 2 } },
  { name: 'key/generate', path: '/key/generate', envelope: 'openai', body: { models: ['premium'], max_budget: 10, soft_budget: 5, duration: '1h', metadata: { team: 'x' }, key_alias: 'alias', tpm_limit: 100, rpm_limit: 10, max_parallel_requests: 2, budget_duration: '30d', aliases: { a: 'premium' }, tags: ['t'], model_max_budget: { premium: { max_budget: 1 } }, permissions: {}, allowed_routes: ['/v1/chat/completions'], guardrails: [], blocked: false } },
  { name: 'key/update', path: '/key/update', envelope: 'openai', body: { key: '<KEY>', models: ['premium'], max_budget: 5, metadata: { a: 1 }, tpm_limit: 10, blocked: false, aliases: {}, budget_duration: '1d', duration: '2h', key_alias: 'renamed' } },
  { name: 'user/new', path: '/user/new', envelope: 'openai', body: { user_id: 'fuzz-user', user_email: 'a@b.c', user_role: 'internal_user', max_budget: 10, budget_duration: '30d', models: ['premium'], tpm_limit: 10, rpm_limit: 10, auto_create_key: true, metadata: { a: 1 }, teams: [] } },
  { name: 'team/new', path: '/team/new', envelope: 'openai', body: { team_alias: 'fuzz-team', models: ['premium'], max_budget: 10, budget_duration: '30d', tpm_limit: 100, rpm_limit: 10, members_with_roles: [{ role: 'user', user_id: 'fuzz-member' }], metadata: { a: 1 }, blocked: false } },
];

/** Fields a valid body may carry but the base bodies leave out: each is added with wrong-kind values. */
const EXTRA_FIELDS: Record<Envelope | 'management', string[]> = {
  openai: ['tools', 'tool_choice', 'functions', 'function_call', 'stream', 'stream_options', 'n', 'max_tokens', 'max_completion_tokens', 'max_output_tokens', 'stop', 'user', 'metadata', 'tags', 'fallbacks', 'mock_response', 'reasoning_effort', 'reasoning', 'response_format', 'seed', 'top_p', 'top_k', 'logit_bias', 'logprobs', 'top_logprobs', 'presence_penalty', 'frequency_penalty', 'parallel_tool_calls', 'modalities', 'audio', 'prediction', 'service_tier', 'power_level', 'guardrails', 'cache', 'num_retries', 'timeout', 'caching', 'thinking', 'web_search_options', 'dimensions', 'encoding_format', 'input', 'prompt', 'messages', 'previous_response_id', 'background', 'include', 'max_tool_calls', 'text', 'truncation', 'store', 'instructions', 'conversation', 'context_management', 'api_key', 'api_base', 'base_url', 'model_info', 'litellm_metadata', 'context_window_fallbacks', 'mock_testing_fallbacks', 'safety_identifier', 'prompt_cache_key', 'verbosity', 'query', 'documents', 'top_n', 'return_documents', 'temperature', 'best_of', 'echo', 'suffix', 'extra_body', 'model'],
  anthropic: ['system', 'stop_sequences', 'tools', 'tool_choice', 'thinking', 'metadata', 'top_k', 'top_p', 'temperature', 'service_tier', 'container', 'mcp_servers', 'context_management', 'output_config', 'output_format', 'stream', 'cache_control', 'max_tokens', 'messages', 'model', 'user', 'tags', 'fallbacks', 'mock_response', 'inference_geo'],
  google: ['contents', 'tools', 'toolConfig', 'systemInstruction', 'system_instruction', 'generationConfig', 'generation_config', 'safetySettings', 'cachedContent', 'labels', 'model', 'content', 'taskType', 'title', 'outputDimensionality', 'requests', 'generateContentRequest'],
  management: ['key', 'user_id', 'team_id', 'models', 'aliases', 'config', 'spend', 'max_budget', 'soft_budget', 'budget_duration', 'max_parallel_requests', 'metadata', 'tpm_limit', 'rpm_limit', 'model_max_budget', 'model_rpm_limit', 'model_tpm_limit', 'permissions', 'allowed_cache_controls', 'duration', 'key_alias', 'tags', 'blocked', 'guardrails', 'enforced_params', 'allowed_routes', 'organization_id', 'object_permission', 'budget_id', 'key_type', 'user_email', 'user_role', 'teams', 'tier', 'auto_create_key', 'send_invite_email', 'user_alias', 'credits', 'team_alias', 'members_with_roles', 'members', 'admins', 'model_aliases', 'team_member_budget', 'team_member_permissions', 'expires', 'models_visibility'],
};

/** A nest of `depth` arrays or objects, well within the body size limit. */
function nest(depth: number, asObject: boolean): Json {
  let value: Json = 1;
  for (let i = 0; i < depth; i++) value = asObject ? { a: value } : [value];
  return value;
}

/** Deep enough to overflow any recursive walk over the body, and well within the 10 MiB body limit. */
const DEEP = 200_000;
const LONE_SURROGATE = '\u0000LONE\u0000';
/** Placeholders for the deep nests, written into the JSON text (stringifying them would overflow the test's own stack). */
const DEEP_ARRAYS = '\u0000DEEP_ARRAYS\u0000';
const DEEP_OBJECTS = '\u0000DEEP_OBJECTS\u0000';
const quoted = (placeholder: string) => JSON.stringify(placeholder);
/**
 * JSON text written as is: numbers JSON allows but JavaScript cannot hold (1e400 parses to
 * Infinity, 1e-400 to 0), and objects whose keys are a lone surrogate, NUL, empty or duplicated.
 */
const RAW_JSON = ['1e400', '-1e400', '-0', '1e-400', '123456789012345678901234567890', '0.0000000000000000000000001', '{"\\ud800":1,"\\u0000":2,"":3,"a":1,"a":[]}', '["\\udfff","\\u0000",{"type":"\\ud800"}]'];
const rawJson = (index: number) => `\u0000RAW${index}\u0000`;
/** The wrong-kind values a field is replaced with (a function: given the field's original value). */
const REPLACEMENTS: Array<(original: Json) => Json> = [
  () => null,
  () => 1e308,
  () => -1,
  () => -1e308,
  () => 0,
  () => 2 ** 53 + 1,
  () => 0.5,
  () => 'NaN',
  () => 'Infinity',
  () => '-1',
  () => '',
  () => true,
  () => [],
  () => ({}),
  () => [null],
  () => [{}],
  () => [[]],
  (original) => (typeof original === 'number' ? String(original) : 12345),
  (original) => (Array.isArray(original) ? { 0: original[0] ?? null } : [original]),
  (original) => (typeof original === 'object' && original !== null && !Array.isArray(original) ? [original] : { value: original }),
  () => 'x'.repeat(200_000),
  () => nest(2_000, false),
  () => nest(2_000, true),
  () => DEEP_ARRAYS,
  () => DEEP_OBJECTS,
  () => LONE_SURROGATE,
  ...RAW_JSON.map((_, index) => () => rawJson(index)),
  () => JSON.parse('{"__proto__":{"polluted":true},"constructor":{"prototype":{"x":1}}}') as Json,
  () => '\u202e\u0000\ufeff𝔘',
];

type Path = Array<string | number>;
/** Every path into the body (objects and arrays, any depth), the root excluded. */
function paths(value: Json, prefix: Path = []): Path[] {
  if (value === null || typeof value !== 'object') return [];
  const out: Path[] = [];
  const entries: Array<[string | number, Json]> = Array.isArray(value) ? value.map((item, index) => [index, item]) : Object.entries(value);
  for (const [key, child] of entries) {
    out.push([...prefix, key], ...paths(child, [...prefix, key]));
  }
  return out;
}

function replaceAt(body: Json, path: Path, make: (original: Json) => Json): Json {
  const copy = structuredClone(body) as Json;
  let parent = copy as Record<string | number, Json>;
  for (const key of path.slice(0, -1)) parent = parent[key] as Record<string | number, Json>;
  const last = path[path.length - 1];
  parent[last] = make(parent[last]);
  return copy;
}

/** The JSON text of a body: lone surrogates as JSON escapes, and optionally `key` given twice (the second a wrong kind). */
function serialize(body: Json, duplicate?: { key: string; value: Json }): string {
  let text = JSON.stringify(body)
    .replaceAll(quoted(LONE_SURROGATE).slice(1, -1), '\\ud800x\\udfff')
    .replace(/"\\u0000RAW(\d+)\\u0000"/g, (_, index) => RAW_JSON[Number(index)])
    .replace(quoted(DEEP_ARRAYS), () => `${'['.repeat(DEEP)}1${']'.repeat(DEEP)}`)
    .replace(quoted(DEEP_OBJECTS), () => `${'{"a":'.repeat(DEEP)}1${'}'.repeat(DEEP)}`);
  if (duplicate) text = text.replace(/^\{/, `{${JSON.stringify(duplicate.key)}:${JSON.stringify(duplicate.value)},`);
  return text;
}

interface Case {
  target: Target;
  /** The caller: the master key unless given (an ordinary key with a budget and limits). */
  key?: string;
  label: string;
  text: string;
}

/**
 * The mock Gemini upstream builds one candidate per `candidateCount` (`n` on the OpenAI side) and
 * one float per output dimension (Google refuses more than 8 candidates): a count in the
 * quadrillions makes the mock itself throw and never answer, which is the mock's limit, not the
 * gateway's. Those few cases are left out.
 */
function mockCannotAnswer(target: Target, path: Path, index: number): boolean {
  const toGoogle = target.envelope === 'google' || String(target.body.model).startsWith('gemini');
  if (!toGoogle || !['candidateCount', 'outputDimensionality', 'n', 'dimensions'].includes(String(path[path.length - 1]))) return false;
  const value = REPLACEMENTS[index](1);
  return (typeof value === 'number' && value > 1_000) || value === rawJson(4);
}

/** The names a management body must not repeat (409 conflict), made unique per case. */
const UNIQUE_NAMES = /"(alias|fuzz-user|fuzz-team)"/g;
let serial = 0;
function unique(target: Target, text: string): string {
  return target.name === 'team/new' ? text.replace('"fuzz-team"', `"fuzz-team-${++serial}"`) : target.path.startsWith('/key/generate') || target.name === 'user/new' ? text.replace(UNIQUE_NAMES, (_, name) => `"${name}-${++serial}"`) : text;
}

/**
 * The cases of one target: every path × every replacement (`perPath` of them, seeded, when fewer),
 * each top-level key duplicated with a wrong-kind second value, and whole bodies of the wrong kind.
 */
function casesOf(target: Target, random: () => number, perPath: number, perField = 6): Case[] {
  const out: Case[] = [];
  for (const path of paths(target.body)) {
    const picked = new Set<number>();
    while (picked.size < Math.min(perPath, REPLACEMENTS.length)) picked.add(Math.floor(random() * REPLACEMENTS.length));
    for (const index of picked) {
      if (mockCannotAnswer(target, path, index)) continue;
      out.push({ target, label: `${path.join('.')} ← #${index}`, text: unique(target, serialize(replaceAt(target.body, path, REPLACEMENTS[index]))) });
    }
  }
  for (const key of Object.keys(target.body)) {
    for (let i = 0; i < 3; i++) {
      const value = REPLACEMENTS[Math.floor(random() * REPLACEMENTS.length)](target.body[key]);
      out.push({ target, label: `duplicate ${key} #${i}`, text: unique(target, serialize(target.body, { key, value })) });
    }
  }
  const fields = EXTRA_FIELDS[target.path.startsWith('/v1/') || target.path.startsWith('/gemini') ? target.envelope : 'management'];
  for (const field of fields) {
    const picked = new Set<number>();
    while (picked.size < perField) picked.add(Math.floor(random() * REPLACEMENTS.length));
    for (const index of picked) {
      if (mockCannotAnswer(target, [field], index)) continue;
      const body = { ...target.body, [field]: REPLACEMENTS[index](target.body[field] ?? 'x') };
      out.push({ target, label: `+${field} ← #${index}`, text: unique(target, serialize(body)) });
    }
  }
  // The whole body of the wrong kind.
  for (const whole of ['[]', 'null', '"x"', '1e308', '[{"model":"premium"}]', '{}', '{"model":{}}', '{"model":["premium"]}']) out.push({ target, label: `body ${whole}`, text: whole });
  return out;
}

/** Whether `text` is the surface's own error envelope. */
function wellFormedError(envelope: Envelope, status: number, text: string): boolean {
  let body: Record<string, unknown>;
  try {
    body = JSON.parse(text);
  } catch {
    return false;
  }
  const error = body?.error as Record<string, unknown> | undefined;
  if (typeof error !== 'object' || error === null || typeof error.message !== 'string' || error.message === '') return false;
  if (envelope === 'anthropic') return body.type === 'error' && typeof error.type === 'string';
  if (envelope === 'google') return error.code === status && typeof error.status === 'string';
  return true;
}

let lastStatus = 0;
/** An ordinary key with a budget, a token and a request limit: the reservation arithmetic sees every mutated number. */
let ordinaryKey = '';
const stats: Record<string, number> = {};
const ACCEPTED = new Set([400, 401, 403, 404, 413, 422, 429]);
const DEADLINE_MS = 8_000;

async function run(item: Case): Promise<string | undefined> {
  let status = 0;
  let text = '';
  try {
    const response = await fetch(`${gateway.url}${item.target.path}`, {
      method: 'POST',
      headers: { authorization: `Bearer ${item.key ?? MASTER_KEY}`, 'content-type': 'application/json' },
      body: item.text,
      signal: AbortSignal.timeout(DEADLINE_MS),
    });
    status = response.status;
    lastStatus = status;
    text = await response.text();
  } catch (error) {
    return `${item.target.name} ${item.label}: no answer (${(error as Error).name}: ${(error as Error).message})`;
  }
  if (process.env.FUZZ_STATS) stats[`${item.target.name} ${status}`] = (stats[`${item.target.name} ${status}`] ?? 0) + 1;
  if (status === 200) {
    if (item.label === 'base' || !text.includes('"error"')) return undefined;
    // A 200 whose stream carries an error event: only a client-side refusal (4xx) is acceptable there.
    return /"(code|status)":\s*5\d\d|api_error|server_error|INTERNAL|overloaded/.test(text) ? `${item.target.name} ${item.label}: 200 with an in-band failure: ${text.slice(0, 300)}` : undefined;
  }
  if (item.label === 'base') return `${item.target.name} base: ${status} ${text.slice(0, 300)}`;
  // A management body naming an entity that exists already is a conflict, the client's to resolve.
  const conflict = status === 409 && !item.target.path.startsWith('/v1/') && !item.target.path.startsWith('/gemini');
  if (!ACCEPTED.has(status) && !conflict) return `${item.target.name} ${item.label}: ${status} ${text.slice(0, 200)}`;
  if (!wellFormedError(item.target.envelope, status, text)) return `${item.target.name} ${item.label}: ${status} not a ${item.target.envelope} error: ${text.slice(0, 200)}`;
  return undefined;
}

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  process.on('uncaughtException', onUnhandled);
  await Promise.all([openai.start(), anthropic.start(), google.start(), media.start()]);
  const sink = new Writable({
    write(chunk, _encoding, done) {
      errorLines.push(String(chunk));
      done();
    },
  });
  gateway = await startGateway(`${surfaceModelsConfig({ openai: openai.url, anthropic: anthropic.url, gemini: google.url, media: media.url })}general_settings:
  master_key: ${MASTER_KEY}
`, { logger: pino({ level: 'error' }, sink) });
  const generated = await fetch(`${gateway.url}/key/generate`, { method: 'POST', headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' }, body: '{}' });
  const key = ((await generated.json()) as { key: string }).key;
  const budgeted = await fetch(`${gateway.url}/key/generate`, { method: 'POST', headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify({ max_budget: 1000, tpm_limit: 100_000_000, rpm_limit: 1_000_000, max_parallel_requests: 100 }) });
  ordinaryKey = ((await budgeted.json()) as { key: string }).key;
  await fetch(`${gateway.url}/user/new`, { method: 'POST', headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' }, body: '{"user_id":"fuzz-member"}' });
  const update = TARGETS.find((target) => target.name === 'key/update')!;
  update.body.key = key;
}, 30_000);

afterAll(async () => {
  if (process.env.FUZZ_STATS) console.log(stats);
  process.off('unhandledRejection', onUnhandled);
  process.off('uncaughtException', onUnhandled);
  await gateway?.close();
  await Promise.all([openai.close(), anthropic.close(), google.close(), media.close()]);
});

describe('fuzzed request bodies never make the gateway fail', () => {
  // Each surface answers for its own log lines.
  beforeEach(() => {
    errorLines.length = 0;
    unhandled.length = 0;
  });
  for (const [index, target] of TARGETS.entries()) {
    it(`${target.name}: the base body is valid`, async () => {
      const failure = await run({ target, label: 'base', text: unique(target, serialize(target.body)) });
      expect(failure).toBeUndefined();
      expect(lastStatus).toBe(200);
    });
    it(`${target.name}: every mutated body answers 200 or a well-formed 4xx in its envelope`, async () => {
      const random = seededRandom(298_000 + index);
      const cases = casesOf(target, random, REPLACEMENTS.length);
      const failures: string[] = [];
      // A few at a time: concurrency a client could send, bounded for the shared machine.
      for (let i = 0; i < cases.length; i += 4) {
        const answers = await Promise.all(cases.slice(i, i + 4).map(run));
        for (const failure of answers) if (failure) failures.push(failure);
      }
      expect(failures).toEqual([]);
      expect(unhandled.map(String)).toEqual([]);
      expect(errorLines.map((line) => line.slice(0, 500))).toEqual([]);
    }, 60_000);
    if (!target.path.startsWith('/v1/') && !target.path.startsWith('/gemini')) continue;
    it(`${target.name}: the same for an ordinary key with a budget and limits (sampled)`, async () => {
      const random = seededRandom(298_500 + index);
      const cases = casesOf(target, random, 8, 4).map((item) => ({ ...item, key: ordinaryKey }));
      const failures: string[] = [];
      for (let i = 0; i < cases.length; i += 4) {
        const answers = await Promise.all(cases.slice(i, i + 4).map(run));
        for (const failure of answers) if (failure) failures.push(failure);
      }
      expect(failures).toEqual([]);
      expect(unhandled.map(String)).toEqual([]);
      expect(errorLines.map((line) => line.slice(0, 500))).toEqual([]);
    }, 60_000);
  }

  it('a tool call whose arguments are not a string, sent to Anthropic, is refused with a 400 naming the field', async () => {
    const messages = structuredClone(CHAT_MESSAGES) as Array<Record<string, unknown>>;
    (messages[2].tool_calls as Array<{ function: Record<string, unknown> }>)[0].function.arguments = { a: 1 };
    const response = await fetch(`${gateway.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify(chat('claude-premium', { messages })) });
    expect(response.status).toBe(400);
    expect(((await response.json()) as { error: { param: string } }).error.param).toBe('messages[2].tool_calls[0].function.arguments');
  });

  it('after the fuzzing, every usage row is written without an error and the gateway still answers', async () => {
    await gateway.flushUsage();
    const response = await fetch(`${gateway.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify(chat('premium')) });
    expect(response.status).toBe(200);
    await gateway.flushUsage();
    expect(unhandled.map(String)).toEqual([]);
    expect(errorLines.map((line) => line.slice(0, 500))).toEqual([]);
  });
});
