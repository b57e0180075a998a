/**
 * The AWS credentials, region and Bedrock Runtime endpoint of a `bedrock/…` deployment, as LiteLLM
 * reads them: `aws_access_key_id` / `aws_secret_access_key` / `aws_session_token` /
 * `aws_region_name` in litellm_params (os.environ/ references resolved before), else the standard
 * AWS environment variables (AWS_ACCESS_KEY_ID, AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN,
 * AWS_REGION, AWS_DEFAULT_REGION). A key pair is never mixed across the two sources: a session
 * token from the environment is not attached to keys from the config. The endpoint is `api_base`,
 * else `aws_bedrock_runtime_endpoint`, else the region's public one.
 *
 * Not supported (each reported by the config loader as an unknown key): profiles
 * (aws_profile_name), role assumption (aws_role_name, aws_web_identity_token) and instance
 * metadata credentials.
 */
import type { AwsCredentials } from '../providers/types.js';

export interface BedrockParams {
  aws_access_key_id?: string;
  aws_secret_access_key?: string;
  aws_session_token?: string;
  aws_region_name?: string;
  aws_bedrock_runtime_endpoint?: string;
  api_base?: string;
  base_url?: string;
}

/**
 * `fromEnvironment`: the problem is only that the environment lacks what the gateway would read from
 * it (AWS_REGION, AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY), not something the config itself gets wrong.
 */
export type AwsResolution = { aws: AwsCredentials; apiBase: string } | { problem: string; apiBase?: string; fromEnvironment: boolean };

const present = (value: string | undefined): string | undefined => (value !== undefined && value !== '' ? value : undefined);

export function resolveAws(params: BedrockParams, env: Record<string, string | undefined>): AwsResolution {
  const region = present(params.aws_region_name) ?? present(env.AWS_REGION) ?? present(env.AWS_DEFAULT_REGION);
  const configured = present(params.api_base) ?? present(params.base_url) ?? present(params.aws_bedrock_runtime_endpoint);
  const apiBase = configured ?? (region ? `https://bedrock-runtime.${region}.amazonaws.com` : undefined);
  const fromConfig = present(params.aws_access_key_id) !== undefined || present(params.aws_secret_access_key) !== undefined;
  const accessKeyId = fromConfig ? present(params.aws_access_key_id) : present(env.AWS_ACCESS_KEY_ID);
  const secretAccessKey = fromConfig ? present(params.aws_secret_access_key) : present(env.AWS_SECRET_ACCESS_KEY);
  const sessionToken = fromConfig ? present(params.aws_session_token) : present(env.AWS_SESSION_TOKEN);
  if (!region) return { problem: 'no AWS region: set litellm_params.aws_region_name or AWS_REGION / AWS_DEFAULT_REGION', apiBase, fromEnvironment: true };
  if (!accessKeyId || !secretAccessKey) {
    const source = fromConfig ? 'litellm_params.aws_access_key_id and aws_secret_access_key must both be set' : 'set litellm_params.aws_access_key_id / aws_secret_access_key or AWS_ACCESS_KEY_ID / AWS_SECRET_ACCESS_KEY';
    return { problem: `no AWS credentials: ${source}`, apiBase, fromEnvironment: !fromConfig };
  }
  return { aws: { accessKeyId, secretAccessKey, region, ...(sessionToken ? { sessionToken } : {}) }, apiBase: apiBase! };
}
