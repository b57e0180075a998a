/**
 * Budget reservations in Redis, held per replica so that a replica that dies holding some does not
 * hold them for good.
 *
 * A budget counter is a hash: `spent`, and one field per replica that holds reservations on it,
 * `reserved:<holder key>`. Each replica keeps its holder key (`<prefix>replica:<id>`) alive in Redis
 * (HOLDER_TTL_MS, renewed every HOLDER_RENEW_MS); what a counter holds reserved is the sum of the
 * fields whose holder key exists, and a field whose holder is gone is dropped by the next script
 * that reads the counter. Without this, the reservations of a replica killed mid-call stayed in
 * the counter until it expired (8 idle days: never, for a key in use), and its budget could not be
 * spent in full again. A replica that cannot reach Redis for longer than the TTL loses its
 * reservations there the same way (its settlements then give back nothing more: a field never goes
 * below 0), as in any outage, where it admits on its own memory (resilient-limits-state.ts).
 *
 * A `reserved` field written by an earlier version still counts as held (its replica settles it);
 * this version never writes it.
 */

/** How long a replica's reservations outlive its last sign of life. */
export const HOLDER_TTL_MS = 30_000;
/** How often a replica renews its holder key. */
export const HOLDER_RENEW_MS = 10_000;

/**
 * Lua for scripts that take the replica's holder key as KEYS[#KEYS - 1] (the once bitmap is
 * KEYS[#KEYS], redis-once.ts): `budgetReserved(key)` (the live reservations of a counter),
 * `budgetHold(key, amount)`, `budgetRelease(key, amount)` (this replica's, never below 0).
 */
export const BUDGET_HOLDS_LUA = `
local holderField = 'reserved:' .. KEYS[#KEYS - 1]
local function budgetReserved(key)
  local total = 0
  local fields = redis.call('HGETALL', key)
  for i = 1, #fields, 2 do
    local name = fields[i]
    if name == 'reserved' then
      total = total + tonumber(fields[i + 1])
    elseif string.sub(name, 1, 9) == 'reserved:' then
      if redis.call('EXISTS', string.sub(name, 10)) == 1 then
        total = total + tonumber(fields[i + 1])
      else
        redis.call('HDEL', key, name)
      end
    end
  end
  return total
end
local function budgetHold(key, amount)
  if amount > 0 then redis.call('HINCRBY', key, holderField, amount) end
end
local function budgetRelease(key, amount)
  -- Nothing to give back (a spend-only settle): also keeps "-0" from HINCRBY, which refuses it.
  if amount <= 0 then return end
  local held = tonumber(redis.call('HGET', key, holderField) or '0')
  if held > amount then
    redis.call('HINCRBY', key, holderField, -amount)
  elseif held > 0 then
    redis.call('HDEL', key, holderField)
  end
end`;
