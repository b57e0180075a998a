/**
 * src/runtime/webassembly-tier.ts keeps WebAssembly (undici's llhttp) on V8's baseline compiler:
 * checked on this Node's V8 in a child process whose hot WebAssembly function tiers up to TurboFan
 * by default and stays on Liftoff with the flag set at run time, as `start` sets it.
 */
import { spawnSync } from 'node:child_process';
import { describe, expect, it } from 'vitest';
import { WEBASSEMBLY_BASELINE_FLAG, webAssemblyTierFlag } from '../../src/runtime/webassembly-tier.js';

/** Which tier a hot exported function runs in after a while. */
function tierOf(flag: string | undefined): { liftoff: boolean; turbofan: boolean } {
  // (module (func (export "add") (param i32 i32) (result i32) local.get 0 local.get 1 i32.add))
  const script = `
    import v8 from 'node:v8';
    ${flag ? `v8.setFlagsFromString(${JSON.stringify(flag)});` : ''}
    const bytes = new Uint8Array([0,97,115,109,1,0,0,0,1,7,1,96,2,127,127,1,127,3,2,1,0,7,7,1,3,97,100,100,0,0,10,9,1,7,0,32,0,32,1,106,11]);
    const { instance } = await WebAssembly.instantiate(bytes);
    const add = instance.exports.add;
    let sum = 0;
    for (let round = 0; round < 40; round++) {
      for (let i = 0; i < 1e6; i++) sum = add(sum, 1) | 0;
      await new Promise((done) => setTimeout(done, 10));
    }
    console.log(JSON.stringify({ liftoff: eval('%IsLiftoffFunction(add)'), turbofan: eval('%IsTurboFanFunction(add)') }));
  `;
  const result = spawnSync(process.execPath, ['--allow-natives-syntax', '--input-type=module', '-e', script], { encoding: 'utf8', env: { ...process.env, NODE_OPTIONS: '' } });
  expect(result.stderr).toBe('');
  return JSON.parse(result.stdout.trim()) as { liftoff: boolean; turbofan: boolean };
}

describe('WebAssembly tiers of the gateway process', () => {
  it('a hot function tiers up to TurboFan by default, and stays on Liftoff with the flag set at run time', () => {
    expect(tierOf(undefined)).toEqual({ liftoff: false, turbofan: true });
    expect(tierOf(WEBASSEMBLY_BASELINE_FLAG)).toEqual({ liftoff: true, turbofan: false });
  });

  it('leaves the tiers to a node flag that chooses them', () => {
    expect(webAssemblyTierFlag([])).toBe('--liftoff-only');
    expect(webAssemblyTierFlag(['--max-old-space-size=512'], '--enable-source-maps')).toBe('--liftoff-only');
    expect(webAssemblyTierFlag(['--no-liftoff'])).toBeUndefined();
    expect(webAssemblyTierFlag([], '--wasm-dynamic-tiering')).toBeUndefined();
    expect(webAssemblyTierFlag(['--no-wasm-tier-up'])).toBeUndefined();
  });
});
