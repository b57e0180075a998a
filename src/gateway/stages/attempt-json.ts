/**
 * The JSON attempt: builds the provider request, calls the deployment, and parses its answer into
 * the client's format with the usage it reports. Settling is the settle stage's.
 */
import { performance } from 'node:perf_hooks';
import { GatewayError } from '../../errors.js';
import type { EmbeddingsRequest, EmbeddingsResponse, Usage } from '../../providers/types.js';
import { usageFromOpenAI } from '../../providers/shared/usage.js';
import { timeoutOf } from '../../routing/policy.js';
import { deploymentSecrets, redactUpstreamMessage } from '../../security/redact.js';
import type { Call } from '../call.js';
import { DEFAULT_TIMEOUT_MS, type GatewayDependencies } from '../dependencies.js';
import { connectionError, type UpstreamResponse } from '../upstream.js';
import { providerHeaders } from '../litellm-headers.js';
import type { JsonAttempted } from './attempted.js';
import { buildRequest, dispatch, requireAdapter, upstreamError } from './upstream-call.js';

export async function attemptJson(deps: Pick<GatewayDependencies, 'router' | 'upstream' | 'settings'>, call: Call): Promise<JsonAttempted> {
  const { operation, attempt } = call;
  const { deployment, target } = attempt!;
  const { router } = deps;
  const adapter = requireAdapter(deployment);
  const warnings: string[] = [];
  const upstreamRequest = buildRequest(operation, adapter, target.deployment, deps.settings, warnings);
  // The request's own `timeout` (request-options.ts) replaces the deployment's.
  const asked = call.context.requestOptions?.timeoutMs;
  router.begin(deployment);
  let text: string;
  let response: UpstreamResponse;
  let sentAt: number;
  try {
    const dispatched = await dispatch(deps.upstream, call.context.client, deployment, upstreamRequest, asked ?? timeoutOf(router.policy, deployment, DEFAULT_TIMEOUT_MS), asked !== undefined);
    ({ response, sentAt } = dispatched);
    try {
      text = await response.body.text();
    } catch (error) {
      throw connectionError(error, deployment.provider, dispatched.controller);
    } finally {
      dispatched.release();
    }
  } finally {
    router.end(deployment);
  }
  const upstreamLatencyMs = performance.now() - sentAt;
  if (response.statusCode >= 400) throw upstreamError(adapter, deployment, response, text, target.byok);

  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new GatewayError('upstream_invalid_response', `${deployment.provider} returned a body that is not JSON: ${redactUpstreamMessage(text, deploymentSecrets(deployment), 200)}`, { provider: deployment.provider });
  }
  let body: string;
  let usage: Usage | undefined;
  if (operation.kind === 'embeddings') {
    const embeddings = adapter.parseEmbeddingsResponse ? encodeEmbeddings(adapter.parseEmbeddingsResponse(parsed, deployment, operation.request), operation.request) : parsed;
    usage = usageFromOpenAI((embeddings as { usage?: unknown }).usage);
    if (usage) usage.completionTokens ??= 0;
    body = embeddings === parsed ? text : JSON.stringify(embeddings);
  } else if (operation.kind === 'completion') {
    usage = usageFromOpenAI((parsed as { usage?: unknown }).usage);
    body = text;
  } else {
    const chat = adapter.parseChatResponse(parsed, deployment);
    usage = usageFromOpenAI(chat.usage);
    body = call.format.chat(chat, chat === parsed ? text : undefined);
  }
  return { kind: 'json', body, parsed, usage, upstreamLatencyMs, warnings, providerHeaders: providerHeaders(response.headers) };
}

/**
 * Native adapters return float arrays; a client that asked for base64 (the official SDKs do by
 * default) gets OpenAI's encoding: little-endian float32, base64.
 */
function encodeEmbeddings(response: EmbeddingsResponse, request: EmbeddingsRequest): EmbeddingsResponse {
  if (request.encoding_format !== 'base64') return response;
  return {
    ...response,
    data: response.data.map((item) => (Array.isArray(item.embedding) ? { ...item, embedding: Buffer.from(new Float32Array(item.embedding).buffer).toString('base64') } : item)),
  };
}
