/**
 * `/openai/v1/*` calls that carry no model to route on — GET and DELETE (`/files/{id}`,
 * `/batches/{id}`, `/models`, …) and multipart uploads (`POST /files`) — relayed to OpenAI
 * deployments (`openai/…`: OpenAI's own API, where these resources live): `{api_base}/{path}` with
 * the client's query, the deployment's key and headers; the body (a multipart upload's fields and
 * file, streamed from the chunks it arrived in) as sent, no `model` added. The answer (JSON) is
 * relayed as received; these calls bill no tokens, so each is recorded with zero usage.
 */
import type { NativeCall, NativeProvider } from '../native.js';
import type { Deployment, UpstreamRequest, Usage } from '../types.js';
import { headersFor, multipartRequest, OpenAIRelayStreamTransform } from './openai-native.js';

function urlOf(target: Deployment, call: NativeCall): string {
  return `${target.apiBase}/${call.method}${call.query ?? ''}`;
}

function buildRequest(call: NativeCall, target: Deployment): UpstreamRequest {
  if (call.upload) return multipartRequest(call, call.upload, target, urlOf(target, call), false);
  const headers = headersFor(target);
  delete headers['content-type'];
  return { url: urlOf(target, call), method: call.httpMethod ?? 'GET', headers, framing: 'json' };
}

export const openAIRestNative: NativeProvider = {
  label: 'OpenAI',
  serves: (provider) => provider === 'openai',
  buildRequest,
  usageOf: (): Usage => ({ promptTokens: 0, completionTokens: 0, totalTokens: 0 }),
  textOf: () => '',
  // Never asked for: these calls do not stream.
  createStreamTransform: (target) => new OpenAIRelayStreamTransform(target),
};
