import { describe, expect, it } from 'vitest';
import { otelSettingsFrom, traceIdsOf } from './otel.js';
import { spanRowOf } from './otel-spans.js';
import type { UsageLogRow } from '../../storage/schema.js';

describe('otelSettingsFrom', () => {
  const base = { OTEL_EXPORTER_OTLP_ENDPOINT: 'http://collector:4318/' };

  it('exports http/protobuf by default, to <endpoint>/v1/traces', () => {
    expect(otelSettingsFrom(base)).toMatchObject({ tracesUrl: 'http://collector:4318/v1/traces', protocol: 'http/protobuf', serviceName: 'switchboard' });
  });

  it('takes http/json from OTEL_EXPORTER_OTLP_PROTOCOL, and the traces-specific variable first', () => {
    expect(otelSettingsFrom({ ...base, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json' }).protocol).toBe('http/json');
    expect(otelSettingsFrom({ ...base, OTEL_EXPORTER_OTLP_PROTOCOL: 'http/json', OTEL_EXPORTER_OTLP_TRACES_PROTOCOL: 'http/protobuf' }).protocol).toBe('http/protobuf');
  });

  it('refuses grpc and unknown protocols in words', () => {
    expect(() => otelSettingsFrom({ ...base, OTEL_EXPORTER_OTLP_PROTOCOL: 'grpc' })).toThrow(/grpc is not supported.*OTLP\/HTTP/);
    expect(() => otelSettingsFrom({ ...base, OTEL_EXPORTER_OTLP_PROTOCOL: 'thrift' })).toThrow(/http\/protobuf or http\/json, got "thrift"/);
  });

  it('needs an endpoint', () => {
    expect(() => otelSettingsFrom({})).toThrow(/OTEL_EXPORTER_OTLP_ENDPOINT/);
  });
});

describe('traceIdsOf', () => {
  it('continues a sampled W3C traceparent and starts a new trace otherwise', () => {
    const child = traceIdsOf('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01');
    expect(child).toMatchObject({ traceId: '4bf92f3577b34da6a3ce929d0e0e4736', parentSpanId: '00f067aa0ba902b7', sampled: true });
    expect(child.spanId).toMatch(/^[0-9a-f]{16}$/);
    expect(traceIdsOf('00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-00').sampled).toBe(false);
    const fresh = traceIdsOf('garbage');
    expect(fresh.parentSpanId).toBeUndefined();
    expect(fresh.traceId).toMatch(/^[0-9a-f]{32}$/);
  });
});

describe('spanRowOf', () => {
  it('keeps the columns a request span reads and leaves the key hash and stored content behind', () => {
    const row = { call_id: 'c', endpoint: 'chat/completions', status: 'success', http_status: 200, key_hash: 'h'.repeat(64), messages: '[{"role":"user"}]', response: '{}', key_alias: 'svc', end_user: 'u1', cost_micros: 12 } as unknown as UsageLogRow;
    const kept = spanRowOf(row) as Record<string, unknown>;
    expect(kept).toMatchObject({ call_id: 'c', endpoint: 'chat/completions', status: 'success', http_status: 200, key_alias: 'svc', end_user: 'u1', cost_micros: 12 });
    expect(kept).not.toHaveProperty('key_hash');
    expect(kept).not.toHaveProperty('messages');
    expect(kept).not.toHaveProperty('response');
  });
});
