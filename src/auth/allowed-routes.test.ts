import { describe, expect, it } from 'vitest';
import { assertRouteAllowed, invalidRouteEntry, type RouteRequest } from './allowed-routes.js';
import type { Caller } from './caller.js';
import type { KeyRecord } from './principals.js';

const callerWith = (allowedRoutes: string[] | undefined): Caller => ({
  keyHash: 'h',
  keyAlias: null,
  userId: null,
  teamId: null,
  isAdmin: false,
  principal: { key: { alias: 'k', prefix: 'sk-...abcd', allowedRoutes } as KeyRecord },
});

const allowed = (entries: string[] | undefined, route: RouteRequest) => {
  try {
    assertRouteAllowed(callerWith(entries), () => route);
    return true;
  } catch {
    return false;
  }
};

const chat: RouteRequest = { method: 'POST', path: '/v1/chat/completions', callsModel: true };
const keyInfo: RouteRequest = { method: 'GET', path: '/key/info', callsModel: false };
const keyGenerate: RouteRequest = { method: 'POST', path: '/key/generate', callsModel: false };
const models: RouteRequest = { method: 'GET', path: '/v1/models', callsModel: false };

describe('allowed_routes', () => {
  it('no list (or an empty one) restricts nothing; the master key has none', () => {
    expect(allowed(undefined, chat)).toBe(true);
    expect(allowed([], keyGenerate)).toBe(true);
    expect(() => assertRouteAllowed({ keyHash: null, keyAlias: 'master', userId: null, teamId: null, isAdmin: true }, () => keyGenerate)).not.toThrow();
  });

  it('exact paths (with or without /v1) and /* prefixes', () => {
    expect(allowed(['/chat/completions'], chat)).toBe(true);
    expect(allowed(['/v1/chat/completions'], chat)).toBe(true);
    expect(allowed(['/chat/completions'], keyInfo)).toBe(false);
    expect(allowed(['/key/*'], keyGenerate)).toBe(true);
    expect(allowed(['/key/*'], chat)).toBe(false);
  });

  it('LiteLLM\'s groups: llm_api_routes, info_routes (reads only), management_routes', () => {
    expect(allowed(['llm_api_routes'], chat)).toBe(true);
    expect(allowed(['llm_api_routes'], models)).toBe(true);
    expect(allowed(['llm_api_routes'], { method: 'GET', path: '/v1/models/cheap', callsModel: false })).toBe(true);
    expect(allowed(['llm_api_routes'], { method: 'GET', path: '/v1/models/openai/gpt-4o', callsModel: false })).toBe(true);
    expect(allowed(['llm_api_routes'], { method: 'POST', path: '/v1/messages/count_tokens', callsModel: false })).toBe(true);
    expect(allowed(['llm_api_routes'], { method: 'GET', path: '/v1/model/info', callsModel: false })).toBe(false);
    expect(allowed(['llm_api_routes'], keyInfo)).toBe(false);
    expect(allowed(['info_routes'], keyInfo)).toBe(true);
    expect(allowed(['info_routes'], keyGenerate)).toBe(false);
    expect(allowed(['info_routes'], chat)).toBe(false);
    expect(allowed(['management_routes'], keyGenerate)).toBe(true);
    expect(allowed(['management_routes'], chat)).toBe(false);
  });

  it('the refusal names the key and its list', () => {
    expect(() => assertRouteAllowed(callerWith(['info_routes']), () => chat)).toThrow(/key "k" may not call POST \/v1\/chat\/completions: its allowed_routes are info_routes/);
  });

  it('entries that are neither paths nor groups, and inner wildcards, are invalid', () => {
    expect(invalidRouteEntry('/key/info')).toBeUndefined();
    expect(invalidRouteEntry('/key/*')).toBeUndefined();
    expect(invalidRouteEntry('llm_api_routes')).toBeUndefined();
    expect(invalidRouteEntry('everything')).toMatch(/neither a path/);
    expect(invalidRouteEntry('/key/*/info')).toMatch(/final/);
  });
});
