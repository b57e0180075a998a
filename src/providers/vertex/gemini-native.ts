/**
 * The `/gemini` route's countTokens and embedding methods on Vertex AI deployments, through
 * Vertex's native equivalents (as the @google/genai SDK maps them in Vertex mode):
 * - `countTokens` → `…/publishers/google/models/{model}:countTokens` with `contents` (a Gemini API
 *   body's `contents`, or its `generateContentRequest`'s `contents`, `systemInstruction`, `tools`,
 *   `generationConfig`); Vertex answers `totalTokens` (and `totalBillableCharacters`), relayed;
 * - `embedContent` / `batchEmbedContents` on Vertex's text embedding models → `:predict` with one
 *   instance per content (`content` its text parts joined, `task_type`, `title`) and
 *   `parameters.outputDimensionality`; the predictions come back in the Gemini API's shape
 *   (`{embedding: {values}}`, `{embeddings: [{values}]}`), usage from each prediction's
 *   `statistics.token_count`.
 * Fields neither API form can carry over are refused by name.
 */
import { isJsonObject } from '../../json-object.js';
import { GatewayError } from '../../errors.js';
import type { NativeCall } from '../native.js';
import type { Deployment, UpstreamRequest, Usage } from '../types.js';
import { isEmbeddingVector } from '../shared/embedding-vector.js';
import { vertexRequest } from './request.js';
import { vertexMethodUrl } from './urls.js';

type Json = Record<string, unknown>;

function invalid(param: string, message: string): GatewayError {
  return new GatewayError('invalid_request', message, { param });
}

/** The fields of a generateContent request Vertex's countTokens takes. */
const COUNT_FIELDS = ['contents', 'systemInstruction', 'tools', 'generationConfig'] as const;

function countTokensBody(body: Json): Json {
  for (const name of Object.keys(body)) if (name !== 'contents' && name !== 'generateContentRequest') throw invalid(name.slice(0, 64), `"${name.slice(0, 64)}" is not a field of countTokens`);
  if (body.contents !== undefined && body.generateContentRequest !== undefined) throw invalid('contents', 'send either "contents" or "generateContentRequest", not both');
  if (body.contents !== undefined) return { contents: body.contents };
  const request = body.generateContentRequest;
  if (!isJsonObject(request)) throw invalid('generateContentRequest', '"contents" or "generateContentRequest" is required');
  const out: Json = {};
  for (const [name, value] of Object.entries(request)) {
    if (name === 'model') continue;
    if (!(COUNT_FIELDS as readonly string[]).includes(name)) throw invalid(`generateContentRequest.${name.slice(0, 64)}`, `generateContentRequest.${name.slice(0, 64)} is not counted by Vertex AI's countTokens (it takes contents, systemInstruction, tools, generationConfig)`);
    out[name] = value;
  }
  return out;
}

const EMBED_FIELDS = new Set(['model', 'content', 'taskType', 'title', 'outputDimensionality']);

function instanceOf(request: unknown, param: string): { instance: Json; dimensions: unknown } {
  if (!isJsonObject(request)) throw invalid(param, `${param} must be an EmbedContentRequest object`);
  for (const name of Object.keys(request)) if (!EMBED_FIELDS.has(name)) throw invalid(`${param}.${name.slice(0, 64)}`, `${param}.${name.slice(0, 64)} is not supported on Vertex AI embeddings (content, taskType, title, outputDimensionality)`);
  const parts = isJsonObject(request.content) && Array.isArray(request.content.parts) ? request.content.parts : undefined;
  if (!parts || parts.length === 0) throw invalid(`${param}.content`, `${param}.content.parts is required`);
  const texts = parts.map((part, index) => {
    if (isJsonObject(part) && typeof part.text === 'string') return part.text;
    throw invalid(`${param}.content.parts[${index}]`, `${param}.content.parts[${index}] is not a text part: Vertex AI's text embedding models embed text only`);
  });
  const instance: Json = { content: texts.join('\n') };
  if (request.taskType !== undefined) instance.task_type = request.taskType;
  if (request.title !== undefined) instance.title = request.title;
  return { instance, dimensions: request.outputDimensionality };
}

function predictBody(call: NativeCall): Json {
  const { body } = call;
  let requests: Array<{ instance: Json; dimensions: unknown }>;
  if (call.method === 'batchEmbedContents') {
    for (const name of Object.keys(body)) if (name !== 'requests') throw invalid(name.slice(0, 64), `"${name.slice(0, 64)}" is not a field of batchEmbedContents`);
    if (!Array.isArray(body.requests) || body.requests.length === 0) throw invalid('requests', '"requests" must be a non-empty array');
    requests = body.requests.map((request, index) => instanceOf(request, `requests[${index}]`));
  } else {
    requests = [instanceOf(body, 'body')];
  }
  // One `parameters` per predict call: every request must ask for the same dimensions.
  const dimensions = requests[0].dimensions;
  if (requests.some((request) => request.dimensions !== dimensions)) throw invalid('requests', 'Vertex AI takes one outputDimensionality per call: send the same value in every request');
  const out: Json = { instances: requests.map((request) => request.instance) };
  if (dimensions !== undefined) out.parameters = { outputDimensionality: dimensions };
  return out;
}

export function isVertexEmbedMethod(method: string): boolean {
  return method === 'embedContent' || method === 'batchEmbedContents';
}

/** countTokens or an embedding method on a Vertex AI deployment; undefined for generateContent. */
export function vertexGeminiNativeRequest(call: NativeCall, target: Deployment): UpstreamRequest | undefined {
  if (call.method === 'countTokens') return vertexRequest(target, vertexMethodUrl(target, 'google', 'countTokens'), countTokensBody(call.body), 'json');
  if (isVertexEmbedMethod(call.method)) return vertexRequest(target, vertexMethodUrl(target, 'google', 'predict'), predictBody(call), 'json');
  return undefined;
}

interface Prediction {
  embeddings?: { values?: unknown; statistics?: { token_count?: unknown } };
}

function predictionsOf(body: unknown, target: Deployment): Prediction[] {
  const predictions = isJsonObject(body) ? body.predictions : undefined;
  if (!Array.isArray(predictions) || predictions.some((item) => !isJsonObject(item) || !isJsonObject(item.embeddings) || !isEmbeddingVector(item.embeddings.values))) {
    throw new GatewayError('upstream_invalid_response', `${target.provider} returned a predict response without "predictions[].embeddings.values" (lists of numbers)`, { provider: target.provider });
  }
  return predictions as Prediction[];
}

/** The predictions in the Gemini API's shape. */
export function vertexEmbedAnswer(call: NativeCall, body: unknown, target: Deployment): unknown {
  const embeddings = predictionsOf(body, target).map((item) => ({ values: item.embeddings!.values }));
  return call.method === 'batchEmbedContents' ? { embeddings } : { embedding: embeddings[0] };
}

/** Tokens Vertex counted for every input; undefined when it did not report them all (unknown, not free). */
export function vertexEmbedUsage(body: unknown): Usage | undefined {
  const predictions = isJsonObject(body) && Array.isArray(body.predictions) ? (body.predictions as Prediction[]) : undefined;
  if (!predictions) return undefined;
  const counts = predictions.map((item) => item?.embeddings?.statistics?.token_count);
  if (!counts.every((count): count is number => typeof count === 'number' && Number.isFinite(count) && count >= 0)) return undefined;
  const tokens = counts.reduce((sum, count) => sum + count, 0);
  return { promptTokens: tokens, completionTokens: 0, totalTokens: tokens };
}
