/**
 * OpenAI-format endpoints relayed to OpenAI, Azure and OpenAI-compatible deployments without a
 * canonical model of their own (providers/shared/openai-native.ts), each with the whole request
 * path (allow-lists, limits, budget reservation bounded by what the call can bill, routing and
 * fallbacks among the group's OpenAI-format deployments, usage row priced per unit):
 * - `POST /v1/images/generations`: priced per image (dall-e, by quality and size) or in tokens
 *   (gpt-image-1, whose answers carry usage);
 * - `POST /v1/images/edits` (multipart: the images, an optional mask, the prompt): priced as
 *   generations; the files read once as they arrive and streamed upstream;
 * - `POST /v1/moderations`: per input character (OpenAI's moderation models are free);
 * - `POST /v1/rerank` (Cohere / Jina format, as LiteLLM serves it: `query`, `documents`, `top_n`):
 *   per search unit;
 * - `POST /v1/audio/speech`: the audio streamed back as it is generated, per input character (on
 *   Gemini's TTS models: in tokens, the audio served as WAV or PCM);
 * - `POST /v1/audio/transcriptions` (multipart): the file read once as it arrives (25 MiB at most)
 *   and streamed upstream, per second of audio;
 * - `POST /openai/v1/{path}`: any other JSON endpoint of an OpenAI deployment, the body's `model`
 *   naming the group; recorded, and costed when the answer carries token usage; `stream: true`
 *   relayed event by event as the upstream writes it (OpenAIRelayStreamTransform, openAIRelayFormat).
 *   Paths billed per media unit are built as their own routes build them (RELAYED_MEDIA), so their
 *   reservation bounds the charge; `audio/…`, whose answer this relay cannot bill, is refused;
 * - `GET` / `DELETE /openai/v1/{path}` and multipart `POST /openai/v1/{path}` (file uploads): no
 *   model in the call, so the group is the `x-switchboard-model` header's, the `model` query's, or
 *   the first the key may use with an OpenAI deployment (relayModelOf); recorded with zero usage.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { can, requirePermission } from '../../auth/permissions.js';
import { GatewayError } from '../../errors.js';
import type { CallContext, Endpoint, GatewayResult, NativeOperation } from '../../gateway/call-context.js';
import type { Gateway } from '../../gateway/pipeline.js';
import { openAIRelayFormat, openAIRelayResponsesFormat, openAIResponseFormat } from '../../gateway/response-format.js';
import { imageVariant, inputCharacters } from '../../providers/shared/openai-native.js';
import { choicesPerPrompt } from '../../billing/max-cost.js';
import { GEMINI_SPEECH_MAX_OUTPUT_TOKENS } from '../../providers/gemini/speech.js';
import type { Upload } from '../../providers/native.js';
import { audioSecondsBound, wavDuration } from '../../providers/shared/audio-duration.js';
import type { MediaUnits } from '../../providers/types.js';
import { readMultipart } from '../multipart-upload.js';
import { callOf } from '../context.js';
import { sendResult } from './openai.js';
import { isModelAllowed } from '../../auth/model-access.js';
import type { ModelCatalog } from '../../routing/catalog.js';
import { assertChatToolsBillable, assertForegroundResponse, assertNoDeferredChat, assertNoAudioOutput, assertNoProviderDataSources, assertNoUnbilledSearch, assertNoUpstreamRouting, assertServiceTierBillable } from '../../gateway/validate.js';
import { responsesServerTools } from '../../gateway/server-tools.js';
import { assertNoInternalMediaInBody } from '../../gateway/internal-media-references.js';
import { assertNoProviderFilesInBody } from '../../gateway/provider-file-references.js';
import { assertNoProviderStoredObjects } from '../../gateway/provider-stored-references.js';
import { assertVectorStoresGranted, vectorStoresOfResponses, type VectorStoreGrantLookup } from '../../auth/vector-store-access.js';
import type { ResponseStore } from '../../responses/response-store.js';
import { responseOwnerOf } from '../../responses/owner.js';
import { relayOwner, relayRecordId } from '../../responses/owner-scope.js';

type Json = Record<string, unknown>;

/** The most output tokens one gpt-image-1 image can bill (high quality, 1536x1024, OpenAI's table). */
export const MAX_IMAGE_OUTPUT_TOKENS = 6_240;
/**
 * Cohere bills a search unit per query over up to 100 documents, and splits a document longer than
 * 500 tokens *including the query's* into chunks that each count as a document (its pricing page).
 */
