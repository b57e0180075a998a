import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { GOOGLE_TOKEN_AUDIENCE, MockVertex } from '../../../test/support/mock-vertex.js';
import { CachedAccessToken, googleTokenFetcher, REFRESH_MARGIN_MS, type FetchedToken } from './access-token.js';

describe('the access-token cache', () => {
  function counting(lifetimeMs: number, now: () => number) {
    const state = { fetches: 0, fail: false };
    const fetch = async (): Promise<FetchedToken> => {
      state.fetches += 1;
      await new Promise((resolve) => setImmediate(resolve));
      if (state.fail) throw new Error('token endpoint down');
      return { token: `token-${state.fetches}`, expiresAt: now() + lifetimeMs };
    };
    return { state, fetch };
  }

  it('fetches once for many concurrent calls and reuses the token while it is fresh', async () => {
    let clock = 1_000_000;
    const { state, fetch } = counting(3_600_000, () => clock);
    const cache = new CachedAccessToken(fetch, () => clock);
    const tokens = await Promise.all(Array.from({ length: 20 }, () => cache.token()));
    expect(new Set(tokens)).toEqual(new Set(['token-1']));
    clock += 30 * 60_000;
    expect(await cache.token()).toBe('token-1');
    expect(await cache.headers()).toEqual({ authorization: 'Bearer token-1' });
    expect(state.fetches).toBe(1);
  });

  it('refreshes in the background before expiry, still answering with the valid token meanwhile', async () => {
    let clock = 0;
    const { state, fetch } = counting(3_600_000, () => clock);
    const cache = new CachedAccessToken(fetch, () => clock);
    expect(await cache.token()).toBe('token-1');
    clock = 3_600_000 - REFRESH_MARGIN_MS + 1; // inside the margin, not yet expired
    expect(await cache.token()).toBe('token-1');
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(state.fetches).toBe(2);
    expect(await cache.token()).toBe('token-2');
  });

  it('refreshes a short-lived token half-way through its life, not on every call', async () => {
    let clock = 0;
    const { state, fetch } = counting(120_000, () => clock);
    const cache = new CachedAccessToken(fetch, () => clock);
    await cache.token();
    clock = 59_000;
    await cache.token();
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(state.fetches).toBe(1);
    clock = 60_000;
    expect(await cache.token()).toBe('token-1');
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(state.fetches).toBe(2);
  });

  it('waits for a new token once the held one has expired; a failed fetch fails the call and is tried again by the next', async () => {
    let clock = 0;
    const { state, fetch } = counting(60_000, () => clock);
    const cache = new CachedAccessToken(fetch, () => clock);
    await cache.token();
    clock = 120_000;
    state.fail = true;
    await expect(cache.token()).rejects.toThrow('token endpoint down');
    state.fail = false;
    expect(await cache.token()).toBe('token-3');
  });
});

describe('tokens from a service account, with google-auth-library', () => {
  const vertex = new MockVertex({ tokenLifetimeSeconds: 3600 });
  beforeAll(async () => {
    await vertex.start();
  });
  afterAll(async () => {
    await vertex.close();
  });

  it('signs a JWT assertion with the key, posts it to the key file\'s token_uri and returns the access token with its expiry', async () => {
    const before = Date.now();
    const fetched = await googleTokenFetcher(JSON.stringify(vertex.serviceAccount()))();
    expect(fetched.token).toBe(vertex.grants.at(-1)!.token);
    expect(fetched.expiresAt).toBeGreaterThanOrEqual(before + 3_500_000);
    const claims = vertex.grants.at(-1)!.claims;
    expect(claims).toMatchObject({ iss: vertex.clientEmail, aud: GOOGLE_TOKEN_AUDIENCE, scope: 'https://www.googleapis.com/auth/cloud-platform' });
  });

  it('reads a credentials file given by path', async () => {
    const directory = mkdtempSync(join(tmpdir(), 'vertex-credentials-'));
    const path = join(directory, 'service-account.json');
    writeFileSync(path, JSON.stringify(vertex.serviceAccount()));
    const grants = vertex.grants.length;
    const fetched = await googleTokenFetcher(path)();
    expect(vertex.grants).toHaveLength(grants + 1);
    expect(fetched.token).toBe(vertex.grants.at(-1)!.token);
  });

  it('fails with the token endpoint\'s reason when the key does not match the account', async () => {
    const other = new MockVertex();
    const foreignKey = other.serviceAccount().private_key;
    await expect(googleTokenFetcher(JSON.stringify(vertex.serviceAccount({ private_key: foreignKey })))()).rejects.toThrow(/Invalid JWT Signature/);
  });
});
