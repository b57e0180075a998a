import { describe, expect, it } from 'vitest';
import { parseConfig } from '../config/load.js';
import { listenerSettingsFrom } from './listener-settings.js';

const settingsOf = (generalSettings: string) => listenerSettingsFrom(parseConfig(`general_settings:\n${generalSettings}`, {}).config);

describe('listenerSettingsFrom', () => {
  it('uses the defaults: 60 s for the request, 15 s for headers, 65 s keep-alive, 256 connections per address', () => {
    expect(listenerSettingsFrom(parseConfig('model_list: []\n', {}).config)).toEqual({
      requestTimeoutMs: 60_000,
      headersTimeoutMs: 15_000,
      keepAliveTimeoutMs: 65_000,
      connectionsCheckingIntervalMs: 3_750,
      maxConnectionsPerAddress: 256,
    });
  });

  it('checks connections often enough for short timeouts, and no more than every 30 s', () => {
    expect(settingsOf('  request_body_timeout: 2\n  request_headers_timeout: 1\n').connectionsCheckingIntervalMs).toBe(250);
    expect(settingsOf('  request_body_timeout: 600\n  request_headers_timeout: 300\n').connectionsCheckingIntervalMs).toBe(30_000);
    expect(settingsOf('  request_body_timeout: 0\n  request_headers_timeout: 0\n').connectionsCheckingIntervalMs).toBe(30_000);
  });

  it('accepts 0 as "no limit" and refuses headers slower than the whole request', () => {
    expect(settingsOf('  request_body_timeout: 0\n  max_connections_per_ip: 0\n')).toMatchObject({ requestTimeoutMs: 0, headersTimeoutMs: 15_000, maxConnectionsPerAddress: 0 });
    expect(() => settingsOf('  request_body_timeout: 5\n  request_headers_timeout: 10\n')).toThrow(/request_headers_timeout \(10s\) must not be longer than general_settings\.request_body_timeout \(5s\)/);
  });
});
