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
import type { AdmissionPlan, AdmissionSettlement, AdmitOutcome, BudgetHold } from './limits-state.js';
import { TOKEN_HOLD_TTL_MS, WINDOW_MS } from './limits-state.js';
import { BUDGET_FIELD, HOLDS_LUA, SLOT_FIELD } from './redis-holds.js';
import { ONCE_LUA, type OnceBits } from './redis-once.js';

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
  -- A hold of 0 tokens changes no total (and INCRBY refuses "-0", which would abort the script).
  local tokens = tokensOf(member)
  if redis.call('ZREM', key, member) == 1 and tokens > 0 and redis.call('EXISTS', sumKey) == 1 then redis.call('INCRBY', sumKey, -tokens) end
  if redis.call('EXISTS', key) == 0 then redis.call('DEL', sumKey) end
end`;

// KEYS: rpm logs (nr), then tpm log and holds alternating (2 * nt), then parallel counters (np),
// then budget hashes (nb), then the holder key and the once bitmap. ARGV: nr, nt, np, nb, window, hold ttl, parallel
// ttl, budget ttl, request id, tokens, budget amount, read spent (1/0), then the rpm limits, tpm
// limits, parallel limits, then per budget: max, baseline; then the once bit (redis-once.ts:
// marked when it takes; nothing is taken once its undo ran).
// Returns {0, per rpm: count, reset ms; per tpm: remaining; per budget when asked: spent}, or on a
// refusal {stage (1 rpm, 2 tpm, 3 parallel, 4 budget), index, a, b}: rpm a = retry ms; tpm a = used,
// b = held; budget a = spent, b = reserved.
const ADMIT = `
${NOW_MS}
${TOKEN_LOG}
${ONCE_LUA}
${HOLDS_LUA}
if undone() then return {0} end
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
    if oldest[2] == nil then return {1, i, window, 0} end
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
  if heldTotal(KEYS[pk + i], '${SLOT_FIELD}') >= tonumber(ARGV[limits + nr + nt + i]) then return {3, i, 0, 0} end
end
local budgetArgs = limits + nr + nt + np
local spent, budgets = {}, {}
for i = 1, nb do
  local key = budgetKey(KEYS[bk + i])
  budgets[i] = key
  local max = tonumber(ARGV[budgetArgs + i * 2 - 1])
  redis.call('HSETNX', key, 'spent', ARGV[budgetArgs + i * 2])
  spent[i] = tonumber(redis.call('HGET', key, 'spent'))
  local reserved = heldTotal(key, '${BUDGET_FIELD}')
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
  hold(KEYS[pk + i], '${SLOT_FIELD}', 1)
  redis.call('PEXPIRE', KEYS[pk + i], parallelTtl)
end
for i = 1, nb do
  hold(budgets[i], '${BUDGET_FIELD}', amount)
  redis.call('PEXPIRE', budgets[i], budgetTtl)
  if readSpent then table.insert(result, spent[i]) end
end
markRan()
return result`;

// The undo of an ADMIT whose reply was lost: gives back what it took, if it took it (its rpm entry,
// token holds, in-flight slots and budget reservations), at most once. KEYS: as ADMIT's. ARGV: nr,
// nt, np, nb, request id, tokens, budget amount, then the once bit.
const UNDO_ADMIT = `
${TOKEN_LOG}
${ONCE_LUA}
${HOLDS_LUA}
local nr, nt, np, nb = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3]), tonumber(ARGV[4])
local id, tokens, amount = ARGV[5], ARGV[6], tonumber(ARGV[7])
if ran() and not undone() then
  for i = 1, nr do redis.call('ZREM', KEYS[i], id) end
  for i = 1, nt do logRemove(KEYS[nr + i * 2], id .. ':' .. tokens) end
  local pk, bk = nr + nt * 2, nr + nt * 2 + np
  for i = 1, np do
    release(KEYS[pk + i], '${SLOT_FIELD}', 1)
  end
  for i = 1, nb do
    release(budgetKey(KEYS[bk + i]), '${BUDGET_FIELD}', amount)
  end
end
markUndone()
return 1`;

// KEYS: budget hashes (nb), then tpm log and holds alternating (2 * nt), then parallel counters,
// then the holder key and the once bitmap. ARGV: nb, nt, reserved, actual, budget ttl, window, request id, held tokens,
// used tokens, read spent (1/0), then per budget: baseline; then the once bit (sent again, it is not
// counted again). Returns the spent of every budget when asked, else {}.
const SETTLE_ADMISSION = `
${NOW_MS}
${TOKEN_LOG}
${ONCE_LUA}
${HOLDS_LUA}
local nb, nt = tonumber(ARGV[1]), tonumber(ARGV[2])
local reservedAmount, actual, budgetTtl, window, id, heldTokens, usedTokens = tonumber(ARGV[3]), ARGV[4], ARGV[5], ARGV[6], ARGV[7], ARGV[8], tonumber(ARGV[9])
local readSpent = ARGV[10] == '1'
local result = {}
if ran() then
  if readSpent then
    for i = 1, nb do table.insert(result, tonumber(redis.call('HGET', budgetKey(KEYS[i]), 'spent') or '0')) end
  end
  return result