const DOCUMENTS_PER_SEARCH_UNIT = 100;
const TOKENS_PER_CHUNK = 500;

function bodyOf(body: unknown, endpoint: string): Json {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new GatewayError('invalid_request', `the body of ${endpoint} must be a JSON object`);
  return body as Json;
}

function modelOf(body: Json, fallback?: string): string {
  const model = body.model ?? fallback;
  if (typeof model !== 'string' || model === '') throw new GatewayError('invalid_request', '"model" is required: the name of a model group of this gateway', { param: 'model' });
  return model;
}

function operation(method: string, model: string, native: Json, costKind: NativeOperation['costKind'], extra: Partial<NativeOperation['request']> = {}): NativeOperation {
  if (native.stream === true) throw new GatewayError('invalid_request', `"stream": true is not supported on /${method} through this gateway`, { param: 'stream' });
  return { kind: 'native', api: 'openai', method, costKind, request: { model, native, ...extra } };
}

function imagesOperation(raw: unknown): NativeOperation {
  const body = bodyOf(raw, '/v1/images/generations');
  if (typeof body.prompt !== 'string' || body.prompt === '') throw new GatewayError('invalid_request', '"prompt" is required: a text description of the image', { param: 'prompt' });
  const n = body.n ?? 1;
  if (typeof n !== 'number' || !Number.isInteger(n) || n < 1 || n > 10) throw new GatewayError('invalid_request', '"n" must be an integer from 1 to 10', { param: 'n' });
  const units: MediaUnits = { images: n, imageVariant: imageVariant(body) };
  // gpt-image-1 bills output tokens: the most n images can take.
  return operation('images/generations', modelOf(body), body, 'completion', { units, max_tokens: n * MAX_IMAGE_OUTPUT_TOKENS });
}

function moderationsOperation(raw: unknown): NativeOperation {
  const body = bodyOf(raw, '/v1/moderations');
  if (body.input === undefined || body.input === null) throw new GatewayError('invalid_request', '"input" is required: a string, an array of strings, or multi-modal input parts', { param: 'input' });
  // OpenAI's default moderation model, as the API takes a request without one.
  return operation('moderations', modelOf(body, 'omni-moderation-latest'), body, 'embeddings', { units: { inputCharacters: inputCharacters(body.input) } });
}

function rerankOperation(raw: unknown): NativeOperation {
  const body = bodyOf(raw, '/v1/rerank');
  if (typeof body.query !== 'string' || body.query === '') throw new GatewayError('invalid_request', '"query" is required: the search query', { param: 'query' });
  const documents = body.documents;
  if (!Array.isArray(documents) || documents.length === 0) throw new GatewayError('invalid_request', '"documents" is required: a non-empty array of strings (or objects with "text")', { param: 'documents' });
  if (body.top_n !== undefined && (typeof body.top_n !== 'number' || !Number.isInteger(body.top_n) || body.top_n < 1)) throw new GatewayError('invalid_request', '"top_n" must be a positive integer', { param: 'top_n' });
  return operation('rerank', modelOf(body), body, 'embeddings', { units: { queries: rerankSearchUnits(body.query, documents) } });
}

/**
 * The most search units a rerank can bill: each chunk holds the query and at most
 * 500 − (query tokens) of a document's tokens (at least one), and a token spans at least one byte,
 * so a document of b bytes makes at most ceil(b / max(1, 500 − query bytes)) chunks; a search unit
 * covers 100 of them.
 */
export function rerankSearchUnits(query: string, documents: unknown[]): number {
  const documentTokensPerChunk = Math.max(1, TOKENS_PER_CHUNK - Buffer.byteLength(query));
  let chunks = 0;
  for (const document of documents) {
    const bytes = Buffer.byteLength(typeof document === 'string' ? document : (JSON.stringify(document) ?? ''));
    chunks += Math.max(1, Math.ceil(bytes / documentTokensPerChunk));
  }
  return Math.ceil(chunks / DOCUMENTS_PER_SEARCH_UNIT);
}

