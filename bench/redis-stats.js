/**
 * Redis for the benchmark's "gateway redis" target: a unique key prefix per run, its keys removed
 * afterwards, and the server's command counters read before and after a measured run.
 */
import Redis from 'ioredis';

export function redisPrefix() {
  return `switchboard-bench-${process.pid}-${Date.now().toString(36)}:`;
}

export function connectRedis(url) {
  return new Redis(url, { lazyConnect: true, maxRetriesPerRequest: 1, enableOfflineQueue: false });
}

/**
 * The server-wide counters: commands processed, read events on client connections (a client's
 * pipelined batch usually arrives in one read, so this approximates round trips), calls per
 * command, and the connected clients.
 */
export async function redisCounters(redis) {
  // One after the other, so each is one command and one read (redisDelta subtracts them).
  const stats = await redis.info('stats');
  const commandstats = await redis.info('commandstats');
  const clients = await redis.info('clients');
  const field = (text, name) => Number(new RegExp(`^${name}:(\\d+)`, 'm').exec(text)?.[1] ?? NaN);
  const perCommand = {};
  for (const match of commandstats.matchAll(/^cmdstat_([^:]+):calls=(\d+)/gm)) perCommand[match[1]] = Number(match[2]);
  return {
    commands: field(stats, 'total_commands_processed'),
    reads: field(stats, 'total_reads_processed'),
    connectedClients: field(clients, 'connected_clients'),
    perCommand,
  };
}

/**
 * Per-request figures between two readings. The reading itself (INFO ×3 on this connection) is
 * subtracted. Other clients of the same server count too: `connectedClients` says how many there
 * were.
 */
export function redisDelta(before, after, requests) {
  const own = 3; // the three INFO commands of the first reading, counted by the second
  const perCommand = {};
  for (const [name, calls] of Object.entries(after.perCommand)) {
    const delta = calls - (before.perCommand[name] ?? 0) - (name === 'info' ? own : 0);
    if (delta > 0) perCommand[name] = delta;
  }
  const commands = after.commands - before.commands - own;
  const reads = after.reads - before.reads - own;
  return {
    requests,
    commands,
    reads,
    commandsPerRequest: requests > 0 ? commands / requests : undefined,
    readsPerRequest: requests > 0 ? reads / requests : undefined,
    perCommandPerRequest: Object.fromEntries(Object.entries(perCommand).map(([name, calls]) => [name, calls / requests])),
    connectedClients: after.connectedClients,
  };
}

/** Deletes every key under the prefix (SCAN, not KEYS, so a shared server is not blocked). */
export async function deletePrefix(redis, prefix) {
  let cursor = '0';
  let deleted = 0;
  do {
    const [next, keys] = await redis.scan(cursor, 'MATCH', `${prefix}*`, 'COUNT', 1000);
    cursor = next;
    if (keys.length > 0) deleted += await redis.del(...keys);
  } while (cursor !== '0');
  return deleted;
}

/** The counters of bench/redis-probe.js inside the gateway process. */
export async function probeCounts(url) {
  const response = await fetch(url);
  if (!response.ok) throw new Error(`the Redis probe answered ${response.status}`);
  return response.json();
}

/** What the gateway sent to Redis between two probe readings, per request. */
export function probeDelta(before, after, requests) {
  const perCommand = {};
  for (const [name, calls] of Object.entries(after.perCommand)) {
    const delta = calls - (before.perCommand[name] ?? 0);
    if (delta > 0) perCommand[name] = delta / requests;
  }
  const writes = after.writes - before.writes;
  const commands = after.commands - before.commands;
  return {
    requests,
    writes,
    commands,
    roundTripsPerRequest: requests > 0 ? writes / requests : undefined,
    commandsPerRequest: requests > 0 ? commands / requests : undefined,
    perCommandPerRequest: perCommand,
  };
}
