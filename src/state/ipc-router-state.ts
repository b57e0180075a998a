/**
 * Router state across worker processes without Redis (`--workers N`): the primary owns a
 * LocalRouterState; workers call it through the generic IPC proxy (ipc-state.ts). Cooldowns are
 * read synchronously on the request path, so the primary pushes each new cooldown to every worker
 * and a worker keeps them in a local map (read at its start from the primary, then kept by events).
 * Deployment marks (billing/priority-default.ts) travel the same way: a worker's mark goes to the
 * primary, which keeps it and tells every worker.
 */
import type { SharedStateClient } from './ipc-state.js';
import type { LocalRouterState } from './local-router-state.js';
import { isDeploymentMark, type DeploymentMark, type MarkListener, type RouterState } from './router-state.js';

export const ROUTER_TARGET = 'router';
const COOLDOWN_EVENT = 'cooldown';
const MARK_EVENT = 'mark';

/** The primary's router state: the local one, telling every worker of each cooldown it starts. */
export function primaryRouterState(local: LocalRouterState, broadcast: (target: string, name: string, args: unknown[]) => void): object {
  return {
    async recordFailure(deploymentId: string, allowedFails: number, cooldownMs: number, counter?: string): Promise<number | undefined> {
      const until = await local.recordFailure(deploymentId, allowedFails, cooldownMs, counter);
      if (until !== undefined) broadcast(ROUTER_TARGET, COOLDOWN_EVENT, [deploymentId, until]);
      return until;
    },
    tryReserveRequest: local.tryReserveRequest.bind(local),
    addTokens: local.addTokens.bind(local),
    usage: local.usage.bind(local),
    activeCooldowns: local.activeCooldowns.bind(local),
    async shareMark(mark: DeploymentMark, deploymentId: string, at: number): Promise<void> {
      await local.shareMark(mark, deploymentId, at);
      broadcast(ROUTER_TARGET, MARK_EVENT, [mark, deploymentId, at]);
    },
    activeMarks: local.activeMarks.bind(local),
  };
}

/** A worker's router state: every call goes to the primary but coolingUntil, read from pushed cooldowns. */
export async function workerRouterState(client: SharedStateClient, now: () => number = Date.now): Promise<RouterState> {
  const cooldowns = new Map<string, number>();
  const note = (deploymentId: string, until: number) => {
    if (until > (cooldowns.get(deploymentId) ?? 0)) cooldowns.set(deploymentId, until);
  };
  // Marks the primary told of before a listener was set are kept for it (those loaded at start among them).
  const marks: Array<[DeploymentMark, string, number]> = [];
  const markListeners: MarkListener[] = [];
  const noteMark = (mark: unknown, deploymentId: unknown, at: unknown) => {
    if (!isDeploymentMark(mark) || typeof deploymentId !== 'string' || typeof at !== 'number') return;
    if (markListeners.length === 0) marks.push([mark, deploymentId, at]);
    for (const listener of markListeners) listener(mark, deploymentId, at);
  };
  client.onEvent(ROUTER_TARGET, (name, args) => {
    if (name === COOLDOWN_EVENT) note(args[0] as string, args[1] as number);
    else if (name === MARK_EVENT) noteMark(args[0], args[1], args[2]);
  });
  const state = client.proxy<RouterState>(ROUTER_TARGET, {
    coolingUntil(deploymentId) {
      const until = cooldowns.get(deploymentId);
      if (until === undefined) return undefined;
      if (until <= now()) {
        cooldowns.delete(deploymentId);
        return undefined;
      }
      return until;
    },
    onMark(listener) {
      markListeners.push(listener);
      for (const [mark, deploymentId, at] of marks.splice(0)) listener(mark, deploymentId, at);
    },
    // The primary's state knows every deployment: nothing to watch.
    watch: undefined,
    close: () => Promise.resolve(),
  });
  for (const [deploymentId, until] of (await client.call(ROUTER_TARGET, 'activeCooldowns', [])) as Array<[string, number]>) note(deploymentId, until);
  for (const [mark, deploymentId, at] of (await client.call(ROUTER_TARGET, 'activeMarks', [])) as Array<[DeploymentMark, string, number]>) noteMark(mark, deploymentId, at);
  return state;
}
