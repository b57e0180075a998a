/**
 * LimitsState shared by every replica through Redis. Each check-and-take is one Lua script, so
 * concurrent requests on any number of replicas can never pass a limit together. Windows use the
 * Redis server's clock (TIME), so replicas with skewed clocks still agree.
 */
import { randomBytes } from 'node:crypto';
import type { Redis } from 'ioredis';
import type { Logger } from 'pino';
import { redisClient, whenReady } from './redis-client.js';
import type { AcquireOutcome, AdmissionPlan, AdmissionSettlement, AdmitOutcome, BudgetHold, LimitsState, ParallelOutcome, RateLimit, ReserveOutcome, TokenReserveOutcome } from './limits-state.js';
import { TOKEN_HOLD_TTL_MS, WINDOW_MS } from './limits-state.js';
import { RedisAdmission, SeedFloors, TOKEN_LOG } from './redis-admission.js';
import { BUDGET_FIELD, BUDGET_KEY_LUA, HOLDER_RENEW_MS, HOLDER_TTL_MS, HOLDS_LUA, MOVED_FIELD, SLOT_FIELD } from './redis-holds.js';
import { ONCE_LUA, onceBits, type OnceBits } from './redis-once.js';

// Budget counters outlive an idle week; a counter that expired is re-seeded from the database.
const BUDGET_TTL_MS = 8 * 24 * 3_600_000;
const PARALLEL_TTL_MS = 10 * 60_000;

const NOW_MS = `local time = redis.call('TIME') local now = tonumber(time[1]) * 1000 + math.floor(tonumber(time[2]) / 1000)`;

// KEYS: budget hashes, then this replica's holder key and the once bitmap. ARGV: amount, ttl, then
// per key: max, baseline; then the once bit (redis-once.ts: marked when it takes; nothing taken
// once its undo ran). Reservations are held per replica (redis-holds.ts).
const RESERVE = `
${ONCE_LUA}
${HOLDS_LUA}
if undone() then return {0} end
local amount = tonumber(ARGV[1])
local budgets = {}
for i = 1, #KEYS - 2 do
  local key = budgetKey(KEYS[i])
  budgets[i] = key
  local max = tonumber(ARGV[1 + i * 2])
  redis.call('HSETNX', key, 'spent', ARGV[2 + i * 2])
  local spent = tonumber(redis.call('HGET', key, 'spent'))
  local reserved = heldTotal(key, '${BUDGET_FIELD}')
  if spent >= max or spent + reserved + amount > max then return {i, spent, reserved} end
end
for i = 1, #KEYS - 2 do
  hold(budgets[i], '${BUDGET_FIELD}', amount)
  redis.call('PEXPIRE', budgets[i], ARGV[2])
end
markRan()
return {0}`;

// The undo of a RESERVE whose reply was lost: gives its amount back when it took it. KEYS: budget
// hashes, then the holder key and the once bitmap. ARGV: amount, then the once bit.
const UNRESERVE = `
${ONCE_LUA}
${HOLDS_LUA}
if ran() and not undone() then
  for i = 1, #KEYS - 2 do release(budgetKey(KEYS[i]), '${BUDGET_FIELD}', tonumber(ARGV[1])) end
end
markUndone()
return 1`;

// KEYS: budget hashes, then the holder key and the once bitmap. ARGV: reserved, actual, ttl, then
// per key: baseline; then the once bit (a settle sent again is not counted again).
const SETTLE = `
${ONCE_LUA}
${HOLDS_LUA}
if ran() then return 0 end
for i = 1, #KEYS - 2 do
  local key = budgetKey(KEYS[i])
  redis.call('HSETNX', key, 'spent', ARGV[3 + i])
  release(key, '${BUDGET_FIELD}', tonumber(ARGV[1]))
  redis.call('HINCRBY', key, 'spent', ARGV[2])
  redis.call('PEXPIRE', key, ARGV[3])
end
markRan()
return 1`;

