import { describe, expect, it } from 'vitest';
import { parseConfig } from './load.js';
import { buildDeployments } from './deployments.js';
import { resolveAws } from './aws-credentials.js';

describe('AWS credentials of Bedrock deployments', () => {
  it('takes keys, token and region from litellm_params, and the regional endpoint', () => {
    expect(resolveAws({ aws_access_key_id: 'AKID', aws_secret_access_key: 'SECRET', aws_session_token: 'TOKEN', aws_region_name: 'eu-west-1' }, { AWS_ACCESS_KEY_ID: 'OTHER' })).toEqual({
      aws: { accessKeyId: 'AKID', secretAccessKey: 'SECRET', sessionToken: 'TOKEN', region: 'eu-west-1' },
      apiBase: 'https://bedrock-runtime.eu-west-1.amazonaws.com',
    });
  });

  it('falls back to the standard AWS environment variables (AWS_REGION before AWS_DEFAULT_REGION)', () => {
    expect(resolveAws({}, { AWS_ACCESS_KEY_ID: 'AKID', AWS_SECRET_ACCESS_KEY: 'SECRET', AWS_SESSION_TOKEN: 'TOKEN', AWS_REGION: 'us-west-2', AWS_DEFAULT_REGION: 'us-east-1' })).toEqual({
      aws: { accessKeyId: 'AKID', secretAccessKey: 'SECRET', sessionToken: 'TOKEN', region: 'us-west-2' },
      apiBase: 'https://bedrock-runtime.us-west-2.amazonaws.com',
    });
    expect(resolveAws({}, { AWS_ACCESS_KEY_ID: 'A', AWS_SECRET_ACCESS_KEY: 'S', AWS_DEFAULT_REGION: 'us-east-1' })).toMatchObject({ aws: { region: 'us-east-1' } });
  });

  it('never attaches an environment session token to keys from the config', () => {
    expect(resolveAws({ aws_access_key_id: 'AKID', aws_secret_access_key: 'SECRET', aws_region_name: 'us-east-1' }, { AWS_SESSION_TOKEN: 'ENV-TOKEN' })).toEqual({
      aws: { accessKeyId: 'AKID', secretAccessKey: 'SECRET', region: 'us-east-1' },
      apiBase: 'https://bedrock-runtime.us-east-1.amazonaws.com',
    });
  });

  it('uses api_base, then aws_bedrock_runtime_endpoint, over the regional endpoint', () => {
    const keys = { aws_access_key_id: 'A', aws_secret_access_key: 'S', aws_region_name: 'us-east-1' };
    expect(resolveAws({ ...keys, aws_bedrock_runtime_endpoint: 'https://vpce-1.bedrock-runtime.us-east-1.vpce.amazonaws.com' }, {})).toMatchObject({ apiBase: 'https://vpce-1.bedrock-runtime.us-east-1.vpce.amazonaws.com' });
    expect(resolveAws({ ...keys, api_base: 'http://127.0.0.1:9', aws_bedrock_runtime_endpoint: 'https://x.example' }, {})).toMatchObject({ apiBase: 'http://127.0.0.1:9' });
  });

  it('names what is missing: region, or one half of a key pair', () => {
    expect(resolveAws({ aws_access_key_id: 'A', aws_secret_access_key: 'S' }, {})).toMatchObject({ problem: expect.stringMatching(/no AWS region/) });
    expect(resolveAws({ aws_access_key_id: 'A', aws_region_name: 'us-east-1' }, { AWS_SECRET_ACCESS_KEY: 'S' })).toMatchObject({ problem: expect.stringMatching(/must both be set/) });
    expect(resolveAws({ aws_region_name: 'us-east-1' }, {})).toMatchObject({ problem: expect.stringMatching(/no AWS credentials/) });
  });

  it('a Bedrock model without credentials is listed unavailable with the reason; the config still loads; Cohere reads CO_API_KEY', () => {
    const loaded = parseConfig(
      `model_list:
  - model_name: claude
    litellm_params:
      model: bedrock/us.anthropic.claude-3-5-haiku-20241022-v1:0
  - model_name: nova
    litellm_params:
      model: bedrock/amazon.nova-pro-v1:0
      aws_access_key_id: AKID
      aws_secret_access_key: SECRET
      aws_region_name: us-east-1
  - model_name: command
    litellm_params:
      model: cohere_chat/command-a-03-2025
  - model_name: embed
    litellm_params:
      model: cohere/embed-v4.0
`,
      { CO_API_KEY: 'co-env' },
      'test.yaml',
    );
    expect(loaded.issues.filter((issue) => issue.fatal)).toEqual([]);
    expect(loaded.issues.filter((issue) => /aws_/.test(String(issue.path?.at(-1))))).toEqual([]);
    const [claude, nova, command, embed] = buildDeployments(loaded);
    expect(claude).toMatchObject({ provider: 'bedrock', upstreamModel: 'us.anthropic.claude-3-5-haiku-20241022-v1:0', available: false, unavailableReason: expect.stringMatching(/no AWS region/) });
    expect(nova).toMatchObject({ provider: 'bedrock', available: true, apiBase: 'https://bedrock-runtime.us-east-1.amazonaws.com', aws: { accessKeyId: 'AKID', region: 'us-east-1' } });
    expect(nova.prices).toMatchObject({ inputPerToken: 800_000, outputPerToken: 3_200_000 });
    expect(command).toMatchObject({ provider: 'cohere', upstreamModel: 'command-a-03-2025', apiBase: 'https://api.cohere.com', apiKey: 'co-env', available: true });
    expect(embed).toMatchObject({ provider: 'cohere', apiKey: 'co-env' });
  });
});
