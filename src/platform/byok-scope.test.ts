import { describe, expect, it } from 'vitest';
import { acceptsOwnKeys } from './byok-scope.js';

const deployment = (provider: string, apiBase: string, byok?: boolean) => ({ provider, apiBase, modelInfo: byok === undefined ? {} : { byok } });

describe('which deployments take a user\'s own key', () => {
  it('the provider\'s public API base, however it is spelled', () => {
    expect(acceptsOwnKeys(deployment('openai', 'https://api.openai.com/v1'))).toBe(true);
    expect(acceptsOwnKeys(deployment('openai', 'https://API.openai.com/v1/'))).toBe(true);
    expect(acceptsOwnKeys(deployment('anthropic', 'https://api.anthropic.com'))).toBe(true);
  });

  it('not an internal or other api_base, nor a look-alike host', () => {
    expect(acceptsOwnKeys(deployment('openai', 'http://10.0.0.5:8000/v1'))).toBe(false);
    expect(acceptsOwnKeys(deployment('openai', 'https://api.openai.com.attacker.example/v1'))).toBe(false);
    expect(acceptsOwnKeys(deployment('openai', 'https://api.openai.com/v1/proxy'))).toBe(false);
    expect(acceptsOwnKeys(deployment('openai', 'not a url'))).toBe(false);
  });

  it('not a provider whose default base is this machine, nor one without a default', () => {
    expect(acceptsOwnKeys(deployment('ollama', 'http://localhost:11434'))).toBe(false);
    expect(acceptsOwnKeys(deployment('hosted_vllm', 'http://vllm:8000/v1'))).toBe(false);
  });

  it('model_info.byok decides when set: true opts in anywhere, false opts out on the public base', () => {
    expect(acceptsOwnKeys(deployment('openai', 'http://10.0.0.5:8000/v1', true))).toBe(true);
    expect(acceptsOwnKeys(deployment('openai', 'https://api.openai.com/v1', false))).toBe(false);
  });

  it('never Bedrock, even marked: its calls are signed with the deployment\'s AWS credentials, not a key; Cohere on its public base', () => {
    expect(acceptsOwnKeys(deployment('bedrock', 'https://bedrock-runtime.us-east-1.amazonaws.com', true))).toBe(false);
    expect(acceptsOwnKeys(deployment('bedrock', 'https://bedrock-runtime.us-east-1.amazonaws.com'))).toBe(false);
    expect(acceptsOwnKeys(deployment('cohere', 'https://api.cohere.com'))).toBe(true);
  });
});
