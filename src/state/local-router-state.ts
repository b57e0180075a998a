import { currentMinute, MARK_TTL_MS, MINUTE_MS, type DeploymentMark, type MarkListener, type RouterState, type UsageWindow } from './router-state.js';

/** RouterState for one process: plain maps, pruned as minutes pass. */
export class LocalRouterState implements RouterState {
  private readonly failures = new Map<string, number[]>();
  private readonly cooldowns = new Map<string, number>();
  private readonly windows = new Map<string, { minute: number } & UsageWindow>();
  /** `mark\ndeployment` → when it was last set: a process of its own has no one to tell, but a primary hands them to its workers. */
  private readonly marks = new Map<string, number>();

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

  async shareMark(mark: DeploymentMark, deploymentId: string, at: number): Promise<void> {
    const key = `${mark}\n${deploymentId}`;
    if (at > (this.marks.get(key) ?? 0)) this.marks.set(key, at);
  }

  /** One process: no other replica shares marks with it. */
  onMark(_listener: MarkListener): void {}

  /** The marks set within the last hour, as [mark, deployment, at] (a worker starting under a primary reads them). */
  activeMarks(): Array<[DeploymentMark, string, number]> {
    const now = this.now();
    const active: Array<[DeploymentMark, string, number]> = [];
    for (const [key, at] of this.marks) {
      if (now - at > MARK_TTL_MS) {
        this.marks.delete(key);
        continue;
      }
      const newline = key.indexOf('\n');
      active.push([key.slice(0, newline) as DeploymentMark, key.slice(newline + 1), at]);
    }
    return active;
  }

  async close(): Promise<void> {}
}
