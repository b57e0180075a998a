/**
 * A call's whole admission and settlement on Redis, one script each (one round trip each, sent as
 * EVALSHA with EVAL when the server lacks the script: ioredis `defineCommand`). The scripts are the
 * separate ones of redis-limits-state.ts put together: every limit is checked in the order rpm, tpm,
 * parallel, budget, and only when all of them leave room is anything taken, so a refused call takes
 * nothing and there is nothing to give back.
 *
 * Keys of one call (key, user, team, customer counters) hash to different slots, and a token log's
 * running total ("<log>#sum") is reached from its log's name rather than passed in KEYS: the
 * gateway supports a single Redis server (or a primary with replicas), not Redis Cluster, where a
 * script over keys of several slots is refused (CROSSSLOT).
 */
import type { Redis } from 'ioredis';
import type { AdmissionPlan, AdmissionSettlement, AdmitOutcome } from './limits-state.js';
import { TOKEN_HOLD_TTL_MS, WINDOW_MS } from './limits-state.js';

const NOW_MS = `local time = redis.call('TIME') local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)`;

/** Lua helpers for the token logs (tpm minute and holds), shared with redis-limits-state.ts. */
export const TOKEN_LOG = `
local function tokensOf(member) return tonumber(string.match(member, ':(%d+)$')) end
-- A token log (sorted set of "<request id>:<tokens>") keeps its running total in "<log>#sum", so a
-- check does not walk the whole minute. Drops the entries scored up to upTo; returns the total left.
local function logTotal(key, upTo)
  local sumKey = key .. '#sum'
  if redis.call('EXISTS', key) == 0 then
    redis.call('DEL', sumKey)
    return 0
  end
  local total = tonumber(redis.call('GET', sumKey) or '-1')
  if total >= 0 then
    local gone = 0
    for _, member in ipairs(redis.call('ZRANGEBYSCORE', key, '-inf', upTo)) do gone = gone + tokensOf(member) end
    if gone > 0 then
      redis.call('ZREMRANGEBYSCORE', key, '-inf', upTo)
      redis.call('INCRBY', sumKey, -gone)
    end
    total = total - gone
  end
  if total < 0 then
    redis.call('ZREMRANGEBYSCORE', key, '-inf', upTo)
    total = 0
    for _, member in ipairs(redis.call('ZRANGE', key, 0, -1)) do total = total + tokensOf(member) end
    local ttl = redis.call('PTTL', key)
    if ttl > 0 then redis.call('SET', sumKey, total, 'PX', ttl) else redis.call('SET', sumKey, total) end
  end
  return total
end
local function logAdd(key, score, member, ttl)
  local sumKey = key .. '#sum'
  local known = redis.call('EXISTS', sumKey) == 1 or redis.call('EXISTS', key) == 0
  if redis.call('ZADD', key, score, member) == 1 and known then redis.call('INCRBY', sumKey, tokensOf(member)) end
  redis.call('PEXPIRE', key, ttl)
  if known then redis.call('PEXPIRE', sumKey, ttl) end
end
local function logRemove(key, member)
  local sumKey = key .. '#sum'
  if redis.call('ZREM', key, member) == 1 and redis.call('EXISTS', sumKey) == 1 then redis.call('INCRBY', sumKey, -tokensOf(member)) end
  if redis.call('EXISTS', key) == 0 then redis.call('DEL', sumKey) end
end`;

