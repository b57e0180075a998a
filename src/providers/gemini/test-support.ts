import type { Deployment } from '../types.js';

/** The Gemini deployment the unit tests build requests for and parse answers of. */
export function geminiDeployment(overrides: Partial<Deployment> = {}): Deployment {
  return {
    id: 'gemini-test',
    modelName: 'gemini-flash',
    provider: 'gemini',
    upstreamModel: 'gemini-2.0-flash',
    apiBase: 'https://generativelanguage.googleapis.com',
    apiKey: 'AIza-test-key',
    headers: {},
    defaultParams: {},
    modelInfo: {},
    available: true,
    ...overrides,
  };
}
