/**
 * Every local backend the deployments point at, with what it serves. The health rounds refresh it
 * (`refresh`, before the deployments are checked) and ask it which deployments lack their model
 * (`missingModel`); inventories and pulls reach the other replicas through a BackendStore. Every
 * read is synchronous and in memory.
 */
import type { Logger } from 'pino';
import type { UpstreamClient } from '../gateway/upstream.js';
import type { Deployment } from '../providers/types.js';
import { backendOf, hasModel, missingModelMessage } from './backend-of.js';
import type { BackendRecord, BackendStore } from './backend-store.js';
import type { BackendInventory, BackendRef, PullProgress } from './backend-types.js';
import { discover } from './discovery.js';

export interface BackendDeployment {
  deployment: Deployment;
  /** False for disabled models. */
  active: boolean;
}

export interface Backend {
  ref: BackendRef;
  deployments: BackendDeployment[];
}

export interface BackendDirectoryOptions {
  deployments: () => BackendDeployment[];
  upstream: UpstreamClient;
  timeoutMs: number;
  logger: Logger;
  store?: BackendStore;
  now?: () => number;
}

export class BackendDirectory {
  private readonly inventories = new Map<string, BackendInventory>();
  private readonly pullRecords = new Map<string, PullProgress>();
  private readonly refreshing = new Map<string, Promise<BackendInventory>>();
  private readonly now: () => number;
  /** Called after an inventory changed (here or on another replica). */
  onInventory: ((inventory: BackendInventory) => void) | undefined;

  constructor(private readonly options: BackendDirectoryOptions) {
    this.now = options.now ?? Date.now;
  }

  get store(): BackendStore | undefined {
    return this.options.store;
  }

  get logger(): Logger {
    return this.options.logger;
  }

  get upstream(): UpstreamClient {
    return this.options.upstream;
  }

  async start(): Promise<void> {
    await this.options.store?.start((record) => this.applyRemote(record)).catch((error: Error) => this.options.logger.warn({ err: error.message }, 'could not load shared backend state'));
  }

  /** Every backend some deployment points at (disabled ones included), in a stable order. */
  backends(): Backend[] {
    const byId = new Map<string, Backend>();
    for (const item of this.options.deployments()) {
      const ref = backendOf(item.deployment);
      if (!ref) continue;
      const backend = byId.get(ref.id) ?? { ref, deployments: [] };
      backend.deployments.push(item);
      byId.set(ref.id, backend);
    }
    return [...byId.values()].sort((a, b) => a.ref.baseUrl.localeCompare(b.ref.baseUrl));
  }

  backend(id: string): Backend | undefined {
    return this.backends().find((backend) => backend.ref.id === id);
  }

  inventory(id: string): BackendInventory | undefined {
    return this.inventories.get(id);
  }

  pulls(backendId: string): PullProgress[] {
    return [...this.pullRecords.values()].filter((pull) => pull.backendId === backendId);
  }

  pull(backendId: string, model: string): PullProgress | undefined {
    return this.pullRecords.get(`${backendId}:${model}`);
  }

  /** Keeps a pull's progress and shares it (pull-manager.ts). */
  recordPull(progress: PullProgress): void {
    this.pullRecords.set(`${progress.backendId}:${progress.model}`, progress);
    this.share({ type: 'pull', pull: progress });
  }

  /** Keeps a warm-up's result on the backend's inventory and shares it. */
  recordWarmUp(backendId: string, warmUp: NonNullable<BackendInventory['warmUps']>[number]): void {
    const inventory = this.inventories.get(backendId);
    if (!inventory) return;
    const warmUps = (inventory.warmUps ?? []).filter((item) => item.model !== warmUp.model).concat(warmUp);
    this.setInventory({ ...inventory, warmUps, updatedAt: this.now() });
  }

  /**
   * Reads the backends of these deployments (every backend when none are given) again. Backends
   * read at the same time share one read.
   */
  async refresh(deployments?: Deployment[]): Promise<void> {
    const wanted = deployments ? new Set(deployments.map((deployment) => backendOf(deployment)?.id).filter((id): id is string => id !== undefined)) : undefined;
    const backends = this.backends().filter((backend) => (wanted ? wanted.has(backend.ref.id) : backend.deployments.some((item) => item.active)));
    await Promise.all(backends.map((backend) => this.refreshBackend(backend)));
  }

  refreshBackend(backend: Backend): Promise<BackendInventory> {
    let running = this.refreshing.get(backend.ref.id);
    if (!running) {
      const source = backend.deployments.find((item) => item.active) ?? backend.deployments[0];
      const headers: Record<string, string> = { ...source?.deployment.headers };
      if (source?.deployment.apiKey) headers.authorization = `Bearer ${source.deployment.apiKey}`;
      running = discover(backend.ref, { upstream: this.options.upstream, timeoutMs: this.options.timeoutMs, headers }, this.now)
        .then((inventory) => {
          const previous = this.inventories.get(backend.ref.id);
          // A backend that stops answering keeps the models last seen (shown as such), so that an
          // outage reads as "down", never as "every model missing".
          const next: BackendInventory = inventory.reachable ? { ...inventory, warmUps: previous?.warmUps } : { ...inventory, models: previous?.models ?? [], loaded: previous?.loaded, warmUps: previous?.warmUps };
          if (previous?.reachable !== next.reachable) {
            this.options.logger[next.reachable ? 'info' : 'warn']({ backend: backend.ref.id, url: backend.ref.baseUrl, models: next.models.length, error: next.error }, next.reachable ? 'backend answers' : 'backend does not answer');
          }
          this.setInventory(next);
          return next;
        })
        .finally(() => this.refreshing.delete(backend.ref.id));
      this.refreshing.set(backend.ref.id, running);
    }
    return running;
  }

  /**
   * "model llama3.1:8b is not pulled on http://llm02:11434" when the deployment's backend answered
   * its last read without the deployment's model; undefined otherwise (a hosted provider, a backend
   * not read yet or not answering, or the model is there).
   */
  missingModel(deployment: Deployment): string | undefined {
    const ref = backendOf(deployment);
    if (!ref) return undefined;
    const inventory = this.inventories.get(ref.id);
    if (!inventory?.reachable || hasModel(ref.kind, inventory.models, deployment.upstreamModel)) return undefined;
    return missingModelMessage(ref.kind, deployment.upstreamModel, ref.baseUrl);
  }

  private setInventory(inventory: BackendInventory): void {
    this.inventories.set(inventory.backendId, inventory);
    this.share({ type: 'inventory', inventory });
    this.onInventory?.(inventory);
  }

  private share(record: BackendRecord): void {
    void this.options.store?.save(record).catch((error: Error) => this.options.logger.warn({ err: error.message }, 'could not share backend state'));
  }

  private applyRemote(record: BackendRecord): void {
    if (record.type === 'inventory') {
      const known = this.inventories.get(record.inventory.backendId);
      if (known && known.updatedAt >= record.inventory.updatedAt) return;
      this.inventories.set(record.inventory.backendId, record.inventory);
      this.onInventory?.(record.inventory);
      return;
    }
    const key = `${record.pull.backendId}:${record.pull.model}`;
    const known = this.pullRecords.get(key);
    if (known && known.updatedAt >= record.pull.updatedAt) return;
    this.pullRecords.set(key, record.pull);
  }
}
