/**
 * AWS Signature Version 4 for Bedrock Runtime requests, with the `aws4` library. The service name
 * in the credential scope is `bedrock` (as in the AWS SDK's client-bedrock-runtime); the region is
 * the deployment's. Path segments are encoded once here (a model id's `:` → `%3A`) and aws4
 * encodes them again for the canonical request, as SigV4 wants for every service but S3.
 */
import { lazyModule } from '../../lazy-module.js';
import { GatewayError } from '../../errors.js';
import type { AwsCredentials, Deployment } from '../types.js';

/** aws4 is loaded with the first Bedrock request, not at start. */
const aws4 = lazyModule<typeof import('aws4')>('aws4');

export const BEDROCK_SIGNING_SERVICE = 'bedrock';

export function credentialsOf(target: Deployment): AwsCredentials {
  if (!target.aws) {
    throw new GatewayError('model_unavailable', `deployment ${target.modelName} has no AWS credentials: set aws_access_key_id / aws_secret_access_key / aws_region_name or the AWS_* environment variables`, { provider: target.provider });
  }
  return target.aws;
}

/**
 * The signed headers for a POST of `body` to `url`: the caller's headers plus X-Amz-Date,
 * X-Amz-Security-Token (temporary credentials) and Authorization. Host and Content-Length are
 * signed but not returned: the HTTP client sends both, with the same values, itself.
 */
export function signedHeaders(url: string, body: string, headers: Record<string, string>, credentials: AwsCredentials, now: Date = new Date()): Record<string, string> {
  const parsed = new URL(url);
  const toSign: Record<string, string> = { ...headers, 'X-Amz-Date': amzDate(now) };
  const options = {
    host: parsed.host,
    path: `${parsed.pathname}${parsed.search}`,
    method: 'POST',
    service: BEDROCK_SIGNING_SERVICE,
    region: credentials.region,
    headers: toSign,
    body,
  };
  aws4().sign(options, { accessKeyId: credentials.accessKeyId, secretAccessKey: credentials.secretAccessKey, sessionToken: credentials.sessionToken });
  const result: Record<string, string> = {};
  for (const [name, value] of Object.entries(options.headers)) {
    const lower = name.toLowerCase();
    if (lower === 'host' || lower === 'content-length') continue;
    result[name] = String(value);
  }
  return result;
}

/** `20240101T120000Z`, the SigV4 timestamp format. */
export function amzDate(date: Date): string {
  return date.toISOString().replace(/[:-]|\.\d{3}/g, '');
}
