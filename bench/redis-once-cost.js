/**
 * What numbering the Redis admissions and settlements costs Redis (src/state/redis-once.ts): 2 000
 * sequential admit + settleAdmission pairs of a key with rpm, tpm, in-flight and budget limits
 * through RedisLimitsState, with operation numbers (the once bitmap written in the same scripts) and
 * without, in 3 alternating rounds; Redis's own CPU per pair from INFO cpu. Uses dist/ (`npm run
 * build` first) and REDIS_URL (default redis://127.0.0.1:6379), under a key prefix of its own,
 * deleted at the end. About 10 s.
 *   node bench/redis-once-cost.js
 */
import pino from 'pino';
import { Redis } from 'ioredis';
const { RedisLimitsState } = await import('../dist/state/redis-limits-state.js');
const url = process.env.REDIS_URL || 'redis://127.0.0.1:6379';
const prefix = `switchboard-test:oncecost:${process.pid}:`;
const state = await RedisLimitsState.connect({ url, prefix, logger: pino({ level: 'silent' }) });
const hold = { subject: 'key:x', period: 0, maxMicros: 1e15, baselineMicros: 0 };
const plan = (id) => ({ requestId: id, rpm: [{ subject: 'key:x', limit: 1e9 }], tpm: [{ subject: 'key:x', limit: 1e12 }], tokens: 10, parallel: [{ subject: 'key:x', limit: 1e6 }], holds: [hold], budgetMicros: 1, readSpent: false });
const settlement = (id) => ({ requestId: id, holds: [hold], reservedMicros: 1, actualMicros: 1, tpmSubjects: ['key:x'], heldTokens: 10, usedTokens: 5, parallelSubjects: ['key:x'], readSpent: false });
const raw = new Redis(url);
const redisCpuSeconds = async () => {
  const info = await raw.info('cpu');
  return Number(/used_cpu_user:([\d.]+)/.exec(info)[1]) + Number(/used_cpu_sys:([\d.]+)/.exec(info)[1]);
};
const PAIRS = 2_000;
let operation = 0;
for (let round = 0; round < 3; round++) {
  for (const numbered of [false, true]) {
    const before = await redisCpuSeconds();
    const started = process.hrtime.bigint();
    for (let index = 0; index < PAIRS; index++) {
      const id = `${round}-${numbered}-${index}`;
      await state.admit(plan(id), numbered ? operation++ : undefined);
      await state.settleAdmission(settlement(id), numbered ? operation++ : undefined);
    }
    const wallUs = Number(process.hrtime.bigint() - started) / 1000 / PAIRS;
    const redisUs = ((await redisCpuSeconds()) - before) * 1e6 / PAIRS;
    console.log(`round ${round + 1}, ${numbered ? 'numbered  ' : 'unnumbered'}: ${wallUs.toFixed(0)} µs per admission and settlement, Redis CPU ${redisUs.toFixed(1)} µs`);
  }
}
const keys = await raw.keys(`${prefix}*`);
if (keys.length > 0) await raw.del(...keys);
raw.disconnect();
await state.close();
