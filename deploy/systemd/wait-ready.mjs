#!/usr/bin/env node
// Waits for a starting gateway (systemd ExecStartPost): exits 0 as soon as GET BASE/health/readiness
// answers 200. After SECONDS (default 60) it exits 0 if the gateway at least answers
// /health/liveliness (it serves, its database is still unreachable and retried), else 1 (start failed).
//
//   node wait-ready.mjs http://127.0.0.1:4000 60
const [base = 'http://127.0.0.1:4000', secondsText = '60'] = process.argv.slice(2);
const seconds = Number(secondsText);
if (!/^https?:\/\//.test(base) || !Number.isFinite(seconds) || seconds <= 0) {
  console.error('usage: wait-ready.mjs BASE_URL [SECONDS]');
  process.exit(2);
}

async function status(path) {
  try {
    const response = await fetch(new URL(path, base), { signal: AbortSignal.timeout(2_000) });
    await response.arrayBuffer();
    return response.status;
  } catch {
    return 0;
  }
}

const deadline = Date.now() + seconds * 1_000;
let last = 0;
while (Date.now() < deadline) {
  last = await status('/health/readiness');
  if (last === 200) process.exit(0);
  await new Promise((resolve) => setTimeout(resolve, 250));
}
if ((await status('/health/liveliness')) === 200) {
  console.error(`switchboard answers at ${base} but /health/readiness still says ${last} after ${seconds}s (database not ready): started, not ready`);
  process.exit(0);
}
console.error(`switchboard did not answer at ${base} within ${seconds}s`);
process.exit(1);
