/**
 * src/runtime/young-generation.ts keeps the main thread's V8 young generation at its initial size during start-up
 * unless the node flags size it, also after a worker thread started: checked on this Node's V8 in a
 * child process that allocates enough surviving objects to grow the new space to its 32 MB maximum
 * when the flag is not set. The child runs the built module (dist/, as bin/switchboard.js does).
 */
import { spawnSync } from 'node:child_process';
import { resolve } from 'node:path';
import { pathToFileURL } from 'node:url';
import { describe, expect, it } from 'vitest';
import { youngGenerationFlag } from '../../src/runtime/young-generation.js';

const MODULE = pathToFileURL(resolve(import.meta.dirname, '../../dist/runtime/young-generation.js')).href;

/** The new space size (MB) after a burst of allocation, with or without limitYoungGeneration(). */
function newSpaceMb(limit: boolean, nodeArgs: string[] = [], worker: 'none' | 'kept' | 'reset' = 'none', release = false): number {
  const script = `
    import v8 from 'node:v8';
    import { Worker } from 'node:worker_threads';
    import { keepYoungGenerationLimit, limitYoungGeneration, releaseYoungGeneration } from '${MODULE}';
    if (${limit}) limitYoungGeneration();
    if (${release}) releaseYoungGeneration();
    if ('${worker}' !== 'none') {
      const thread = new Worker('setTimeout(() => {}, 50)', { eval: true });
      if ('${worker}' === 'kept') thread.once('online', keepYoungGenerationLimit);
      await new Promise((done) => thread.once('exit', done));
    }
    const keep = [];
    for (let round = 0; round < 200; round++) {
      for (let i = 0; i < 20000; i++) { const item = { a: i, b: 'x' + i, c: [i, i + 1] }; if (i % 50 === 0) keep.push(item); }
      if (keep.length > 20000) keep.splice(0, 10000);
    }
    const space = v8.getHeapSpaceStatistics().find((s) => s.space_name === 'new_space');
    console.log(space.space_size / 1048576);
  `;
  const result = spawnSync(process.execPath, [...nodeArgs, '--input-type=module', '-e', script], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
  expect(result.stderr).toBe('');
  return Number(result.stdout.trim());
}

describe('young generation of the gateway process', () => {
  it('stays at its initial size once limited, and grows without the limit', () => {
    expect(newSpaceMb(false)).toBeGreaterThanOrEqual(16);
    expect(newSpaceMb(true)).toBeLessThanOrEqual(2);
  });

  it('grows again once released (start-up is over)', () => {
    expect(newSpaceMb(true, [], 'none', true)).toBeGreaterThanOrEqual(16);
  });

  it('a worker thread resets the limit, and keepYoungGenerationLimit sets it again', () => {
    expect(newSpaceMb(true, [], 'reset')).toBeGreaterThanOrEqual(16);
    expect(newSpaceMb(true, [], 'kept')).toBeLessThanOrEqual(2);
  });

  it('leaves the young generation to node flags that size it', () => {
    expect(youngGenerationFlag([], '')).toBe('--semi-space-growth-factor=1');
    expect(youngGenerationFlag(['--max-semi-space-size=8'], '')).toBeUndefined();
    expect(youngGenerationFlag([], '--enable-source-maps --semi-space-growth-factor=2')).toBeUndefined();
    expect(youngGenerationFlag(['--min_semi_space_size=4'])).toBeUndefined();
    expect(youngGenerationFlag(['--max-old-space-size=512'], '')).toBe('--semi-space-growth-factor=1');
    expect(newSpaceMb(true, ['--max-semi-space-size=8'])).toBeGreaterThan(2);
  });
});
