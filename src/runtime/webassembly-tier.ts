/**
 * WebAssembly stays on V8's baseline compiler (bench/README.md, "Memory").
 *
 * undici parses HTTP/1.1 with llhttp compiled to WebAssembly. V8 compiles it first with Liftoff,
 * its baseline compiler, and once its functions are hot compiles them again with TurboFan on a
 * background thread: under load that compilation's zones took ~17 MB of malloc memory at its peak
 * (heaptrack of the gateway), which glibc keeps in its arenas after they are freed — in some runs
 * the process's malloc heap stayed at ~42 MB instead of ~21 MB. llhttp only frames the messages
 * (headers and chunk boundaries; bodies pass through as slices), and Liftoff's code measured no
 * CPU cost per request beyond run-to-run noise. `start` sets `--liftoff-only` before the first
 * upstream connection compiles the parser (V8 reads it when it decides a tier-up, so setting it at
 * run time works); a node flag that names Liftoff or WebAssembly tiering wins.
 */
import { setFlagsFromString } from 'node:v8';

export const WEBASSEMBLY_BASELINE_FLAG = '--liftoff-only';

/** The V8 flag to set, or undefined when the node flags already choose how WebAssembly is compiled. */
export function webAssemblyTierFlag(execArgv: readonly string[], nodeOptions = ''): string | undefined {
  const flags = [...execArgv, ...nodeOptions.split(/\s+/)];
  return flags.some((flag) => /^--(no[-_])?(liftoff|wasm[-_](tier|dynamic[-_]tiering|lazy[-_]compilation))/.test(flag)) ? undefined : WEBASSEMBLY_BASELINE_FLAG;
}

/** Sets the flag unless node flags choose the WebAssembly tiers; returns the flag set. */
export function keepWebAssemblyBaseline(execArgv: readonly string[] = process.execArgv, nodeOptions = process.env.NODE_OPTIONS ?? ''): string | undefined {
  const flag = webAssemblyTierFlag(execArgv, nodeOptions);
  if (flag) setFlagsFromString(flag);
  return flag;
}
