/**
 * An invariant: no client-controlled field or header lowers what a call is charged. The upstream
 * here always reports the same usage (100 input / 50 output tokens, no cache tokens, the default
 * service tier) in each provider's own wire format: OpenAI chat (JSON and stream), completions,
 * embeddings (100 input tokens) and the Responses API; Anthropic Messages; Gemini generateContent.
 * A seeded fuzzer sends an ordinary virtual key's requests to every surface — chat (JSON and
 * stream, to the OpenAI, Anthropic and Gemini deployments), /v1/completions, /v1/embeddings,
 * /v1/messages (to the Anthropic deployment and, translated, to the OpenAI one), /anthropic/v1/messages,
 * /v1/responses and Gemini's own /gemini route — each with a random subset of the fields and
 * headers a client controls: LiteLLM's steering fields (cost fields, `base_model`, `model_info`,
 * `custom_llm_provider`, `api_base`, `mock_response`, `tier`, `power_level`, `region`, …),
 * metadata carrying LiteLLM's own keys (`spend_logs_metadata`, `response_cost`, `model_info`, …),
 * `service_tier`, `n`, `stream_options`, `prediction`, and headers (x-litellm-*, x-switchboard-*,
 * x-power-level, anthropic-beta, openai-organization, traceparent, cache-control, …).
 *
 * For every request answered 200, the usage row's cost is at least the price of what the upstream
 * reported for each upstream call the request made (at the deployment's configured prices; a call
 * answered from `mock_response` made none); no upstream request asks for a rate above the standard
 * one (OpenAI priority/scale, Anthropic `speed: "fast"` or a non-global `inference_geo`, Gemini
 * priority), since the gateway charges standard rates; a request refused is refused with a 4xx,
 * never a 5xx; and the key's spend is the sum of its usage rows. Output limits (max_tokens, …) are
 * not fuzzed: the usage bounds rightly hold a report to them (billing/usage-bounds.ts). Seed 302,
 * 900 requests, about 5 s.
 *
 * No hole was found on the current code. The test was shown to fail in a scratch copy of the tree:
 * with record.ts honouring a client's `metadata.response_cost` as the charge, 4 of 621 answered
 * calls were charged below the reported usage; with server-tools.ts no longer refusing Anthropic's
 * `speed`, 4 calls sent `speed: "fast"` upstream.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management } from '../support/management.js';
import { MockServer } from '../support/mock-server.js';
import { seededRandom } from '../support/random.js';

const INPUT = 100;
const OUTPUT = 50;
const REPLY = 'ok';

/** Micro-dollars per token of each upstream model (the deployments' configured prices). */
const PRICES: Record<string, { input: number; output: number }> = {
  'gpt-4o-mini': { input: 2, output: 8 },
  'claude-3-5-haiku-20241022': { input: 3, output: 15 },
  'gemini-2.0-flash': { input: 1, output: 4 },
  'text-embedding-3-small': { input: 0.5, output: 0 },
  'cheap-upstream': { input: 0.01, output: 0.01 },
};
const usd = (micros: number) => (micros / 1e6).toFixed(10).replace(/0+$/, '');

/** One upstream call: the upstream model it named, and whether it was an embedding (input tokens only). */
interface Hit {
  model: string;
  embedding: boolean;
  /** A rate above the standard one the upstream request asked for (and a real upstream would bill), if any. */
  dearer?: string;
}

/**
 * What a real upstream bills above its standard rates, as the request sent to it asks — from the
 * SDK types: OpenAI's `service_tier` "priority" / "scale" (chat completions and the Responses API;
 * openai/resources/chat/completions), Anthropic's fast mode and US-only inference
 * (@anthropic-ai/sdk MessageCreateParams `speed`, `inference_geo`; its `service_tier` takes only
 * "auto" and "standard_only"), Gemini's priority `serviceTier`. The fixed usage here is priced at
 * the standard rates, so such a request must never reach the upstream.
 */
