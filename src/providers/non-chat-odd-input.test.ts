import { describe, expect, it } from 'vitest';
import { fakeDeployment } from '../../test/support/stage-fakes.js';
import { seededRandom } from '../../test/support/random.js';
import { GatewayError, type ErrorCode } from '../errors.js';
import { openAIResponsesRelayFormat } from '../gateway/formats/openai-responses/native-relay.js';
import { openAIResponsesNativeFormat } from '../gateway/formats/openai-responses/native-stored.js';
import { outputToMessages } from '../gateway/formats/openai-responses/response.js';
import type { ResponseObject } from '../gateway/formats/openai-responses/types.js';
import { encodeEmbeddings } from '../gateway/stages/attempt-json.js';
import { parseBedrockEmbeddingsResponse } from './bedrock/embeddings.js';
import { parseCohereEmbeddingsResponse } from './cohere/embeddings.js';
import { cohereRerankAnswer } from './cohere/rerank.js';
import { parseGeminiEmbeddingsResponse } from './gemini/embeddings.js';
import { geminiNative } from './gemini/native.js';
import type { NativeCall } from './native.js';
import { parseOllamaEmbeddingsResponse } from './ollama/embeddings.js';
import { openAICompatibleAdapter } from './shared/openai-compatible.js';
import { openAINative, openAIResponsesNative } from './shared/openai-native.js';
import { usageFromOpenAI } from './shared/usage.js';
import { parseCompletionAsChat, TextCompletionStreamTransform } from './text-completion/response.js';
import type { Deployment, EmbeddingsRequest, EmbeddingsResponse, EmittedChunk, Usage } from './types.js';
import { parseVertexEmbeddingsResponse } from './vertex/embeddings.js';
import { vertexDeployment } from './vertex/test-support.js';

/**
 * The non-chat endpoints read an upstream's answer too — embeddings, images, audio, rerank,
 * moderations, the Responses relay, legacy completions — and an upstream (buggy, or hostile) may
 * write any JSON where its API documents an object, a list, a number or a string. Each reader
 * below gets ~1,500 realistic answers, each changed at random from a seed: values replaced by
 * null, numbers (negative, fractional, huge, infinite as `1e999` parses), strings ("NaN", "-5"),
 * lists and objects; keys removed; list items dropped or repeated. A reader may refuse such an
 * answer with the gateway's own error (an upstream_* GatewayError: a 502 the router retries), but
 * never throws anything else (a TypeError becomes a 500 "internal error", unbilled although the
 * upstream answered), the usage it reports is unknown or finite and non-negative (it is billed),
 * and what it hands to the client is well-formed for the endpoint.
 */
const SEEDS = 1_500;

const ODD: unknown[] = [
  null, 0, -1, -12.5, 0.5, 1e308, Infinity, -Infinity, 2 ** 53 + 2, true, false,
  '', 'x', 'NaN', '-5', '1e999', 'audio/L16;codec=pcm;rate=99999999999', 'audio/L16;rate=0',
  [], [null], [1, 'y'], [{}], {}, { a: null }, { type: null }, { text: 5 }, { values: 'x' }, { float: [null] },
];

function pick<T>(items: readonly T[], random: () => number): T {
  return items[Math.floor(random() * items.length)];
}

/** `value` with values changed at random (the root included), keys removed and list items dropped or repeated. */
function changed(value: unknown, random: () => number, depth = 0): unknown {
  if (depth > 7) return value;
  if (random() < (depth === 0 ? 0.03 : 0.1)) return pick(ODD, random);
  if (Array.isArray(value)) {
    const items = value.map((item) => changed(item, random, depth + 1));
    const roll = random();
    if (roll < 0.05 && items.length > 0) items.splice(Math.floor(random() * items.length), 1);
    else if (roll < 0.1 && items.length > 0) items.push(items[0]);
    return items;
  }
  if (value !== null && typeof value === 'object') {
    const entries = Object.entries(value).filter(() => random() >= 0.06);
    return Object.fromEntries(entries.map(([key, item]) => [key, changed(item, random, depth + 1)]));
  }
  return value;
}

type Json = Record<string, unknown>;

function isObject(value: unknown): value is Json {
  return typeof value === 'object' && value !== null && !Array.isArray(value);
}

/** JSON as the upstream wrote it: infinite numbers (`1e999` parses to Infinity) shown as such, not as null. */
function shown(value: unknown): string {
  return (JSON.stringify(value, (_key, item: unknown) => (typeof item === 'number' && !Number.isFinite(item) ? `<${item}>` : item)) ?? String(value)).slice(0, 400);
}

