/**
 * What one Redis admission script costs as the tpm minute fills: 200 sequential `admit` calls of a
 * key with rpm, in-flight and budget limits, with and without a tpm limit, on a token log of 0, 5,000
 * and 20,000 entries (the last minute's calls). Uses dist/ (`npm run build` first) and REDIS_URL
 * (default redis://127.0.0.1:6379), under a key prefix of its own, deleted at the end. About 10 s.
 *   node bench/redis-admit-cost.js
 */
import pino from 'pino';
import { Redis } from 'ioredis';
const { RedisLimitsState } = await import('../dist/state/redis-limits-state.js');
const prefix = `switchboard-test:tpmcost:${process.pid}:`;
const state = await RedisLimitsState.connect({ url: (process.env.REDIS_URL || 'redis://127.0.0.1:6379'), prefix, logger: pino({ level: 'silent' }) });
const plan = (id, tpm) => ({ requestId: id, rpm: [{ subject: 'key:x', limit: 1e9 }], tpm: tpm ? [{ subject: 'key:x', limit: 1e12 }] : [], tokens: 10, parallel: [{ subject: 'key:x', limit: 1e6 }], holds: [{ subject: 'key:x', period: 0, maxMicros: 1e15, baselineMicros: 0 }], budgetMicros: 1, readSpent: false });
const raw = new Redis((process.env.REDIS_URL || 'redis://127.0.0.1:6379'));
for (const n of [0, 5000, 20000]) {
  await raw.del(`${prefix}tpm:key:x`, `${prefix}rpm:key:x`);
  const now = Date.now();
  for (let i = 0; i < n; i += 1000) { const args = []; for (let j = i; j < i + 1000; j++) args.push(now, `f${j}:50`); await raw.zadd(`${prefix}tpm:key:x`, ...args); }
  await raw.pexpire(`${prefix}tpm:key:x`, 60_000);
  for (const tpm of [false, true]) {
    const t = process.hrtime.bigint();
    for (let i = 0; i < 200; i++) await state.admit(plan(`${n}-${tpm}-${i}`, tpm));
    console.log(`tpm log ${n} members, tpm limit ${tpm}: ${(Number(process.hrtime.bigint() - t) / 200 / 1000).toFixed(0)} µs per admit`);
  }
}
const keys = await raw.keys(`${prefix}*`); if (keys.length) await raw.del(...keys);
raw.disconnect(); await state.close();