function dearerRateOf(api: 'openai' | 'anthropic' | 'gemini', body: Record<string, unknown>): string | undefined {
  if (api === 'anthropic') {
    if (body.speed !== undefined && body.speed !== null && body.speed !== 'standard') return `speed ${JSON.stringify(body.speed)}`;
    if (body.inference_geo !== undefined && body.inference_geo !== null && body.inference_geo !== 'global') return `inference_geo ${JSON.stringify(body.inference_geo)}`;
    return undefined;
  }
  const tier = api === 'gemini' ? (body.serviceTier ?? body.service_tier) : body.service_tier;
  return typeof tier === 'string' && /priority|scale/i.test(tier) ? `service_tier ${tier}` : undefined;
}

/**
 * One server for every provider, answering with the same usage every time. OpenAI's streams carry
 * the usage chunk only when `stream_options.include_usage` is true, as OpenAI does.
 */
class FixedUsageUpstream extends MockServer {
  readonly hits: Hit[] = [];

  start(): Promise<string> {
    return this.listen('');
  }

  protected async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    let body: Record<string, unknown> = {};
    try {
      body = JSON.parse(Buffer.concat(chunks).toString('utf8') || '{}') as Record<string, unknown>;
    } catch {
      return this.json(response, 400, { error: { message: 'bad json', type: 'invalid_request_error' } });
    }
    const path = (request.url ?? '').split('?')[0];
    const gemini = /\/models\/([^/:]+):(generateContent|streamGenerateContent)$/.exec(path);
    if (gemini) return this.gemini(decodeURIComponent(gemini[1]), gemini[2] === 'streamGenerateContent', response, dearerRateOf('gemini', body));
    const model = String(body.model);
    const stream = body.stream === true;
    const created = Math.floor(Date.now() / 1000);
    if (path.endsWith('/v1/messages')) {
      this.hits.push({ model, embedding: false, dearer: dearerRateOf('anthropic', body) });
      const usage = { input_tokens: INPUT, output_tokens: OUTPUT, cache_creation_input_tokens: 0, cache_read_input_tokens: 0, service_tier: 'standard' };
      const message = { id: 'msg_fixed', type: 'message', role: 'assistant', model, content: [{ type: 'text', text: REPLY }], stop_reason: 'end_turn', stop_sequence: null, usage };
      if (!stream) return this.json(response, 200, message);
      return this.sse(response, [
        ['message_start', { type: 'message_start', message: { ...message, content: [], stop_reason: null, usage: { ...usage, output_tokens: 1 } } }],
        ['content_block_start', { type: 'content_block_start', index: 0, content_block: { type: 'text', text: '' } }],
        ['content_block_delta', { type: 'content_block_delta', index: 0, delta: { type: 'text_delta', text: REPLY } }],
        ['content_block_stop', { type: 'content_block_stop', index: 0 }],
        ['message_delta', { type: 'message_delta', delta: { stop_reason: 'end_turn', stop_sequence: null }, usage: { output_tokens: OUTPUT } }],
        ['message_stop', { type: 'message_stop' }],
      ]);
    }
    const includeUsage = (body.stream_options as { include_usage?: unknown } | undefined)?.include_usage === true;
    const chatUsage = { prompt_tokens: INPUT, completion_tokens: OUTPUT, total_tokens: INPUT + OUTPUT, prompt_tokens_details: { cached_tokens: 0, audio_tokens: 0 }, completion_tokens_details: { reasoning_tokens: 0, audio_tokens: 0, accepted_prediction_tokens: 0, rejected_prediction_tokens: 0 } };
    if (path.endsWith('/v1/chat/completions')) {
      this.hits.push({ model, embedding: false, dearer: dearerRateOf('openai', body) });
      const base = { id: 'chatcmpl-fixed', created, model, service_tier: 'default', system_fingerprint: 'fp_fixed' };
      if (!stream) return this.json(response, 200, { ...base, object: 'chat.completion', choices: [{ index: 0, message: { role: 'assistant', content: REPLY, refusal: null }, logprobs: null, finish_reason: 'stop' }], usage: chatUsage });
      const chunk = { ...base, object: 'chat.completion.chunk' };
      const events: unknown[] = [
        { ...chunk, choices: [{ index: 0, delta: { role: 'assistant', content: REPLY }, logprobs: null, finish_reason: null }] },
        { ...chunk, choices: [{ index: 0, delta: {}, logprobs: null, finish_reason: 'stop' }] },
      ];
      if (includeUsage) events.push({ ...chunk, choices: [], usage: chatUsage });
      return this.openaiStream(response, events);
    }
    if (path.endsWith('/v1/completions')) {
      this.hits.push({ model, embedding: false, dearer: dearerRateOf('openai', body) });
      const base = { id: 'cmpl-fixed', object: 'text_completion', created, model };
      if (!stream) return this.json(response, 200, { ...base, choices: [{ text: REPLY, index: 0, logprobs: null, finish_reason: 'stop' }], usage: { prompt_tokens: INPUT, completion_tokens: OUTPUT, total_tokens: INPUT + OUTPUT } });
      const events: unknown[] = [{ ...base, choices: [{ text: REPLY, index: 0, logprobs: null, finish_reason: 'stop' }] }];
      if (includeUsage) events.push({ ...base, choices: [], usage: { prompt_tokens: INPUT, completion_tokens: OUTPUT, total_tokens: INPUT + OUTPUT } });
      return this.openaiStream(response, events);
    }
    if (path.endsWith('/v1/embeddings')) {
      this.hits.push({ model, embedding: true });
      const inputs = Array.isArray(body.input) ? body.input : [body.input];
      return this.json(response, 200, { object: 'list', model, data: inputs.map((_, index) => ({ object: 'embedding', index, embedding: [0.1, 0.2, 0.3] })), usage: { prompt_tokens: INPUT, total_tokens: INPUT } });
    }
    if (path.endsWith('/v1/responses')) {
      this.hits.push({ model, embedding: false, dearer: dearerRateOf('openai', body) });
      const usage = { input_tokens: INPUT, input_tokens_details: { cached_tokens: 0 }, output_tokens: OUTPUT, output_tokens_details: { reasoning_tokens: 0 }, total_tokens: INPUT + OUTPUT };
      const message = { id: 'msg_fixed', type: 'message', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: REPLY, annotations: [] }] };
      const base = { id: 'resp_fixed', object: 'response', created_at: created, model, error: null, incomplete_details: null, instructions: null, max_output_tokens: body.max_output_tokens ?? null, parallel_tool_calls: true, previous_response_id: null, reasoning: { effort: null, summary: null }, service_tier: 'default', store: false, temperature: 1, text: { format: { type: 'text' } }, tool_choice: 'auto', tools: [], top_p: 1, truncation: 'disabled', user: null, metadata: {} };
      if (!stream) return this.json(response, 200, { ...base, status: 'completed', output: [message], usage });
      const where = { item_id: message.id, output_index: 0, content_index: 0 };
      const events: Array<Record<string, unknown>> = [
        { type: 'response.created', response: { ...base, status: 'in_progress', output: [], usage: null } },
        { type: 'response.output_item.added', output_index: 0, item: { ...message, status: 'in_progress', content: [] } },
        { type: 'response.content_part.added', ...where, part: { type: 'output_text', text: '', annotations: [] } },
        { type: 'response.output_text.delta', ...where, delta: REPLY },
        { type: 'response.output_text.done', ...where, text: REPLY },
        { type: 'response.content_part.done', ...where, part: message.content[0] },
        { type: 'response.output_item.done', output_index: 0, item: message },
        { type: 'response.completed', response: { ...base, status: 'completed', output: [message], usage } },
      ];
      return this.sse(response, events.map((event, sequence) => [String(event.type), { ...event, sequence_number: sequence }]));
    }
    return this.json(response, 404, { error: { message: `no route ${path}`, type: 'invalid_request_error' } });
  }

  private gemini(model: string, stream: boolean, response: ServerResponse, dearer: string | undefined): void {
    this.hits.push({ model, embedding: false, dearer });
    const answer = { candidates: [{ content: { role: 'model', parts: [{ text: REPLY }] }, finishReason: 'STOP', index: 0 }], usageMetadata: { promptTokenCount: INPUT, candidatesTokenCount: OUTPUT, totalTokenCount: INPUT + OUTPUT }, modelVersion: model, responseId: 'fixed' };
    if (!stream) return this.json(response, 200, answer);
    response.writeHead(200, { 'content-type': 'text/event-stream' });
    response.end(`data: ${JSON.stringify(answer)}\r\n\r\n`);
  }

  private json(response: ServerResponse, status: number, value: unknown): void {
    const text = JSON.stringify(value);
    response.writeHead(status, { 'content-type': 'application/json', 'content-length': Buffer.byteLength(text) });
    response.end(text);
  }

  private openaiStream(response: ServerResponse, events: unknown[]): void {
    response.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8' });
    response.end(`${events.map((event) => `data: ${JSON.stringify(event)}\n\n`).join('')}data: [DONE]\n\n`);
  }

  private sse(response: ServerResponse, events: Array<[string, unknown]>): void {
    response.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8' });
    response.end(events.map(([name, data]) => `event: ${name}\ndata: ${JSON.stringify(data)}\n\n`).join(''));
  }
}

