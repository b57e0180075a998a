/**
 * The official OTLP/HTTP exporters over the otel callback's plain records: the ReadableSpans are built
 * (otel-spans.ts) and encoded as binary protobuf by @opentelemetry/exporter-trace-otlp-proto (the
 * default: OTLP's default protocol, less than half the CPU and about half the bytes of JSON per span),
 * or as JSON by @opentelemetry/exporter-trace-otlp-http (`OTEL_EXPORTER_OTLP_PROTOCOL=http/json`).
 * Runs in the export thread (otel-export-worker.ts), or in the gateway's thread when that thread is not built.
 */
import { lazyModule } from '../../lazy-module.js';
import { VERSION } from '../../version.js';
import { readableSpans, type SpanRecord } from './otel-spans.js';

// The OpenTelemetry SDK (~250 modules) loads when an otel callback is configured, not at start.
const otlpJson = lazyModule<typeof import('@opentelemetry/exporter-trace-otlp-http')>('@opentelemetry/exporter-trace-otlp-http');
const otlpProto = lazyModule<typeof import('@opentelemetry/exporter-trace-otlp-proto')>('@opentelemetry/exporter-trace-otlp-proto');
const otelResources = lazyModule<typeof import('@opentelemetry/resources')>('@opentelemetry/resources');

export interface ExporterSettings {
  tracesUrl: string;
  headers: Record<string, string>;
  serviceName: string;
  protocol: 'http/protobuf' | 'http/json';
  timeoutMs: number;
  /** redact_user_api_key_info: no key alias, team or user on the spans. */
  redact: boolean;
}

export function otlpExporter(settings: ExporterSettings): { export(records: SpanRecord[]): Promise<void>; shutdown(): Promise<void> } {
  const Exporter = settings.protocol === 'http/json' ? otlpJson().OTLPTraceExporter : otlpProto().OTLPTraceExporter;
  const exporter = new Exporter({ url: settings.tracesUrl, headers: settings.headers, timeoutMillis: settings.timeoutMs });
  const resource = otelResources().resourceFromAttributes({ 'service.name': settings.serviceName, 'service.version': VERSION });
  const scope = { name: 'switchboard', version: VERSION };
  return {
    export: (records) =>
      new Promise<void>((resolve, reject) => {
        exporter.export(readableSpans(records, resource, scope, { redact: settings.redact }), (result) => (result.code === 0 ? resolve() : reject(result.error ?? new Error('OTLP export failed'))));
      }),
    shutdown: () => exporter.shutdown(),
  };
}
