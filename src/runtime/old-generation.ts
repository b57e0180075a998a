/**
 * How far V8 lets the main heap's old generation grow past what survived the last full collection
 * before it collects again (bench/README.md, "Memory").
 *
 * V8 picks that factor itself from how fast its collector runs against the program, up to 4×.
 * Objects that live across two scavenges (usage rows waiting for their batch, calls in flight) are
 * promoted and die in the old generation, and under load the heap climbed from its ~50 MB live set
 * to 180–210 MB before each full collection, the resident size with it. `start` sets the factor
 * to 1.5 once it listens (`--heap-growing-percent=50`: V8 reads it whenever it sets the next
 * limit, so setting it at run time works, and a worker thread's new isolate does not reset it).
 * Measured: no CPU cost beyond run-to-run noise (bench/README.md). A node flag naming the factor
 * (`node --heap-growing-percent=N bin/switchboard.js …`; V8 refuses it in NODE_OPTIONS) wins.
 */
import { setFlagsFromString } from 'node:v8';

export const OLD_GENERATION_FLAG = '--heap-growing-percent=50';

/** The V8 flag to set, or undefined when the node flags already name the growing factor. */
export function oldGenerationFlag(execArgv: readonly string[]): string | undefined {
  return execArgv.some((flag) => /^--heap[-_]growing[-_]percent\b/.test(flag)) ? undefined : OLD_GENERATION_FLAG;
}

/** Sets the growing factor unless node flags name it; returns the flag set. */
export function limitOldGenerationGrowth(execArgv: readonly string[] = process.execArgv): string | undefined {
  const flag = oldGenerationFlag(execArgv);
  if (flag) setFlagsFromString(flag);
  return flag;
}