const isCount = (value: unknown): boolean => typeof value === 'number' && Number.isFinite(value) && value >= 0;

/** What is wrong with a usage the gateway would bill, or undefined. */
function usageProblem(usage: Usage | undefined): string | undefined {
  if (usage === undefined) return undefined;
  if (!isObject(usage)) return `usage ${JSON.stringify(usage)}`;
  for (const key of ['promptTokens', 'completionTokens', 'totalTokens', 'cachedTokens', 'cacheCreationTokens', 'reasoningTokens'] as const) {
    if (usage[key] !== undefined && !isCount(usage[key])) return `usage.${key} = ${String(usage[key])}`;
  }
  const units: unknown = usage.units;
  if (units === undefined) return undefined;
  if (!isObject(units)) return `usage.units ${JSON.stringify(units)}`;
  for (const [key, value] of Object.entries(units)) {
    if (key === 'imageVariant' ? value !== undefined && typeof value !== 'string' : value !== undefined && !isCount(value)) return `usage.units.${key} = ${String(value)}`;
  }
  return undefined;
}

/** An embeddings answer as the gateway writes it to the client (native adapters map it; OpenAI-compatible ones relay it). */
function embeddingsProblem(answer: unknown, base64: boolean, relayed: boolean): string | undefined {
  if (!isObject(answer) || !Array.isArray(answer.data)) return 'no "data" list';
  for (const [position, item] of answer.data.entries()) {
    if (!isObject(item)) return `data[${position}] is ${JSON.stringify(item)}`;
    const { embedding } = item;
    if (typeof embedding === 'string') continue;
    if (!Array.isArray(embedding)) return `data[${position}].embedding is ${JSON.stringify(embedding)}`;
    if (relayed) continue;
    if (base64) return `data[${position}].embedding is a list, base64 was asked for`;
    if (!embedding.every((number) => typeof number === 'number' && Number.isFinite(number))) return `data[${position}].embedding holds ${JSON.stringify(embedding)}`;
    if (!Number.isInteger(item.index)) return `data[${position}].index is ${JSON.stringify(item.index)}`;
  }
  if (relayed) return usageProblem(usageFromOpenAI(answer.usage));
  if (answer.usage !== undefined && (!isObject(answer.usage) || !isCount(answer.usage.prompt_tokens) || !isCount(answer.usage.total_tokens))) return `usage ${JSON.stringify(answer.usage)}`;
  return undefined;
}

interface Outcome {
  usage?: Usage;
  /** What is wrong with the answer the client gets, or undefined. */
  problem?: string;
}

interface Case {
  answer: unknown;
  read(body: unknown, random: () => number): Outcome;
  /** Refusals besides upstream_*: a code the reader raises on purpose for such an answer. */
  refusals?: ErrorCode[];
}

/** Runs SEEDS changed answers through the case; the problems found, with the input that caused each. */
function problemsOf(name: string, testCase: Case): string[] {
  const problems: string[] = [];
  for (let seed = 1; seed <= SEEDS && problems.length < 5; seed++) {
    const random = seededRandom(seed * 7919 + name.length);
    const body = changed(testCase.answer, random);
    try {
      const outcome = testCase.read(body, random);
      const problem = usageProblem(outcome.usage) ?? outcome.problem;
      if (problem) problems.push(`seed ${seed}: ${problem} from ${shown(body)}`);
    } catch (error) {
      const accepted = error instanceof GatewayError && (error.code.startsWith('upstream_') || testCase.refusals?.includes(error.code));
      if (!accepted) problems.push(`seed ${seed}: ${error instanceof GatewayError ? `${error.code}: ` : ''}${(error as Error).name}: ${(error as Error).message} from ${shown(body)}`);
    }
  }
  return problems;
}

// ---- embeddings (POST /v1/embeddings), per adapter

function embeddingsCase(answer: unknown, target: Deployment, parse: (body: unknown, target: Deployment, request?: EmbeddingsRequest) => unknown, relayed = false): Case {
  return {
    answer,
    read(body, random) {
      const base64 = random() < 0.5;
      const request: EmbeddingsRequest = { model: 'm', input: ['a', 'b'], ...(base64 ? { encoding_format: 'base64' } : {}) };
      // As attempt-json.ts answers: the adapter's answer, float lists re-encoded when the client asked for base64.
      const parsed = encodeEmbeddings(parse(body, target, request) as EmbeddingsResponse, request) as unknown as Json;
      return { usage: usageFromOpenAI(parsed.usage), problem: embeddingsProblem(parsed, base64, relayed) };
    },
  };
}

