/**
 * `model_info.keep_warm` on Ollama deployments: a load request (POST /api/generate with only the
 * model and `keep_alive`, which loads the model without generating) at start and after a pull, so
 * that the first user request does not wait for the load. The load time is kept on the backend's
 * inventory (GET /backends).
 */
import { performance } from 'node:perf_hooks';
import type { Logger } from 'pino';
import type { Deployment } from '../providers/types.js';
import type { Backend, BackendDirectory } from './backend-directory.js';
import { hasModel, ollamaName } from './backend-of.js';

/** keep_warm: true keeps the model loaded (keep_alive -1); a duration ("30m", "24h") or seconds keeps it that long. */
export function keepAliveOf(deployment: Deployment): string | number | undefined {
  const value = deployment.modelInfo.keep_warm;
  if (value === true) return -1;
  if (typeof value === 'string' && value !== '') return value;
  if (typeof value === 'number' && value > 0) return value;
  return undefined;
}

export class WarmUps {
  constructor(
    private readonly directory: BackendDirectory,
    private readonly logger: Logger,
    private readonly timeoutMs = 600_000,
  ) {}

  /** Loads every keep_warm model its backend has (at start, once the backends were read). */
  async warmAll(): Promise<void> {
    const jobs: Array<Promise<void>> = [];
    for (const backend of this.directory.backends()) {
      if (backend.ref.kind !== 'ollama') continue;
      const inventory = this.directory.inventory(backend.ref.id);
      if (!inventory?.reachable) continue;
      const models = new Set(backend.deployments.filter((item) => item.active && keepAliveOf(item.deployment) !== undefined).map((item) => ollamaName(item.deployment.upstreamModel)));
      for (const model of models) if (hasModel('ollama', inventory.models, model)) jobs.push(this.warm(backend, model));
    }
    await Promise.all(jobs);
  }

  /** Loads the model when one of the backend's deployments of it asks for keep_warm. */
  async warm(backend: Backend, model: string): Promise<void> {
    const deployment = backend.deployments.find((item) => item.active && ollamaName(item.deployment.upstreamModel) === ollamaName(model) && keepAliveOf(item.deployment) !== undefined)?.deployment;
    if (!deployment || backend.ref.kind !== 'ollama') return;
    const headers: Record<string, string> = { 'content-type': 'application/json', ...deployment.headers };
    if (deployment.apiKey) headers.authorization = `Bearer ${deployment.apiKey}`;
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new Error(`no answer within ${Math.round(this.timeoutMs / 1000)}s`)), this.timeoutMs);
    const started = performance.now();
    try {
      const response = await this.directory.upstream.send(
        { url: `${backend.ref.baseUrl}/api/generate`, method: 'POST', headers, body: JSON.stringify({ model: deployment.upstreamModel, keep_alive: keepAliveOf(deployment), stream: false }), framing: 'json' },
        controller.signal,
        'ollama',
      );
      const text = await response.body.text();
      const loadMs = Math.round(performance.now() - started);
      if (response.statusCode !== 200) throw new Error(`${response.statusCode}: ${text.slice(0, 200)}`);
      const loadDuration = (JSON.parse(text) as { load_duration?: unknown }).load_duration;
      const serverLoadMs = typeof loadDuration === 'number' ? Math.round(loadDuration / 1e6) : undefined;
      this.directory.recordWarmUp(backend.ref.id, { model: deployment.upstreamModel, loadMs, serverLoadMs, at: Date.now() });
      this.logger.info({ backend: backend.ref.id, url: backend.ref.baseUrl, model: deployment.upstreamModel, loadMs, serverLoadMs }, 'model loaded (keep_warm)');
    } catch (error) {
      const message = controller.signal.aborted && controller.signal.reason instanceof Error ? controller.signal.reason.message : (error as Error).message;
      this.directory.recordWarmUp(backend.ref.id, { model: deployment.upstreamModel, loadMs: Math.round(performance.now() - started), at: Date.now(), error: message.slice(0, 300) });
      this.logger.warn({ backend: backend.ref.id, url: backend.ref.baseUrl, model: deployment.upstreamModel, err: message }, 'could not load the model (keep_warm)');
    } finally {
      clearTimeout(timer);
    }
  }
}