/**
 * Speech is billed per input character (tts-1, tts-1-hd), which the provider charges however the
 * audio ends; on Gemini's TTS models in tokens, audio output capped (and reserved) at their limit.
 * `instructions` (gpt-4o-mini-tts: how to speak) is text the provider reads and bills as input as
 * well, so its characters count with the input's: a long one beside a short input is not free.
 */
function speechOperation(raw: unknown): NativeOperation {
  const body = bodyOf(raw, '/v1/audio/speech');
  if (typeof body.input !== 'string' || body.input === '') throw new GatewayError('invalid_request', '"input" is required: the text to speak', { param: 'input' });
  if (typeof body.voice !== 'string' && (typeof body.voice !== 'object' || body.voice === null)) throw new GatewayError('invalid_request', '"voice" is required', { param: 'voice' });
  if (body.stream_format !== undefined && body.stream_format !== 'audio') throw new GatewayError('invalid_request', `"stream_format": ${JSON.stringify(body.stream_format)} is not supported through this gateway: the audio is streamed back as bytes ("audio")`, { param: 'stream_format' });
  const native = operation('audio/speech', modelOf(body), body, 'completion', { units: { inputCharacters: inputCharacters(body.input) + inputCharacters(body.instructions) }, stream: true, max_tokens: GEMINI_SPEECH_MAX_OUTPUT_TOKENS });
  return { ...native, bytes: true };
}

/** OpenAI's limit on an audio upload. */
export const MAX_AUDIO_BYTES = 25 * 1024 * 1024;
const JSON_TRANSCRIPT_FORMATS = new Set(['json', 'verbose_json', 'diarized_json']);
const TEXT_TRANSCRIPT_FORMATS = new Set(['text', 'srt', 'vtt']);

function single(value: string | string[] | undefined): string | undefined {
  return Array.isArray(value) ? value[0] : value;
}

/**
 * A form field sent twice: the gateway would price one value while the upstream may read another
 * (a form parser keeping the last value, as Starlette's does), so only the API's list fields — the
 * SDKs send an array as `name[]` once per item (`timestamp_granularities[]`, `include[]`,
 * `known_speaker_names[]`, `image[]`) — may repeat; any other is refused by name.
 */
function assertSingleValued(fields: Record<string, string | string[]>, endpoint: string): void {
  for (const [name, value] of Object.entries(fields)) {
    if (Array.isArray(value) && !name.endsWith('[]')) {
      throw new GatewayError('invalid_request', `form field "${name.slice(0, 64)}" is sent ${value.length} times: ${endpoint} takes it once (only list fields, named with "[]", repeat)`, { param: name.slice(0, 64) });
    }
  }
}

async function transcriptionOperation(request: FastifyRequest): Promise<NativeOperation> {
  if (!/^multipart\/form-data\b/i.test(request.headers['content-type'] ?? '')) {
    throw new GatewayError('unsupported_media_type', 'send /v1/audio/transcriptions as multipart/form-data with the audio in "file" (as the OpenAI SDKs do)');
  }
  const { fields, upload } = await readMultipart(request.raw, { fileFields: ['file'], maxFileBytes: MAX_AUDIO_BYTES });
  if (!upload) throw new GatewayError('invalid_request', '"file" is required: the audio to transcribe', { param: 'file' });
  assertSingleValued(fields, '/audio/transcriptions');
  const model = single(fields.model);
  if (!model) throw new GatewayError('invalid_request', '"model" is required: the name of a model group of this gateway', { param: 'model' });
  if (single(fields.stream) === 'true') throw new GatewayError('invalid_request', '"stream": true is not supported on /audio/transcriptions through this gateway', { param: 'stream' });
  // OpenAI bills whole seconds (whisper-1 reports `usage.seconds` rounded up): so does the gateway when it reads the file's own duration.
  const duration = wavDuration(upload.chunks, upload.bytes);
  if (duration.kind === 'invalid') throw new GatewayError('invalid_request', `"file" is a WAV file whose header cannot be read as a decoder reads it: ${duration.problem}`, { param: 'file' });
  const seconds = duration.kind === 'seconds' ? Math.ceil(duration.seconds) : undefined;
  const format = single(fields.response_format) ?? 'json';
  if (!JSON_TRANSCRIPT_FORMATS.has(format) && !TEXT_TRANSCRIPT_FORMATS.has(format)) throw new GatewayError('invalid_request', `"response_format" must be one of json, verbose_json, diarized_json, text, srt, vtt`, { param: 'response_format' });
  if (TEXT_TRANSCRIPT_FORMATS.has(format) && seconds === undefined) {
    throw new GatewayError('invalid_request', `"response_format": "${format}" answers without the audio's duration, which the call is billed by: send a WAV file (PCM or float samples), or ask for json or verbose_json`, { param: 'response_format' });
  }
  const units: MediaUnits = { inputSeconds: seconds ?? audioSecondsBound(upload.bytes) };
  const withDuration: Upload = seconds === undefined ? upload : { ...upload, seconds };
  return { kind: 'native', api: 'openai', method: 'audio/transcriptions', costKind: 'embeddings', request: { model, native: fields, units }, upload: withDuration };
}

