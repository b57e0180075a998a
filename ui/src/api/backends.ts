/**
 * Local backends (Ollama, vLLM, …): GET /backends, POST /backends/{id}/models/pull,
 * DELETE /backends/{id}/models/{model}. Types are the server's (src/http/backend-views.ts).
 */
import type { BackendView, BackendsAnswer, PullView } from '../../../src/http/backend-views';
import { request } from './http';

export type { BackendView, PullView };

export async function listBackends(): Promise<BackendView[]> {
  return (await request<BackendsAnswer>('/backends')).backends;
}

export function pullModel(backendId: string, model: string): Promise<PullView> {
  return request<PullView>(`/backends/${encodeURIComponent(backendId)}/models/pull`, { method: 'POST', body: { model } });
}

export function removeModel(backendId: string, model: string): Promise<unknown> {
  // Model names may hold "/" (hf.co/org/repo:tag): the route takes the rest of the path.
  return request(`/backends/${encodeURIComponent(backendId)}/models/${model.split('/').map(encodeURIComponent).join('/')}`, { method: 'DELETE' });
}
