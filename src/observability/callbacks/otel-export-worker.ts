/**
 * The otel callback's export thread (otel-export.ts): each message is one batch of plain span records;
 * it answers `{ id, ok }` once the collector took the batch, or `{ id, ok: false, error }`. Retries,
 * backoff and the counters stay with the delivery queue on the gateway's thread.
 */
import { parentPort, workerData } from 'node:worker_threads';
import type { SpanRecord } from './otel-spans.js';
import { otlpExporter, type ExporterSettings } from './otel-exporter.js';

const exporter = otlpExporter(workerData as ExporterSettings);

parentPort!.on('message', (message: { id: number; records: SpanRecord[] }) => {
  exporter.export(message.records).then(
    () => parentPort!.postMessage({ id: message.id, ok: true }),
    (error: unknown) => parentPort!.postMessage({ id: message.id, ok: false, error: error instanceof Error ? error.message : String(error) }),
  );
});
