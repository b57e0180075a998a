/**
 * RouterState over Redis that keeps routing while Redis does not answer: failure counts, cooldowns
 * and deployment rpm/tpm windows fall back to this replica's memory for that operation, and
 * cooldowns from either side count. Nothing needs reconciling afterwards: cooldowns expire, and
 * the per-minute windows start afresh each minute.
 */
import { LocalRouterState } from './local-router-state.js';
import { isConnectionFailure } from './redis-client.js';
import type { RedisRouterState } from './redis-router-state.js';
import type { DeploymentMark, MarkListener, RouterState, UsageWindow } from './router-state.js';
import type { SharedStateStatus } from './shared-state-status.js';

export class ResilientRouterState implements RouterState {
  private readonly local = new LocalRouterState();

  constructor(
    private readonly shared: RedisRouterState,
    private readonly status: SharedStateStatus,
  ) {}

  private async either<T>(onShared: () => Promise<T>, onLocal: () => Promise<T>): Promise<T> {
    if (!this.status.degraded) {
      try {
        return await onShared();
      } catch (error) {
        if (!isConnectionFailure(error)) throw error;
      }
    }
    return onLocal();
  }

  recordFailure(deploymentId: string, allowedFails: number, cooldownMs: number, counter?: string): Promise<number | undefined> {
    return this.either(
      () => this.shared.recordFailure(deploymentId, allowedFails, cooldownMs, counter),
      () => this.local.recordFailure(deploymentId, allowedFails, cooldownMs, counter),
    );
  }

  coolingUntil(deploymentId: string): number | undefined {
    return this.shared.coolingUntil(deploymentId) ?? this.local.coolingUntil(deploymentId);
  }

  tryReserveRequest(deploymentId: string, rpm: number | undefined, tpm: number | undefined): Promise<boolean> {
    return this.either(
      () => this.shared.tryReserveRequest(deploymentId, rpm, tpm),
      () => this.local.tryReserveRequest(deploymentId, rpm, tpm),
    );
  }

  addTokens(deploymentId: string, tokens: number): Promise<void> {
    return this.either(
      () => this.shared.addTokens(deploymentId, tokens),
      () => this.local.addTokens(deploymentId, tokens),
    );
  }

  usage(deploymentIds: string[]): Promise<Map<string, UsageWindow>> {
    return this.either(
      () => this.shared.usage(deploymentIds),
      () => this.local.usage(deploymentIds),
    );
  }

  /** A mark Redis does not take stays this replica's (it reserves by it all the same). */
  shareMark(mark: DeploymentMark, deploymentId: string, at: number): Promise<void> {
    return this.shared.shareMark(mark, deploymentId, at).catch(() => undefined);
  }

  onMark(listener: MarkListener): void {
    this.shared.onMark(listener);
  }

  watch(deploymentIds: string[]): Promise<void> {
    return this.shared.watch(deploymentIds).catch(() => undefined);
  }

  close(): Promise<void> {
    return this.shared.close();
  }
}