// A budget counter's period moved mid-period (movePeriod). KEYS: the old period's budget hash, the
// new one's. ARGV: the spend the database carried into the new period, ttl. The new counter gets
// the old one's spend (never below the carried spend; on top of what it counted itself if calls
// were admitted on it meanwhile) and every replica's reservations, field by field (redis-holds.ts);
// the old one keeps only its spend and names the new one (MOVED_FIELD), so holds naming the old
// period — calls admitted before the change, settling after it — reach the new counter. A new
// counter that was itself moved away earlier is a forwarder only: it starts afresh.
const MOVE_PERIOD = `
${BUDGET_KEY_LUA}
local from, to = budgetKey(KEYS[1]), KEYS[2]
if from == to or redis.call('EXISTS', from) == 0 then return 0 end
if redis.call('HEXISTS', to, '${MOVED_FIELD}') == 1 then redis.call('DEL', to) end
local baseline = tonumber(ARGV[1])
redis.call('HSETNX', to, 'spent', baseline)
local fields = redis.call('HGETALL', from)
for i = 1, #fields, 2 do
  local name, value = fields[i], tonumber(fields[i + 1])
  if name == 'spent' then
    if value > baseline then redis.call('HINCRBY', to, 'spent', value - baseline) end
  elseif name ~= '${MOVED_FIELD}' then
    if value > 0 then redis.call('HINCRBY', to, name, value) end
    redis.call('HDEL', from, name)
  end
end
redis.call('HSET', from, '${MOVED_FIELD}', to)
redis.call('PEXPIRE', to, ARGV[2])
redis.call('PEXPIRE', from, ARGV[2])
return 1`;

// KEYS: request logs (sorted sets). ARGV: window, request id, then per key: limit.
const ACQUIRE = `
${NOW_MS}
local window = tonumber(ARGV[1])
for i, key in ipairs(KEYS) do
  redis.call('ZREMRANGEBYSCORE', key, '-inf', now - window)
  if redis.call('ZCARD', key) >= tonumber(ARGV[2 + i]) then
    local oldest = redis.call('ZRANGE', key, 0, 0, 'WITHSCORES')
    if oldest[2] == nil then return {i, window} end
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

// KEYS: in-flight counters (held per replica: redis-holds.ts), then the holder key and the once
// bitmap. ARGV: ttl, then per key: limit; then the once bit.
const ACQUIRE_PARALLEL = `
${ONCE_LUA}
${HOLDS_LUA}
if undone() then return 0 end
for i = 1, #KEYS - 2 do
  if heldTotal(KEYS[i], '${SLOT_FIELD}') >= tonumber(ARGV[1 + i]) then return i end
end
for i = 1, #KEYS - 2 do
  hold(KEYS[i], '${SLOT_FIELD}', 1)
  redis.call('PEXPIRE', KEYS[i], ARGV[1])
end
markRan()
return 0`;

// Frees a slot (KEYS: in-flight counters, then the holder key and the once bitmap; ARGV: the once
// bit): once per release. With ARGV[1] = 'undo', the undo of an ACQUIRE_PARALLEL whose reply was
// lost: frees only what it took.
const RELEASE_PARALLEL = `
${ONCE_LUA}
${HOLDS_LUA}
if ARGV[1] == 'undo' then
  if not ran() or undone() then
    markUndone()
    return 0
  end
  markUndone()
elseif ran() then
  return 0
else
  markRan()
