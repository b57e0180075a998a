/**
 * Where a Vertex AI deployment runs (project, location, base URL) and which credentials sign its
 * calls, from litellm_params (`vertex_project`, `vertex_location`, `vertex_credentials`) and then
 * the environment, in LiteLLM's order. Read at config load, never on the request path.
 */
import { readFileSync } from 'node:fs';
import type { VertexTarget } from '../types.js';

/** LiteLLM's default location when neither vertex_location nor VERTEXAI_LOCATION is set. */
export const DEFAULT_VERTEX_LOCATION = 'us-central1';

/**
 * Which API a Vertex model is served by, from its name: Google's own (Gemini, embeddings),
 * Anthropic's (Claude), or the OpenAI-compatible endpoint of the partner models offered "as a
 * service" (`meta/llama-3.3-70b-instruct-maas`, `deepseek-ai/deepseek-r1-0528-maas`, …).
 */
export type VertexPublisher = 'google' | 'anthropic' | 'openapi';

/** Undefined for a model of an API the gateway does not speak (Mistral's rawPredict, …). Imagen is Google's (`:predict`, images only). */
export function vertexPublisher(model: string): VertexPublisher | undefined {
  const name = model.toLowerCase();
  if (name.startsWith('claude-')) return 'anthropic';
  if (/^[a-z0-9-]+\/[^/]+-maas$/.test(name)) return 'openapi';
  if (/^(gemini-|text-embedding-|text-multilingual-embedding-|textembedding-gecko|gemini-embedding-|imagen-|imagegeneration@)/.test(name)) return 'google';
  return undefined;
}

/** True for the embedding models Vertex serves through `:predict`. */
export function isVertexEmbeddingModel(model: string): boolean {
  return /^(text-embedding-|text-multilingual-embedding-|textembedding-gecko|gemini-embedding-)/.test(model.toLowerCase());
}

/** `https://{location}-aiplatform.googleapis.com`; the `global` location has no regional prefix. */
export function vertexApiBase(location: string): string {
  return location === 'global' ? 'https://aiplatform.googleapis.com' : `https://${location}-aiplatform.googleapis.com`;
}

export interface VertexParams {
  vertex_project?: unknown;
  vertex_location?: unknown;
  vertex_credentials?: unknown;
  /** LiteLLM's other spellings. */
  vertex_ai_project?: unknown;
  vertex_ai_location?: unknown;
  vertex_ai_credentials?: unknown;
}

export interface ResolvedVertex {
  target?: VertexTarget;
  /** Why the deployment cannot be called; undefined when it can. */
  problem?: string;
  /** The problem is only a value the environment would supply (VERTEXAI_PROJECT), not the config's own. */
  fromEnvironment?: boolean;
}

function text(value: unknown): string | undefined {
  return typeof value === 'string' && value.trim() !== '' ? value.trim() : undefined;
}

/** A service-account JSON given inline (LiteLLM accepts the JSON text itself) rather than a file path. */
export function isInlineCredentials(credentials: string): boolean {
  return credentials.trimStart().startsWith('{');
}

/** The project_id of a credentials file or inline JSON; undefined when it has none. */
function credentialsProject(credentials: string): { project?: string; problem?: string } {
  let json: string;
  try {
    json = isInlineCredentials(credentials) ? credentials : readFileSync(credentials, 'utf8');
  } catch (error) {
    return { problem: `vertex credentials file ${credentials} cannot be read (${(error as NodeJS.ErrnoException).code ?? String(error)})` };
  }
  try {
    const parsed = JSON.parse(json) as { project_id?: unknown; quota_project_id?: unknown };
    return { project: text(parsed.project_id) ?? text(parsed.quota_project_id) };
  } catch {
    return { problem: isInlineCredentials(credentials) ? 'vertex_credentials is not valid JSON' : `vertex credentials file ${credentials} is not valid JSON` };
  }
}

/**
 * The deployment's project, location and credentials. Credentials: vertex_credentials, else
 * VERTEXAI_CREDENTIALS, else GOOGLE_APPLICATION_CREDENTIALS, else Application Default Credentials
 * found by google-auth-library (gcloud login, the metadata server). Project: vertex_project, else
 * VERTEXAI_PROJECT, else the credentials' project_id.
 */
export function resolveVertex(params: VertexParams, env: Record<string, string | undefined>): ResolvedVertex {
  const credentials = text(params.vertex_credentials) ?? text(params.vertex_ai_credentials) ?? text(env.VERTEXAI_CREDENTIALS) ?? text(env.GOOGLE_APPLICATION_CREDENTIALS);
  const location = text(params.vertex_location) ?? text(params.vertex_ai_location) ?? text(env.VERTEXAI_LOCATION) ?? DEFAULT_VERTEX_LOCATION;
  if (!/^[a-z0-9-]+$/.test(location)) return { problem: `vertex_location "${location}" is not a Google Cloud location (such as us-central1, europe-west4 or global)` };
  let project = text(params.vertex_project) ?? text(params.vertex_ai_project) ?? text(env.VERTEXAI_PROJECT);
  if (credentials) {
    const read = credentialsProject(credentials);
    if (read.problem) return { problem: read.problem };
    project ??= read.project;
  }
  if (!project) return { problem: 'no Google Cloud project: set litellm_params.vertex_project or VERTEXAI_PROJECT (or use credentials that carry a project_id)', fromEnvironment: true };
  return { target: { project, location, ...(credentials ? { credentials } : {}) } };
}
