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
import { keptWithEntry, stringBytes } from './store.js';

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

/** The whole stream a hit replays, in the call's format. */
function replayed(format: ResponseFormat, entry: CacheEntry, response: ChatResponse, includeUsage: boolean): Replay {
  const encode = (): Replay => {
    const encoder = format.stream({ includeUsage });
    const chunks = responseToChunks(response);
    return { text: encoder.chunks(chunks.map((chunk) => ({ chunk }))) + encoder.end({ usage: entry.usage, last: chunks[chunks.length - 1], usageForwarded: false }), contentType: encoder.contentType };
  };
  // Other formats (Anthropic's, a guardrail's checking wrapper) may hold per-call state: encoded each time.
  if (format !== openAIResponseFormat) return encode();
  // OpenAI's replay holds nothing of the call: written once per stored entry and usage choice, kept
  // with the local store's entry and counted toward its bound (store.ts keptWithEntry).
  return keptWithEntry(entry, includeUsage ? 'openai-sse-usage' : 'openai-sse', encode, replayBytes);
}

function replayBytes(replay: Replay): number {
  // The content type is one of the format's constants, shared by every replay.
  return stringBytes(replay.text);
}

/** OpenAI's JSON of a cached chat answer, written once per stored entry (kept and counted with it, as a replay is). */
function openAIBody(entry: CacheEntry, response: ChatResponse): string {
  return keptWithEntry(entry, 'openai-json', () => JSON.stringify(response), stringBytes);
}

/** Adds the cache's headers to what a miss (or a call that bypassed the cache) returned. */
export function withCacheHeaders(result: GatewayResult, state: 'miss' | 'bypass', key: string | undefined): GatewayResult {
  result.headers['x-switchboard-cache'] = state;
  if (key) result.headers['x-litellm-cache-key'] = key;
  return result;
}
