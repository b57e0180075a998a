/**
 * RouterState shared by every replica through Redis. Cooldowns are Redis keys with a TTL, and each
 * replica keeps a local copy updated by pub/sub (and loaded at start), so the request path reads
 * them without a round trip. Per-minute usage is counted in Redis with one atomic script per
 * reservation, so rpm limits hold across replicas. Deployment marks (billing/priority-default.ts)
 * are records of a shared hash (redis-shared-hash.ts): the latest per mark and deployment, loaded
 * at start and pushed to the other replicas as they are set.
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { redisClient, subscribeWithin, whenReady } from './redis-client.js';
import { RedisSharedHash } from './redis-shared-hash.js';
import { currentMinute, isDeploymentMark, MARK_TTL_MS, MINUTE_MS, type DeploymentMark, type MarkListener, type RouterState, type UsageWindow } from './router-state.js';

interface MarkRecord {
  mark: DeploymentMark;
  deploymentId: string;
  at: number;
}

function parseMark(text: string): MarkRecord | undefined {
  try {
    const record = JSON.parse(text) as Partial<MarkRecord> | null;
    if (record && isDeploymentMark(record.mark) && typeof record.deploymentId === 'string' && typeof record.at === 'number' && Number.isFinite(record.at)) return record as MarkRecord;
  } catch {
    // Not a record of ours: ignored.
  }
  return undefined;
}

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

  private readonly known = new Set<string>();
  private readonly marks: RedisSharedHash<MarkRecord>;
  private marksStarted = false;
  private readonly markListeners: MarkListener[] = [];
  /** Settles once Redis confirmed the subscription (or gave up waiting). */
  private readonly subscribed: Promise<void>;

  private constructor(private readonly options: RedisRouterStateOptions) {
    this.prefix = options.prefix ?? 'switchboard:';
    this.channel = `${this.prefix}cooldowns`;
    // Commands fail fast while Redis is unreachable (the caller falls back to this replica's memory);
    // the subscription is queued and renewed by every reconnect.
    this.redis = redisClient(options.url, { role: 'router state', logger: options.logger });
    this.subscriber = redisClient(options.url, { role: 'router state (subscriber)', logger: options.logger, queueWhileDisconnected: true });
    this.subscriber.on('message', (_channel: string, message: string) => {
      const [deploymentId, until] = splitMessage(message);
      if (deploymentId && until > Date.now()) this.cooldowns.set(deploymentId, until);
    });
    this.subscribed = subscribeWithin(this.subscriber, this.channel, 10_000);
    this.marks = new RedisSharedHash<MarkRecord>(options.url, `${this.prefix}deployment-marks`, 'deployment marks', options.logger, parseMark);
    // Each (re)connection picks up the cooldowns other replicas set meanwhile.
    this.redis.on('ready', () => void this.loadCooldowns([...this.known]).catch((error: Error) => options.logger.debug({ err: error.message }, 'could not load cooldowns')));
  }

  /** Starts at once; cooldowns set before this replica started are loaded when Redis answers. */
  static create(options: RedisRouterStateOptions & { deploymentIds: string[] }): RedisRouterState {
    const state = new RedisRouterState(options);
    for (const id of options.deploymentIds) state.known.add(id);
    return state;
  }

  /** Creates the state and waits until Redis answers and the cooldowns are loaded (tests). */
  static async connect(options: RedisRouterStateOptions & { deploymentIds: string[] }): Promise<RedisRouterState> {
    const state = RedisRouterState.create(options);
    await Promise.all([whenReady(state.redis), whenReady(state.subscriber), state.subscribed]);
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
    for (const id of deploymentIds) this.known.add(id);
    return this.loadCooldowns(deploymentIds);
  }

  private cooldownKey(deploymentId: string): string {
    return `${this.prefix}cooldown:${deploymentId}`;
  }

  async recordFailure(deploymentId: string, allowedFails: number, cooldownMs: number, counter?: string): Promise<number | undefined> {
    const failures = !counter ? `${this.prefix}fails:${deploymentId}` : `${this.prefix}fails:${deploymentId}:${counter}`;
    const until = Number(
      await this.redis.eval(RECORD_FAILURE, 2, failures, this.cooldownKey(deploymentId), Math.max(1, allowedFails), Math.round(cooldownMs), Date.now()),
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

  async shareMark(mark: DeploymentMark, deploymentId: string, at: number): Promise<void> {
    await this.marks.save(`${mark}:${deploymentId}`, { mark, deploymentId, at });
  }

  onMark(listener: MarkListener): void {
    this.markListeners.push(listener);
    if (this.marksStarted) return;
    this.marksStarted = true;
    // A mark older than its hour is history: a replica starting now does not reserve by it.
    void this.marks.start((record) => {
      if (Date.now() - record.at > MARK_TTL_MS) return;
      for (const each of this.markListeners) each(record.mark, record.deploymentId, record.at);
    }).catch((error: Error) => this.options.logger.debug({ err: error.message }, 'could not load deployment marks'));
  }

  async close(): Promise<void> {
    this.subscriber.disconnect();
    await Promise.all([this.redis.quit().catch(() => this.redis.disconnect()), this.marks.close()]);
  }
}

function splitMessage(message: string): [string, number] {
  const newline = message.lastIndexOf('\n');
  return [message.slice(0, newline), Number(message.slice(newline + 1))];
}