const EMBEDDINGS: Record<string, Case> = {
  'openai-compatible': embeddingsCase(
    { object: 'list', data: [{ object: 'embedding', index: 0, embedding: [0.1, -0.2, 0.3] }, { object: 'embedding', index: 1, embedding: 'AAAAPw==' }], model: 'text-embedding-3-small', usage: { prompt_tokens: 8, total_tokens: 8 } },
    fakeDeployment('d', 'e'),
    openAICompatibleAdapter.parseEmbeddingsResponse!,
    true,
  ),
  azure: embeddingsCase(
    { object: 'list', data: [{ object: 'embedding', index: 0, embedding: [0.1, -0.2, 0.3] }], model: 'text-embedding-ada-002', usage: { prompt_tokens: 4, total_tokens: 4 } },
    fakeDeployment('d', 'e', { provider: 'azure', apiVersion: '2024-10-21' }),
    openAICompatibleAdapter.parseEmbeddingsResponse!,
    true,
  ),
  gemini: embeddingsCase({ embeddings: [{ values: [0.1, 0.2, -0.3] }, { values: [0.4, 0.5, 0.6] }] }, fakeDeployment('d', 'e', { provider: 'gemini', upstreamModel: 'text-embedding-004' }), parseGeminiEmbeddingsResponse),
  vertex: embeddingsCase(
    { predictions: [{ embeddings: { values: [0.1, 0.2, -0.3], statistics: { token_count: 2, truncated: false } } }, { embeddings: { values: [0.4, 0.5, 0.6], statistics: { token_count: 3, truncated: false } } }], metadata: { billableCharacterCount: 9 } },
    vertexDeployment({ upstreamModel: 'text-embedding-005' }),
    parseVertexEmbeddingsResponse,
  ),
  'bedrock titan': embeddingsCase({ embedding: [0.1, 0.2, -0.3], embeddingsByType: { float: [0.1, 0.2, -0.3] }, inputTextTokenCount: 5 }, fakeDeployment('d', 'e', { provider: 'bedrock', upstreamModel: 'amazon.titan-embed-text-v2:0' }), parseBedrockEmbeddingsResponse),
  'bedrock cohere': embeddingsCase({ id: 'e1', embeddings: { float: [[1, 2], [3, 4]] }, response_type: 'embeddings_by_type', texts: ['a', 'b'] }, fakeDeployment('d', 'e', { provider: 'bedrock', upstreamModel: 'cohere.embed-english-v3' }), parseBedrockEmbeddingsResponse),
  cohere: embeddingsCase(
    { id: 'x', embeddings: { float: [[0.1, 0.2], [0.3, 0.4]] }, texts: ['a', 'b'], meta: { api_version: { version: '2' }, billed_units: { input_tokens: 2 } }, response_type: 'embeddings_by_type' },
    fakeDeployment('d', 'e', { provider: 'cohere', upstreamModel: 'embed-english-v3.0' }),
    parseCohereEmbeddingsResponse,
  ),
  ollama: embeddingsCase({ model: 'nomic-embed-text', embeddings: [[0.1, 0.2, -0.3], [0.4, 0.5, 0.6]], total_duration: 14143917, load_duration: 1019500, prompt_eval_count: 8 }, fakeDeployment('d', 'e', { provider: 'ollama', upstreamModel: 'nomic-embed-text' }), parseOllamaEmbeddingsResponse),
};

// ---- the OpenAI media endpoints and rerank, relayed (openai-native.ts) or mapped to a native equivalent

const openai = fakeDeployment('d', 'm');
const gemini = fakeDeployment('d', 'm', { provider: 'gemini', upstreamModel: 'imagen-3.0-generate-002' });
const call = (method: string, body: Json = {}, extra: Partial<NativeCall> = {}): NativeCall => ({ method, body, stream: false, ...extra });

/** A relayed answer: usage and text are read, the body goes out as the upstream wrote it. */
function relayedCase(answer: unknown, nativeCall: NativeCall, target: Deployment = openai, provider = openAINative): Case {
  return {
    answer,
    read(body) {
      provider.textOf(body);
      const mapped = provider.answerOf?.(nativeCall, body, target);
      // A mapped answer is written by the gateway: it must be JSON the client can read.
      const problem = mapped !== undefined && !isObject(JSON.parse(JSON.stringify(mapped))) ? `mapped answer ${JSON.stringify(mapped)}` : undefined;
      return { usage: provider.usageOf(nativeCall, body, target), problem };
    },
  };
}

