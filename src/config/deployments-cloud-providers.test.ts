import { describe, expect, it } from 'vitest';
import { buildDeployments } from './deployments.js';
import { parseConfig } from './load.js';

function deployments(yaml: string, env: Record<string, string> = {}) {
  const loaded = parseConfig(yaml, env, 'test.yaml');
  expect(loaded.issues.filter((issue) => issue.fatal)).toEqual([]);
  return buildDeployments(loaded);
}

describe('Vertex AI deployments', () => {
  it('are built with their project, location, credentials and regional base URL, priced at Vertex prices', () => {
    const [gemini, claude] = deployments(
      `
model_list:
  - model_name: g
    litellm_params: {model: vertex_ai/gemini-2.0-flash-001, vertex_project: acme, vertex_location: europe-west4, vertex_credentials: {type: service_account, project_id: other}}
  - model_name: c
    litellm_params: {model: vertex_ai_beta/claude-3-5-sonnet-v2@20241022}
`,
      { VERTEXAI_PROJECT: 'env-project', VERTEXAI_LOCATION: 'global' },
    );
    expect(gemini).toMatchObject({ provider: 'vertex_ai', upstreamModel: 'gemini-2.0-flash-001', apiBase: 'https://europe-west4-aiplatform.googleapis.com', available: true });
    expect(gemini.vertex).toEqual({ project: 'acme', location: 'europe-west4', credentials: '{"type":"service_account","project_id":"other"}' });
    expect(gemini.prices).toEqual({ inputPerToken: 150_000, outputPerToken: 600_000, cacheReadPerToken: 37_500, audioInputPerToken: 1_000_000 });
    expect(claude).toMatchObject({ provider: 'vertex_ai_beta', apiBase: 'https://aiplatform.googleapis.com', vertex: { project: 'env-project', location: 'global' }, available: true });
    expect(claude.prices).toMatchObject({ inputPerToken: 3_000_000, outputPerToken: 15_000_000 });
  });

  it('of one group in two regions get distinct ids', () => {
    const [east, west] = deployments(`
model_list:
  - model_name: claude
    litellm_params: {model: vertex_ai/claude-sonnet-4@20250514, vertex_project: acme, vertex_location: us-east5}
  - model_name: claude
    litellm_params: {model: vertex_ai/claude-sonnet-4@20250514, vertex_project: acme, vertex_location: europe-west1}
`);
    expect(east.id).not.toBe(west.id);
    expect(west.id).not.toMatch(/-2$/);
    expect([east.apiBase, west.apiBase]).toEqual(['https://us-east5-aiplatform.googleapis.com', 'https://europe-west1-aiplatform.googleapis.com']);
  });

  it('without a project, or of a publisher not served, are listed as unavailable with the reason', () => {
    const [noProject, llama] = deployments(`
model_list:
  - model_name: g
    litellm_params: {model: vertex_ai/gemini-2.5-pro}
  - model_name: l
    litellm_params: {model: vertex_ai/llama-3.1-405b-instruct-maas, vertex_project: acme}
`);
    expect(noProject).toMatchObject({ available: false, unavailableReason: expect.stringMatching(/no Google Cloud project: set litellm_params.vertex_project or VERTEXAI_PROJECT/) });
    expect(llama).toMatchObject({ available: false, unavailableReason: expect.stringMatching(/"llama-3.1-405b-instruct-maas" is not served/) });
  });
});

describe('Azure AI and text-completion-openai deployments', () => {
  it('read AZURE_AI_API_BASE / AZURE_AI_API_KEY, and the OpenAI key for completions models', () => {
    const [azure, instruct, missing] = deployments(
      `
model_list:
  - model_name: a
    litellm_params: {model: azure_ai/Phi-4}
  - model_name: t
    litellm_params: {model: text-completion-openai/babbage-002}
  - model_name: m
    litellm_params: {model: azure_ai/mistral-large-2407, api_base: "https://other.services.ai.azure.com/models", api_key: os.environ/UNSET_AZURE_KEY}
`,
      { AZURE_AI_API_BASE: 'https://acme.services.ai.azure.com/models', AZURE_AI_API_KEY: 'az-key', OPENAI_API_KEY: 'sk-openai' },
    );
    expect(azure).toMatchObject({ provider: 'azure_ai', apiBase: 'https://acme.services.ai.azure.com/models', apiKey: 'az-key', available: true, prices: { inputPerToken: 125_000, outputPerToken: 500_000 } });
    expect(instruct).toMatchObject({ provider: 'text-completion-openai', apiBase: 'https://api.openai.com/v1', apiKey: 'sk-openai', prices: { inputPerToken: 400_000, outputPerToken: 400_000 } });
    expect(missing.available).toBe(false);
  });
});

describe('provider-only litellm_params on other providers', () => {
  it('are reported as warnings, never silently ignored', () => {
    const loaded = parseConfig(
      `
model_list:
  - model_name: g
    litellm_params: {model: vertex_ai/gemini-2.5-pro, vertex_project: acme, api_key: sk-unused}
  - model_name: o
    litellm_params: {model: openai/gpt-4o, api_key: sk, vertex_location: us-east5}
`,
      {},
      'test.yaml',
    );
    const warnings = loaded.issues.filter((issue) => issue.severity === 'warning').map((issue) => issue.message);
    expect(warnings).toContain('api_key is not used by vertex_ai deployments: they authenticate with an OAuth token from vertex_credentials (or Application Default Credentials)');
    expect(warnings).toContain('vertex_location is used only by vertex_ai/ deployments; openai ignores it');
  });

  it('a Groq Compound deployment is named: its tools are billed per use, beside the tokens the gateway charges', () => {
    const loaded = parseConfig(
      `
model_list:
  - model_name: research
    litellm_params: {model: groq/groq/compound, api_key: gsk}
  - model_name: quick
    litellm_params: {model: groq/compound-mini, api_key: gsk}
  - model_name: plain
    litellm_params: {model: groq/llama-3.3-70b-versatile, api_key: gsk}
  - model_name: other
    litellm_params: {model: together_ai/groq/compound-lookalike, api_key: tk}
`,
      {},
      'test.yaml',
    );
    const warnings = loaded.issues.filter((issue) => issue.severity === 'warning');
    expect(warnings.map((issue) => [issue.path.join('.'), issue.message.split(':')[0]])).toEqual([
      ['model_list.0.litellm_params.model', 'groq/compound'],
      ['model_list.1.litellm_params.model', 'compound-mini'],
    ]);
    expect(warnings[0].message).toContain('run unbilled');
  });
});
