/** The URL of a Vertex AI model method: `{base}/v1/projects/{p}/locations/{l}/publishers/{publisher}/models/{model}:{method}`. */
import type { Deployment } from '../types.js';
import type { VertexPublisher } from './settings.js';

/**
 * An api_base that already names the model (LiteLLM's form for a proxy: `…/publishers/google/models/gemini-2.0-flash`)
 * only gets `:method`; otherwise the resource path is built from the project and location.
 * `vertex_ai_beta/` deployments call the v1beta1 API, as LiteLLM does.
 */
export function vertexMethodUrl(target: Deployment, publisher: Exclude<VertexPublisher, 'openapi'>, method: string, query = ''): string {
  if (/\/publishers\/[^/]+\/models\/[^/]+$/.test(target.apiBase)) return `${target.apiBase}:${method}${query}`;
  const vertex = target.vertex;
  if (!vertex) throw new Error(`deployment ${target.id} has no Vertex AI project and location`);
  const version = target.provider === 'vertex_ai_beta' ? 'v1beta1' : 'v1';
  // "@" stays as written: Vertex model versions are named claude-3-5-sonnet-v2@20241022.
  const resource = `projects/${encodeURIComponent(vertex.project)}/locations/${encodeURIComponent(vertex.location)}/publishers/${publisher}/models/${encodeURIComponent(target.upstreamModel).replace(/%40/g, '@')}`;
  return `${target.apiBase}/${version}/${resource}:${method}${query}`;
}

/**
 * The OpenAI-compatible chat endpoint of the project's partner models:
 * `{base}/v1/projects/{p}/locations/{l}/endpoints/openapi/chat/completions` (an api_base that
 * already ends in `/endpoints/openapi` only gets `/chat/completions`).
 */
export function vertexOpenApiUrl(target: Deployment): string {
  if (/\/endpoints\/openapi$/.test(target.apiBase)) return `${target.apiBase}/chat/completions`;
  const vertex = target.vertex;
  if (!vertex) throw new Error(`deployment ${target.id} has no Vertex AI project and location`);
  const version = target.provider === 'vertex_ai_beta' ? 'v1beta1' : 'v1';
  return `${target.apiBase}/${version}/projects/${encodeURIComponent(vertex.project)}/locations/${encodeURIComponent(vertex.location)}/endpoints/openapi/chat/completions`;
}

/** Google's model in the Model Garden (`GET {base}/v1/publishers/google/models/{model}`): a read that bills nothing. */
export function vertexPublisherModelUrl(target: Deployment): string {
  const version = target.provider === 'vertex_ai_beta' ? 'v1beta1' : 'v1';
  const base = target.apiBase.replace(/\/(v1|v1beta1)\/projects\/.*$/, '');
  return `${base}/${version}/publishers/google/models/${encodeURIComponent(target.upstreamModel).replace(/%40/g, '@')}`;
}
