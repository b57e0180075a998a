import { currentMinute, MINUTE_MS, type RouterState, type UsageWindow } from './router-state.js';

/** RouterState for one process: plain maps, pruned as minutes pass. */
export class LocalRouterState implements RouterState {
  private readonly failures = new Map<string, number[]>();
  private readonly cooldowns = new Map<string, number>();
  private readonly windows = new Map<string, { minute: number } & UsageWindow>();

  constructor(private readonly now: () => number = Date.now) {}

  async recordFailure(deploymentId: string, allowedFails: number, cooldownMs: number, counter?: string): Promise<number | undefined> {
    const now = this.now();
    const key = !counter ? deploymentId : `${deploymentId}\n${counter}`;
    const recent = (this.failures.get(key) ?? []).filter((time) => now - time < MINUTE_MS);
    recent.push(now);
    this.failures.set(key, recent);
    if (recent.length < Math.max(1, allowedFails) || cooldownMs <= 0) return undefined;
    const until = now + cooldownMs;
    this.cooldowns.set(deploymentId, until);
    this.failures.delete(key);
    return until;
  }

  coolingUntil(deploymentId: string): number | undefined {
    const until = this.cooldowns.get(deploymentId);
    if (until === undefined) return undefined;
    if (until <= this.now()) {
      this.cooldowns.delete(deploymentId);
      return undefined;
    }
    return until;
  }

  /** The cooldowns still running, as [deployment, until] (a worker starting under a primary reads them). */
  activeCooldowns(): Array<[string, number]> {
    return [...this.cooldowns.keys()].flatMap((id) => {
      const until = this.coolingUntil(id);
      return until === undefined ? [] : [[id, until] as [string, number]];
    });
  }

  private window(deploymentId: string): { minute: number } & UsageWindow {
    const minute = currentMinute(this.now());
    let window = this.windows.get(deploymentId);
    if (!window || window.minute !== minute) {
      window = { minute, requests: 0, tokens: 0 };
      this.windows.set(deploymentId, window);
    }
    return window;
  }

  async tryReserveRequest(deploymentId: string, rpm: number | undefined, tpm: number | undefined): Promise<boolean> {
    const window = this.window(deploymentId);
    if (rpm !== undefined && window.requests >= rpm) return false;
    if (tpm !== undefined && window.tokens >= tpm) return false;
    window.requests++;
    return true;
  }

  async addTokens(deploymentId: string, tokens: number): Promise<void> {
    if (tokens > 0) this.window(deploymentId).tokens += tokens;
  }

  async usage(deploymentIds: string[]): Promise<Map<string, UsageWindow>> {
    return new Map(deploymentIds.map((id) => {
      const window = this.window(id);
      return [id, { requests: window.requests, tokens: window.tokens }];
    }));
  }

  async close(): Promise<void> {}
}
