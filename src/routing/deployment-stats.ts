/**
 * Per-replica traffic statistics for routing: requests in flight (least-busy) and moving averages
 * of latency and time to first token (latency-based). These are deliberately local: each replica
 * balances its own load; shared limits live in RouterState.
 */

const SMOOTHING = 0.2; // weight of the newest sample in the moving average

export class DeploymentStats {
  private readonly inFlight = new Map<string, number>();
  private readonly latency = new Map<string, number>();
  private readonly firstToken = new Map<string, number>();

  begin(deploymentId: string): void {
    this.inFlight.set(deploymentId, (this.inFlight.get(deploymentId) ?? 0) + 1);
  }

  end(deploymentId: string): void {
    const count = (this.inFlight.get(deploymentId) ?? 1) - 1;
    if (count <= 0) this.inFlight.delete(deploymentId);
    else this.inFlight.set(deploymentId, count);
  }

  activeRequests(deploymentId: string): number {
    return this.inFlight.get(deploymentId) ?? 0;
  }

  /** `firstTokenMs` for streams (what a streaming client waits for), else the whole call. */
  recordLatency(deploymentId: string, latencyMs: number, firstTokenMs?: number): void {
    update(this.latency, deploymentId, latencyMs);
    if (firstTokenMs !== undefined) update(this.firstToken, deploymentId, firstTokenMs);
  }

  /** A failed call counts as slow, so latency-based routing moves away from a failing deployment. */
  recordFailureLatency(deploymentId: string, penaltyMs: number): void {
    update(this.latency, deploymentId, penaltyMs);
    update(this.firstToken, deploymentId, penaltyMs);
  }

  averageLatency(deploymentId: string, stream: boolean): number | undefined {
    return (stream ? this.firstToken.get(deploymentId) : undefined) ?? this.latency.get(deploymentId);
  }
}

function update(map: Map<string, number>, key: string, sample: number): void {
  const previous = map.get(key);
  map.set(key, previous === undefined ? sample : previous + SMOOTHING * (sample - previous));
}