/** OpenAI's images answer as the gateway writes it for Imagen: `data` a non-empty list of `{b64_json}`. */
function imagesProblem(answer: unknown): string | undefined {
  if (!isObject(answer) || !Array.isArray(answer.data) || answer.data.length === 0) return `images answer ${JSON.stringify(answer)}`;
  const bad = answer.data.find((item) => !isObject(item) || typeof item.b64_json !== 'string' || (item.revised_prompt !== undefined && typeof item.revised_prompt !== 'string'));
  return bad === undefined ? undefined : `images answer item ${JSON.stringify(bad)}`;
}

const rerankDocuments = ['Paris is the capital of France', { text: 'Berlin is in Germany' }, 'The sky is blue'];

const MEDIA: Record<string, Case> = {
  'images (dall-e: urls, no usage)': relayedCase({ created: 1_700_000_000, data: [{ url: 'https://images.example.com/1.png', revised_prompt: 'a cat' }, { url: 'https://images.example.com/2.png' }] }, call('images/generations', { prompt: 'a cat', n: 2, size: '1024x1792', quality: 'hd' })),
  'images (gpt-image-1: tokens)': relayedCase(
    { created: 1_700_000_000, background: 'opaque', data: [{ b64_json: 'iVBORw0KGgo=' }], output_format: 'png', quality: 'high', size: '1024x1024', usage: { input_tokens: 50, output_tokens: 1056, total_tokens: 1106, input_tokens_details: { text_tokens: 50, image_tokens: 0 } } },
    call('images/generations', { prompt: 'a cat', model: 'gpt-image-1' }),
  ),
  'images/edits': relayedCase({ created: 1_700_000_000, data: [{ b64_json: 'iVBORw0KGgo=' }], usage: { input_tokens: 323, output_tokens: 1056, total_tokens: 1379, input_tokens_details: { text_tokens: 20, image_tokens: 303 } } }, call('images/edits', { prompt: 'add a hat' })),
  'images on Imagen (Gemini API)': {
    answer: { predictions: [{ bytesBase64Encoded: 'iVBORw0KGgo=', mimeType: 'image/png' }, { bytesBase64Encoded: 'iVBORw0KGgo=', mimeType: 'image/png', prompt: 'a cat, photographed' }, { raiFilteredReason: 'filtered one image' }] },
    refusals: ['invalid_request'],
    read(body) {
      const nativeCall = call('images/generations', { prompt: 'a cat', n: 3, response_format: 'b64_json' });
      const usage = openAINative.usageOf(nativeCall, body, gemini);
      return { usage, problem: imagesProblem(openAINative.answerOf!(nativeCall, body, gemini)) };
    },
  },
  'audio/speech on Gemini TTS (inline PCM)': {
    answer: {
      candidates: [{ content: { parts: [{ inlineData: { mimeType: 'audio/L16;codec=pcm;rate=24000', data: Buffer.alloc(64, 1).toString('base64') } }], role: 'model' }, finishReason: 'STOP' }],
      usageMetadata: { promptTokenCount: 3, candidatesTokenCount: 25, totalTokenCount: 28, promptTokensDetails: [{ modality: 'TEXT', tokenCount: 3 }], candidatesTokensDetails: [{ modality: 'AUDIO', tokenCount: 25 }] },
      modelVersion: 'gemini-2.5-flash-preview-tts',
      responseId: 'r1',
    },
    refusals: ['invalid_request'],
    read(body, random) {
      const target = fakeDeployment('d', 'tts', { provider: 'gemini', upstreamModel: 'gemini-2.5-flash-preview-tts' });
      const audio = openAINative.bytesOf!(call('audio/speech', { input: 'hello there', voice: 'Kore', response_format: random() < 0.5 ? 'wav' : 'pcm' }), body, target);
      const problem = audio === undefined ? 'no audio' : !audio.chunks.every((chunk) => Buffer.isBuffer(chunk)) || typeof audio.contentType !== 'string' ? `audio ${JSON.stringify(audio).slice(0, 200)}` : undefined;
      return { usage: audio?.usage, problem };
    },
  },
  'audio/transcriptions (json: usage.seconds)': relayedCase({ text: 'Hello there.', usage: { type: 'duration', seconds: 3 } }, call('audio/transcriptions', { model: 'whisper-1' })),
  'audio/transcriptions (verbose_json: duration)': relayedCase(
    { task: 'transcribe', language: 'english', duration: 2.4, text: 'Hello there.', segments: [{ id: 0, seek: 0, start: 0, end: 2.4, text: 'Hello there.', tokens: [50364, 2425], temperature: 0, avg_logprob: -0.2, compression_ratio: 1, no_speech_prob: 0.01 }], usage: { type: 'duration', seconds: 3 } },
    call('audio/transcriptions', { model: 'whisper-1', response_format: 'verbose_json' }, { upload: { field: 'file', filename: 'a.wav', contentType: 'audio/wav', chunks: [], bytes: 0, seconds: 3 } }),
  ),
  'audio/transcriptions (gpt-4o-transcribe: tokens)': relayedCase({ text: 'Hello there.', usage: { type: 'tokens', input_tokens: 14, input_token_details: { text_tokens: 0, audio_tokens: 14 }, output_tokens: 45, total_tokens: 59 } }, call('audio/transcriptions', { model: 'gpt-4o-transcribe' })),
  moderations: relayedCase(
    { id: 'modr-1', model: 'omni-moderation-latest', results: [{ flagged: false, categories: { harassment: false, violence: false }, category_scores: { harassment: 0.0001, violence: 0.0002 }, category_applied_input_types: { harassment: ['text'], violence: ['text'] } }] },
    call('moderations', { input: ['hello', { type: 'text', text: 'world' }] }),
  ),
  'rerank (OpenAI-compatible, Cohere format)': relayedCase({ id: 'r1', results: [{ index: 2, relevance_score: 0.9 }, { index: 0, relevance_score: 0.1 }], meta: { api_version: { version: '2' }, billed_units: { search_units: 1 } } }, call('rerank', { query: 'capital', documents: rerankDocuments, top_n: 2 })),
  'rerank (Cohere v2, return_documents)': {
    answer: { id: 'r1', results: [{ index: 0, relevance_score: 0.98 }, { index: 1, relevance_score: 0.2 }, { index: 2, relevance_score: 0.01 }], meta: { api_version: { version: '2' }, billed_units: { search_units: 1 } } },
    read(body) {
      const nativeCall = call('rerank', { query: 'capital', documents: rerankDocuments, return_documents: true });
      const target = fakeDeployment('d', 'rerank', { provider: 'cohere', upstreamModel: 'rerank-v3.5' });
      const answer = cohereRerankAnswer(nativeCall, body);
      const problem = answer !== undefined && (!isObject(answer) || !Array.isArray(answer.results)) ? `rerank answer ${JSON.stringify(answer)}` : undefined;
      return { usage: openAINative.usageOf(nativeCall, body, target), problem };
    },
  },
  'embedContent (Gemini API, relayed)': relayedCase({ embedding: { values: [0.1, 0.2] } }, call('embedContent', { content: { parts: [{ text: 'a' }] } }), fakeDeployment('d', 'e', { provider: 'gemini' }), geminiNative),
  'batchEmbedContents on Vertex AI (predict, mapped)': relayedCase(
    { predictions: [{ embeddings: { values: [1, 2], statistics: { token_count: 2, truncated: false } } }, { embeddings: { values: [3, 4], statistics: { token_count: 1, truncated: false } } }] },
    call('batchEmbedContents', { requests: [{ content: { parts: [{ text: 'a' }] } }, { content: { parts: [{ text: 'b' }] } }] }),
    vertexDeployment({ upstreamModel: 'text-embedding-005' }),
    geminiNative,
  ),
  'embedContent on Vertex AI (predict, mapped)': relayedCase(
    { predictions: [{ embeddings: { values: [1, 2], statistics: { token_count: 2, truncated: false } } }] },
    call('embedContent', { content: { parts: [{ text: 'a' }] } }),
    vertexDeployment({ upstreamModel: 'text-embedding-005' }),
    geminiNative,
  ),
};

