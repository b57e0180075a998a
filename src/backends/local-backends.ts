/**
 * The local backends feature as the runtime wires it: the directory (inventories, shared like
 * health), the pull manager and keep_warm loads. At start the backends are read once, so that a
 * deployment whose model is missing is known (and kept out of traffic) before the first round.
 */
import type { Logger } from 'pino';
import type { UpstreamClient } from '../gateway/upstream.js';
import type { Deployment } from '../providers/types.js';
import type { BackendStateRepository } from '../storage/repositories/backend-state.js';
import { BackendDirectory, type BackendDeployment } from './backend-directory.js';
import { backendOf } from './backend-of.js';
import { DatabaseBackendStore, RedisBackendStore } from './backend-store.js';
import { PullManager } from './pull-manager.js';
import { keepAliveOf, WarmUps } from './warm-up.js';

export interface LocalBackendsOptions {
  deployments: () => BackendDeployment[];
  upstream: UpstreamClient;
  /** Each read of a backend (health_check_timeout). */
  timeoutMs: number;
  logger: Logger;
  redisUrl?: string;
  redisPrefix?: string;
  repository: () => BackendStateRepository | undefined;
}

export interface DeploymentChecker {
  checkNow(deployments: Deployment[]): Promise<unknown>;
}

export class LocalBackends {
  readonly directory: BackendDirectory;
  readonly warmUps: WarmUps;
  private manager: PullManager | undefined;
  private health: DeploymentChecker | undefined;

  constructor(private readonly options: LocalBackendsOptions) {
    const store = options.redisUrl ? new RedisBackendStore(options.redisUrl, options.redisPrefix ?? 'switchboard:', options.logger) : new DatabaseBackendStore(options.repository, options.logger);
    this.directory = new BackendDirectory({ deployments: options.deployments, upstream: options.upstream, timeoutMs: options.timeoutMs, logger: options.logger, store });
    this.warmUps = new WarmUps(this.directory, options.logger);
  }

  get pulls(): PullManager {
    if (!this.manager) throw new Error('local backends not started');
    return this.manager;
  }

  async start(health: DeploymentChecker): Promise<void> {
    await this.directory.start();
    this.health = health;
    this.manager = new PullManager({ directory: this.directory, checkNow: (deployments) => health.checkNow(deployments), warmUps: this.warmUps, logger: this.options.logger });
    for (const { deployment } of this.options.deployments()) {
      if (deployment.modelInfo.local === true && backendOf(deployment) === undefined) {
        this.options.logger.warn({ deployment: deployment.id, model: deployment.modelName, provider: deployment.provider }, 'model_info.local is ignored: it marks OpenAI-compatible deployments with an api_base (not anthropic, gemini, vertex_ai, azure, azure_ai, text-completion-openai, bedrock or cohere)');
      }
      if (deployment.modelInfo.keep_warm !== undefined && backendOf(deployment)?.kind !== 'ollama') {
        this.options.logger.warn({ deployment: deployment.id, model: deployment.modelName, provider: deployment.provider }, 'model_info.keep_warm is ignored: it loads models on Ollama backends only');
      } else if (deployment.modelInfo.keep_warm !== undefined && keepAliveOf(deployment) === undefined) {
        this.options.logger.warn({ deployment: deployment.id, model: deployment.modelName }, 'model_info.keep_warm is ignored: expected true, a duration such as "30m", or seconds');
      }
    }
    const backends = this.directory.backends();
    if (backends.length > 0) {
      this.options.logger.info({ backends: backends.map((backend) => `${backend.ref.kind} ${backend.ref.baseUrl} (${backend.ref.id})`) }, 'local backends');
      void this.discover(health);
    }
  }

  /** Models added or changed at run time: their backends are read now, so a missing model is known before traffic. */
  deploymentsChanged(ids: string[]): void {
    const wanted = new Set(ids);
    const deployments = this.options.deployments().filter((item) => item.active && wanted.has(item.deployment.id) && backendOf(item.deployment) !== undefined).map((item) => item.deployment);
    if (deployments.length > 0 && this.health) void this.discover(this.health, deployments);
  }

  private async discover(health: DeploymentChecker, only?: Deployment[]): Promise<void> {
    try {
      await this.directory.refresh(only);
      const ids = only ? new Set(only.map((deployment) => deployment.id)) : undefined;
      const missing = this.options.deployments().filter((item) => item.active && (!ids || ids.has(item.deployment.id)) && this.directory.missingModel(item.deployment) !== undefined);
      if (missing.length > 0) await health.checkNow(missing.map((item) => item.deployment));
      if (!only) await this.warmUps.warmAll();
    } catch (error) {
      this.options.logger.warn({ err: (error as Error).message }, 'could not read the local backends');
    }
  }

  async close(): Promise<void> {
    this.manager?.close();
    await this.directory.store?.close();
  }
}
