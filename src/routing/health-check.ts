/**
 * Checks deployments the way LiteLLM's /health does: one real, minimal call per deployment
 * (a one-token chat completion, or a one-word embedding), with a timeout.
 */
import { performance } from 'node:perf_hooks';
import { adapterFor } from '../providers/registry.js';
import type { Deployment } from '../providers/types.js';
import { connectionError, type UpstreamClient } from '../gateway/upstream.js';
import { deploymentSecrets, redactUpstreamMessage } from '../security/redact.js';
import { probeTarget } from './wildcards.js';

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

export async function checkDeployment(deployment: Deployment, upstream: UpstreamClient, timeoutMs: number): Promise<DeploymentCheck> {
  if (!deployment.available) return { deployment, healthy: false, error: deployment.unavailableReason ?? 'unavailable' };
  const adapter = adapterFor(deployment.provider);
  if (!adapter) return { deployment, healthy: false, error: `provider ${deployment.provider} has no adapter` };
  const embedding = deployment.modelInfo.mode === 'embedding';
  if (embedding && !adapter.buildEmbeddingsRequest) return { deployment, healthy: false, error: 'embeddings are not supported by this provider' };
  // A wildcard deployment ("openai/*") is probed on a concrete model of its provider.
  const target = probeTarget(deployment);
  const request = embedding
    ? adapter.buildEmbeddingsRequest!({ model: deployment.modelName, input: 'ping' }, target)
    : adapter.buildChatRequest({ model: deployment.modelName, messages: [{ role: 'user', content: 'ping' }], max_tokens: 1 }, target);
  const controller = new AbortController();
  const timer = setTimeout(() => controller.abort(), timeoutMs);
  const started = performance.now();
  try {
    const response = await upstream.send(request, controller.signal, deployment.provider);
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