/** What one upstream call reported costs at the deployment's configured prices, in micro-dollars. */
function floorOf(hit: Hit): number {
  const price = PRICES[hit.model];
  if (!price) throw new Error(`the upstream was called for an unpriced model ${hit.model}`);
  return INPUT * price.input + (hit.embedding ? 0 : OUTPUT * price.output);
}

const config = (upstream: string) => `
model_list:
  - model_name: gpt
    litellm_params: {model: openai/gpt-4o-mini, api_base: "${upstream}/v1", api_key: sk-upstream}
    model_info: {id: dep-gpt, input_cost_per_token: ${usd(PRICES['gpt-4o-mini'].input)}, output_cost_per_token: ${usd(PRICES['gpt-4o-mini'].output)}}
  - model_name: claude
    litellm_params: {model: anthropic/claude-3-5-haiku-20241022, api_base: "${upstream}", api_key: sk-ant-upstream}
    model_info: {id: dep-claude, input_cost_per_token: ${usd(PRICES['claude-3-5-haiku-20241022'].input)}, output_cost_per_token: ${usd(PRICES['claude-3-5-haiku-20241022'].output)}}
  - model_name: gem
    litellm_params: {model: gemini/gemini-2.0-flash, api_base: "${upstream}", api_key: gemini-upstream}
    model_info: {id: dep-gem, input_cost_per_token: ${usd(PRICES['gemini-2.0-flash'].input)}, output_cost_per_token: ${usd(PRICES['gemini-2.0-flash'].output)}}
  - model_name: embed
    litellm_params: {model: openai/text-embedding-3-small, api_base: "${upstream}/v1", api_key: sk-upstream}
    model_info: {id: dep-embed, mode: embedding, input_cost_per_token: ${usd(PRICES['text-embedding-3-small'].input)}, output_cost_per_token: 0}
  - model_name: cheap
    litellm_params: {model: openai/cheap-upstream, api_base: "${upstream}/v1", api_key: sk-upstream}
    model_info: {id: dep-cheap, input_cost_per_token: 0.00000001, output_cost_per_token: 0.00000001}
router_settings:
  num_retries: 0
  disable_cooldowns: true
general_settings:
  master_key: ${MASTER_KEY}
`;

