/**
 * `/v1/rerank` (Cohere / Jina format, as LiteLLM serves it) on `cohere/…` deployments, through
 * Cohere's own Rerank API v2 (`POST {api_base}/v2/rerank`, docs.cohere.com/reference/rerank):
 * `model`, `query`, `documents` (strings: a document object's `text`, other objects as their JSON),
 * `top_n`, `max_tokens_per_doc`. The answer (`results` of `index` and `relevance_score`, `meta`
 * with `billed_units.search_units`, which the call is billed by) comes back as Cohere wrote it;
 * with `return_documents: true` (which v2 no longer takes) each result gets its `document.text`
 * from the request, as LiteLLM answers. v1-only fields (`rank_fields`, `max_chunks_per_doc`) and
 * anything else v2 does not take are refused by name.
 */
import { isJsonObject } from '../../json-object.js';
import { GatewayError } from '../../errors.js';
import type { NativeCall } from '../native.js';
import type { Deployment, UpstreamRequest } from '../types.js';
import { cohereHeaders, cohereUrl } from './request.js';

type Json = Record<string, unknown>;

/** The fields of a `/v1/rerank` body Cohere's v2 API takes as they are. */
const PASSED = ['query', 'top_n', 'max_tokens_per_doc'] as const;
/** Read by the gateway itself, not sent. */
const GATEWAY = new Set(['model', 'documents', 'return_documents']);

function documentText(document: unknown, index: number): string {
  if (typeof document === 'string') return document;
  if (isJsonObject(document)) return typeof document.text === 'string' ? document.text : JSON.stringify(document);
  throw new GatewayError('invalid_request', `documents[${index}] must be a string or an object (its "text", or its JSON)`, { param: `documents[${index}]` });
}

export function buildCohereRerankRequest(call: NativeCall, target: Deployment): UpstreamRequest {
  const { body } = call;
  for (const name of Object.keys(body)) {
    if (!GATEWAY.has(name) && !(PASSED as readonly string[]).includes(name)) {
      throw new GatewayError('invalid_request', `"${name.slice(0, 64)}" is not supported on Cohere's Rerank API v2 (it takes query, documents, top_n, max_tokens_per_doc; return_documents is answered by the gateway)`, { param: name.slice(0, 64) });
    }
  }
  const documents = Array.isArray(body.documents) ? body.documents.map(documentText) : [];
  const upstream: Json = { model: target.upstreamModel, query: body.query, documents };
  for (const name of PASSED) if (name !== 'query' && body[name] !== undefined) upstream[name] = body[name];
  return { url: cohereUrl(target.apiBase, 'rerank'), method: 'POST', headers: cohereHeaders(target), body: JSON.stringify(upstream), framing: 'json' };
}

/** Whether an upstream's result index names a document of the request (not 0.5, -1 or past the end: such a result is relayed as written). */
function isDocumentIndex(index: unknown, count: number): index is number {
  return Number.isInteger(index) && (index as number) >= 0 && (index as number) < count;
}

/** With `return_documents: true`, each result with its document's text; else undefined (relayed as received). */
export function cohereRerankAnswer(call: NativeCall, body: unknown): unknown {
  if (call.body.return_documents !== true || !isJsonObject(body) || !Array.isArray(body.results)) return undefined;
  const documents = Array.isArray(call.body.documents) ? call.body.documents : [];
  return {
    ...body,
    results: body.results.map((result) => {
      if (!isJsonObject(result) || !isDocumentIndex(result.index, documents.length)) return result;
      return { ...result, document: { text: documentText(documents[result.index], result.index) } };
    }),
  };
}
