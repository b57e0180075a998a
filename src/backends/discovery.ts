/**
 * Reads what a backend serves: Ollama's GET /api/tags (pulled models) and GET /api/ps (models in
 * memory), or an OpenAI-compatible server's GET {base}/models (vLLM adds `max_model_len`).
 * The parsers are pure and keep only fields of the documented types.
 */
import { isJsonObject } from '../json-object.js';
import type { UpstreamClient } from '../gateway/upstream.js';
import type { BackendInventory, BackendModel, BackendRef, LoadedModel } from './backend-types.js';

type Json = Record<string, unknown>;

const text = (value: unknown): string | undefined => (typeof value === 'string' && value !== '' ? value : undefined);
const count = (value: unknown): number | undefined => (typeof value === 'number' && Number.isFinite(value) && value >= 0 ? value : undefined);
function listOf(body: unknown, field: string): Json[] {
  if (!isJsonObject(body) || !Array.isArray(body[field])) throw new Error(`the answer has no "${field}" list`);
  return (body[field] as unknown[]).filter(isJsonObject);
}

/** GET /api/tags: {"models": [{name, model, modified_at, size, digest, details: {family, parameter_size, quantization_level}}]} */
export function parseOllamaTags(body: unknown): BackendModel[] {
  return listOf(body, 'models').flatMap((entry) => {
    const name = text(entry.name) ?? text(entry.model);
    if (!name) return [];
    const details = isJsonObject(entry.details) ? entry.details : {};
    return [{ name, size: count(entry.size), digest: text(entry.digest), modifiedAt: text(entry.modified_at), family: text(details.family), parameterSize: text(details.parameter_size), quantization: text(details.quantization_level) }];
  });
}

/** GET /api/ps: {"models": [{name, model, size, size_vram, expires_at, …}]} */
export function parseOllamaPs(body: unknown): LoadedModel[] {
  return listOf(body, 'models').flatMap((entry) => {
    const name = text(entry.name) ?? text(entry.model);
    return name ? [{ name, size: count(entry.size), sizeVram: count(entry.size_vram), expiresAt: text(entry.expires_at) }] : [];
  });
}

/** GET /v1/models: {"object": "list", "data": [{id, object: "model", owned_by, root, max_model_len}]} */
export function parseOpenAIModels(body: unknown): BackendModel[] {
  return listOf(body, 'data').flatMap((entry) => {
    const name = text(entry.id);
    return name ? [{ name, maxModelLen: count(entry.max_model_len) }] : [];
  });
}

export interface DiscoveryOptions {
  upstream: UpstreamClient;
  timeoutMs: number;
  /** Headers the backend's deployments send (a key for a vLLM started with --api-key). */
  headers: Record<string, string>;
}

async function getJson(url: string, options: DiscoveryOptions): Promise<unknown> {
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(new Error(`no answer within ${Math.round(options.timeoutMs / 1000)}s`)), options.timeoutMs);
  try {
    const response = await options.upstream.send({ url, method: 'GET', headers: { accept: 'application/json', ...options.headers }, framing: 'json' }, controller.signal, 'backend');
    const body = await response.body.text();
    if (response.statusCode !== 200) throw new Error(`GET ${new URL(url).pathname} answered ${response.statusCode}${body ? `: ${body.slice(0, 200)}` : ''}`);
    try {
      return JSON.parse(body);
    } catch {
      throw new Error(`GET ${new URL(url).pathname} did not answer JSON`);
    }
  } catch (error) {
    if (controller.signal.aborted) throw controller.signal.reason as Error;
    throw error;
  } finally {
    clearTimeout(timer);
  }
}

/** The backend's inventory now; an unreachable backend gives `reachable: false` with the reason and no models. */
export async function discover(backend: BackendRef, options: DiscoveryOptions, now = Date.now): Promise<BackendInventory> {
  const base = { backendId: backend.id, kind: backend.kind, baseUrl: backend.baseUrl };
  try {
    if (backend.kind === 'ollama') {
      const [tags, ps] = await Promise.all([getJson(`${backend.baseUrl}/api/tags`, options), getJson(`${backend.baseUrl}/api/ps`, options).catch(() => undefined)]);
      const at = now();
      return { ...base, reachable: true, models: parseOllamaTags(tags), loaded: ps === undefined ? undefined : parseOllamaPs(ps), checkedAt: at, updatedAt: at };
    }
    const models = parseOpenAIModels(await getJson(`${backend.baseUrl}/models`, options));
    const at = now();
    return { ...base, reachable: true, models, checkedAt: at, updatedAt: at };
  } catch (error) {
    const at = now();
    return { ...base, reachable: false, error: (error as Error).message.slice(0, 300), models: [], checkedAt: at, updatedAt: at };
  }
}