type Json = null | boolean | number | string | Json[] | { [key: string]: Json };
interface Target {
  name: string;
  path: string;
  body: Record<string, Json>;
  /** Whether the fuzzed fields may go inside `metadata` as Anthropic's object (user_id) or anywhere. */
  anthropic?: boolean;
}

const MESSAGES = [{ role: 'user', content: 'hi' }];
const TARGETS: Target[] = [
  { name: 'chat', path: '/v1/chat/completions', body: { model: 'gpt', messages: MESSAGES, max_tokens: 256 } },
  { name: 'chat stream', path: '/v1/chat/completions', body: { model: 'gpt', messages: MESSAGES, max_tokens: 256, stream: true, stream_options: { include_usage: true } } },
  { name: 'chat stream without stream_options', path: '/v1/chat/completions', body: { model: 'gpt', messages: MESSAGES, max_tokens: 256, stream: true } },
  { name: 'chat → Anthropic', path: '/v1/chat/completions', body: { model: 'claude', messages: MESSAGES, max_tokens: 256 } },
  { name: 'chat → Anthropic stream', path: '/v1/chat/completions', body: { model: 'claude', messages: MESSAGES, max_tokens: 256, stream: true } },
  { name: 'chat → Gemini', path: '/v1/chat/completions', body: { model: 'gem', messages: MESSAGES, max_tokens: 256 } },
  { name: 'completions', path: '/v1/completions', body: { model: 'gpt', prompt: 'hi', max_tokens: 256 } },
  { name: 'completions stream', path: '/v1/completions', body: { model: 'gpt', prompt: 'hi', max_tokens: 256, stream: true } },
  { name: 'embeddings', path: '/v1/embeddings', body: { model: 'embed', input: 'hi' } },
  { name: 'messages (Anthropic)', path: '/v1/messages', anthropic: true, body: { model: 'claude', messages: MESSAGES, max_tokens: 256 } },
  { name: 'messages (Anthropic) stream', path: '/v1/messages', anthropic: true, body: { model: 'claude', messages: MESSAGES, max_tokens: 256, stream: true } },
  { name: 'messages (OpenAI group)', path: '/v1/messages', anthropic: true, body: { model: 'gpt', messages: MESSAGES, max_tokens: 256 } },
  { name: 'messages (OpenAI group) stream', path: '/v1/messages', anthropic: true, body: { model: 'gpt', messages: MESSAGES, max_tokens: 256, stream: true } },
  { name: 'anthropic native', path: '/anthropic/v1/messages', anthropic: true, body: { model: 'claude', messages: MESSAGES, max_tokens: 256 } },
  { name: 'responses', path: '/v1/responses', body: { model: 'gpt', input: 'hi', max_output_tokens: 256 } },
  { name: 'responses stream', path: '/v1/responses', body: { model: 'gpt', input: 'hi', max_output_tokens: 256, stream: true } },
  { name: 'gemini generateContent', path: '/gemini/v1beta/models/gem:generateContent', body: { contents: [{ role: 'user', parts: [{ text: 'hi' }] }], generationConfig: { maxOutputTokens: 256 } } },
  { name: 'gemini streamGenerateContent', path: '/gemini/v1beta/models/gem:streamGenerateContent?alt=sse', body: { contents: [{ role: 'user', parts: [{ text: 'hi' }] }], generationConfig: { maxOutputTokens: 256 } } },
];

