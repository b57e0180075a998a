import type { Deployment } from '../types.js';

/** A Vertex AI deployment for this folder's unit tests. */
export function vertexDeployment(overrides: Partial<Deployment> = {}): Deployment {
  return {
    id: 'vertex-test',
    modelName: 'vertex-gemini',
    provider: 'vertex_ai',
    upstreamModel: 'gemini-2.0-flash-001',
    apiBase: 'https://europe-west4-aiplatform.googleapis.com',
    headers: {},
    defaultParams: {},
    modelInfo: {},
    available: true,
    vertex: { project: 'acme-prod', location: 'europe-west4', credentials: '{"type":"service_account"}' },
    ...overrides,
  };
}
