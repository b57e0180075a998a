/**
 * Router state across worker processes without Redis (`--workers N`): the primary owns a
 * LocalRouterState; workers call it through the generic IPC proxy (ipc-state.ts). Cooldowns are
 * read synchronously on the request path, so the primary pushes each new cooldown to every worker
 * and a worker keeps them in a local map (read at its start from the primary, then kept by events).
 */
import type { SharedStateClient } from './ipc-state.js';
import type { LocalRouterState } from './local-router-state.js';
import type { RouterState } from './router-state.js';

export const ROUTER_TARGET = 'router';
const COOLDOWN_EVENT = 'cooldown';

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
  };
}

/** A worker's router state: every call goes to the primary but coolingUntil, read from pushed cooldowns. */
export async function workerRouterState(client: SharedStateClient, now: () => number = Date.now): Promise<RouterState> {
  const cooldowns = new Map<string, number>();
  const note = (deploymentId: string, until: number) => {
    if (until > (cooldowns.get(deploymentId) ?? 0)) cooldowns.set(deploymentId, until);
  };
  client.onEvent(ROUTER_TARGET, (name, args) => {
    if (name === COOLDOWN_EVENT) note(args[0] as string, args[1] as number);
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
    // The primary's state knows every deployment: nothing to watch.
    watch: undefined,
    close: () => Promise.resolve(),
  });
  for (const [deploymentId, until] of (await client.call(ROUTER_TARGET, 'activeCooldowns', [])) as Array<[string, number]>) note(deploymentId, until);
  return state;
}