/** Cost-ish and steering names LiteLLM (and clients copying it) send, top level or in metadata. */
const PRICE_VALUES: Record<string, Json[]> = {
  input_cost_per_token: [0, 1e-12, -1, '0'],
  output_cost_per_token: [0, 1e-12, -1],
  cache_read_input_token_cost: [0],
  input_cost_per_second: [0],
  output_cost_per_second: [0],
  custom_pricing: [true, { input_cost_per_token: 0, output_cost_per_token: 0 }],
  base_model: ['cheap', 'cheap-upstream', 'gpt-3.5-turbo', 'text-embedding-3-small', 'gemini-2.0-flash'],
  response_cost: [0, -1, '0'],
  cost: [0],
  spend: [0, -1],
  model_info: [{ base_model: 'cheap', input_cost_per_token: 0, output_cost_per_token: 0 }, { id: 'dep-cheap' }, { mode: 'embedding' }],
  litellm_params: [{ input_cost_per_token: 0, output_cost_per_token: 0, base_model: 'cheap' }],
  custom_llm_provider: ['ollama', 'openai', 'custom', 'hosted_vllm'],
  api_base: ['http://127.0.0.1:9/v1'],
  base_url: ['http://127.0.0.1:9/v1'],
  api_key: ['sk-client-own'],
  mock_response: ['mocked'],
  tier: ['free', 'enterprise', 'flex', 'batch'],
  power_level: ['eco', 'balanced', 'precision', 'custom'],
  region: ['eu', 'us'],
  region_name: ['eu-west-1'],
  billed: [false],
  byok: [true],
  cache_hit: [true],
  cache: [{ 'no-cache': true }, { 'use-cache': true }, { 'no-store': true }],
  caching: [true, false],
  fallbacks: [['cheap'], [{ model: 'cheap' }]],
  num_retries: [0, 2],
  timeout: [30],
  tags: [['free'], ['batch', 'internal']],
  user: ['end-user-1', 'admin'],
  model_group: ['cheap'],
  deployment: ['dep-cheap'],
  model_id: ['dep-cheap'],
  max_budget: [1e9],
  batch: [true],
};
const METADATA_VALUES: Record<string, Json[]> = {
  tags: [['free'], ['x']],
  spend_logs_metadata: [{ response_cost: 0 }, { cost: 0 }],
  trace_id: ['trace-1'],
  generation_name: ['g'],
  model_info: [{ base_model: 'cheap', input_cost_per_token: 0 }],
  response_cost: [0],
  input_cost_per_token: [0],
  output_cost_per_token: [0],
  custom_pricing: [true],
  base_model: ['cheap'],
  billed: [false],
  byok: [true],
  mock_response: ['mocked'],
  user_api_key_team_id: ['t'],
  user_api_key_spend: [0],
  headers: [{ 'x-litellm-response-cost': '0' }],
  power_level: ['eco'],
  tier: ['free'],
};
/** OpenAI-API body fields (openai/resources/chat/completions) a client may send on the OpenAI surfaces. */
const OPENAI_VALUES: Record<string, Json[]> = {
  service_tier: ['auto', 'default', 'flex', 'priority', 'scale'],
  n: [1, 2, 3],
  stream_options: [{ include_usage: false }, { include_usage: true }, null, { include_obfuscation: false }],
  prediction: [{ type: 'content', content: 'ok' }],
  store: [true, false],
  modalities: [['text']],
  reasoning_effort: ['minimal', 'low'],
  safety_identifier: ['s'],
  prompt_cache_key: ['k'],
};
const ANTHROPIC_VALUES: Record<string, Json[]> = {
  service_tier: ['auto', 'standard_only', 'priority'],
  metadata: [{ user_id: 'u1' }],
  inference_geo: ['us', 'eu', 'global'],
  speed: ['fast', 'standard'],
};
/** Gemini GenerateContentRequest fields (both JSON spellings) a client may send on /gemini. */
const GEMINI_VALUES: Record<string, Json[]> = {
  serviceTier: ['priority', 'flex', 'standard', 'SERVICE_TIER_PRIORITY'],
  service_tier: ['priority', 'flex'],
  cachedContent: ['cachedContents/cheap'],
  labels: [{ tier: 'free', cost: '0' }],
};
const HEADER_VALUES: Record<string, string[]> = {
  'x-litellm-tags': ['free,batch'],
  'x-litellm-end-user-id': ['end-user-2'],
  'x-litellm-num-retries': ['0', '3'],
  'x-litellm-timeout': ['20'],
  'x-litellm-api-key': ['sk-wrong'],
  'x-litellm-response-cost': ['0'],
  'x-litellm-model-id': ['dep-cheap'],
  'x-litellm-model-group': ['cheap'],
  'x-litellm-cache-key': ['k'],
  'x-litellm-enable-message-redaction': ['true'],
  'x-switchboard-response-cost': ['0'],
  'x-switchboard-byok': ['true'],
  'x-switchboard-power-level': ['eco'],
  'x-switchboard-model': ['cheap'],
  'x-switchboard-model-id': ['dep-cheap'],
  'x-switchboard-model-group': ['cheap'],
  'x-switchboard-task': ['classify'],
  'x-switchboard-cache': ['hit'],
  'x-switchboard-mock-response': ['true'],
  'x-switchboard-credits-cost': ['0'],
  'x-power-level': ['eco', 'custom'],
  'anthropic-beta': ['prompt-caching-2024-07-31', 'context-1m-2025-08-07', 'token-efficient-tools-2025-02-19'],
  'anthropic-version': ['2023-06-01'],
  'openai-organization': ['org-cheap'],
  'openai-project': ['proj-cheap'],
  traceparent: ['00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01'],
  'cache-control': ['no-cache', 'no-store'],
  'extra-parameters': ['pass-through'],
  'x-goog-api-key': ['client-own'],
  'x-api-key': ['sk-ant-client-own'],
};

