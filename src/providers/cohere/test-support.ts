/** Shared by this folder's unit tests: a deployment, fixtures, and the replay of SSE fixtures. */
import { readFileSync } from 'node:fs';
import { SseParser } from '../shared/sse.js';
import type { ChatChunk, ChatStreamTransform, Deployment } from '../types.js';

export function cohereDeployment(overrides: Partial<Deployment> = {}): Deployment {
  return {
    id: 'cohere-test',
    modelName: 'command',
    provider: 'cohere',
    upstreamModel: 'command-a-03-2025',
    apiBase: 'https://api.cohere.com',
    apiKey: 'co-test-key',
    headers: {},
    defaultParams: {},
    modelInfo: {},
    available: true,
    ...overrides,
  };
}

export function fixture(name: string): string {
  return readFileSync(new URL(`./fixtures/${name}`, import.meta.url), 'utf8');
}

export function replay(transform: ChatStreamTransform, sse: string, sliceBytes = 37): ChatChunk[] {
  const parser = new SseParser();
  const chunks: ChatChunk[] = [];
  const bytes = new TextEncoder().encode(sse);
  for (let start = 0; start < bytes.length; start += sliceBytes) {
    for (const event of parser.push(bytes.subarray(start, start + sliceBytes))) {
      for (const emitted of transform.push(event.data, event.event)) chunks.push(emitted.chunk);
      if (transform.error) return chunks;
    }
  }
  for (const event of parser.end()) for (const emitted of transform.push(event.data, event.event)) chunks.push(emitted.chunk);
  for (const emitted of transform.end()) chunks.push(emitted.chunk);
  return chunks;
}
