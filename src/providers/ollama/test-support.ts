/** Shared by this folder's unit tests: deployments, fixed ids, and replay of NDJSON fixtures. */
import { readFileSync } from 'node:fs';
import { NdjsonParser } from '../shared/sse.js';
import type { ChatChunk, ChatStreamTransform, Deployment, UpstreamRequest } from '../types.js';
import type { IdSource } from './response.js';

export function ollamaDeployment(overrides: Partial<Deployment> = {}): Deployment {
  return {
    id: 'ollama-test',
    modelName: 'local-llama',
    provider: 'ollama_chat',
    upstreamModel: 'llama3.2',
    apiBase: 'http://localhost:11434',
    headers: {},
    defaultParams: {},
    modelInfo: {},
    available: true,
    ...overrides,
  };
}

export const CREATED_NOW = 1_700_000_000;

/** Ids that make emitted chunks exact: completion "chatcmpl-fixed", tool calls "call_fixed_<n>". */
export const fixedIds: IdSource = { completionId: () => 'chatcmpl-fixed', nowSeconds: () => CREATED_NOW };

export function fixture(name: string): string {
  return readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
}

/** Feeds NDJSON text through the relay's parser in small slices (as the network would). */
export function replay(transform: ChatStreamTransform, ndjson: string, sliceBytes = 29): ChatChunk[] {
  const parser = new NdjsonParser();
  const chunks: ChatChunk[] = [];
  const bytes = new TextEncoder().encode(ndjson);
  for (let offset = 0; offset < bytes.length; offset += sliceBytes) {
    for (const line of parser.push(bytes.slice(offset, offset + sliceBytes))) chunks.push(...transform.push(line).map((emitted) => emitted.chunk));
  }
  for (const line of parser.end()) chunks.push(...transform.push(line).map((emitted) => emitted.chunk));
  chunks.push(...transform.end().map((emitted) => emitted.chunk));
  return chunks;
}

/** The JSON body an upstream request carries. */
export function bodyOf(request: UpstreamRequest): unknown {
  return JSON.parse(request.body ?? 'null');
}

/** `created_at` of a fixture line as the Unix seconds OpenAI uses. */
export function seconds(createdAt: string): number {
  return Math.floor(Date.parse(createdAt) / 1000);
}
