import { describe, expect, it } from 'vitest';
import { ByokDirectory } from './byok.js';

describe('the provider of a stored own key', () => {
  it('is the provider\'s id, aliases resolved (a cohere_chat key serves cohere deployments)', () => {
    expect(ByokDirectory.provider('Cohere_Chat')).toBe('cohere');
    expect(ByokDirectory.provider('openai')).toBe('openai');
  });

  it('refuses Bedrock, which signs with AWS credentials and takes no key', () => {
    expect(() => ByokDirectory.provider('bedrock')).toThrow(/takes no API key/);
  });
});
