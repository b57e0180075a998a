/**
 * LimitsState shared by every replica through Redis. Each check-and-take is one Lua script, so
 * concurrent requests on any number of replicas can never pass a limit together. Windows use the
 * Redis server's clock (TIME), so replicas with skewed clocks still agree.
 */
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { redisClient, whenReady } from './redis-client.js';
import type { AcquireOutcome, AdmissionPlan, AdmissionSettlement, AdmitOutcome, BudgetHold, LimitsState, ParallelOutcome, RateLimit, ReserveOutcome, TokenReserveOutcome } from './limits-state.js';
import { TOKEN_HOLD_TTL_MS, WINDOW_MS } from './limits-state.js';
import { RedisAdmission, TOKEN_LOG } from './redis-admission.js';

// Budget counters outlive an idle week; a counter that expired is re-seeded from the database.
const BUDGET_TTL_MS = 8 * 24 * 3_600_000;
const PARALLEL_TTL_MS = 10 * 60_000;

const NOW_MS = `local time = redis.call('TIME') local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)`;

// KEYS: budget hashes. ARGV: amount, ttl, then per key: max, baseline.
const RESERVE = `
local amount = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  local max = tonumber(ARGV[1 + i * 2])
  redis.call('HSETNX', key, 'spent', ARGV[2 + i * 2])
  local spent = tonumber(redis.call('HGET', key, 'spent'))
  local reserved = tonumber(redis.call('HGET', key, 'reserved') or '0')
  if spent >= max or spent + reserved + amount > max then return {i, spent, reserved} end
end
for i, key in ipairs(KEYS) do
  redis.call('HINCRBY', key, 'reserved', amount)
  redis.call('PEXPIRE', key, ARGV[2])
end
return {0}`;

// KEYS: budget hashes. ARGV: reserved, actual, ttl, then per key: baseline.
const SETTLE = `
for i, key in ipairs(KEYS) do
  redis.call('HSETNX', key, 'spent', ARGV[3 + i])
  local reserved = tonumber(redis.call('HGET', key, 'reserved') or '0')
  redis.call('HSET', key, 'reserved', math.max(0, reserved - tonumber(ARGV[1])))
  redis.call('HINCRBY', key, 'spent', ARGV[2])
  redis.call('PEXPIRE', key, ARGV[3])
end
return 1`;

// KEYS: request logs (sorted sets). ARGV: window, request id, then per key: limit.
const ACQUIRE = `
${NOW_MS}
local window = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  if redis.call('ZCARD', key) >= tonumber(ARGV[2 + i]) then
    local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    return {i, tonumber(oldest[2]) + window - now}
  end
end
local result = {0}
for i, key in ipairs(KEYS) do
  redis.call('ZADD', key, now, ARGV[2])
  redis.call('PEXPIRE', key, window)
  local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  table.insert(result, redis.call('ZCARD', key))
  table.insert(result, tonumber(oldest[2]) + window - now)
end
return result`;

// Token holds of requests in flight: a sorted set per subject, member "<request id>:<tokens>",
// scored by when the hold expires. KEYS: token logs then holds, alternating. ARGV: window, hold ttl,
// request id, tokens, then per subject: limit. Returns {0, remaining...} or {i, used, held}.
const RESERVE_TOKENS = `
${NOW_MS}
${TOKEN_LOG}
local window = tonumber(ARGV[1])
local tokens = tonumber(ARGV[4])
local used = {}
local held = {}
local subjects = #KEYS / 2
for i = 1, subjects do
  used[i] = logTotal(KEYS[i * 2 - 1], now - window)
  held[i] = logTotal(KEYS[i * 2], now)
  local limit = tonumber(ARGV[4 + i])
  if used[i] + held[i] >= limit or used[i] + held[i] + tokens > limit then return {i, used[i], held[i]} end
end
local result = {0}
for i = 1, subjects do
  logAdd(KEYS[i * 2], now + tonumber(ARGV[2]), ARGV[3] .. ':' .. ARGV[4], ARGV[2])
  table.insert(result, tonumber(ARGV[4 + i]) - used[i] - held[i] - tokens)
end
return result`;