// ---- the Responses API relayed to OpenAI / Azure OpenAI (/v1/responses with built-in tools, /openai/v1/responses)

const RESPONSE = {
  id: 'resp_1',
  object: 'response',
  created_at: 1_741_476_542,
  status: 'completed',
  model: 'gpt-4.1-2025-04-14',
  output: [
    { type: 'web_search_call', id: 'ws_1', status: 'completed', action: { type: 'search', query: 'weather' } },
    { type: 'reasoning', id: 'rs_1', summary: [{ type: 'summary_text', text: 'Looked it up.' }] },
    { type: 'message', id: 'msg_1', status: 'completed', role: 'assistant', content: [{ type: 'output_text', text: 'Sunny.', annotations: [{ type: 'url_citation', start_index: 0, end_index: 5, url: 'https://example.com', title: 'Weather' }] }, { type: 'refusal', refusal: 'no' }] },
    { type: 'function_call', id: 'fc_1', call_id: 'call_1', name: 'f', arguments: '{"a":1}', status: 'completed' },
  ],
  parallel_tool_calls: true,
  store: false,
  usage: { input_tokens: 328, input_tokens_details: { cached_tokens: 12 }, output_tokens: 52, output_tokens_details: { reasoning_tokens: 20 }, total_tokens: 380 },
};