end
for i = 1, #KEYS - 2 do release(KEYS[i], '${SLOT_FIELD}', 1) end
return 1`;

export class RedisLimitsState implements LimitsState {
  private readonly combined: RedisAdmission;
  /** This replica's name in the once bitmaps (redis-once.ts): its operations are numbered from 0 at each start. */
  private readonly replica = randomBytes(8).toString('hex');
  /** This replica's holder key: its budget reservations count while it exists (redis-holds.ts). */
  private readonly holder: string;
  private readonly renewal: NodeJS.Timeout;
  /** What a budget counter Redis lost is seeded from, beyond the hold's baseline (redis-admission.ts). */
  private readonly floors = new SeedFloors();
  /**
   * The in-flight hashes (`parallel-held:<subject>`) this replica holds slots on, with how many: their
   * expiry (PARALLEL_TTL_MS, set when a slot is taken) is renewed with the holder key while a slot is
   * held, else a call running longer than it (a long stream) lost its slot and the limit was open again.
   */
  private readonly heldSlots = new Map<string, number>();

  private constructor(
    readonly redis: Redis,
    private readonly prefix: string,
  ) {
    this.holder = this.key('replica', this.replica);
    // Set as soon as the connection is ready (before any script on it), then renewed while it is.
    const renew = () => void this.redis.set(this.holder, '1', 'PX', HOLDER_TTL_MS).catch(() => undefined);
    redis.on('ready', renew);
    this.renewal = setInterval(() => {
      if (this.redis.status !== 'ready') return;
      renew();
      this.renewSlots();
    }, HOLDER_RENEW_MS);
    this.renewal.unref();
    this.combined = new RedisAdmission(
      redis,
      {
        rpm: (subject) => this.key('rpm', subject),
        tpm: (subject) => this.key('tpm', subject),
        tpmHeld: (subject) => this.key('tpm-held', subject),
        parallel: (subject) => this.key('parallel-held', subject),
        budget: (subject, period) => this.key('budget', subject, `:${period}`),
        once: (operation) => this.once(operation),
        holder: this.holder,
      },
      { parallelMs: PARALLEL_TTL_MS, budgetMs: BUDGET_TTL_MS },
      this.floors,
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

  /** The once bitmap key and bit of operation `operation` of this replica (redis-once.ts); bit -1 when it is not numbered. */
  private once(operation: number | undefined): OnceBits {
    if (operation === undefined) return { key: this.key('once', 'none'), bit: -1 };
    return onceBits(operation, (block) => this.key('once', this.replica, `:${block}`));
  }

  /** `operation`: its number for the once bitmap (redis-once.ts), so that a lost reply can be undone (unreserve). */
  async reserve(holds: BudgetHold[], amountMicros: number, operation?: number): Promise<ReserveOutcome> {
    if (holds.length === 0) return { ok: true };
    const once = this.once(operation);
    const keys = this.budgetKeys(holds);
    const args = [Math.round(amountMicros), BUDGET_TTL_MS, ...holds.flatMap((hold, i) => [hold.maxMicros, this.floors.seed(keys[i], hold)]), once.bit];
    const result = (await this.redis.eval(RESERVE, holds.length + 2, ...keys, this.holder, once.key, ...args)) as number[];
    if (result[0] === 0) return { ok: true };
    const hold = holds[result[0] - 1];
    return { ok: false, subject: hold.subject, spentMicros: Number(result[1]), reservedMicros: Number(result[2]), maxMicros: hold.maxMicros };
  }

  /** Gives back what reserve(holds, amountMicros, operation) took, if it took it (its reply was lost); at most once. */
  async unreserve(holds: BudgetHold[], amountMicros: number, operation: number): Promise<void> {
    if (holds.length === 0) return;
    const once = this.once(operation);
    await this.redis.eval(UNRESERVE, holds.length + 2, ...this.budgetKeys(holds), this.holder, once.key, Math.round(amountMicros), once.bit);
  }

  /** `operation`: its number for the once bitmap (redis-once.ts): sent again under the same number, it is not counted again. */
  async settle(holds: BudgetHold[], reservedMicros: number, actualMicros: number, operation?: number): Promise<void> {
    if (holds.length === 0) return;
    const once = this.once(operation);
    const keys = this.budgetKeys(holds);
    await this.redis.eval(SETTLE, holds.length + 2, ...keys, this.holder, once.key, Math.round(reservedMicros), Math.round(actualMicros), BUDGET_TTL_MS, ...holds.map((hold, i) => this.floors.seed(keys[i], hold)), once.bit);
  }

  private budgetKeys(holds: BudgetHold[]): string[] {
    return holds.map((hold) => this.key('budget', hold.subject, `:${hold.period}`));
  }

  async spent(subject: string, period: number): Promise<number | undefined> {
    const value = await this.redis.hget(this.key('budget', subject, `:${period}`), 'spent');
    return value === null ? undefined : Number(value);
  }

  async setSpent(subject: string, period: number, spentMicros: number): Promise<void> {
    const key = this.key('budget', subject, `:${period}`);
    this.floors.saw(key, Math.round(spentMicros));
    // Only an existing counter is changed, atomically (HSET on a missing key would create one without its expiry).
    await this.redis.eval("if redis.call('EXISTS', KEYS[1]) == 1 then redis.call('HSET', KEYS[1], 'spent', ARGV[1]) end return 0", 1, key, Math.round(spentMicros));
  }

  /** One script (MOVE_PERIOD): the old period's spend and reservations move to the new one atomically. */
  async movePeriod(subject: string, fromPeriod: number, toPeriod: number, baselineMicros: number): Promise<void> {
    if (fromPeriod === toPeriod) return;
    await this.redis.eval(MOVE_PERIOD, 2, this.key('budget', subject, `:${fromPeriod}`), this.key('budget', subject, `:${toPeriod}`), Math.round(baselineMicros), BUDGET_TTL_MS);
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

  /** `operation`: its number for the once bitmap, so that a lost reply can be undone (releaseParallel with `undo`). */
  async acquireParallel(limits: RateLimit[], operation?: number): Promise<ParallelOutcome> {
    if (limits.length === 0) return { ok: true };
    const once = this.once(operation);
    const result = Number(await this.redis.eval(ACQUIRE_PARALLEL, limits.length + 2, ...limits.map((limit) => this.key('parallel-held', limit.subject)), this.holder, once.key, PARALLEL_TTL_MS, ...limits.map((limit) => limit.limit), once.bit));
    if (result === 0) {
      this.holdingSlots(limits.map((limit) => limit.subject), 1);
      return { ok: true };
    }
    const limit = limits[result - 1];
    return { ok: false, subject: limit.subject, limit: limit.limit };
  }

  /**
   * Frees a slot once per `operation` number. With `undo`, `operation` is that of the acquireParallel
   * whose reply was lost: its slot is freed only if it took one.
   */
  async releaseParallel(subjects: string[], operation?: number, undo = false): Promise<void> {
    if (subjects.length === 0) return;
    const once = this.once(operation);
    await this.redis.eval(RELEASE_PARALLEL, subjects.length + 2, ...subjects.map((subject) => this.key('parallel-held', subject)), this.holder, once.key, ...(undo ? ['undo'] : []), once.bit);
    // An undone acquire was never counted (its reply was lost).
    if (!undo) this.holdingSlots(subjects, -1);
  }

  /** One script, one round trip (redis-admission.ts): all taken or nothing; `operation` numbers it for undoAdmit. */
  async admit(plan: AdmissionPlan, operation?: number): Promise<AdmitOutcome> {
    const outcome = await this.combined.admit(plan, operation);
    if (outcome.ok && plan.parallel.length > 0) this.holdingSlots(plan.parallel.map((limit) => limit.subject), 1);
    return outcome;
  }

  /** Gives back what admit(plan, operation) took, if it took it (its reply was lost); at most once. */
  undoAdmit(plan: AdmissionPlan, operation: number): Promise<void> {
    return this.combined.undo(plan, operation);
  }

  /** One script, one round trip: settles the budget and tokens, frees the slot, reads the spend; once per `operation` number. */
  async settleAdmission(settlement: AdmissionSettlement, operation?: number): Promise<Array<number | undefined>> {
    const spent = await this.combined.settle(settlement, operation);
    if (settlement.parallelSubjects.length > 0) this.holdingSlots(settlement.parallelSubjects, -1);
    return spent;
  }

  /** Counts slots taken (+1) or freed (−1) on the subjects' in-flight hashes (heldSlots). */
  private holdingSlots(subjects: string[], change: 1 | -1): void {
    for (const subject of subjects) {
      const key = this.key('parallel-held', subject);
      const held = (this.heldSlots.get(key) ?? 0) + change;
      if (held > 0) this.heldSlots.set(key, held);
      else this.heldSlots.delete(key);
    }
  }

  /** Renews the expiry of the in-flight hashes this replica holds slots on (one pipeline). */
  private renewSlots(): void {
    if (this.heldSlots.size === 0) return;
    const pipeline = this.redis.pipeline();
    for (const key of this.heldSlots.keys()) pipeline.pexpire(key, PARALLEL_TTL_MS);
    void pipeline.exec().catch(() => undefined);
  }

  /** Stops renewing this replica's holder key and removes it: reservations it still held are given up at once. */
  async close(): Promise<void> {
    clearInterval(this.renewal);
    if (this.redis.status === 'ready') await this.redis.del(this.holder).catch(() => undefined);
    await this.redis.quit().catch(() => this.redis.disconnect());
  }
}
