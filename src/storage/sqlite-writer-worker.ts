/**
 * Runs in a worker thread: writes usage rows (and their spend) to the SQLite file through its own
 * connection, so the gateway's event loop never blocks on SQLite. Messages: {id, kind: 'insert',
 * rows} and {id, kind: 'ping'}; each is answered with {id, ok, error?}.
 */
import { parentPort, workerData } from 'node:worker_threads';
import { openDatabase } from './db.js';
import { UsageLogRepository } from './repositories/usage-logs.js';
import type { UsageLogRow } from './schema.js';
import { UsageIngest, type UsageIngestOptions } from './usage-ingest.js';

interface Request {
  id: number;
  kind: 'insert' | 'ping';
  rows?: UsageLogRow[];
}

const { url, options } = workerData as { url: string; options?: UsageIngestOptions };
const handle = openDatabase(url);
const ingest = new UsageIngest(handle.db, new UsageLogRepository(handle.db, handle.sqlite), options);

parentPort!.on('message', (request: Request) => {
  const work = request.kind === 'insert' ? ingest.insertMany(request.rows ?? []) : ingest.ping().then((ok) => (ok ? undefined : Promise.reject(new Error('the database does not answer'))));
  work.then(
    () => parentPort!.postMessage({ id: request.id, ok: true }),
    (error: Error) => parentPort!.postMessage({ id: request.id, ok: false, error: error.message }),
  );
});
