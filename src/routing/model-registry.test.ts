import { describe, expect, it } from 'vitest';
import { isSecretField } from './model-registry.js';

describe('isSecretField', () => {
  it('seals credentials and nothing else', () => {
    for (const field of ['api_key', 'aws_access_key_id', 'aws_secret_access_key', 'aws_session_token', 'vertex_credentials', 'azure_ad_token', 'client_secret', 'password', 'headers', 'extra_headers', 'token']) {
      expect(isSecretField(field), field).toBe(true);
    }
    for (const field of ['model', 'api_base', 'api_version', 'rpm', 'tpm', 'max_tokens', 'input_cost_per_token', 'output_cost_per_token', 'timeout', 'organization', 'vertex_project', 'aws_region_name']) {
      expect(isSecretField(field), field).toBe(false);
    }
  });
});
