/**
 * Runs in a worker thread: writes usage rows (and their spend) to the SQLite file through its own
 * connection, so the gateway's event loop never blocks on SQLite. Messages: {id, kind: 'insert',
 * rows} and {id, kind: 'ping'}; each is answered with {id, ok, error?}. {kind: 'close'} closes the
 * connection and the message port, so the thread ends on its own with exit code 0 (a terminated
 * thread exits with 1, which reads as a crash).
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openDatabase, WRITER_CACHE_KIB } from './db.js';
import { UsageLogRepository } from './repositories/usage-logs.js';
import type { UsageLogRow } from './schema.js';
import { UsageIngest, type UsageIngestOptions } from './usage-ingest.js';

type Request = { id: number; kind: 'insert'; rows?: UsageLogRow[] } | { id: number; kind: 'ping' } | { kind: 'close' };

const { url, options } = workerData as { url: string; options?: UsageIngestOptions };
const handle = openDatabase(url, { sqliteCacheKib: WRITER_CACHE_KIB });
const ingest = new UsageIngest(handle.db, new UsageLogRepository(handle.db, handle.sqlite), options);

async function closeAndExit(): Promise<void> {
  await handle.close();
  parentPort!.close();
}

parentPort!.on('message', (request: Request) => {
  if (request.kind === 'close') {
    void closeAndExit();
    return;
  }
  const work = request.kind === 'insert' ? ingest.insertMany(request.rows ?? []) : ingest.ping().then((ok) => (ok ? undefined : Promise.reject(new Error('the database does not answer'))));
  work.then(
    () => parentPort!.postMessage({ id: request.id, ok: true }),
    (error: Error) => parentPort!.postMessage({ id: request.id, ok: false, error: error.message }),
  );
});
