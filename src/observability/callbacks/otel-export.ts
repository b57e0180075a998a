/**
 * Where the otel callback's batches become OTLP: a worker thread of their own (otel-export-worker.ts)
 * when the compiled thread exists, else this thread. Building the ReadableSpans, the exporter's
 * transform, JSON and UTF-8 encoding and the HTTP post cost about as much CPU as a proxied call
 * itself; on the thread that serves requests they took a fifth of its throughput (bench/README.md).
 * The request path hands over plain records only (otel-spans.ts), which a thread can take as they are.
 */
import { existsSync } from 'node:fs';
import { fileURLToPath } from 'node:url';
import { Worker } from 'node:worker_threads';
import type { Logger } from 'pino';
import { keepYoungGenerationLimit } from '../../runtime/young-generation.js';
import type { SpanRecord } from './otel-spans.js';
import { otlpExporter, type ExporterSettings } from './otel-exporter.js';

/** The compiled thread: beside this file in dist/, or dist/ itself when running from sources (tests). */
function workerFile(): URL | undefined {
  const sibling = new URL('./otel-export-worker.js', import.meta.url);
  if (existsSync(fileURLToPath(sibling))) return sibling;
  const built = new URL('../../../dist/observability/callbacks/otel-export-worker.js', import.meta.url);
  return existsSync(fileURLToPath(built)) ? built : undefined;
}

/** The export thread's young generation, in MB: it holds one batch's spans at a time. */
const EXPORT_YOUNG_GENERATION_MB = 4;

export interface OtelExport {
  export(records: SpanRecord[]): Promise<void>;
  close(): Promise<void>;
}

export function otelExport(settings: ExporterSettings, logger: Logger): OtelExport {
  const file = workerFile();
  return file ? new ThreadExport(file, settings, logger) : inThreadExport(settings);
}

function inThreadExport(settings: ExporterSettings): OtelExport {
  const exporter = otlpExporter(settings);
  return { export: (records) => exporter.export(records), close: () => exporter.shutdown() };
}

class ThreadExport implements OtelExport {
  private worker: Worker | undefined;
  private nextId = 0;
  private readonly pending = new Map<number, { resolve: () => void; reject: (error: Error) => void }>();

  constructor(
    private readonly file: URL,
    private readonly settings: ExporterSettings,
    private readonly logger: Logger,
  ) {}

  private ensureWorker(): Worker {
    if (this.worker) return this.worker;
    const worker = new Worker(this.file, { workerData: this.settings, resourceLimits: { maxYoungGenerationSizeMb: EXPORT_YOUNG_GENERATION_MB } });
    worker.unref();
    worker.once('online', keepYoungGenerationLimit);
    worker.on('message', (message: { id: number; ok: boolean; error?: string }) => {
      const waiter = this.pending.get(message.id);
      if (!waiter) return;
      this.pending.delete(message.id);
      if (message.ok) waiter.resolve();
      else waiter.reject(new Error(message.error ?? 'OTLP export failed'));
    });
    const fail = (error: Error) => {
      this.logger.warn({ err: error.message }, 'the OTLP export thread stopped; it restarts with the next batch');
      if (this.worker === worker) this.worker = undefined;
      for (const waiter of this.pending.values()) waiter.reject(error);
      this.pending.clear();
    };
    worker.on('error', fail);
    worker.on('exit', (code) => {
      if (this.worker === worker) fail(new Error(`the OTLP export thread exited with code ${code}`));
    });
    this.worker = worker;
    return worker;
  }

  export(records: SpanRecord[]): Promise<void> {
    const worker = this.ensureWorker();
    const id = ++this.nextId;
    return new Promise<void>((resolve, reject) => {
      this.pending.set(id, { resolve, reject });
      try {
        worker.postMessage({ id, records });
      } catch (error) {
        this.pending.delete(id);
        reject(error as Error);
      }
    });
  }

  async close(): Promise<void> {
    const worker = this.worker;
    this.worker = undefined;
    if (worker) await worker.terminate();
  }
}