function pick<T>(random: () => number, items: readonly T[]): T {
  return items[Math.floor(random() * items.length)];
}

type Mutation = (body: Record<string, Json>, headers: Record<string, string>) => void;

/** Every single change a client can make: one field (top level or in metadata) or one header, with one of its values. */
function mutationsFor(target: Target): { common: Mutation[]; own: Mutation[] } {
  const out: Mutation[] = [];
  const gemini = target.path.startsWith('/gemini');
  const field = (name: string, value: Json): Mutation => (body) => void (body[name] = structuredClone(value));
  const own = Object.entries(gemini ? GEMINI_VALUES : target.anthropic ? ANTHROPIC_VALUES : OPENAI_VALUES).flatMap(([name, values]) => values.map((value) => field(name, value)));
  for (const [name, values] of Object.entries(PRICE_VALUES)) {
    for (const value of values) out.push(field(name, value));
  }
  for (const [name, values] of Object.entries(METADATA_VALUES)) {
    for (const value of values) out.push((body) => void (body.metadata = { ...(isObject(body.metadata) ? body.metadata : {}), [name]: structuredClone(value) }));
  }
  // Cost fields also nested where some clients put them (extra_body, litellm_metadata).
  out.push((body) => void (body.extra_body = { input_cost_per_token: 0, base_model: 'cheap' }));
  out.push((body) => void (body.litellm_metadata = { response_cost: 0, model_info: { base_model: 'cheap' } }));
  for (const [name, values] of Object.entries(HEADER_VALUES)) {
    for (const value of values) out.push((_, headers) => void (headers[name] = value));
  }
  return { common: out, own };
}