/** OpenAI's limits on images to edit: 16 images (gpt-image-1) and a mask, up to 50 MB each. */
export const MAX_EDIT_IMAGES = 16;
export const MAX_EDIT_FILE_BYTES = 50 * 1024 * 1024;
/** All the files of one edit request together: what the gateway holds in memory for one call. */
export const MAX_EDIT_TOTAL_BYTES = 64 * 1024 * 1024;

async function imageEditsOperation(request: FastifyRequest): Promise<NativeOperation> {
  if (!/^multipart\/form-data\b/i.test(request.headers['content-type'] ?? '')) {
    throw new GatewayError('unsupported_media_type', 'send /v1/images/edits as multipart/form-data with the image(s) in "image" (as the OpenAI SDKs do)');
  }
  const { fields, uploads } = await readMultipart(request.raw, { fileFields: ['image', 'image[]', 'mask'], maxFileBytes: MAX_EDIT_FILE_BYTES, maxFiles: MAX_EDIT_IMAGES + 1, maxTotalBytes: MAX_EDIT_TOTAL_BYTES });
  const images = uploads.filter((upload) => upload.field !== 'mask');
  if (images.length === 0) throw new GatewayError('invalid_request', '"image" is required: the image to edit (or several, for gpt-image-1)', { param: 'image' });
  if (uploads.filter((upload) => upload.field === 'mask').length > 1) throw new GatewayError('invalid_request', 'send at most one "mask"', { param: 'mask' });
  assertSingleValued(fields, '/images/edits');
  const prompt = single(fields.prompt);
  if (!prompt) throw new GatewayError('invalid_request', '"prompt" is required: a text description of the edit', { param: 'prompt' });
  // OpenAI's default model for edits, as the API takes a request without one.
  const model = single(fields.model) ?? 'dall-e-2';
  if (single(fields.stream) === 'true') throw new GatewayError('invalid_request', '"stream": true is not supported on /images/edits through this gateway', { param: 'stream' });
  const n = fields.n === undefined ? 1 : Number(single(fields.n));
  if (!Number.isInteger(n) || n < 1 || n > 10) throw new GatewayError('invalid_request', '"n" must be an integer from 1 to 10', { param: 'n' });
  const units: MediaUnits = { images: n, imageVariant: imageVariant({ quality: single(fields.quality), size: single(fields.size) }) };
  // gpt-image-1 bills output tokens (the most n images can take) and the input images' tokens, held
  // here as one more image's worth each, at the output price (above the input price).
  const maxTokens = (n + images.length) * MAX_IMAGE_OUTPUT_TOKENS;
  const files = [...images, ...uploads.filter((upload) => upload.field === 'mask')];
  return { kind: 'native', api: 'openai', method: 'images/edits', costKind: 'completion', request: { model, native: fields, units, max_tokens: maxTokens }, upload: files[0], uploads: files };
}

/**
 * `POST /v1/images/variations` as the relay takes it (multipart: one `image`, `model`, `n`, `size`,
 * …; dall-e-2 only): priced per image by size, like generations.
 */
async function imageVariationsOperation(request: FastifyRequest): Promise<NativeOperation> {
  const { fields, uploads } = await readMultipart(request.raw, { fileFields: ['image'], maxFileBytes: MAX_EDIT_FILE_BYTES });
  if (uploads.length === 0) throw new GatewayError('invalid_request', '"image" is required: the image to vary', { param: 'image' });
  assertSingleValued(fields, '/images/variations');
  const model = single(fields.model) ?? 'dall-e-2';
  const n = fields.n === undefined ? 1 : Number(single(fields.n));
  if (!Number.isInteger(n) || n < 1 || n > 10) throw new GatewayError('invalid_request', '"n" must be an integer from 1 to 10', { param: 'n' });
  const units: MediaUnits = { images: n, imageVariant: imageVariant({ size: single(fields.size) }) };
  return { kind: 'native', api: 'openai', method: 'images/variations', costKind: 'completion', request: { model, native: fields, units, max_tokens: n * MAX_IMAGE_OUTPUT_TOKENS }, upload: uploads[0], uploads };
}

