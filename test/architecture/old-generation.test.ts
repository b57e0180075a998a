/**
 * src/runtime/old-generation.ts bounds how far the old generation grows past its live set before
 * V8 collects it: checked on this Node's V8 in a child process that keeps ~55 MB alive and
 * promotes a stream of short-lived objects (as usage rows waiting for their batch are), with and
 * without the flag, and with a worker thread started after it (a new isolate must not reset it).
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { OLD_GENERATION_FLAG, oldGenerationFlag } from '../../src/runtime/old-generation.js';

/** The most heap in use (MB) seen while promoted garbage accumulates. */
function peakHeapMb(flag: string | undefined, worker = false): number {
  const script = `
    import v8 from 'node:v8';
    import { Worker } from 'node:worker_threads';
    ${flag ? `v8.setFlagsFromString(${JSON.stringify(flag)});` : ''}
    if (${worker}) {
      const thread = new Worker('setTimeout(() => {}, 20)', { eval: true });
      await new Promise((done) => thread.once('exit', done));
    }
    const live = [];
    for (let i = 0; i < 500000; i++) live.push({ a: i, b: 'x' + i, c: [i] });
    let recent = [];
    let peak = 0;
    for (let round = 0; round < 3000; round++) {
      for (let i = 0; i < 2000; i++) recent.push({ round, i, s: 'y' + i });
      if (recent.length > 60000) recent = recent.slice(30000);
      peak = Math.max(peak, v8.getHeapStatistics().used_heap_size);
    }
    console.log(peak / 1048576);
  `;
  const result = spawnSync(process.execPath, ['--input-type=module', '-e', script], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
  expect(result.stderr).toBe('');
  return Number(result.stdout.trim());
}

describe('old generation of the gateway process', () => {
  it('grows to a multiple of its live set by default, and to about 1.5× it with the flag, also after a worker thread started', () => {
    expect(peakHeapMb(undefined)).toBeGreaterThan(140);
    expect(peakHeapMb(OLD_GENERATION_FLAG)).toBeLessThan(125);
    expect(peakHeapMb(OLD_GENERATION_FLAG, true)).toBeLessThan(125);
  });

  it('leaves the factor to a node flag that names it', () => {
    expect(oldGenerationFlag([])).toBe('--heap-growing-percent=50');
    expect(oldGenerationFlag(['--max-old-space-size=512'])).toBe('--heap-growing-percent=50');
    expect(oldGenerationFlag(['--heap-growing-percent=20'])).toBeUndefined();
    expect(oldGenerationFlag(['--heap_growing_percent=80'])).toBeUndefined();
  });
});
