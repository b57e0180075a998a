import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, expect, it } from 'vitest';
import { resolveVertex, vertexApiBase, vertexPublisher } from './settings.js';

describe('Vertex AI settings', () => {
  it('take project and location from litellm_params first, then VERTEXAI_PROJECT / VERTEXAI_LOCATION', () => {
    const env = { VERTEXAI_PROJECT: 'env-project', VERTEXAI_LOCATION: 'asia-northeast1' };
    expect(resolveVertex({ vertex_project: 'p1', vertex_location: 'europe-west4' }, env)).toEqual({ target: { project: 'p1', location: 'europe-west4' } });
    expect(resolveVertex({}, env)).toEqual({ target: { project: 'env-project', location: 'asia-northeast1' } });
    expect(resolveVertex({ vertex_ai_project: 'p2', vertex_ai_location: 'us-east5' }, env)).toEqual({ target: { project: 'p2', location: 'us-east5' } });
  });

  it('default the location to us-central1 and the project to the credentials\' project_id', () => {
    const credentials = JSON.stringify({ type: 'service_account', project_id: 'from-key' });
    expect(resolveVertex({ vertex_credentials: credentials }, {})).toEqual({ target: { project: 'from-key', location: 'us-central1', credentials } });
  });

  it('read a credentials file given by path (vertex_credentials, VERTEXAI_CREDENTIALS, GOOGLE_APPLICATION_CREDENTIALS)', () => {
    const path = join(mkdtempSync(join(tmpdir(), 'vertex-settings-')), 'key.json');
    writeFileSync(path, JSON.stringify({ type: 'service_account', project_id: 'file-project' }));
    expect(resolveVertex({}, { GOOGLE_APPLICATION_CREDENTIALS: path }).target).toEqual({ project: 'file-project', location: 'us-central1', credentials: path });
    expect(resolveVertex({}, { VERTEXAI_CREDENTIALS: path, GOOGLE_APPLICATION_CREDENTIALS: '/nowhere.json' }).target?.credentials).toBe(path);
  });

  it('say what is missing or wrong instead of failing at the first call', () => {
    expect(resolveVertex({}, {}).problem).toMatch(/no Google Cloud project: set litellm_params.vertex_project or VERTEXAI_PROJECT/);
    expect(resolveVertex({ vertex_project: 'p', vertex_credentials: '/does/not/exist.json' }, {}).problem).toMatch(/cannot be read \(ENOENT\)/);
    expect(resolveVertex({ vertex_project: 'p', vertex_credentials: '{not json' }, {}).problem).toBe('vertex_credentials is not valid JSON');
    expect(resolveVertex({ vertex_project: 'p', vertex_location: 'us-central1/../x' }, {}).problem).toMatch(/is not a Google Cloud location/);
  });

  it('use the regional endpoint, and the global one for location "global"', () => {
    expect(vertexApiBase('us-east5')).toBe('https://us-east5-aiplatform.googleapis.com');
    expect(vertexApiBase('global')).toBe('https://aiplatform.googleapis.com');
  });

  it('serve Google\'s Gemini and embedding models, Anthropic\'s Claude and the partner models of the OpenAI-compatible endpoint, nothing else', () => {
    expect(vertexPublisher('gemini-2.5-pro')).toBe('google');
    expect(vertexPublisher('text-embedding-005')).toBe('google');
    expect(vertexPublisher('claude-sonnet-4@20250514')).toBe('anthropic');
    expect(vertexPublisher('meta/llama-3.1-405b-instruct-maas')).toBe('openapi');
    expect(vertexPublisher('mistral-large@2407')).toBeUndefined();
    // Imagen is Google's, through :predict (images only).
    expect(vertexPublisher('imagen-3.0-generate-002')).toBe('google');
    expect(vertexPublisher('imagegeneration@006')).toBe('google');
  });
});
