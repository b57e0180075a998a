/**
 * What a replica holds in Redis — budget reservations and parallel-request slots — held per
 * replica, so that a replica that dies holding some does not hold them for good.
 *
 * A budget counter is a hash: `spent`, and one field per replica that holds reservations on it,
 * `reserved:<holder key>`; a parallel-request counter (`<prefix>parallel-held:<subject>`) is a hash
 * of one field per replica, `slots:<holder key>`. Each replica keeps its holder key
 * (`<prefix>replica:<id>`) alive in Redis (HOLDER_TTL_MS, renewed every HOLDER_RENEW_MS, deleted
 * when it stops); what a counter holds is the sum of the fields whose holder key exists, and a field
 * whose holder is gone is dropped by the next script that reads the counter. Without this, the
 * reservations of a replica killed mid-call stayed in the budget counter until it expired (8 idle
 * days: never, for a key in use), and its slots in the parallel counter as long as traffic kept
 * renewing it. A replica that cannot reach Redis for longer than the TTL loses what it held there
 * the same way (its later releases give back nothing more: a field never goes below 0), as in any
 * outage, where it admits on its own memory (resilient-limits-state.ts).
 *
 * A budget `reserved` field written by an earlier version still counts as held (its replica settles
 * it); this version never writes it.
 */

/** How long what a replica holds outlives its last sign of life. */
export const HOLDER_TTL_MS = 30_000;
/** How often a replica renews its holder key. */
export const HOLDER_RENEW_MS = 10_000;

/** Field prefixes: budget reservations (in the budget hash) and parallel slots (in their own hash). */
export const BUDGET_FIELD = 'reserved:';
export const SLOT_FIELD = 'slots:';

/** The field of a budget counter whose period was moved (RedisLimitsState.movePeriod): the counter that holds its state now. */
export const MOVED_FIELD = 'moved';

/**
 * Lua: `budgetKey(key)`, the budget counter a hold naming `key` reaches — itself, or the counter
 * its period was moved into (a budget_duration changed mid-period), followed a few moves deep.
 * Scripts reach it by name (not in KEYS), as the token logs' totals are (redis-admission.ts).
 */
export const BUDGET_KEY_LUA = `
local function budgetKey(key)
  for _ = 1, 8 do
    local to = redis.call('HGET', key, '${MOVED_FIELD}')
    if not to then return key end
    key = to
  end
  return key
end`;

/**
 * Lua for scripts that take the replica's holder key as KEYS[#KEYS - 1] (the once bitmap is
 * KEYS[#KEYS], redis-once.ts): `heldTotal(key, prefix)` (what live replicas hold on a counter),
 * `hold(key, prefix, amount)` and `release(key, prefix, amount)` (this replica's, never below 0).
 */
export const HOLDS_LUA = `
${BUDGET_KEY_LUA}
local holderKey = KEYS[#KEYS - 1]
local function heldTotal(key, prefix)
  local total = 0
  local fields = redis.call('HGETALL', key)
  for i = 1, #fields, 2 do
    local name = fields[i]
    if prefix == '${BUDGET_FIELD}' and name == 'reserved' then
      total = total + tonumber(fields[i + 1])
    elseif string.sub(name, 1, #prefix) == prefix then
      if redis.call('EXISTS', string.sub(name, #prefix + 1)) == 1 then
        total = total + tonumber(fields[i + 1])
      else
        redis.call('HDEL', key, name)
      end
    end
  end
  return total
end
local function hold(key, prefix, amount)
  if amount <= 0 then return end
  -- A holder key Redis lost (a restart without persistence, an eviction) is set again before it
  -- holds anything: else what this replica holds counts for nothing until its next renewal.
  if redis.call('EXISTS', holderKey) == 0 then redis.call('SET', holderKey, '1', 'PX', ${HOLDER_TTL_MS}) end
  redis.call('HINCRBY', key, prefix .. holderKey, amount)
end
local function release(key, prefix, amount)
  -- Nothing to give back (a spend-only settle): also keeps "-0" from HINCRBY, which refuses it.
  if amount <= 0 then return end
  local field = prefix .. holderKey
  local held = tonumber(redis.call('HGET', key, field) or '0')
  if held > amount then
    redis.call('HINCRBY', key, field, -amount)
  elseif held > 0 then
    redis.call('HDEL', key, field)
  end
end`;
