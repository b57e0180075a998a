/**
 * Semantic lookup: on a miss of the exact key, the prompt's embedding (from the configured model
 * group, through the gateway's own embeddings path, so the call is checked and recorded like any
 * other) is compared with the prompts cached for the same model group, scope, namespace and other
 * request fields; the most similar at or above the threshold answers. Vectors live in this process
 * (an index bounded by bytes) or in Redis (one bounded list per group, scanned: see README).
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import type { Call } from '../gateway/call.js';
import type { CacheEntry } from './entry.js';
import { answerFields, cacheKey, canonicalJson } from './key.js';

/** The prompt's embedding, or undefined when it could not be had (the lookup is then skipped). */
export type Embed = (call: Call, text: string) => Promise<Float32Array | undefined>;
export type LoadEntry = (key: string, maxAgeMs: number | undefined) => Promise<CacheEntry | undefined>;

export interface Where {
  group: string;
  scope: string;
  namespace: string | undefined;
}

interface Vectors {
  /** Candidates of one index: entry key and vector. */
  candidates(index: string): Promise<Array<{ key: string; vector: Float32Array }>>;
  add(index: string, key: string, vector: Float32Array, ttlMs: number): Promise<void>;
  clear(): Promise<void>;
}

/** Candidates per group kept in Redis (the scan is bounded by it). */
export const REDIS_CANDIDATES_PER_INDEX = 1000;
const PROMPT_FIELDS = new Set(['messages', 'prompt']);

export class SemanticIndex {
  /** One embedding per call, computed at lookup and reused when the answer is stored. */
  private readonly vectors = new WeakMap<object, Float32Array | null>();

  constructor(
    private readonly store: Vectors,
    private readonly threshold: number,
    private readonly load: LoadEntry,
    private readonly logger: Logger,
  ) {}

  static local(maxBytes: number, threshold: number, load: LoadEntry, logger: Logger): SemanticIndex {
    return new SemanticIndex(new LocalVectors(maxBytes), threshold, load, logger);
  }

  static redis(client: Redis, prefix: string, threshold: number, load: LoadEntry, logger: Logger): SemanticIndex {
    return new SemanticIndex(new RedisVectors(client, prefix), threshold, load, logger);
  }

  async lookup(call: Call, where: Where & { maxAgeMs: number | undefined }, embed: Embed): Promise<{ entry: CacheEntry; key: string; similarity: number } | undefined> {
    const vector = await this.vectorOf(call, embed);
    if (!vector) return undefined;
    let best: { key: string; similarity: number } | undefined;
    for (const candidate of await this.store.candidates(indexOf(call, where))) {
      const similarity = cosine(vector, candidate.vector);
      if (similarity >= this.threshold && (!best || similarity > best.similarity)) best = { key: candidate.key, similarity };
    }
    if (!best) return undefined;
    const entry = await this.load(best.key, where.maxAgeMs);
    return entry ? { entry, key: best.key, similarity: best.similarity } : undefined;
  }

  async add(call: Call, key: string, where: Where, ttlMs: number, embed: Embed): Promise<void> {
    const vector = await this.vectorOf(call, embed);
    if (!vector) return;
    try {
      await this.store.add(indexOf(call, where), key, vector, ttlMs);
    } catch (error) {
      this.logger.warn({ err: (error as Error).message }, 'semantic cache: could not index the prompt');
    }
  }

  /** Forgets every vector (POST /cache/flushall). */
  clear(): Promise<void> {
    return this.store.clear();
  }

  close(): Promise<void> {
    return this.store.clear();
  }

  private async vectorOf(call: Call, embed: Embed): Promise<Float32Array | undefined> {
    const known = this.vectors.get(call.context);
    if (known !== undefined) return known ?? undefined;
    let vector: Float32Array | undefined;
    const text = promptText(call);
    if (text === undefined) {
      this.vectors.set(call.context, null);
      return undefined;
    }
    try {
      vector = await embed(call, text);
    } catch (error) {
      this.logger.warn({ callId: call.context.callId, err: (error as Error).message }, 'semantic cache: the prompt could not be embedded; exact matches only for this call');
    }
    this.vectors.set(call.context, vector ?? null);
    return vector;
  }
}

/** The index a call's prompt belongs to: same group, scope, namespace and every other field. */
function indexOf(call: Call, where: Where): string {
  return cacheKey({ kind: `semantic-${call.operation.kind}`, group: where.group, scope: where.scope, namespace: where.namespace, fields: answerFields(call.operation.request as Record<string, unknown>, PROMPT_FIELDS) });
}

/**
 * The prompt as text: each message as "role: content" and its other fields as JSON, or the completion prompt. Undefined when a
 * message carries a part that is not text (an image, audio, a file): its embedding would compare
 * URLs or base64, which say nothing of what the media holds, so the same question about another
 * image or document would be answered with the first one's answer. Such prompts match exactly only,
 * as do completion prompts that are not one string (token ids, a list of prompts).
 */
