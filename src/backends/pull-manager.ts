/**
 * Model pulls and removals on Ollama backends. A pull is Ollama's POST /api/pull, read as its
 * NDJSON progress stream ({"status": "pulling manifest"}, {"status": "pulling <layer>", "digest",
 * "total", "completed"}, …, {"status": "success"} — or an {"error"} line); its progress is kept and
 * shared like the inventories. At most one pull per backend and model runs at a time (across
 * replicas through the store's claim, where it has one). When a pull succeeds, the backend is read
 * again and its deployments are checked at once, so they take traffic without a restart.
 */
import type { Logger } from 'pino';
import { GatewayError } from '../errors.js';
import type { Deployment } from '../providers/types.js';
import type { Backend, BackendDirectory } from './backend-directory.js';
import { ollamaName } from './backend-of.js';
import type { PullProgress } from './backend-types.js';
import type { WarmUps } from './warm-up.js';

export interface PullManagerOptions {
  directory: BackendDirectory;
  /** Checks deployments now (the health monitor's checkNow). */
  checkNow: (deployments: Deployment[]) => Promise<unknown>;
  warmUps?: WarmUps;
  logger: Logger;
  /** A pull whose stream stays silent this long fails (default 5 minutes). */
  idleTimeoutMs?: number;
  /** Progress is shared at most this often (default 500 ms); state changes at once. */
  shareEveryMs?: number;
  now?: () => number;
}

/** A shared "running" record older than this is left over from a replica that stopped. */
const STALE_RUNNING_MS = 60_000;
const MODEL_NAME = /^[A-Za-z0-9][A-Za-z0-9._\-/:]{0,199}$/;

export function validModelName(model: unknown): string {
  if (typeof model !== 'string' || !MODEL_NAME.test(model) || model.includes('..')) {
    throw new GatewayError('invalid_request', 'model must be an Ollama model name such as "llama3.1:8b" or "hf.co/org/repo:Q4_K_M"', { param: 'model' });
  }
  return model;
}

function headersOf(backend: Backend): Record<string, string> {
  const source = backend.deployments.find((item) => item.active) ?? backend.deployments[0];
  const headers: Record<string, string> = { 'content-type': 'application/json', ...source?.deployment.headers };
  if (source?.deployment.apiKey) headers.authorization = `Bearer ${source.deployment.apiKey}`;
  return headers;
}

export class PullManager {
  private readonly running = new Map<string, AbortController>();
  private readonly now: () => number;

  constructor(private readonly options: PullManagerOptions) {
    this.now = options.now ?? Date.now;
  }

  private ollamaBackend(backendId: string): Backend {
    const backend = this.options.directory.backend(backendId);
    if (!backend) throw new GatewayError('not_found', `no backend ${backendId} (GET /backends lists them)`);
    if (backend.ref.kind !== 'ollama') {
      throw new GatewayError('invalid_request', `backend ${backend.ref.baseUrl} is an OpenAI-compatible server (vLLM, LM Studio, …): it serves the models it was started with; pulling and removing models works on Ollama backends only`);
    }
    return backend;
  }

  /** Starts a pull; answers its first progress record. 409 while the same model is being pulled there. */
  async start(backendId: string, modelInput: unknown, startedBy: string): Promise<PullProgress> {
    const backend = this.ollamaBackend(backendId);
    const model = validModelName(modelInput);
    const key = `${backend.ref.id}:${model}`;
    const shared = this.options.directory.pull(backend.ref.id, model);
    const busy = this.running.has(key) || (shared?.state === 'running' && this.now() - shared.updatedAt < STALE_RUNNING_MS);
    const claimed = !busy && (await (this.options.directory.store?.claim?.(`pull:${key}`, STALE_RUNNING_MS) ?? Promise.resolve(true)));
    if (busy || !claimed || this.running.has(key)) {
      throw new GatewayError('conflict', `${model} is already being pulled on ${backend.ref.baseUrl}; GET /backends/${backend.ref.id}/models/pull?model=${encodeURIComponent(model)} shows its progress`);
    }
    const controller = new AbortController();
    this.running.set(key, controller);
    const startedAt = this.now();
    const progress: PullProgress = { backendId: backend.ref.id, model, state: 'running', status: 'starting', completed: 0, total: 0, startedBy, startedAt, updatedAt: startedAt };
    this.options.directory.recordPull(progress);
    this.options.logger.info({ backend: backend.ref.id, url: backend.ref.baseUrl, model, by: startedBy }, 'model pull started');
    void this.run(backend, progress, controller).finally(() => {
      this.running.delete(key);
      void this.options.directory.store?.release?.(`pull:${key}`).catch(() => undefined);
    });
    return progress;
  }