interface Case {
  target: Target;
  body: Record<string, Json>;
  headers: Record<string, string>;
}

/** The target's body with 1 to 4 random client changes (a few changes each, so most calls are still answered). */
function makeCase(random: () => number, target: Target, mutations: { common: Mutation[]; own: Mutation[] }): Case {
  const body: Record<string, Json> = structuredClone(target.body);
  const headers: Record<string, string> = {};
  const count = 1 + Math.floor(random() * 4);
  // A third of the changes from the surface's own API fields (a few dozen), the rest from the shared cost, metadata and header names.
  for (let index = 0; index < count; index++) pick(random, random() < 1 / 3 ? mutations.own : mutations.common)(body, headers);
  return { target, body, headers };
}

function isObject(value: unknown): value is Record<string, Json> {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

describe('no client-controlled field or header lowers what a call is charged', () => {
  const upstream = new FixedUsageUpstream();
  let gateway: TestGateway;
  let key = '';

  beforeAll(async () => {
    await upstream.start();
    gateway = await startGateway(config(upstream.url));
    // An ordinary key with a budget, on every priced group but `cheap`.
    key = (await new Management(gateway.url).generateKey({ models: ['gpt', 'claude', 'gem', 'embed'], max_budget: 1000 })).key;
  });
  afterAll(async () => {
    await gateway?.close();
    await upstream.close();
  });

  it('every answered call costs at least the reported usage at the configured price; refusals are 4xx; the key spend is the rows\' sum', async () => {
    const random = seededRandom(302);
    const CASES = 900;
    const below: string[] = [];
    const serverErrors: string[] = [];
    const callIds: string[] = [];
    const dearer: string[] = [];
    let answered = 0;
    let refused = 0;
    for (let index = 0; index < CASES; index++) {
      const target = TARGETS[index % TARGETS.length];
      const testCase = makeCase(random, target, mutationsFor(target));
      const before = upstream.hits.length;
      const response = await fetch(`${gateway.url}${testCase.target.path}`, {
        method: 'POST',
        headers: { 'content-type': 'application/json', authorization: `Bearer ${key}`, ...testCase.headers },
        body: JSON.stringify(testCase.body),
        signal: AbortSignal.timeout(10_000),
      });
      const text = await response.text();
      const callId = response.headers.get('x-switchboard-call-id');
      if (callId) callIds.push(callId);
      const describeCase = () => `${testCase.target.name} ${JSON.stringify(testCase.body)} headers ${JSON.stringify(testCase.headers)}`;
      if (response.status >= 500) {
        serverErrors.push(`${response.status} ${describeCase()}: ${text.slice(0, 300)}`);
        continue;
      }
      if (response.status !== 200) {
        refused++;
        continue;
      }
      answered++;
      for (const hit of upstream.hits.slice(before)) if (hit.dearer) dearer.push(`${hit.dearer} reached the upstream: ${describeCase()}`);
      const floor = upstream.hits.slice(before).reduce((sum, hit) => sum + floorOf(hit), 0);
      if (!callId) {
        below.push(`no call id: ${describeCase()}`);
        continue;
      }
      const row = await gateway.recordOf(callId);
      const charged = row?.cost_micros ?? 0;
      if (charged < floor) below.push(`charged ${charged} µ$ < ${floor} µ$: ${describeCase()}`);
    }
    await gateway.flushUsage();

    expect(serverErrors, serverErrors.slice(0, 5).join('\n')).toEqual([]);
    expect(dearer, `${dearer.length} calls asked the upstream for a rate above the standard one they are charged at:\n${dearer.slice(0, 5).join('\n')}`).toEqual([]);
    expect(below, `${below.length} of ${answered} answered calls charged below the reported usage:\n${below.slice(0, 8).join('\n')}`).toEqual([]);
    // The run exercised both outcomes, and most calls got through.
    expect(answered).toBeGreaterThan(CASES / 3);
    expect(refused).toBeGreaterThan(0);

    // The key's spend is the sum of its calls' charges (every usage row of the key, refusals included).
    const rows = await gateway.runtime.usageLogs()!.listRecent(100_000);
    const ours = new Set(callIds);
    // (A request whose x-litellm-api-key named no key is refused 401 with a row of no key.)
    const keyIds = new Set(rows.filter((row) => ours.has(row.call_id) && row.key_id !== null).map((row) => row.key_id));
    expect(keyIds.size).toBe(1);
    const summed = rows.filter((row) => keyIds.has(row.key_id)).reduce((sum, row) => sum + (row.cost_micros ?? 0), 0);
    expect(summed).toBeGreaterThan(0);
    const info = await new Management(gateway.url).keyInfo(key);
    expect(Math.round(info.spend * 1e6)).toBe(summed);
  }, 120_000);
});