// KEYS: rpm logs (nr), then tpm log and holds alternating (2 * nt), then parallel counters (np),
// then budget hashes (nb). ARGV: nr, nt, np, nb, window, hold ttl, parallel ttl, budget ttl,
// request id, tokens, budget amount, read spent (1/0), then the rpm limits, tpm limits, parallel
// limits, then per budget: max, baseline.
// Returns {0, per rpm: count, reset ms; per tpm: remaining; per budget when asked: spent}, or on a
// refusal {stage (1 rpm, 2 tpm, 3 parallel, 4 budget), index, a, b}: rpm a = retry ms; tpm a = used,
// b = held; budget a = spent, b = reserved.
const ADMIT = `
${NOW_MS}
${TOKEN_LOG}
local nr, nt, np, nb = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local window, holdTtl, parallelTtl, budgetTtl = tonumber(ARGV[5]), tonumber(ARGV[6]), ARGV[7], ARGV[8]
local id, tokens, amount, readSpent = ARGV[9], tonumber(ARGV[10]), tonumber(ARGV[11]), ARGV[12] == '1'
local limits = 12
local tk, pk, bk = nr, nr + nt * 2, nr + nt * 2 + np
for i = 1, nr do
  local key = KEYS[i]
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  if redis.call('ZCARD', key) >= tonumber(ARGV[limits + i]) then
    local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    return {1, i, tonumber(oldest[2]) + window - now, 0}
  end
end
local used, held = {}, {}
for i = 1, nt do
  local log, holds = KEYS[tk + i * 2 - 1], KEYS[tk + i * 2]
  used[i] = logTotal(log, now - window)
  held[i] = logTotal(holds, now)
  local limit = tonumber(ARGV[limits + nr + i])
  if used[i] + held[i] >= limit or used[i] + held[i] + tokens > limit then return {2, i, used[i], held[i]} end
end
for i = 1, np do
  if tonumber(redis.call('GET', KEYS[pk + i]) or '0') >= tonumber(ARGV[limits + nr + nt + i]) then return {3, i, 0, 0} end
end
local budgetArgs = limits + nr + nt + np
local spent = {}
for i = 1, nb do
  local key = KEYS[bk + i]
  local max = tonumber(ARGV[budgetArgs + i * 2 - 1])
  redis.call('HSETNX', key, 'spent', ARGV[budgetArgs + i * 2])
  spent[i] = tonumber(redis.call('HGET', key, 'spent'))
  local reserved = tonumber(redis.call('HGET', key, 'reserved') or '0')
  if spent[i] >= max or spent[i] + reserved + amount > max then return {4, i, spent[i], reserved} end
end
local result = {0}
for i = 1, nr do
  local key = KEYS[i]
  redis.call('ZADD', key, now, id)
  redis.call('PEXPIRE', key, window)
  local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
  table.insert(result, redis.call('ZCARD', key))
  table.insert(result, tonumber(oldest[2]) + window - now)
end
for i = 1, nt do
  local holds = KEYS[tk + i * 2]
  logAdd(holds, now + holdTtl, id .. ':' .. ARGV[10], holdTtl)
  table.insert(result, tonumber(ARGV[limits + nr + i]) - used[i] - held[i] - tokens)
end
for i = 1, np do
  redis.call('INCR', KEYS[pk + i])
  redis.call('PEXPIRE', KEYS[pk + i], parallelTtl)
end
for i = 1, nb do
  redis.call('HINCRBY', KEYS[bk + i], 'reserved', amount)
  redis.call('PEXPIRE', KEYS[bk + i], budgetTtl)
  if readSpent then table.insert(result, spent[i]) end
end
return result`;

// KEYS: budget hashes (nb), then tpm log and holds alternating (2 * nt), then parallel counters.
// ARGV: nb, nt, reserved, actual, budget ttl, window, request id, held tokens, used tokens, read
// spent (1/0), then per budget: baseline. Returns the spent of every budget when asked, else {}.
const SETTLE_ADMISSION = `
${NOW_MS}
${TOKEN_LOG}
local nb, nt = tonumber(ARGV[1]), tonumber(ARGV[2])
local reservedAmount, actual, budgetTtl, window, id, heldTokens, usedTokens = tonumber(ARGV[3]), ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8], tonumber(ARGV[9])
local readSpent = ARGV[10] == '1'
local result = {}
for i = 1, nb do
  local key = KEYS[i]
  redis.call('HSETNX', key, 'spent', ARGV[10 + i])
  local reserved = tonumber(redis.call('HGET', key, 'reserved') or '0')
  redis.call('HSET', key, 'reserved', math.max(0, reserved - reservedAmount))
  local spent = redis.call('HINCRBY', key, 'spent', actual)
  redis.call('PEXPIRE', key, budgetTtl)
  if readSpent then table.insert(result, spent) end
end
for i = 1, nt do
  logRemove(KEYS[nb + i * 2], id .. ':' .. heldTokens)
  if usedTokens > 0 then logAdd(KEYS[nb + i * 2 - 1], now, id .. ':' .. usedTokens, window) end
end
for i = nb + nt * 2 + 1, #KEYS do
  if tonumber(redis.call('GET', KEYS[i]) or '0') > 0 then redis.call('DECR', KEYS[i]) end
end
return result`;

type ScriptCommand = (numberOfKeys: number, ...keysAndArgs: Array<string | number>) => Promise<unknown>;

/** Key names, as redis-limits-state.ts builds them. */
export interface AdmissionKeys {
  rpm(subject: string): string;
  tpm(subject: string): string;
  tpmHeld(subject: string): string;
  parallel(subject: string): string;
  budget(subject: string, period: number): string;
}

export class RedisAdmission {
  private readonly admitScript: ScriptCommand;
  private readonly settleScript: ScriptCommand;

