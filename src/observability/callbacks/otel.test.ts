import { describe, expect, it } from 'vitest';
import { otelSettingsFrom, traceIdsOf } from './otel.js';
import { mkdtempSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';

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

  it('takes compression (gzip or none), a timeout and headers, the traces-specific variables first', () => {
    expect(otelSettingsFrom(base)).toMatchObject({ compression: 'none', timeoutMs: undefined, headers: {}, tls: {} });
    expect(otelSettingsFrom({ ...base, OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip' }).compression).toBe('gzip');
    expect(otelSettingsFrom({ ...base, OTEL_EXPORTER_OTLP_COMPRESSION: 'gzip', OTEL_EXPORTER_OTLP_TRACES_COMPRESSION: 'none' }).compression).toBe('none');
    expect(otelSettingsFrom({ ...base, OTEL_EXPORTER_OTLP_TIMEOUT: '2500' }).timeoutMs).toBe(2500);
    expect(otelSettingsFrom({ ...base, OTEL_EXPORTER_OTLP_TIMEOUT: '2500', OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: '700' }).timeoutMs).toBe(700);
    expect(otelSettingsFrom({ ...base, OTEL_EXPORTER_OTLP_HEADERS: 'Authorization=Basic%20abc,x-team=a', OTEL_EXPORTER_OTLP_TRACES_HEADERS: 'x-team=b' }).headers).toEqual({ authorization: 'Basic abc', 'x-team': 'b' });
  });

  it('refuses a compression or timeout it cannot honour, in words', () => {
    expect(() => otelSettingsFrom({ ...base, OTEL_EXPORTER_OTLP_COMPRESSION: 'zstd' })).toThrow(/OTEL_EXPORTER_OTLP_COMPRESSION must be gzip or none, got "zstd"/);
    expect(() => otelSettingsFrom({ ...base, OTEL_EXPORTER_OTLP_TRACES_TIMEOUT: 'soon' })).toThrow(/OTEL_EXPORTER_OTLP_TRACES_TIMEOUT must be a positive number of milliseconds/);
  });

  it('reads the TLS files it is given, and names one it cannot read', () => {
    const dir = mkdtempSync(join(tmpdir(), 'otel-tls-'));
    writeFileSync(join(dir, 'ca.pem'), 'CA PEM');
    expect(otelSettingsFrom({ ...base, OTEL_EXPORTER_OTLP_CERTIFICATE: join(dir, 'ca.pem') }).tls).toEqual({ ca: 'CA PEM' });
    expect(() => otelSettingsFrom({ ...base, OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY: join(dir, 'missing.pem') })).toThrow(/OTEL_EXPORTER_OTLP_TRACES_CLIENT_KEY: cannot read/);
  });

  it('takes resource attributes from OTEL_RESOURCE_ATTRIBUTES, OTEL_SERVICE_NAME winning for service.name', () => {
    expect(otelSettingsFrom({ ...base, OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=prod,service.name=from-attributes,team=a%20b' })).toMatchObject({ serviceName: 'from-attributes', resourceAttributes: [['deployment.environment', 'prod'], ['team', 'a b']] });
    expect(otelSettingsFrom({ ...base, OTEL_SERVICE_NAME: 'named', OTEL_RESOURCE_ATTRIBUTES: 'service.name=from-attributes' }).serviceName).toBe('named');
    expect(() => otelSettingsFrom({ ...base, OTEL_RESOURCE_ATTRIBUTES: 'broken' })).toThrow(/OTEL_RESOURCE_ATTRIBUTES: "broken" is not Name=value/);
  });

  it('names the OpenTelemetry variables it does not honour', () => {
    expect(otelSettingsFrom({ ...base, OTEL_TRACES_SAMPLER: 'parentbased_always_on' }).warnings).toEqual([]);
    const { warnings } = otelSettingsFrom({ ...base, OTEL_TRACES_SAMPLER: 'traceidratio', OTEL_TRACES_EXPORTER: 'zipkin', OTEL_SDK_DISABLED: 'true' });
    expect(warnings).toHaveLength(3);
    expect(warnings[0]).toMatch(/OTEL_TRACES_SAMPLER=traceidratio is not supported/);
    expect(warnings[1]).toMatch(/OTEL_TRACES_EXPORTER=zipkin is not supported/);
    expect(warnings[2]).toMatch(/OTEL_SDK_DISABLED=true is not read/);
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
