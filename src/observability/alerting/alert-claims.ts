/**
 * Once-only alert claims shared by the replicas: a Redis SET NX per condition (and budget period),
 * kept long enough to outlive any budget period's alerts (400 days), or for alerting_args.budget_alert_ttl.
 */
import type { Redis } from 'ioredis';
import type { ClaimStore } from './budget-alerts.js';

const CLAIM_SECONDS = 400 * 86_400;

export function redisClaims(client: Redis, prefix: string): ClaimStore {
  return {
    async claim(key, ttlSeconds = CLAIM_SECONDS) {
      return (await client.set(`${prefix}${key}`, String(process.pid), 'EX', ttlSeconds, 'NX')) === 'OK';
    },
    async release(key) {
      await client.del(`${prefix}${key}`);
    },
  };
}