// KEYS: token logs then holds, alternating. ARGV: window, request id, held tokens, real tokens.
const SETTLE_TOKENS = `
${NOW_MS}
${TOKEN_LOG}
for i = 1, #KEYS / 2 do
  logRemove(KEYS[i * 2], ARGV[2] .. ':' .. ARGV[3])
  if tonumber(ARGV[4]) > 0 then logAdd(KEYS[i * 2 - 1], now, ARGV[2] .. ':' .. ARGV[4], ARGV[1]) end
end
return 1`;

// KEYS: in-flight counters. ARGV: ttl, then per key: limit.
const ACQUIRE_PARALLEL = `
for i, key in ipairs(KEYS) do
  if tonumber(redis.call('GET', key) or '0') >= tonumber(ARGV[1 + i]) then return i end
end
for _, key in ipairs(KEYS) do
  redis.call('INCR', key)
  redis.call('PEXPIRE', key, ARGV[1])
end
return 0`;

const RELEASE_PARALLEL = `
for _, key in ipairs(KEYS) do
  if tonumber(redis.call('GET', key) or '0') > 0 then redis.call('DECR', key) end
end
return 1`;

export class RedisLimitsState implements LimitsState {
  private readonly combined: RedisAdmission;

  private constructor(
    readonly redis: Redis,
    private readonly prefix: string,
  ) {
    this.combined = new RedisAdmission(
      redis,
      {
        rpm: (subject) => this.key('rpm', subject),
        tpm: (subject) => this.key('tpm', subject),
        tpmHeld: (subject) => this.key('tpm-held', subject),
        parallel: (subject) => this.key('parallel', subject),
        budget: (subject, period) => this.key('budget', subject, `:${period}`),
      },
      { parallelMs: PARALLEL_TTL_MS, budgetMs: BUDGET_TTL_MS },
    );
  }

  /** Connects in the background (redis-client.ts): commands fail fast until Redis answers. */
  static create(options: { url: string; prefix?: string; logger: Logger }): RedisLimitsState {
    return new RedisLimitsState(redisClient(options.url, { role: 'limits', logger: options.logger }), options.prefix ?? 'switchboard:');
  }

  /** Creates the state and waits until Redis answers. */
  static async connect(options: { url: string; prefix?: string; logger: Logger }): Promise<RedisLimitsState> {
    const state = RedisLimitsState.create(options);
    await whenReady(state.redis);
    return state;
  }

  private key(kind: string, subject: string, suffix = ''): string {
    return `${this.prefix}${kind}:${subject}${suffix}`;
  }

  async reserve(holds: BudgetHold[], amountMicros: number): Promise<ReserveOutcome> {
    if (holds.length === 0) return { ok: true };
    const args = [Math.round(amountMicros), BUDGET_TTL_MS, ...holds.flatMap((hold) => [hold.maxMicros, hold.baselineMicros])];
    const result = (await this.redis.eval(RESERVE, holds.length, ...holds.map((hold) => this.key('budget', hold.subject, `:${hold.period}`)), ...args)) as number[];
    if (result[0] === 0) return { ok: true };
    const hold = holds[result[0] - 1];
    return { ok: false, subject: hold.subject, spentMicros: Number(result[1]), reservedMicros: Number(result[2]), maxMicros: hold.maxMicros };
  }

  async settle(holds: BudgetHold[], reservedMicros: number, actualMicros: number): Promise<void> {
    if (holds.length === 0) return;
    await this.redis.eval(
      SETTLE,
      holds.length,
      ...holds.map((hold) => this.key('budget', hold.subject, `:${hold.period}`)),
      Math.round(reservedMicros),
      Math.round(actualMicros),
      BUDGET_TTL_MS,
      ...holds.map((hold) => hold.baselineMicros),
    );
  }

  async spent(subject: string, period: number): Promise<number | undefined> {
    const value = await this.redis.hget(this.key('budget', subject, `:${period}`), 'spent');
    return value === null ? undefined : Number(value);
  }

  async setSpent(subject: string, period: number, spentMicros: number): Promise<void> {
    const key = this.key('budget', subject, `:${period}`);
    // Only an existing counter is changed, atomically (HSET on a missing key would create one without its expiry).
    await this.redis.eval("if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 'spent', ARGV[1]) end return 0", 1, key, Math.round(spentMicros));
  }