const echo = { model: 'my-gpt', store: true, previousResponseId: null };

/** What the route does with each finished Response (routes/responses.ts): stores it, and its output as the conversation's next messages. */
function stored(response: ResponseObject): void {
  JSON.stringify({ response, conversation: outputToMessages(response.output) });
}

const RESPONSES_JSON: Case = {
  answer: RESPONSE,
  read(body) {
    const nativeCall = call('responses', { model: 'my-gpt', input: 'weather?', tools: [{ type: 'web_search' }] });
    const usage = openAIResponsesNative.usageOf(nativeCall, body, openai);
    openAIResponsesNative.textOf(body);
    // What the client gets (the route's format: the Response with the client's own fields put back).
    const written = openAIResponsesNativeFormat(echo, stored).native!(JSON.stringify(body) ?? 'null', body);
    return { usage, problem: typeof written === 'string' ? undefined : `wrote ${String(written)}` };
  },
};

/** The events of a streamed Response with built-in tools: [event name, payload]. */
const RESPONSE_EVENTS: Array<[string, unknown]> = [
  ['response.created', { type: 'response.created', sequence_number: 0, response: { ...RESPONSE, status: 'in_progress', output: [], usage: null } }],
  ['response.output_item.added', { type: 'response.output_item.added', sequence_number: 1, output_index: 0, item: { type: 'message', id: 'msg_1', status: 'in_progress', role: 'assistant', content: [] } }],
  ['response.output_text.delta', { type: 'response.output_text.delta', sequence_number: 2, item_id: 'msg_1', output_index: 0, content_index: 0, delta: 'Sun' }],
  ['response.function_call_arguments.delta', { type: 'response.function_call_arguments.delta', sequence_number: 3, item_id: 'fc_1', output_index: 1, delta: '{"a":' }],
  ['response.completed', { type: 'response.completed', sequence_number: 4, response: RESPONSE }],
];

const RESPONSES_STREAM: Case = {
  answer: RESPONSE_EVENTS.map(([, payload]) => payload),
  read(events, random) {
    const transform = openAIResponsesNative.createStreamTransform(openai);
    const encoders = [openAIResponsesNativeFormat(echo, stored).stream({ includeUsage: false }), openAIResponsesRelayFormat.stream({ includeUsage: false })];
    const emitted: EmittedChunk[] = [];
    for (const [index, payload] of (Array.isArray(events) ? events : [events]).entries()) {
      // The event name is the frame's own line: sometimes absent, as some servers write only `data:`.
      const name = random() < 0.8 ? RESPONSE_EVENTS[index]?.[0] : undefined;
      const out = transform.push(JSON.stringify(payload) ?? 'null', name);
      for (const encoder of encoders) if (typeof encoder.chunks(out) !== 'string') return { problem: 'an encoder wrote no text' };
      emitted.push(...out);
    }
    emitted.push(...transform.end());
    const unreadable = emitted.find((item) => !Array.isArray(item.chunk.choices) || !item.chunk.choices.every((choice) => isObject(choice) && isObject(choice.delta)));
    return { usage: transform.usage, problem: unreadable ? `a chunk the gateway cannot read: ${JSON.stringify(unreadable.chunk)}` : undefined };
  },
};

// ---- legacy completions (`text-completion-openai/…`: a chat request answered by /v1/completions)

const COMPLETION = { id: 'cmpl-1', object: 'text_completion', created: 1_700_000_000, model: 'gpt-3.5-turbo-instruct', choices: [{ text: 'Hello', index: 0, logprobs: null, finish_reason: 'stop' }], usage: { prompt_tokens: 5, completion_tokens: 1, total_tokens: 6 } };

function chatProblem(choices: unknown, field: 'message' | 'delta'): string | undefined {
  if (!Array.isArray(choices)) return `choices ${JSON.stringify(choices)}`;
  const bad = choices.find((choice) => !isObject(choice) || !isObject(choice[field]) || !Number.isInteger(choice.index) || (choice[field] as Json).content === undefined || !(typeof (choice[field] as Json).content === 'string'));
  return bad === undefined ? undefined : `choice ${JSON.stringify(bad)}`;
}