/**
 * Relayed paths billed per media unit (images, characters, search units): built as their own routes
 * build them, so the reservation holds what the call can bill (a relayed dall-e image is not free
 * to reserve because it reports no tokens) and the bound on what is billed is the same.
 */
const RELAYED_MEDIA = new Map<string, (raw: unknown) => NativeOperation>([
  ['images/generations', imagesOperation],
  ['moderations', moderationsOperation],
  ['rerank', rerankOperation],
]);
const RELAYED_MULTIPART_MEDIA = new Map<string, (request: FastifyRequest) => Promise<NativeOperation>>([
  ['images/edits', imageEditsOperation],
  ['images/variations', imageVariationsOperation],
  ['audio/transcriptions', transcriptionOperation],
]);

/**
 * Paths the relay refuses before anything reaches the upstream: their answer (audio) or their body
 * (a file upload sent as JSON) is one the relay cannot bill as the provider does, and a provider
 * that synthesizes speech and then answers bytes the JSON relay cannot read bills work recorded as
 * free. Their own routes bill them.
 */
function assertRelayBillable(path: string, multipart: boolean): void {
  const shown = path.slice(0, 128);
  if (path === 'audio/transcriptions' && multipart) return;
  if (/^audio(\/|$)/.test(path)) {
    throw new GatewayError('invalid_request', `POST /openai/v1/${shown} is not relayed: its answer (audio, or a transcript billed by the audio's length) is billed by the route made for it — use /v1/audio/speech for speech and /v1/audio/transcriptions (multipart/form-data) for transcripts; translations are not served`);
  }
  if (!multipart && /^images\/(edits|variations)$/.test(path)) {
    throw new GatewayError('unsupported_media_type', `send ${path === 'images/edits' ? '/v1/images/edits' : '/openai/v1/images/variations'} as multipart/form-data with the image(s) (as the OpenAI SDKs do): the gateway prices the images it reads`);
  }
}

/** `/openai/v1/{path}`: a relative path of letters, digits, `-`, `_`, `.` segments (no `..`, no query). */
async function passThroughOperation(path: string, raw: unknown, unbilledTools = false, ownPreviousResponse = false): Promise<NativeOperation> {
  if (!/^[A-Za-z0-9_-]+(\/[A-Za-z0-9_.-]+)*$/.test(path) || path.split('/').some((segment) => segment === '.' || segment === '..')) {
    throw new GatewayError('invalid_request', `"/openai/v1/${path}" is not a path this gateway relays`);
  }
  const body = bodyOf(raw, `/openai/v1/${path}`);
  // Relayed as it came, to any OpenAI-format deployment (a self-hosted one fetches media URLs itself).
  await assertNoInternalMediaInBody(body, unbilledTools);
  // A chat or Responses file part by id reads the shared account's files, as the refused `files` endpoints would.
  assertNoProviderFilesInBody(body, unbilledTools);
  assertServiceTierBillable(body);
  // OpenRouter's model fallbacks and provider routing pick another model or price than the group's.
  if (!unbilledTools) assertNoUpstreamRouting(body);
  if (path === 'responses') {
    assertForegroundResponse(body, unbilledTools);
    // previous_response_id, conversation, prompt, item_reference: the shared account's stored objects
    // (previous_response_id, when the relay records its responses' owners, is checked by relayedResponse).
    assertNoProviderStoredObjects(body, unbilledTools, !ownPreviousResponse);
  }
  // Audio answers are billed per audio token, unpriced here: an admin key may relay them, at its own risk.
  if (path === 'chat/completions' && !unbilledTools) assertNoAudioOutput(body);
  // So is a completion run after its answer (xAI's deferred completions).
  if (path === 'chat/completions') assertNoDeferredChat(body, unbilledTools);
  // So is web search billed per result (OpenRouter plugins, xAI search_parameters), on either text API.
  if ((path === 'chat/completions' || path === 'completions') && !unbilledTools) assertNoUnbilledSearch(body);
  // Azure On Your Data: the resource's identity reads the operator's indexes, its embeddings unbilled.
  if (path === 'chat/completions' && !unbilledTools) assertNoProviderDataSources(body);
  // Tools the provider runs and bills per use (Groq's browser_search, code_interpreter).
  if (path === 'chat/completions' && !unbilledTools) assertChatToolsBillable(body);
  const media = RELAYED_MEDIA.get(path);
  if (media) return media(body);
  const maxTokens = [body.max_output_tokens, body.max_completion_tokens, body.max_tokens].find((value) => typeof value === 'number' && Number.isInteger(value) && value > 0) as number | undefined;
  // Completions generated (and billed) per prompt: `n`, or `best_of` when larger — each up to the
  // output limit (the prompts of a prompt array are counted from `native`: generatedChoices).
  const choices = choicesPerPrompt(body);
  // Responses built-in tools: web_search / file_search calls billed per call, unpriced ones refused (gateway/server-tools.ts).
  const tools = path === 'responses' ? responsesServerTools(body, unbilledTools) : undefined;
  // Streams are relayed as the upstream writes them (openAIRelayFormat).
  return { kind: 'native', api: 'openai', method: path, costKind: 'completion', request: { model: modelOf(body), native: tools?.native ?? body, stream: body.stream === true, ...(maxTokens !== undefined ? { max_tokens: maxTokens } : {}), ...(choices > 1 ? { n: choices } : {}), ...(tools?.units ? { units: tools.units } : {}), ...(tools?.serverTools ? { serverTools: tools.serverTools } : {}) } };
}