  async acquireRequest(limits: RateLimit[], requestId: string): Promise<AcquireOutcome> {
    if (limits.length === 0) return { ok: true, windows: [] };
    const result = (await this.redis.eval(ACQUIRE, limits.length, ...limits.map((limit) => this.key('rpm', limit.subject)), WINDOW_MS, requestId, ...limits.map((limit) => limit.limit))) as number[];
    if (result[0] !== 0) {
      const limit = limits[result[0] - 1];
      return { ok: false, subject: limit.subject, limit: limit.limit, retryAfterMs: Math.max(1, Number(result[1])) };
    }
    return {
      ok: true,
      windows: limits.map((limit, index) => ({ subject: limit.subject, limit: limit.limit, remaining: Math.max(0, limit.limit - Number(result[1 + index * 2])), resetMs: Math.max(0, Number(result[2 + index * 2])) })),
    };
  }

  async refundRequest(subjects: string[], requestId: string, _takenAt?: number): Promise<void> {
    if (subjects.length === 0) return;
    const pipeline = this.redis.pipeline();
    for (const subject of subjects) pipeline.zrem(this.key('rpm', subject), requestId);
    await pipeline.exec();
  }

  private tokenKeys(subjects: string[]): string[] {
    return subjects.flatMap((subject) => [this.key('tpm', subject), this.key('tpm-held', subject)]);
  }

  async reserveTokens(limits: RateLimit[], requestId: string, tokens: number): Promise<TokenReserveOutcome> {
    if (limits.length === 0) return { ok: true, windows: [] };
    const amount = Math.max(0, Math.round(tokens));
    const keys = this.tokenKeys(limits.map((limit) => limit.subject));
    const result = (await this.redis.eval(RESERVE_TOKENS, keys.length, ...keys, WINDOW_MS, TOKEN_HOLD_TTL_MS, requestId, amount, ...limits.map((limit) => limit.limit))) as number[];
    if (result[0] !== 0) {
      const limit = limits[result[0] - 1];
      return { ok: false, subject: limit.subject, limit: limit.limit, usedTokens: Number(result[1]), heldTokens: Number(result[2]) };
    }
    return { ok: true, windows: limits.map((limit, index) => ({ subject: limit.subject, limit: limit.limit, remaining: Math.max(0, Number(result[1 + index])) })) };
  }

  async settleTokens(subjects: string[], requestId: string, heldTokens: number, usedTokens: number): Promise<void> {
    if (subjects.length === 0) return;
    const keys = this.tokenKeys(subjects);
    await this.redis.eval(SETTLE_TOKENS, keys.length, ...keys, WINDOW_MS, requestId, Math.max(0, Math.round(heldTokens)), Math.max(0, Math.round(usedTokens)));
  }

  async acquireParallel(limits: RateLimit[]): Promise<ParallelOutcome> {
    if (limits.length === 0) return { ok: true };
    const result = Number(await this.redis.eval(ACQUIRE_PARALLEL, limits.length, ...limits.map((limit) => this.key('parallel', limit.subject)), PARALLEL_TTL_MS, ...limits.map((limit) => limit.limit)));
    if (result === 0) return { ok: true };
    const limit = limits[result - 1];
    return { ok: false, subject: limit.subject, limit: limit.limit };
  }

  async releaseParallel(subjects: string[]): Promise<void> {
    if (subjects.length === 0) return;
    await this.redis.eval(RELEASE_PARALLEL, subjects.length, ...subjects.map((subject) => this.key('parallel', subject)));
  }

  /** One script, one round trip (redis-admission.ts): all taken or nothing. */
  admit(plan: AdmissionPlan): Promise<AdmitOutcome> {
    return this.combined.admit(plan);
  }

  /** One script, one round trip: settles the budget and tokens, frees the slot, reads the spend. */
  settleAdmission(settlement: AdmissionSettlement): Promise<Array<number | undefined>> {
    return this.combined.settle(settlement);
  }

  async close(): Promise<void> {
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
