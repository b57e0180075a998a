/**
 * Where the otel callback's batches become OTLP: a worker thread of their own (otel-export-worker.ts)
 * when the compiled thread exists, else this thread. Building the ReadableSpans, the exporter's
 * transform, JSON and UTF-8 encoding and the HTTP post cost about as much CPU as a proxied call
 * itself; on the thread that serves requests they took a fifth of its throughput (bench/README.md).
 * The request path hands over plain records only (otel-spans.ts), which a thread can take as they are.
 */
import type { Logger } from 'pino';
import { threadFile, ThreadCalls } from '../../runtime/thread-calls.js';
import type { SpanRecord } from './otel-spans.js';
import { otlpExporter, type ExporterSettings } from './otel-exporter.js';

/** The export thread's young generation, in MB: it holds one batch's spans at a time. */
const EXPORT_YOUNG_GENERATION_MB = 4;

export interface OtelExport {
  export(records: SpanRecord[]): Promise<void>;
  close(): Promise<void>;
}

export function otelExport(settings: ExporterSettings, logger: Logger): OtelExport {
  // The compiled thread: beside this file in dist/ (or the bundle), or dist/ itself when running from sources (tests).
  const file = threadFile(new URL('./otel-export-worker.js', import.meta.url), new URL('../../../dist/observability/callbacks/otel-export-worker.js', import.meta.url));
  return file ? threadExport(file, settings, logger) : inThreadExport(settings);
}

function inThreadExport(settings: ExporterSettings): OtelExport {
  const exporter = otlpExporter(settings);
  return { export: (records) => exporter.export(records), close: () => exporter.shutdown() };
}

function threadExport(file: URL, settings: ExporterSettings, logger: Logger): OtelExport {
  const thread = new ThreadCalls({
    file,
    workerData: settings,
    resourceLimits: { maxYoungGenerationSizeMb: EXPORT_YOUNG_GENERATION_MB },
    failedCall: 'OTLP export failed',
    onFailure: (error) => logger.warn({ err: error.message }, 'the OTLP export thread stopped; it restarts with the next batch'),
  });
  return {
    export: (records) => thread.call({ records }),
    close: async () => {
      await thread.detach()?.terminate();
    },
  };
}
