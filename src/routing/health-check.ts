/**
 * Checks deployments the way LiteLLM's /health does: one real, minimal call per deployment
 * (a one-token chat completion, or a one-word embedding), with a timeout. Media deployments
 * (model_info.mode image_generation, audio_speech, audio_transcription, rerank, moderation) are
 * probed with GET {api_base}/models instead (Google's: the model's own resource): nothing billable
 * is generated.
 */
import { performance } from 'node:perf_hooks';
import { adapterFor } from '../providers/registry.js';
import { googleMediaProbe, isGoogleProvider } from '../providers/shared/google-media.js';
import { openAINative } from '../providers/shared/openai-native.js';
import type { Deployment, UpstreamRequest } from '../providers/types.js';
import { connectionError, type UpstreamClient } from '../gateway/upstream.js';
import { deploymentSecrets, redactUpstreamMessage } from '../security/redact.js';
import { probeTarget } from './wildcards.js';
import { withApiBaseQuery } from '../gateway/api-base-query.js';

export interface DeploymentCheck {
  deployment: Deployment;
  healthy: boolean;
  latencyMs?: number;
  error?: string;
  /** The upstream's HTTP status when it answered with an error. */
  upstreamStatus?: number;
  /** The deployment's local backend does not have its model (`error` says which, and where). */
  modelMissing?: boolean;
}

/** Deployments of media models (model_info.mode) answer no chat: a chat probe would mark them down. */
const MEDIA_MODES = new Set(['image_generation', 'audio_speech', 'audio_transcription', 'rerank', 'moderation']);

/**
 * A media deployment is probed without generating anything billable (an image, audio, a search):
 * the OpenAI-format model list, which proves the upstream answers and takes the deployment's key.
 */
function mediaProbe(deployment: Deployment): UpstreamRequest {
  if (isGoogleProvider(deployment.provider)) return googleMediaProbe(deployment);
  const request = openAINative.buildRequest({ method: 'models', body: {}, stream: false }, deployment);
  const url = deployment.provider === 'azure' ? `${deployment.apiBase}/openai/models?api-version=${encodeURIComponent(deployment.apiVersion ?? '')}` : request.url;
  return { url, method: 'GET', headers: Object.fromEntries(Object.entries(request.headers).filter(([name]) => name !== 'content-type')), framing: 'json' };
}

export async function checkDeployment(deployment: Deployment, upstream: UpstreamClient, timeoutMs: number): Promise<DeploymentCheck> {
  if (!deployment.available) return { deployment, healthy: false, error: deployment.unavailableReason ?? 'unavailable' };
  const adapter = adapterFor(deployment.provider, deployment.upstreamModel);
  if (!adapter) return { deployment, healthy: false, error: `provider ${deployment.provider} has no adapter` };
  const embedding = deployment.modelInfo.mode === 'embedding';
  if (embedding && !adapter.buildEmbeddingsRequest) return { deployment, healthy: false, error: 'embeddings are not supported by this provider' };
  const media = MEDIA_MODES.has(String(deployment.modelInfo.mode));
  // A wildcard deployment ("openai/*") is probed on a concrete model of its provider.
  const target = probeTarget(deployment);
  const request = media
    ? mediaProbe(deployment)
    : embedding
      ? adapter.buildEmbeddingsRequest!({ model: deployment.modelName, input: 'ping' }, target)
      : adapter.buildChatRequest({ model: deployment.modelName, messages: [{ role: 'user', content: 'ping' }], max_tokens: 1 }, target);
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const started = performance.now();
  try {
    const response = await upstream.send(deployment.apiBase.includes('?') ? { ...request, url: withApiBaseQuery(request.url, deployment.apiBase) } : request, controller.signal, deployment.provider);
    const text = await response.body.text();
    const latencyMs = Math.round(performance.now() - started);
    if (response.statusCode >= 400) {
      const info = adapter.parseError(response.statusCode, text, response.headers);
      return { deployment, healthy: false, latencyMs, error: `${response.statusCode}: ${redactUpstreamMessage(info.message, deploymentSecrets(deployment))}`, upstreamStatus: response.statusCode };
    }
    return { deployment, healthy: true, latencyMs };
  } catch (error) {
    const latencyMs = Math.round(performance.now() - started);
    const message = controller.signal.aborted ? `no answer within ${timeoutMs / 1000}s` : connectionError(error, deployment.provider).message;
    return { deployment, healthy: false, latencyMs, error: message };
  } finally {
    clearTimeout(timer);
  }
}
