/**
 * The main thread's V8 young generation during start-up (bench/README.md, "Memory").
 *
 * V8 doubles the young generation whenever a scavenge finds much still alive, up to 16 MB
 * semi-spaces (a 32 MB new space, all of it resident): start-up's module loading alone takes it
 * there, and an idle gateway then keeps it. bin/switchboard.js calls `limitYoungGeneration()`
 * before the gateway is loaded, which keeps the semi-spaces at their initial 1 MB (~20 MB less RSS
 * at idle), and the `start` command calls `releaseYoungGeneration()` once it listens, so under load
 * V8 sizes the young generation as usual: kept at 1 MB under load, objects are promoted too early
 * and the old generation grew to 150 MB within a minute. V8 reads --semi-space-growth-factor each
 * time it would grow, so setting it at run time works (--max-semi-space-size does not: V8 reads
 * that one once, when the heap is set up) — but every new isolate (a worker thread) raises a
 * factor below 2 back to 2, process-wide, so `keepYoungGenerationLimit()` sets it again once a
 * worker is online while start-up is not over. Node flags that size the young generation win.
 */
import { setFlagsFromString } from 'node:v8';

const FLAG = '--semi-space-growth-factor=1';
/** V8's default growth factor. */
const DEFAULT_FLAG = '--semi-space-growth-factor=2';
let limited = false;

/** The V8 flag to set, or undefined when the node flags already size the young generation. */
export function youngGenerationFlag(execArgv: readonly string[], nodeOptions = ''): string | undefined {
  const flags = [...execArgv, ...nodeOptions.split(/\s+/)];
  return flags.some((flag) => /^--((max|min)[-_])?semi[-_]space[-_]/.test(flag)) ? undefined : FLAG;
}

/** Sets the flag unless node flags size the young generation; returns the flag set. */
export function limitYoungGeneration(execArgv: readonly string[] = process.execArgv, nodeOptions = process.env.NODE_OPTIONS ?? ''): string | undefined {
  const flag = youngGenerationFlag(execArgv, nodeOptions);
  if (flag) {
    setFlagsFromString(flag);
    limited = true;
  }
  return flag;
}

/** Sets the flag again after a worker thread's isolate reset it (no-op unless it is in force). */
export function keepYoungGenerationLimit(): void {
  if (limited) setFlagsFromString(FLAG);
}

/** Start-up is over: V8 may grow the young generation again (no-op unless it was limited). */
export function releaseYoungGeneration(): void {
  if (!limited) return;
  limited = false;
  setFlagsFromString(DEFAULT_FLAG);
}