const COMPLETIONS: Record<string, Case> = {
  'completion as chat (JSON)': {
    answer: COMPLETION,
    read(body) {
      const chat = parseCompletionAsChat(body, fakeDeployment('d', 'm', { provider: 'text-completion-openai' }));
      return { usage: usageFromOpenAI(chat.usage), problem: chatProblem(chat.choices, 'message') };
    },
  },
  'completion as chat (stream)': {
    answer: [{ ...COMPLETION, usage: null }, { ...COMPLETION, choices: [{ text: '!', index: 0, logprobs: null, finish_reason: 'stop' }] }],
    read(events) {
      const transform = new TextCompletionStreamTransform(fakeDeployment('d', 'm', { provider: 'text-completion-openai' }));
      const emitted = [...(Array.isArray(events) ? events : [events]).flatMap((event) => transform.push(JSON.stringify(event) ?? 'null')), ...transform.end()];
      return { usage: transform.usage, problem: emitted.map((item) => chatProblem(item.chunk.choices, 'delta')).find(Boolean) };
    },
  },
};

describe('non-chat upstream answers with values changed at random', () => {
  it.each(Object.keys(EMBEDDINGS))('embeddings, %s: read or refused, never broken', (name) => {
    expect(problemsOf(name, EMBEDDINGS[name])).toEqual([]);
  });

  it.each(Object.keys(MEDIA))('%s: read or refused, never broken', (name) => {
    expect(problemsOf(name, MEDIA[name])).toEqual([]);
  });

  it('responses (JSON answer): read or refused, never broken', () => {
    expect(problemsOf('responses json', RESPONSES_JSON)).toEqual([]);
  });

  it('responses (stream of events): read or refused, never broken', () => {
    expect(problemsOf('responses stream', RESPONSES_STREAM)).toEqual([]);
  });

  it.each(Object.keys(COMPLETIONS))('%s: read or refused, never broken', (name) => {
    expect(problemsOf(name, COMPLETIONS[name])).toEqual([]);
  });
});

