/**
 * Packages that only some configurations use are loaded when first used (src/lazy-module.ts), not
 * when the gateway starts: importing the whole `switchboard start` graph (src/cli.ts) must load
 * none of them. That they still load and work when configured is covered by the e2e tests of each
 * feature (callbacks-otel, bedrock-provider, openai-image-edits, redis-outage, access-token).
 * Vitest's forks pool runs each test file in its own process, so nothing else loaded them here.
 */
import { createRequire } from 'node:module';
import { describe, expect, it } from 'vitest';

const LAZY_PACKAGES = [
  'ioredis',
  'pg',
  'google-auth-library',
  'aws4',
  '@smithy/eventstream-codec',
  'busboy',
];

function loadedPackages(): Set<string> {
  const cache = createRequire(import.meta.url).cache;
  const packages = new Set<string>();
  for (const path of Object.keys(cache)) {
    const match = path.match(/node_modules\/((@[^/]+\/)?[^/]+)\//);
    if (match) packages.add(match[1]);
  }
  return packages;
}

describe('packages loaded on first use', () => {
  it('the start command imports none of them', async () => {
    await import('../../src/cli.js');
    await import('../../src/server.js');
    await import('../../src/runtime/gateway-runtime.js');
    const loaded = loadedPackages();
    expect(loaded.has('fastify')).toBe(true); // the check sees what the import graph loaded
    expect(LAZY_PACKAGES.filter((name) => loaded.has(name))).toEqual([]);
  });

  it('the lazy loader loads the package on the first call and reuses it', async () => {
    const { lazyModule } = await import('../../src/lazy-module.js');
    const load = lazyModule<typeof import('aws4')>('aws4');
    expect(loadedPackages().has('aws4')).toBe(false);
    const first = load();
    expect(typeof first.sign).toBe('function');
    expect(load()).toBe(first);
    expect(loadedPackages().has('aws4')).toBe(true);
  });
});
