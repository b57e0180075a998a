/**
 * RouterState shared by every replica through Redis. Cooldowns are Redis keys with a TTL, and each
 * replica keeps a local copy updated by pub/sub (and loaded at start), so the request path reads
 * them without a round trip. Per-minute usage is counted in Redis with one atomic script per
 * reservation, so rpm limits hold across replicas.
 */
import { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { currentMinute, MINUTE_MS, type RouterState, type UsageWindow } from './router-state.js';

// KEYS[1] = failures counter, KEYS[2] = cooldown key; ARGV: allowedFails, cooldownMs, now
const RECORD_FAILURE = `
local fails = redis.call('INCR', KEYS[1])
if fails == 1 then redis.call('PEXPIRE', KEYS[1], 60000) end
if fails >= tonumber(ARGV[1]) and tonumber(ARGV[2]) > 0 then
  local untilMs = tonumber(ARGV[3]) + tonumber(ARGV[2])
  redis.call('SET', KEYS[2], untilMs, 'PX', ARGV[2])
  redis.call('DEL', KEYS[1])
  return untilMs
end
return 0`;

// KEYS[1] = requests this minute, KEYS[2] = tokens this minute; ARGV: rpm (or -1), tpm (or -1)
const RESERVE_REQUEST = `
local rpm = tonumber(ARGV[1])
local tpm = tonumber(ARGV[2])
if rpm >= 0 and tonumber(redis.call('GET', KEYS[1]) or '0') >= rpm then return 0 end
if tpm >= 0 and tonumber(redis.call('GET', KEYS[2]) or '0') >= tpm then return 0 end
redis.call('INCR', KEYS[1])
redis.call('PEXPIRE', KEYS[1], 120000)
return 1`;

export interface RedisRouterStateOptions {
  url: string;
  /** Key prefix, so that deployments (and test runs) sharing one Redis never collide. */
  prefix?: string;
  logger: Logger;
}

export class RedisRouterState implements RouterState {
  private readonly redis: Redis;
  private readonly subscriber: Redis;
  private readonly prefix: string;
  private readonly cooldowns = new Map<string, number>();
  private readonly channel: string;

  private constructor(options: RedisRouterStateOptions) {
    this.prefix = options.prefix ?? 'switchboard:';
    this.channel = `${this.prefix}cooldowns`;
    const redisOptions = { maxRetriesPerRequest: 2, enableOfflineQueue: true, lazyConnect: true };
    this.redis = new Redis(options.url, redisOptions);
    this.subscriber = new Redis(options.url, redisOptions);
    const onError = (error: Error) => options.logger.warn({ err: error.message }, 'redis error (router state)');
    this.redis.on('error', onError);
    this.subscriber.on('error', onError);
    this.subscriber.on('message', (_channel: string, message: string) => {
      const [deploymentId, until] = splitMessage(message);
      if (deploymentId && until > Date.now()) this.cooldowns.set(deploymentId, until);
    });
  }

  static async connect(options: RedisRouterStateOptions & { deploymentIds: string[] }): Promise<RedisRouterState> {
    const state = new RedisRouterState(options);
    await state.redis.connect();
    await state.subscriber.connect();
    await state.subscriber.subscribe(state.channel);
    await state.loadCooldowns(options.deploymentIds);
    return state;
  }

  /** Picks up cooldowns set before this replica started. */
  async loadCooldowns(deploymentIds: string[]): Promise<void> {
    if (deploymentIds.length === 0) return;
    const values = await this.redis.mget(deploymentIds.map((id) => this.cooldownKey(id)));
    values.forEach((value, index) => {
      const until = Number(value);
      if (value !== null && until > Date.now()) this.cooldowns.set(deploymentIds[index], until);
    });
  }

  /** Deployments added after start (model management API); cooldowns are pushed by pub/sub from then on. */
  watch(deploymentIds: string[]): Promise<void> {
    return this.loadCooldowns(deploymentIds);
  }

  private cooldownKey(deploymentId: string): string {
    return `${this.prefix}cooldown:${deploymentId}`;
  }

  async recordFailure(deploymentId: string, allowedFails: number, cooldownMs: number): Promise<number | undefined> {
    const until = Number(
      await this.redis.eval(RECORD_FAILURE, 2, `${this.prefix}fails:${deploymentId}`, this.cooldownKey(deploymentId), Math.max(1, allowedFails), Math.round(cooldownMs), Date.now()),
    );
    if (!until) return undefined;
    this.cooldowns.set(deploymentId, until);
    await this.redis.publish(this.channel, `${deploymentId}\n${until}`);
    return until;
  }

  coolingUntil(deploymentId: string): number | undefined {
    const until = this.cooldowns.get(deploymentId);
    if (until === undefined) return undefined;
    if (until <= Date.now()) {
      this.cooldowns.delete(deploymentId);
      return undefined;
    }
    return until;
  }

  private usageKeys(deploymentId: string, minute = currentMinute()): [string, string] {
    return [`${this.prefix}rpm:${deploymentId}:${minute}`, `${this.prefix}tpm:${deploymentId}:${minute}`];
  }

  async tryReserveRequest(deploymentId: string, rpm: number | undefined, tpm: number | undefined): Promise<boolean> {
    const [requests, tokens] = this.usageKeys(deploymentId);
    return Number(await this.redis.eval(RESERVE_REQUEST, 2, requests, tokens, rpm ?? -1, tpm ?? -1)) === 1;
  }

  async addTokens(deploymentId: string, tokens: number): Promise<void> {
    if (tokens <= 0) return;
    const [, key] = this.usageKeys(deploymentId);
    await this.redis.multi().incrby(key, Math.round(tokens)).pexpire(key, 2 * MINUTE_MS).exec();
  }

  async usage(deploymentIds: string[]): Promise<Map<string, UsageWindow>> {
    const result = new Map<string, UsageWindow>();
    if (deploymentIds.length === 0) return result;
    const keys = deploymentIds.flatMap((id) => this.usageKeys(id));
    const values = await this.redis.mget(keys);
    deploymentIds.forEach((id, index) => result.set(id, { requests: Number(values[index * 2] ?? 0), tokens: Number(values[index * 2 + 1] ?? 0) }));
    return result;
  }

  async close(): Promise<void> {
    this.subscriber.disconnect();
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}

function splitMessage(message: string): [string, number] {
  const newline = message.lastIndexOf('\n');
  return [message.slice(0, newline), Number(message.slice(newline + 1))];
}