export function promptText(call: Call): string | undefined {
  const { operation } = call;
  // A completion prompt of token ids embeds as a list of numerals, which says nothing of the text
  // they encode (unrelated prompts of as many ids look alike); a list of prompts answers choice by
  // choice in its order, which an embedding of the list blurs. Only a prompt of text is compared.
  if (operation.kind === 'completion') return typeof operation.request.prompt === 'string' ? operation.request.prompt : undefined;
  if (operation.kind !== 'chat') return '';
  let text = '';
  for (const message of operation.request.messages) {
    const content = message.content;
    let body = '';
    if (typeof content === 'string') body = content;
    else if (Array.isArray(content)) {
      for (const part of content as unknown[]) {
        const { type, text: partText } = (part ?? {}) as { type?: unknown; text?: unknown };
        if ((type !== 'text' && type !== undefined) || typeof partText !== 'string') return undefined;
        body += partText;
      }
    }
    // Every other field of the message (tool calls with their arguments, a legacy function_call, the
    // speaker's name, tool_call_id, …) is compared too: without it an assistant turn that called a tool
    // is "assistant: " whatever it called, and conversations that differ only there matched exactly.
    let extra: Record<string, unknown> | undefined;
    for (const name in message) {
      if (name !== 'role' && name !== 'content' && message[name] !== undefined && message[name] !== null) (extra ??= {})[name] = message[name];
    }
    text += `${text.length > 0 ? '\n' : ''}${message.role}: ${body}${extra ? ` ${canonicalJson(extra)}` : ''}`;
  }
  return text;
}

export function cosine(a: Float32Array, b: Float32Array): number {
  if (a.length !== b.length || a.length === 0) return 0;
  let dot = 0;
  let na = 0;
  let nb = 0;
  for (let index = 0; index < a.length; index++) {
    dot += a[index]! * b[index]!;
    na += a[index]! * a[index]!;
    nb += b[index]! * b[index]!;
  }
  return na === 0 || nb === 0 ? 0 : dot / Math.sqrt(na * nb);
}

interface LocalVector {
  index: string;
  vector: Float32Array;
  expiresAt: number;
  bytes: number;
}

/** Vectors in this process: one map in insertion order, the oldest evicted past the byte bound. */
export class LocalVectors implements Vectors {
  private readonly all = new Map<string, LocalVector>();
  private readonly byIndex = new Map<string, Set<string>>();
  private used = 0;

  constructor(private readonly maxBytes: number) {}

  candidates(index: string): Promise<Array<{ key: string; vector: Float32Array }>> {
    const now = Date.now();
    const found: Array<{ key: string; vector: Float32Array }> = [];
    for (const key of this.byIndex.get(index) ?? []) {
      const item = this.all.get(key)!;
      if (item.expiresAt <= now) this.remove(key);
      else found.push({ key, vector: item.vector });
    }
    return Promise.resolve(found);
  }

  add(index: string, key: string, vector: Float32Array, ttlMs: number): Promise<void> {
    this.remove(key);
    const bytes = vector.byteLength + key.length * 2 + 128;
    if (bytes > this.maxBytes) return Promise.resolve();
    for (const oldest of this.all.keys()) {
      if (this.used + bytes <= this.maxBytes) break;
      this.remove(oldest);
    }
    this.all.set(key, { index, vector, expiresAt: Date.now() + ttlMs, bytes });
    let keys = this.byIndex.get(index);
    if (!keys) this.byIndex.set(index, (keys = new Set()));
    keys.add(key);
    this.used += bytes;
    return Promise.resolve();
  }

  bytes(): number {
    return this.used;
  }

  clear(): Promise<void> {
    this.all.clear();
    this.byIndex.clear();
    this.used = 0;
    return Promise.resolve();
  }

  private remove(key: string): void {
    const item = this.all.get(key);
    if (!item) return;
    this.all.delete(key);
    this.used -= item.bytes;
    const keys = this.byIndex.get(item.index);
    keys?.delete(key);
    if (keys && keys.size === 0) this.byIndex.delete(item.index);
  }
}

/** Vectors in Redis: a list per index (newest first, trimmed to REDIS_CANDIDATES_PER_INDEX), read whole and scanned. */
class RedisVectors implements Vectors {
  constructor(
    private readonly client: Redis,
    private readonly prefix: string,
  ) {}

  async candidates(index: string): Promise<Array<{ key: string; vector: Float32Array }>> {
    const items = await this.client.lrange(`${this.prefix}semantic:${index}`, 0, REDIS_CANDIDATES_PER_INDEX - 1);
    const now = Date.now();
    const found: Array<{ key: string; vector: Float32Array }> = [];
    for (const item of items) {
      const { k, v, e } = JSON.parse(item) as { k: string; v: string; e: number };
      if (e <= now) continue;
      // A copy: a decoded Buffer may sit at an offset a Float32Array cannot start at.
      const bytes = Uint8Array.from(Buffer.from(v, 'base64'));
      found.push({ key: k, vector: new Float32Array(bytes.buffer, 0, bytes.byteLength >> 2) });
    }
    return found;
  }

  async add(index: string, key: string, vector: Float32Array, ttlMs: number): Promise<void> {
    const name = `${this.prefix}semantic:${index}`;
    const item = JSON.stringify({ k: key, v: Buffer.from(vector.buffer, vector.byteOffset, vector.byteLength).toString('base64'), e: Date.now() + ttlMs });
    await this.client.multi().lpush(name, item).ltrim(name, 0, REDIS_CANDIDATES_PER_INDEX - 1).pexpire(name, Math.max(1, ttlMs)).exec();
  }

  async clear(): Promise<void> {
    // The lists live under the cache's key prefix: the store's flush deletes them with the entries.
  }
}
