/**
 * Router state that must agree across replicas: deployment cooldowns and per-minute usage
 * (requests and tokens) for rpm/tpm limits. One replica uses the in-memory implementation; with
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
  /** Deployments added at runtime (model management API): picks up cooldowns other replicas set for them. */
  watch?(deploymentIds: string[]): Promise<void>;
  close(): Promise<void>;
}

export const MINUTE_MS = 60_000;

export function currentMinute(now = Date.now()): number {
  return Math.floor(now / MINUTE_MS);
}