/** The answers the random ones found, kept by name: each broke a reader before it was fixed. */
describe('the odd answers that broke a non-chat reader', () => {
  const refusedAs = (read: () => unknown): string | undefined => {
    try {
      read();
      return undefined;
    } catch (error) {
      return error instanceof GatewayError ? error.code : `${(error as Error).name}: ${(error as Error).message}`;
    }
  };
  const withDuration = (seconds: unknown, upload?: number) =>
    openAINative.usageOf(call('audio/transcriptions', { model: 'whisper-1' }, upload === undefined ? {} : { upload: { field: 'file', filename: 'a.wav', contentType: 'audio/wav', chunks: [], bytes: 0, seconds: upload } }), { text: 'hi', usage: { type: 'duration', seconds } });

  it('embeddings: a data item that is not an embedding, or a vector holding a non-number, is the upstream\'s failure (was a TypeError re-encoding base64, or garbage vectors)', () => {
    const base64: EmbeddingsRequest = { model: 'm', input: 'a', encoding_format: 'base64' };
    expect(refusedAs(() => openAICompatibleAdapter.parseEmbeddingsResponse!({ object: 'list', data: [null], usage: { prompt_tokens: 5, total_tokens: 5 } }, openai, base64))).toBe('upstream_invalid_response');
    expect(refusedAs(() => parseGeminiEmbeddingsResponse({ embeddings: [{ values: [null, 0.2] }] }, gemini))).toBe('upstream_invalid_response');
    expect(refusedAs(() => parseCohereEmbeddingsResponse({ embeddings: { float: [[0.1, '-5']] } }, fakeDeployment('d', 'e', { provider: 'cohere' })))).toBe('upstream_invalid_response');
    expect(refusedAs(() => parseBedrockEmbeddingsResponse({ embedding: [0.1, Infinity], inputTextTokenCount: 5 }, fakeDeployment('d', 'e', { provider: 'bedrock', upstreamModel: 'amazon.titan-embed-text-v2:0' })))).toBe('upstream_invalid_response');
    // Vertex's count of -1 is no count: the usage is unknown, not negative.
    const vertex = parseVertexEmbeddingsResponse({ predictions: [{ embeddings: { values: [0.1], statistics: { token_count: -1 } } }] }, vertexDeployment({ upstreamModel: 'text-embedding-005' }));
    expect(vertex.usage).toBeUndefined();
  });

  it('audio/transcriptions: a negative or infinite duration is no duration (a negative one billed a negative cost)', () => {
    // Neither seconds nor tokens: unknown, which is not free (and never below zero).
    expect(withDuration(-100_000)?.units).toBeUndefined();
    expect(withDuration(-1, 2)?.units).toEqual({ inputSeconds: 2 });
    expect(withDuration(Infinity, 2)?.units).toEqual({ inputSeconds: 2 });
    expect(withDuration(3)?.units).toEqual({ inputSeconds: 3 });
  });

  it('images and transcriptions billed in tokens: a negative or infinite count counts as none', () => {
    expect(openAINative.usageOf(call('images/generations', { prompt: 'a cat' }), { data: [{ b64_json: 'x' }], usage: { input_tokens: -12.5, output_tokens: 1056 } }, openai)).toMatchObject({ promptTokens: 0, completionTokens: 1056, totalTokens: 1056 });
    expect(openAINative.usageOf(call('audio/transcriptions', {}), { text: 'hi', usage: { type: 'tokens', input_tokens: 14, output_tokens: Infinity } }, openai)).toMatchObject({ promptTokens: 14, completionTokens: 0 });
  });

  it('rerank: infinite search units bill one per query; a result index that names no document is relayed as written (was a 400 blamed on the client)', () => {
    expect(openAINative.usageOf(call('rerank', { query: 'q', documents: ['a'] }), { results: [], meta: { billed_units: { search_units: Infinity } } }, openai)?.units).toEqual({ queries: 1 });
    const answer = cohereRerankAnswer(call('rerank', { query: 'q', documents: ['a', 'b'], return_documents: true }), { results: [{ index: 0.5, relevance_score: 0.1 }, { index: 1, relevance_score: 0.9 }] }) as { results: unknown[] };
    expect(answer.results).toEqual([{ index: 0.5, relevance_score: 0.1 }, { index: 1, relevance_score: 0.9, document: { text: 'b' } }]);
  });

  it('speech on Gemini: a sample rate no WAV header can carry is the upstream\'s failure (was a RangeError), an infinite total is recomputed', () => {
    const target = fakeDeployment('d', 'tts', { provider: 'gemini', upstreamModel: 'gemini-2.5-flash-preview-tts' });
    const speech = (mimeType: string, usageMetadata: unknown = { promptTokenCount: 3, candidatesTokenCount: 25, totalTokenCount: 28 }) => openAINative.bytesOf!(call('audio/speech', { input: 'hi', voice: 'Kore', response_format: 'wav' }), { candidates: [{ content: { parts: [{ inlineData: { mimeType, data: 'AQEB' } }] }, finishReason: 'STOP' }], usageMetadata }, target);
    expect(refusedAs(() => speech('audio/L16;codec=pcm;rate=99999999999'))).toBe('upstream_invalid_response');
    expect(refusedAs(() => speech('audio/L16;codec=pcm;rate=0'))).toBe('upstream_invalid_response');
    expect(speech('audio/L16;codec=pcm;rate=24000', { promptTokenCount: 3, candidatesTokenCount: 25, totalTokenCount: Infinity })?.usage?.totalTokens).toBe(28);
  });

  it('responses relayed natively: output items that are not objects, and message content that is not a list, are left out (was a TypeError: a 500, unbilled)', () => {
    const saved: ResponseObject[] = [];
    const format = openAIResponsesNativeFormat(echo, (response) => {
      stored(response);
      saved.push(response);
    });
    const answer = { ...RESPONSE, output: [null, 'x', { type: 'message', role: 'assistant', content: false }, { type: 'message', role: 'assistant', content: [null, { type: 'output_text', text: 'Hi' }] }] };
    const written = JSON.parse(format.native!(JSON.stringify(answer), answer)) as Json;
    expect(written.output).toEqual([{ type: 'message', role: 'assistant', content: [] }, { type: 'message', role: 'assistant', content: [{ type: 'output_text', text: 'Hi' }] }]);
    expect(written.output_text).toBe('Hi');
    expect(saved).toHaveLength(1);
  });

  it('completions answering a chat request: choices that are not a list, or not objects, are left out (was a TypeError)', () => {
    const target = fakeDeployment('d', 'm', { provider: 'text-completion-openai' });
    expect(parseCompletionAsChat({ ...COMPLETION, choices: [null, { text: 5, index: 0.5 }] }, target).choices).toEqual([{ index: 0, message: { role: 'assistant', content: '' }, finish_reason: null, logprobs: null }]);
    expect(new TextCompletionStreamTransform(target).push(JSON.stringify({ ...COMPLETION, choices: {} }))[0].chunk.choices).toEqual([]);
  });
});
