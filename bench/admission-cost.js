#!/usr/bin/env node
/**
 * CPU per call of a virtual key's admission alone, in process (no HTTP, no upstream): the
 * reservation plan and token estimate of the bench's chat request, Admission.admit against the
 * embedded LimitsState (rpm, tpm, in-flight and budget, as BENCH_KEY_MODE=virtual sets them) and
 * the ticket's settle, with `CONCURRENCY` calls in flight. It measures process CPU time, so it
 * stays readable on a busy machine where the HTTP bench does not.
 *
 *   node bench/admission-cost.js [ROOT ...]   (each ROOT a checkout with a built dist/; default: this one)
 *
 * Several roots are measured in alternation (5 rounds) and reported as medians, to compare builds.
 */
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import pino from 'pino';

const CALLS = 20_000;
const CONCURRENCY = 32;
const ROUNDS = 5;

const roots = process.argv.slice(2).length > 0 ? process.argv.slice(2) : [resolve(import.meta.dirname, '..')];
const body = {
  model: 'bench-model',
  messages: [
    { role: 'system', content: 'You are a concise assistant. Answer in one sentence and cite no sources.' },
    { role: 'user', content: 'What is the capital of Germany?' },
    { role: 'assistant', content: 'The capital of Germany is Berlin.' },
    { role: 'user', content: 'And the capital of France?' },
  ],
  temperature: 0.2,
  max_tokens: 64,
  user: 'bench-user-1',
};
const deployment = { prices: { inputPerToken: 2_500_000, outputPerToken: 10_000_000 }, modelInfo: {}, litellmParams: { model: 'openai/gpt-4o' } };

async function load(root) {
  const dist = (path) => import(pathToFileURL(resolve(root, 'dist', path)).href);
  const [{ Admission }, { LocalLimitsState }, { reservationPlan }, { estimatedTokens }] = await Promise.all([
    dist('auth/admission.js'),
    dist('state/local-limits-state.js'),
    dist('billing/reservation-plan.js'),
    dist('billing/token-estimate.js'),
  ]);
  const now = Date.now();
  const key = {
    key: { id: 'key_bench', hash: 'h'.repeat(64), prefix: 'sk-...ench', alias: 'bench', userId: null, teamId: null, aliases: {}, expiresAt: null, models: [], maxBudgetMicros: 1_000_000_000_000, softBudgetMicros: null, budgetDuration: null, budgetPeriodStart: now, spendMicros: 0, rpmLimit: 100_000_000, tpmLimit: 1_000_000_000_000, maxParallelRequests: 100_000, metadata: {}, blocked: false, createdAt: now, updatedAt: now },
  };
  const admission = new Admission(new LocalLimitsState(), pino({ level: 'silent' }), undefined, () => undefined);
  let id = 0;
  const call = async () => {
    const input = { kind: 'chat', body: { ...body } };
    const plan = reservationPlan(input, [deployment], undefined);
    const ticket = await admission.admit(key, `call-${root}-${id++}`, plan, estimatedTokens(input, plan.promptBound));
    await new Promise((resolve) => setImmediate(resolve));
    ticket.settle(1_000, 80);
  };
  return async () => {
    const started = process.cpuUsage();
    let next = 0;
    await Promise.all(Array.from({ length: CONCURRENCY }, async () => {
      while (next++ < CALLS) await call();
    }));
    const used = process.cpuUsage(started);
    return (used.user + used.system) / CALLS;
  };
}

const runs = [];
for (const root of roots) runs.push({ root, run: await load(root), results: [] });
for (const entry of runs) await entry.run(); // warm-up
for (let round = 0; round < ROUNDS; round++) for (const entry of runs) entry.results.push(await entry.run());
const median = (values) => [...values].sort((a, b) => a - b)[Math.floor(values.length / 2)];
for (const { root, results } of runs) console.log(`${median(results).toFixed(1).padStart(6)} µs/call  (rounds ${results.map((value) => value.toFixed(1)).join(', ')})  ${root}`);