/**
 * The OpenAI API paths any key with llm.execute may relay: calls that keep nothing on the provider
 * account the gateway's deployments share (beyond what only its id can reach) and are billed in their
 * own answer. Every other call — GET, DELETE, uploads, and POSTs such as `batches`, `files`,
 * `fine_tuning/jobs`, `vector_stores`, `assistants` — lists, changes or deletes the account's
 * resources, which other keys' callers made, or starts work billed after the answer, which no
 * reservation can bound: those need llm.manage_providers (an admin key).
 */
const PER_CALL_PATH = /^(chat\/completions|completions|embeddings|responses|moderations|images\/generations)$/;

function assertRelayAllowed(request: FastifyRequest, method: 'GET' | 'DELETE' | 'POST', path: string, multipart: boolean): void {
  if (method === 'POST' && !multipart && PER_CALL_PATH.test(path)) return;
  if (can(request, 'llm.manage_providers')) return;
  throw new GatewayError(
    'permission_denied',
    `${method} /openai/v1/${path.slice(0, 128)} reaches resources of the provider account this gateway's keys share (files, batches, fine-tuning jobs, stored objects) or starts work billed after its answer: it needs the llm.manage_providers permission (an admin key). Other keys may relay POST /openai/v1/{chat/completions, completions, embeddings, responses, moderations, images/generations} (and use /v1/images/edits, /v1/audio/speech and /v1/audio/transcriptions)`,
  );
}

/**
 * `POST /openai/v1/responses` for a key without llm.manage_providers: a `previous_response_id` is
 * relayed only when it names a response this relay recorded for the caller's owner scope (the one
 * /v1/responses files responses under: the team, else the key) — any other id, another tenant's
 * included, answers 404 before any upstream call; and the id of the Response the upstream answers
 * (the JSON body's `id`, or the stream's `response.created`) is recorded for that owner unless the
 * request sent `store: false`. A record is a content-less row of stored_responses, its id and owner
 * prefixed (relayRecordId, relayOwnerScope) so that /v1/responses never reads it nor is displaced by
 * it; it goes with the usage retention (stored responses' sweep) and with its owner.
 */
