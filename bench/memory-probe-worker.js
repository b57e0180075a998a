/**
 * Worker-thread side of bench/memory-probe.js: reports this isolate's heap once a second over a
 * BroadcastChannel, then imports the worker file the gateway asked for (the last argv entry).
 */
import v8 from 'node:v8';
import { BroadcastChannel, threadId } from 'node:worker_threads';

const channel = new BroadcastChannel('switchboard-memory-probe');
channel.unref();
setInterval(() => {
  const heap = v8.getHeapStatistics();
  const spacesKb = Object.fromEntries(v8.getHeapSpaceStatistics().map((space) => [space.space_name, Math.round(space.space_size / 1024)]));
  channel.postMessage({ threadId, totalHeapSize: heap.total_heap_size, usedHeapSize: heap.used_heap_size, external: heap.external_memory, spacesKb });
}, 1_000).unref();

await import(process.argv[process.argv.length - 1]);