  constructor(
    redis: Redis,
    private readonly keys: AdmissionKeys,
    private readonly ttl: { parallelMs: number; budgetMs: number },
  ) {
    redis.defineCommand('switchboardAdmit', { lua: ADMIT });
    redis.defineCommand('switchboardSettleAdmission', { lua: SETTLE_ADMISSION });
    const commands = redis as unknown as Record<'switchboardAdmit' | 'switchboardSettleAdmission', ScriptCommand>;
    this.admitScript = commands.switchboardAdmit.bind(redis);
    this.settleScript = commands.switchboardSettleAdmission.bind(redis);
  }

  async admit(plan: AdmissionPlan): Promise<AdmitOutcome> {
    const { rpm, tpm, parallel, holds } = plan;
    if (rpm.length + tpm.length + parallel.length + holds.length === 0) return { ok: true, requests: [], tokens: [], spent: [] };
    const tokens = Math.max(0, Math.round(plan.tokens));
    const keys = [
      ...rpm.map((limit) => this.keys.rpm(limit.subject)),
      ...tpm.flatMap((limit) => [this.keys.tpm(limit.subject), this.keys.tpmHeld(limit.subject)]),
      ...parallel.map((limit) => this.keys.parallel(limit.subject)),
      ...holds.map((hold) => this.keys.budget(hold.subject, hold.period)),
    ];
    const args = [
      rpm.length, tpm.length, parallel.length, holds.length,
      WINDOW_MS, TOKEN_HOLD_TTL_MS, this.ttl.parallelMs, this.ttl.budgetMs,
      plan.requestId, tokens, Math.round(plan.budgetMicros), plan.readSpent ? 1 : 0,
      ...rpm.map((limit) => limit.limit), ...tpm.map((limit) => limit.limit), ...parallel.map((limit) => limit.limit),
      ...holds.flatMap((hold) => [hold.maxMicros, hold.baselineMicros]),
    ]; // prettier-ignore
    const result = ((await this.admitScript(keys.length, ...keys, ...args)) as unknown[]).map(Number);
    const [stage, index, a, b] = result;
    switch (stage) {
      case 1: {
        const limit = rpm[index - 1];
        return { ok: false, refused: 'requests', outcome: { ok: false, subject: limit.subject, limit: limit.limit, retryAfterMs: Math.max(1, a) } };
      }
      case 2: {
        const limit = tpm[index - 1];
        return { ok: false, refused: 'tokens', outcome: { ok: false, subject: limit.subject, limit: limit.limit, usedTokens: a, heldTokens: b } };
      }
      case 3: {
        const limit = parallel[index - 1];
        return { ok: false, refused: 'parallel', outcome: { ok: false, subject: limit.subject, limit: limit.limit } };
      }
      case 4: {
        const hold = holds[index - 1];
        return { ok: false, refused: 'budget', outcome: { ok: false, subject: hold.subject, spentMicros: a, reservedMicros: b, maxMicros: hold.maxMicros } };
      }
    }
    const tokenAt = 1 + rpm.length * 2;
    const spentAt = tokenAt + tpm.length;
    return {
      ok: true,
      requests: rpm.map((limit, i) => ({ subject: limit.subject, limit: limit.limit, remaining: Math.max(0, limit.limit - result[1 + i * 2]), resetMs: Math.max(0, result[2 + i * 2]) })),
      tokens: tpm.map((limit, i) => ({ subject: limit.subject, limit: limit.limit, remaining: Math.max(0, result[tokenAt + i]) })),
      spent: plan.readSpent ? holds.map((_, i) => result[spentAt + i]) : [],
    };
  }

  async settle(settlement: AdmissionSettlement): Promise<Array<number | undefined>> {
    const { holds, tpmSubjects, parallelSubjects } = settlement;
    if (holds.length + tpmSubjects.length + parallelSubjects.length === 0) return [];
    const keys = [
      ...holds.map((hold) => this.keys.budget(hold.subject, hold.period)),
      ...tpmSubjects.flatMap((subject) => [this.keys.tpm(subject), this.keys.tpmHeld(subject)]),
      ...parallelSubjects.map((subject) => this.keys.parallel(subject)),
    ];
    const args = [
      holds.length, tpmSubjects.length, Math.round(settlement.reservedMicros), Math.round(settlement.actualMicros), this.ttl.budgetMs, WINDOW_MS,
      settlement.requestId, Math.max(0, Math.round(settlement.heldTokens)), Math.max(0, Math.round(settlement.usedTokens)), settlement.readSpent ? 1 : 0,
      ...holds.map((hold) => hold.baselineMicros),
    ]; // prettier-ignore
    const result = (await this.settleScript(keys.length, ...keys, ...args)) as unknown[];
    return settlement.readSpent ? result.map(Number) : [];
  }
}
