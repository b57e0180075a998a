/**
 * Measurement aid for bench/memory.js, loaded into the gateway with `node --import`: it changes
 * nothing the gateway does, it only reports. Every second it writes one JSON object to the file
 * named by MEMORY_PROBE_FILE (replacing the previous one):
 *   - main: process.memoryUsage() of the process and the main isolate's heap spaces;
 *   - worker: the heap statistics of each worker thread's isolate (the SQLite usage writer), which
 *     the worker reports over a BroadcastChannel — worker threads do not run `--import` modules,
 *     so the probe starts them through bench/memory-probe-worker.js, which imports the real file;
 *   - modules: how many CommonJS modules are loaded (the packages' module graph).
 */
import { writeFileSync } from 'node:fs';
import { createRequire, syncBuiltinESMExports } from 'node:module';
import v8 from 'node:v8';
import workerThreads from 'node:worker_threads';

const target = process.env.MEMORY_PROBE_FILE;
if (target && workerThreads.isMainThread) {
  const require = createRequire(import.meta.url);
  const workers = new Map();
  const channel = new workerThreads.BroadcastChannel('switchboard-memory-probe');
  channel.unref();
  channel.onmessage = (event) => workers.set(event.data.threadId, event.data);

  const Original = workerThreads.Worker;
  const wrapper = new URL('./memory-probe-worker.js', import.meta.url);
  workerThreads.Worker = class ProbedWorker extends Original {
    constructor(file, options = {}) {
      super(wrapper, { ...options, argv: [String(file)] });
    }
  };
  syncBuiltinESMExports();

  const spaces = () => Object.fromEntries(v8.getHeapSpaceStatistics().map((space) => [space.space_name, Math.round(space.space_size / 1024)]));
  setInterval(() => {
    const packages = new Set();
    for (const path of Object.keys(require.cache)) {
      const match = path.match(/node_modules\/((@[^/]+\/)?[^/]+)\//);
      if (match) packages.add(match[1]);
    }
    const sample = {
      at: Date.now(),
      main: { ...process.memoryUsage(), spacesKb: spaces() },
      workers: [...workers.values()],
      modules: Object.keys(require.cache).length,
      packages: [...packages].sort(),
    };
    writeFileSync(target, JSON.stringify(sample));
  }, 1_000).unref();
}
