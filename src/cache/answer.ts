/**
 * A cache hit written as the call asked for it: JSON, or a stream replayed in the call's format
 * (OpenAI chunks with the usage chunk when asked and [DONE]; Anthropic events on /v1/messages).
 * And the other way: the entry to store from what a miss returned.
 */
import type { ServerResponse } from 'node:http';
import { formatUsd } from '../billing/cost.js';
import type { GatewayResult } from '../gateway/call-context.js';
import type { Call } from '../gateway/call.js';
import { openAIResponseFormat, type ResponseFormat } from '../gateway/response-format.js';
import type { ChatResponse } from '../providers/types.js';
import { responseToChunks, type CacheEntry } from './entry.js';

export interface HitFacts {
  key: string;
  /** Set for a semantic hit: the cosine similarity of the cached prompt. */
  similarity?: number;
}

export function hitHeaders(call: Call, entry: CacheEntry, hit: HitFacts): Record<string, string> {
  const headers: Record<string, string> = {
    'x-switchboard-call-id': call.context.callId,
    'x-switchboard-model-group': call.resolution?.group.name ?? entry.group,
    'x-switchboard-cache': hit.similarity === undefined ? 'hit' : 'semantic',
    'x-litellm-cache-key': hit.key,
    'x-switchboard-response-cost': formatUsd(0),
    'x-switchboard-cache-age': String(Math.max(0, Math.floor((Date.now() - entry.createdAt) / 1000))),
  };
  if (hit.similarity !== undefined) headers['x-switchboard-cache-similarity'] = hit.similarity.toFixed(4);
  const ticket = call.admission?.ticket;
  if (ticket) Object.assign(headers, ticket.headers);
  return headers;
}

/** The cached chat or completion answer as the call wants it. */
export function hitResult(call: Call, entry: CacheEntry, hit: HitFacts): GatewayResult {
  const headers = hitHeaders(call, entry, hit);
  if (entry.kind === 'completion') return { kind: 'json', status: 200, headers, body: JSON.stringify(entry.body) };
  const response = entry.body as ChatResponse;
  if (!call.stream) return { kind: 'json', status: 200, headers, body: call.format.openAI ? openAIBody(entry, response) : call.format.chat(response, undefined) };
  const request = call.operation.request as { stream_options?: { include_usage?: unknown } };
  const { text, contentType } = replayed(call.format, entry, response, request.stream_options?.include_usage === true);
  headers['content-type'] = contentType;
  headers['cache-control'] = 'no-cache';
  headers.connection = 'keep-alive';
  headers['x-accel-buffering'] = 'no';
  return {
    kind: 'stream',
    headers,
    pump: (serverResponse: ServerResponse) =>
      new Promise<void>((resolve) => {
        serverResponse.end(text, () => resolve());
        serverResponse.once('close', () => resolve());
      }),
  };
}

interface Replay {
  text: string;
  contentType: string;
}

/** OpenAI's SSE replay of a cached answer, written once per entry object and usage choice (it holds nothing of the call). */
const openAIReplays = new WeakMap<CacheEntry, { withUsage?: Replay; withoutUsage?: Replay }>();

/** The whole stream a hit replays, in the call's format. */
function replayed(format: ResponseFormat, entry: CacheEntry, response: ChatResponse, includeUsage: boolean): Replay {
  const encode = (): Replay => {
    const encoder = format.stream({ includeUsage });
    const chunks = responseToChunks(response);
    return { text: encoder.chunks(chunks.map((chunk) => ({ chunk }))) + encoder.end({ usage: entry.usage, last: chunks[chunks.length - 1], usageForwarded: false }), contentType: encoder.contentType };
  };
  // Other formats (Anthropic's, a guardrail's checking wrapper) may hold per-call state: encoded each time.
  if (format !== openAIResponseFormat) return encode();
  let replays = openAIReplays.get(entry);
  if (replays === undefined) openAIReplays.set(entry, (replays = {}));
  return includeUsage ? (replays.withUsage ??= encode()) : (replays.withoutUsage ??= encode());
}

/** OpenAI's JSON of a cached chat answer, written once per entry object (local entries are shared by their hits). */
const openAIBodies = new WeakMap<CacheEntry, string>();
function openAIBody(entry: CacheEntry, response: ChatResponse): string {
  let body = openAIBodies.get(entry);
  if (body === undefined) openAIBodies.set(entry, (body = JSON.stringify(response)));
  return body;
}

/** Adds the cache's headers to what a miss (or a call that bypassed the cache) returned. */
export function withCacheHeaders(result: GatewayResult, state: 'miss' | 'bypass', key: string | undefined): GatewayResult {
  result.headers['x-switchboard-cache'] = state;
  if (key) result.headers['x-litellm-cache-key'] = key;
  return result;
}
