/** The 503s routing answers when no deployment of a group can take the call now. */
import { GatewayError } from '../../errors.js';
import type { ModelGroup } from '../../routing/catalog.js';
import type { Router } from '../../routing/router.js';

/**
 * 503 naming the group (and the fallbacks tried) and when its first deployment frees up. `cooling`
 * collects the groups found cooling down during one call, so the last error names them all.
 */
export function coolingDownError(router: Pick<Router, 'earliestRelease'>, group: ModelGroup, cooling: ModelGroup[] | undefined): GatewayError {
  if (cooling && !cooling.includes(group)) cooling.push(group);
  const groups = cooling?.length ? cooling : [group];
  const releases = groups.map((candidate) => router.earliestRelease(candidate)).filter((time): time is number => time !== undefined);
  const release = releases.length > 0 ? Math.min(...releases) : Date.now();
  const seconds = Math.max(1, Math.ceil((release - Date.now()) / 1000));
  const label = groups.length > 1 ? `model group "${groups[0].name}" and its fallbacks (${groups.slice(1).map((item) => `"${item.name}"`).join(', ')})` : `model group "${groups[0].name}"`;
  return new GatewayError('deployments_cooling_down', `${label}: every deployment is cooling down after repeated failures; the first frees up in ${seconds}s (at ${new Date(release).toISOString()})`, {
    retryAfterSeconds: seconds,
    headers: { 'retry-after': String(seconds) },
  });
}

export function atCapacityError(group: ModelGroup): GatewayError {
  return new GatewayError('deployments_at_capacity', `model group "${group.name}": every deployment is at its rpm/tpm limit for this minute; retry after the minute turns`, {
    retryAfterSeconds: 60 - (Math.floor(Date.now() / 1000) % 60),
    headers: { 'retry-after': String(60 - (Math.floor(Date.now() / 1000) % 60)) },
  });
}