async function relayedResponse(gateway: Gateway, store: ResponseStore, call: CallContext, operation: NativeOperation): Promise<GatewayResult> {
  const body = operation.request.native;
  const owner = relayOwner(responseOwnerOf(call.caller));
  const previous = typeof body.previous_response_id === 'string' && body.previous_response_id !== '' ? body.previous_response_id : null;
  if (previous !== null && !(await store.find(relayRecordId(previous), owner))) {
    throw new GatewayError(
      'not_found',
      `previous_response_id "${previous.slice(0, 128)}" names no response created through this relay for this key's team (or this key) — another caller's, one created with "store": false, an expired one or one not made through this gateway is not continued: send the conversation in "input", or use /v1/responses`,
      { param: 'previous_response_id' },
    );
  }
  if (body.store === false) return gateway.native(call, operation, openAIRelayFormat);
  const record = (id: string) => store.save({ id: relayRecordId(id), owner: owner.scope, created_at: call.startedAtEpochMs, model: operation.request.model, previous_response_id: previous, response: '', input_items: '', conversation: '' });
  // A JSON answer is recorded once it is the answer the client gets (a post_call guardrail may still refuse it); a stream's id as it goes out.
  let held: string | undefined;
  let returned = false;
  const result = await gateway.native(call, operation, openAIRelayResponsesFormat((id) => (returned ? record(id) : (held = id))));
  returned = true;
  if (held !== undefined && (result.kind !== 'json' || (result.status >= 200 && result.status < 300))) record(held);
  return result;
}

/** OpenAI's limit on one request body is far above this: the gateway holds an upload in memory, so it takes at most this much. */
export const MAX_RELAY_UPLOAD_BYTES = 64 * 1024 * 1024;

/**
 * The model group a modelless `/openai/v1/*` call (GET, DELETE, a multipart upload) goes to: the
 * `x-switchboard-model` header, else the `model` query parameter, else the first model group (in
 * config order) the caller's key may use that has an `openai/…` deployment. The chain then checks
 * the key's allow-list on it like on any call.
 */
function relayModelOf(request: FastifyRequest, catalog: ModelCatalog): string {
  const header = single(request.headers['x-switchboard-model']);
  if (header) return header;
  const query = (request.query ?? {}) as Record<string, unknown>;
  if (typeof query.model === 'string' && query.model !== '') return query.model;
  const principal = callOf(request).caller.principal;
  const first = catalog.listedModels().find(({ id, group }) => group.available.some((deployment) => deployment.provider === 'openai') && (!principal || isModelAllowed(principal, id, group.name)));
  if (!first) throw new GatewayError('invalid_request', 'no model group this key may use has an OpenAI deployment to relay this call to; name one in the x-switchboard-model header', { param: 'model' });
  return first.id;
}

/** The client's query string without `model` (the gateway's routing parameter), as `?…` or ''. */
function relayQueryOf(url: string): string {
  const at = url.indexOf('?');
  if (at < 0) return '';
  const params = new URLSearchParams(url.slice(at + 1));
  params.delete('model');
  const text = params.toString();
  return text === '' ? '' : `?${text}`;
}

function relayPath(path: string): string {
  if (!/^[A-Za-z0-9_-]+(\/[A-Za-z0-9_.-]+)*$/.test(path) || path.split('/').some((segment) => segment === '.' || segment === '..')) {
    throw new GatewayError('invalid_request', `"/openai/v1/${path.slice(0, 128)}" is not a path this gateway relays`);
  }
  return path;
}

function restOperation(request: FastifyRequest, catalog: ModelCatalog, httpMethod: 'GET' | 'DELETE'): NativeOperation {
  const path = relayPath((request.params as { '*': string })['*']);
  // A file's content is bytes, not the JSON answer this relay reads.
  if (httpMethod === 'GET' && /(^|\/)content$/.test(path)) throw new GatewayError('invalid_request', `GET /openai/v1/${path} answers a file's bytes, which this relay does not serve (it relays JSON answers)`);
  return { kind: 'native', api: 'openai-rest', method: path, costKind: 'embeddings', request: { model: relayModelOf(request, catalog), native: {} }, httpMethod, query: relayQueryOf(request.url) };
}

async function multipartRelayOperation(request: FastifyRequest, catalog: ModelCatalog): Promise<NativeOperation> {
  const path = relayPath((request.params as { '*': string })['*']);
  const { fields, uploads } = await readMultipart(request.raw, { fileFields: ['file'], maxFileBytes: MAX_RELAY_UPLOAD_BYTES, maxFiles: 1 });
  if (uploads.length === 0) throw new GatewayError('invalid_request', '"file" is required: the file to upload', { param: 'file' });
  return { kind: 'native', api: 'openai-rest', method: path, costKind: 'embeddings', request: { model: relayModelOf(request, catalog), native: fields }, upload: uploads[0], uploads, query: relayQueryOf(request.url) };
}