  private async run(backend: Backend, initial: PullProgress, controller: AbortController): Promise<void> {
    const layers = new Map<string, { total: number; completed: number }>();
    let progress = initial;
    let sharedAt = 0;
    const update = (changes: Partial<PullProgress>, force = false) => {
      progress = { ...progress, ...changes, updatedAt: this.now() };
      if (force || progress.updatedAt - sharedAt >= (this.options.shareEveryMs ?? 500)) {
        sharedAt = progress.updatedAt;
        this.options.directory.recordPull(progress);
      }
    };
    const idleMs = this.options.idleTimeoutMs ?? 300_000;
    // While Ollama is quiet (verifying a large download), the shared record and the claim are kept
    // fresh, so that no other replica takes the pull for abandoned.
    const heartbeat = setInterval(() => {
      update({}, true);
      void this.options.directory.store?.renew?.(`pull:${progress.backendId}:${progress.model}`, STALE_RUNNING_MS).catch(() => undefined);
    }, STALE_RUNNING_MS / 3);
    heartbeat.unref();
    let idle: NodeJS.Timeout | undefined;
    const touch = () => {
      clearTimeout(idle);
      idle = setTimeout(() => controller.abort(new Error(`no progress from ${backend.ref.baseUrl} for ${Math.round(idleMs / 1000)}s`)), idleMs);
    };
    try {
      touch();
      const response = await this.options.directory.upstream.send(
        { url: `${backend.ref.baseUrl}/api/pull`, method: 'POST', headers: headersOf(backend), body: JSON.stringify({ model: progress.model, stream: true }), framing: 'ndjson' },
        controller.signal,
        'ollama',
      );
      if (response.statusCode !== 200) {
        const text = await response.body.text();
        throw new Error(`${backend.ref.baseUrl} answered ${response.statusCode}: ${errorText(text)}`);
      }
      let buffer = '';
      let succeeded = false;
      for await (const chunk of response.body) {
        touch();
        buffer += (chunk as Buffer).toString('utf8');
        let newline: number;
        while ((newline = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, newline).trim();
          buffer = buffer.slice(newline + 1);
          if (!line) continue;
          const event = parseLine(line);
          if (event.error) throw new Error(`${backend.ref.baseUrl}: ${event.error}`);
          if (event.digest && event.total !== undefined) layers.set(event.digest, { total: event.total, completed: event.completed ?? 0 });
          let total = 0;
          let completed = 0;
          for (const layer of layers.values()) {
            total += layer.total;
            completed += Math.min(layer.completed, layer.total);
          }
          if (event.status === 'success') succeeded = true;
          update({ status: event.status ?? progress.status, total, completed });
        }
      }
      if (!succeeded) throw new Error(`${backend.ref.baseUrl} ended the pull without "success"`);
      // "succeeded" once the deployments were checked: a client that saw it finds them in traffic.
      update({ status: 'success', completed: progress.total }, true);
      await this.afterChange(backend, progress.model);
      update({ state: 'succeeded', finishedAt: this.now() }, true);
      this.options.logger.info({ backend: backend.ref.id, url: backend.ref.baseUrl, model: progress.model, seconds: Math.round((this.now() - progress.startedAt) / 1000) }, 'model pull finished');
      await this.options.warmUps?.warm(backend, progress.model);
    } catch (error) {
      const reason = controller.signal.aborted && controller.signal.reason instanceof Error ? controller.signal.reason.message : (error as Error).message;
      update({ state: 'failed', error: reason.slice(0, 500), finishedAt: this.now() }, true);
      this.options.logger.warn({ backend: backend.ref.id, url: backend.ref.baseUrl, model: progress.model, err: reason }, 'model pull failed');
    } finally {
      clearTimeout(idle);
      clearInterval(heartbeat);
    }
  }

  /** Removes a model (Ollama's DELETE /api/delete); its deployments on this backend become model_missing. */
  async remove(backendId: string, modelInput: unknown, by: string): Promise<void> {
    const backend = this.ollamaBackend(backendId);
    const model = validModelName(modelInput);
    if (this.running.has(`${backend.ref.id}:${model}`) || this.options.directory.pull(backend.ref.id, model)?.state === 'running') {
      throw new GatewayError('conflict', `${model} is being pulled on ${backend.ref.baseUrl}; remove it once the pull ends`);
    }
    const controller = new AbortController();
    const timer = setTimeout(() => controller.abort(new Error('no answer within 30s')), 30_000);
    try {
      const response = await this.options.directory.upstream.send(
        { url: `${backend.ref.baseUrl}/api/delete`, method: 'DELETE', headers: headersOf(backend), body: JSON.stringify({ model }), framing: 'json' },
        controller.signal,
        'ollama',
      );
      const text = await response.body.text();
      if (response.statusCode === 404) throw new GatewayError('not_found', `${model} is not on ${backend.ref.baseUrl}`);
      if (response.statusCode !== 200) throw new GatewayError('upstream_error', `${backend.ref.baseUrl} refused to remove ${model} (${response.statusCode}): ${errorText(text)}`);
    } finally {
      clearTimeout(timer);
    }
    this.options.logger.info({ backend: backend.ref.id, url: backend.ref.baseUrl, model, by }, 'model removed');
    await this.afterChange(backend, model);
  }

  /** Reads the backend again and checks its deployments of that model (pulled: back in traffic; removed: model_missing). */
  private async afterChange(backend: Backend, model: string): Promise<void> {
    await this.options.directory.refreshBackend(backend);
    const affected = backend.deployments.filter((item) => item.active && ollamaName(item.deployment.upstreamModel) === ollamaName(model)).map((item) => item.deployment);
    if (affected.length > 0) await this.options.checkNow(affected).catch((error: Error) => this.options.logger.warn({ err: error.message }, 'could not check the deployments after a model change'));
  }

  close(): void {
    for (const controller of this.running.values()) controller.abort(new Error('the gateway is stopping'));
  }
}

function parseLine(line: string): { status?: string; digest?: string; total?: number; completed?: number; error?: string } {
  try {
    const value = JSON.parse(line) as Record<string, unknown>;
    return {
      status: typeof value.status === 'string' ? value.status : undefined,
      digest: typeof value.digest === 'string' ? value.digest : undefined,
      total: typeof value.total === 'number' ? value.total : undefined,
      completed: typeof value.completed === 'number' ? value.completed : undefined,
      error: typeof value.error === 'string' ? value.error : undefined,
    };
  } catch {
    return { error: `an unreadable progress line: ${line.slice(0, 100)}` };
  }
}

function errorText(body: string): string {
  try {
    const value = JSON.parse(body) as { error?: unknown };
    if (typeof value.error === 'string') return value.error;
  } catch {
    // not JSON
  }
  return body.slice(0, 200);
}
