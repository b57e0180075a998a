/**
 * Router state that must agree across replicas: deployment cooldowns, per-minute usage
 * (requests and tokens) for rpm/tpm limits, and the marks answers set on a deployment that
 * reservations are sized by. One replica uses the in-memory implementation; with
 * REDIS_URL every replica shares the Redis one. Reads on the request path are synchronous views
 * (cooldowns) or one round trip (rpm reservation); writes after a failure or a response are
 * off the response path.
 */

export interface UsageWindow {
  requests: number;
  tokens: number;
}

export interface RouterState {
  /**
   * Counts a failure of a deployment within the last minute; when the count reaches
   * `allowedFails`, puts the deployment into cooldown for `cooldownMs` and returns the time (epoch
   * ms) it frees up. `counter` names a separate count for one error kind (allowed_fails_policy);
   * without it the failure goes to the deployment's one count.
   */
  recordFailure(deploymentId: string, allowedFails: number, cooldownMs: number, counter?: string): Promise<number | undefined>;
  /** Epoch ms until which the deployment is cooling down, or undefined (a local, synchronous view). */
  coolingUntil(deploymentId: string): number | undefined;
  /**
   * Counts one request for the deployment in the current minute if that stays within `rpm` and
   * the minute's tokens are below `tpm`; false (nothing counted) otherwise. Atomic across replicas.
   */
  tryReserveRequest(deploymentId: string, rpm: number | undefined, tpm: number | undefined): Promise<boolean>;
  /** Adds a finished request's tokens to the deployment's current minute. */
  addTokens(deploymentId: string, tokens: number): Promise<void>;
  /** The current minute's usage of each deployment. */
  usage(deploymentIds: string[]): Promise<Map<string, UsageWindow>>;
  /**
   * Tells the other replicas (or worker processes) of a mark a deployment's answer set at `at`
   * (epoch ms): billing/priority-default.ts reserves by it on every one of them, not only on the
   * process that saw the answer.
   */
  shareMark(mark: DeploymentMark, deploymentId: string, at: number): Promise<void>;
  /** Delivers the marks the others shared: those still fresh when this replica starts, then each as it comes. */
  onMark(listener: MarkListener): void;
  /** Deployments added at runtime (model management API): picks up cooldowns other replicas set for them. */
  watch?(deploymentIds: string[]): Promise<void>;
  close(): Promise<void>;
}

/**
 * A fact about a deployment's upstream account learnt from an answer that the request did not ask
 * for (billing/priority-default.ts): its OpenAI project serves priority processing by default, or
 * its Anthropic workspace runs every call US-only.
 */
export type DeploymentMark = 'priority' | 'us-inference';
export type MarkListener = (mark: DeploymentMark, deploymentId: string, at: number) => void;

/** How long a shared mark is handed to a replica that starts (the marks lapse after an hour). */
export const MARK_TTL_MS = 60 * 60 * 1000;

export function isDeploymentMark(value: unknown): value is DeploymentMark {
  return value === 'priority' || value === 'us-inference';
}

export const MINUTE_MS = 60_000;

export function currentMinute(now = Date.now()): number {
  return Math.floor(now / MINUTE_MS);
}