export function registerOpenAIMediaRoutes(app: FastifyInstance, deps: { gateway: Gateway; catalog: ModelCatalog; responses?: ResponseStore; vectorStoreGranted?: VectorStoreGrantLookup }): void {
  const { gateway, catalog, responses } = deps;
  const routes: Array<[string, Endpoint, (body: unknown) => NativeOperation]> = [
    ['images/generations', 'images/generations', imagesOperation],
    ['moderations', 'moderations', moderationsOperation],
    ['rerank', 'rerank', rerankOperation],
    ['audio/speech', 'audio/speech', speechOperation],
  ];
  for (const prefix of ['/v1', '']) {
    for (const [path, endpoint, build] of routes) {
      app.post(`${prefix}/${path}`, { config: { endpoint }, preHandler: requirePermission('llm.execute') }, async (request, reply) => {
        // Media by URL (vLLM's multimodal rerank documents, moderation images) is fetched by the upstream.
        await assertNoInternalMediaInBody(request.body, can(request, 'llm.manage_providers'));
        return sendResult(reply, await gateway.native(callOf(request), build(request.body), openAIResponseFormat));
      });
    }
  }
  // Multipart uploads are read by the route itself, as they arrive (multipart-upload.ts).
  void app.register(async (scope) => {
    scope.addContentTypeParser('multipart/form-data', (_request, _payload, done) => done(null, undefined));
    for (const prefix of ['/v1', '']) {
      scope.post(`${prefix}/audio/transcriptions`, { config: { endpoint: 'audio/transcriptions' }, preHandler: requirePermission('llm.execute') }, async (request, reply) => {
        return sendResult(reply, await gateway.native(callOf(request), await transcriptionOperation(request), openAIResponseFormat));
      });
    }
    for (const prefix of ['/v1', '']) {
      scope.post(`${prefix}/images/edits`, { config: { endpoint: 'images/edits' }, preHandler: requirePermission('llm.execute') }, async (request, reply) => {
        return sendResult(reply, await gateway.native(callOf(request), await imageEditsOperation(request), openAIResponseFormat));
      });
    }
    // JSON bodies route on their `model`; a multipart upload (POST /files) as a modelless call.
    scope.post('/openai/v1/*', { config: { endpoint: 'openai/passthrough' }, preHandler: requirePermission('llm.execute') }, async (request, reply) => {
      const path = (request.params as { '*': string })['*'];
      const multipart = /^multipart\/form-data\b/i.test(request.headers['content-type'] ?? '');
      assertRelayBillable(path, multipart);
      assertRelayAllowed(request, 'POST', path, multipart);
      const media = multipart ? RELAYED_MULTIPART_MEDIA.get(path) : undefined;
      if (media) return sendResult(reply, await gateway.native(callOf(request), await media(request), openAIRelayFormat));
      if (multipart) return sendResult(reply, await gateway.native(callOf(request), await multipartRelayOperation(request, catalog), openAIRelayFormat));
      const admin = can(request, 'llm.manage_providers');
      // Responses of other keys: previous_response_id reaches only the caller's own (relayedResponse).
      const ownResponses = path === 'responses' && !admin && responses !== undefined;
      const operation = await passThroughOperation(path, request.body, admin, ownResponses);
      // file_search reads the shared account's vector stores: only those granted to the key or its team (auth/vector-store-access.ts).
      if (path === 'responses') await assertVectorStoresGranted(vectorStoresOfResponses(operation.request.native), callOf(request).caller.principal, admin, deps.vectorStoreGranted);
      if (ownResponses) return sendResult(reply, await relayedResponse(gateway, responses, callOf(request), operation));
      return sendResult(reply, await gateway.native(callOf(request), operation, openAIRelayFormat));
    });
  });
  for (const httpMethod of ['GET', 'DELETE'] as const) {
    app.route({
      method: httpMethod,
      url: '/openai/v1/*',
      config: { endpoint: 'openai/passthrough' },
      preHandler: requirePermission('llm.execute'),
      handler: async (request, reply) => {
        assertRelayAllowed(request, httpMethod, (request.params as { '*': string })['*'], false);
        return sendResult(reply, await gateway.native(callOf(request), restOperation(request, catalog, httpMethod), openAIRelayFormat));
      },
    });
  }
}