end
for i = 1, nb do
  local key = budgetKey(KEYS[i])
  redis.call('HSETNX', key, 'spent', ARGV[10 + i])
  release(key, '${BUDGET_FIELD}', reservedAmount)
  local spent = redis.call('HINCRBY', key, 'spent', actual)
  redis.call('PEXPIRE', key, budgetTtl)
  if readSpent then table.insert(result, spent) end
end
for i = 1, nt do
  logRemove(KEYS[nb + i * 2], id .. ':' .. heldTokens)
  if usedTokens > 0 then logAdd(KEYS[nb + i * 2 - 1], now, id .. ':' .. usedTokens, window) end
end
for i = nb + nt * 2 + 1, #KEYS - 2 do release(KEYS[i], '${SLOT_FIELD}', 1) end
markRan()
return result`;

/** Budget counters whose last reading a replica remembers (the oldest remembered go first beyond it). */
const MAX_SEED_FLOORS = 100_000;

/**
 * Per budget counter, the spend this replica last read of it: what a counter Redis lost (a restart
 * without persistence, an eviction) is seeded from when it is more than the hold's baseline. The
 * baseline is the spend of the cached record (up to a minute old) and misses the usage rows still
 * queued, so a counter seeded from it alone gave a key the budget it had spent once more. The last
 * reading (not the largest) is kept, so an administrator's spend reset is followed at the next one.
 */
export class SeedFloors {
  private readonly spent = new Map<string, number>();

  seed(key: string, hold: BudgetHold): number {
    const floor = this.spent.get(key);
    return floor !== undefined && floor > hold.baselineMicros ? floor : hold.baselineMicros;
  }

  saw(key: string, spent: number | undefined): void {
    if (spent === undefined || !Number.isFinite(spent)) return;
    this.spent.set(key, spent);
    if (this.spent.size > MAX_SEED_FLOORS) this.spent.delete(this.spent.keys().next().value!);
  }
}

type ScriptCommand = (numberOfKeys: number, ...keysAndArgs: Array<string | number>) => Promise<unknown>;

/** Key names, as redis-limits-state.ts builds them. */
export interface AdmissionKeys {
  rpm(subject: string): string;
  tpm(subject: string): string;
  tpmHeld(subject: string): string;
  parallel(subject: string): string;
  budget(subject: string, period: number): string;
  /** The once bitmap key and bit of a numbered operation (redis-once.ts); bit -1 when not numbered. */
  once(operation: number | undefined): OnceBits;
  /** This replica's holder key: its budget reservations count while it exists (redis-holds.ts). */
  holder: string;
}

export class RedisAdmission {
  private readonly admitScript: ScriptCommand;
  private readonly settleScript: ScriptCommand;
  private readonly undoScript: ScriptCommand;

  constructor(
    redis: Redis,
    private readonly keys: AdmissionKeys,
    private readonly ttl: { parallelMs: number; budgetMs: number },
    /** Shared with redis-limits-state.ts's own budget scripts (replays after an outage seed counters too). */
    private readonly floors = new SeedFloors(),
  ) {
    redis.defineCommand('switchboardAdmit', { lua: ADMIT });
    redis.defineCommand('switchboardSettleAdmission', { lua: SETTLE_ADMISSION });
    redis.defineCommand('switchboardUndoAdmission', { lua: UNDO_ADMIT });
    const commands = redis as unknown as Record<'switchboardAdmit' | 'switchboardSettleAdmission' | 'switchboardUndoAdmission', ScriptCommand>;
    this.admitScript = commands.switchboardAdmit.bind(redis);
    this.settleScript = commands.switchboardSettleAdmission.bind(redis);
    this.undoScript = commands.switchboardUndoAdmission.bind(redis);
  }

  /** ADMIT's keys: rpm logs, tpm logs and holds, parallel counters, budget hashes, then the holder key and the once bitmap. */
  private admitKeys(plan: AdmissionPlan, once: OnceBits): string[] {
    return [
      ...plan.rpm.map((limit) => this.keys.rpm(limit.subject)),
      ...plan.tpm.flatMap((limit) => [this.keys.tpm(limit.subject), this.keys.tpmHeld(limit.subject)]),
      ...plan.parallel.map((limit) => this.keys.parallel(limit.subject)),
      ...plan.holds.map((hold) => this.keys.budget(hold.subject, hold.period)),
      this.keys.holder,
      once.key,
    ];
  }

  /** `operation`: its number for the once bitmap (redis-once.ts), so that a lost reply can be undone (undo). */
  async admit(plan: AdmissionPlan, operation?: number): Promise<AdmitOutcome> {
    const { rpm, tpm, parallel, holds } = plan;
    if (rpm.length + tpm.length + parallel.length + holds.length === 0) return { ok: true, requests: [], tokens: [], spent: [] };
    const tokens = Math.max(0, Math.round(plan.tokens));
    const once = this.keys.once(operation);
    const keys = this.admitKeys(plan, once);
    const budgetAt = rpm.length + tpm.length * 2 + parallel.length;
    const args = [
      rpm.length, tpm.length, parallel.length, holds.length,
      WINDOW_MS, TOKEN_HOLD_TTL_MS, this.ttl.parallelMs, this.ttl.budgetMs,
      plan.requestId, tokens, Math.round(plan.budgetMicros), plan.readSpent ? 1 : 0,
      ...rpm.map((limit) => limit.limit), ...tpm.map((limit) => limit.limit), ...parallel.map((limit) => limit.limit),
      ...holds.flatMap((hold, i) => [hold.maxMicros, this.floors.seed(keys[budgetAt + i], hold)]),
      once.bit,
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
        this.floors.saw(keys[budgetAt + index - 1], a);
        return { ok: false, refused: 'budget', outcome: { ok: false, subject: hold.subject, spentMicros: a, reservedMicros: b, maxMicros: hold.maxMicros } };
      }
    }
    const tokenAt = 1 + rpm.length * 2;
    const spentAt = tokenAt + tpm.length;
    if (plan.readSpent) for (let i = 0; i < holds.length; i++) this.floors.saw(keys[budgetAt + i], result[spentAt + i]);
    return {
      ok: true,
      requests: rpm.map((limit, i) => ({ subject: limit.subject, limit: limit.limit, remaining: Math.max(0, limit.limit - result[1 + i * 2]), resetMs: Math.max(0, result[2 + i * 2]) })),
      tokens: tpm.map((limit, i) => ({ subject: limit.subject, limit: limit.limit, remaining: Math.max(0, result[tokenAt + i]) })),
      spent: plan.readSpent ? holds.map((_, i) => result[spentAt + i]) : [],
    };
  }

  /** Gives back what admit(plan, operation) took, if it took it (its reply was lost); at most once. */
  async undo(plan: AdmissionPlan, operation: number): Promise<void> {
    if (plan.rpm.length + plan.tpm.length + plan.parallel.length + plan.holds.length === 0) return;
    const once = this.keys.once(operation);
    const keys = this.admitKeys(plan, once);
    await this.undoScript(keys.length, ...keys, plan.rpm.length, plan.tpm.length, plan.parallel.length, plan.holds.length, plan.requestId, Math.max(0, Math.round(plan.tokens)), Math.round(plan.budgetMicros), once.bit);
  }

  /** `operation`: its number for the once bitmap: sent again under the same number, it is not counted again. */
  async settle(settlement: AdmissionSettlement, operation?: number): Promise<Array<number | undefined>> {
    const { holds, tpmSubjects, parallelSubjects } = settlement;
    if (holds.length + tpmSubjects.length + parallelSubjects.length === 0) return [];
    const once = this.keys.once(operation);
    const keys = [
      ...holds.map((hold) => this.keys.budget(hold.subject, hold.period)),
      ...tpmSubjects.flatMap((subject) => [this.keys.tpm(subject), this.keys.tpmHeld(subject)]),
      ...parallelSubjects.map((subject) => this.keys.parallel(subject)),
      this.keys.holder,
      once.key,
    ];
    const args = [
      holds.length, tpmSubjects.length, Math.round(settlement.reservedMicros), Math.round(settlement.actualMicros), this.ttl.budgetMs, WINDOW_MS,
      settlement.requestId, Math.max(0, Math.round(settlement.heldTokens)), Math.max(0, Math.round(settlement.usedTokens)), settlement.readSpent ? 1 : 0,
      ...holds.map((hold, i) => this.floors.seed(keys[i], hold)),
      once.bit,
    ]; // prettier-ignore
    const result = (await this.settleScript(keys.length, ...keys, ...args)) as unknown[];
    if (!settlement.readSpent) return [];
    const spent = result.map(Number);
    for (let i = 0; i < holds.length; i++) this.floors.saw(keys[i], spent[i]);
    return spent;
  }
}
