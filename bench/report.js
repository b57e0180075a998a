/**
 * The report of `npm run bench`: the table per scenario, the ratios of each gateway target against
 * the direct upstream, the bare proxy and (otel, cached) the gateway it is a variant of, and the
 * targets of the project's performance issue, checked for every scenario that measured them.
 */

export const MODE_LABEL = { nonstream: 'non-streaming', stream: 'streaming' };
export const fixed = (value, digits) => (Number.isFinite(value) ? value.toFixed(digits) : 'n/a');
const signed = (value) => (Number.isFinite(value) ? `${value >= 0 ? '+' : ''}${value.toFixed(2)}` : 'n/a');
const mb = (bytes) => (Number.isFinite(bytes) ? (bytes / 1048576).toFixed(0) : 'n/a');

export const TARGETS = {
  realisticThroughput: 0.8, // × the bare proxy's req/s at 32 connections, realistic scenario
  realisticAddedP50Ms: 0.3, // over direct at 4 connections
  realisticAddedP99Ms: 1,
  rssBytes: 120 * 1048576, // after the 32-connection run
  otelThroughput: 0.9, // × the same gateway without callbacks
  masterThroughput: 0.6, // the earlier targets, for the master-key row
  masterAddedP50Ms: 1,
};

/** Ratios of every gateway target of one scenario; `targets` carries each one's kind and baseline. */
export function ratios(results, targets) {
  const direct = results.direct;
  const bare = results['bare proxy'];
  const out = {};
  for (const target of targets) {
    if (target.kind !== 'gateway') continue;
    const result = results[target.name];
    const entry = {
      throughputVsDirect: result.requestsPerSecond / direct.requestsPerSecond,
      throughputVsBare: result.requestsPerSecond / bare.requestsPerSecond,
      addedP50VsDirectMs: result.p50Ms - direct.p50Ms,
      addedP99VsDirectMs: result.p99Ms - direct.p99Ms,
      addedP50VsBareMs: result.p50Ms - bare.p50Ms,
      addedP99VsBareMs: result.p99Ms - bare.p99Ms,
      cpuPerRequestVsBare: result.serverCpuMicrosPerRequest / bare.serverCpuMicrosPerRequest,
    };
    const baseline = target.baseline && results[target.baseline];
    if (baseline) {
      entry.baseline = target.baseline;
      entry.throughputVsBaseline = result.requestsPerSecond / baseline.requestsPerSecond;
      entry.cpuPerRequestVsBaseline = result.serverCpuMicrosPerRequest / baseline.serverCpuMicrosPerRequest;
      entry.mainThreadCpuPerRequestVsBaseline = result.mainThreadCpuMicrosPerRequest / baseline.mainThreadCpuMicrosPerRequest;
    }
    out[target.name] = entry;
  }
  return out;
}

export function printScenario(scenario) {
  const { mode, connections, results } = scenario;
  console.log(`\n${MODE_LABEL[mode]} · ${connections} connection${connections === 1 ? '' : 's'}`);
  console.log(`  ${'target'.padEnd(19)}${'req/s'.padStart(9)}${'p50 ms'.padStart(9)}${'p99 ms'.padStart(9)}${'CPU µs/req'.padStart(12)}${'RSS MB'.padStart(8)}${'errors'.padStart(8)}${'other CPU'.padStart(11)}`);
  for (const [name, result] of Object.entries(results)) {
    const errors = result.errors + result.non2xx;
    const other = result.foreignCpu === undefined ? 'n/a' : `${fixed(result.foreignCpu * 100, 0)} %`;
    console.log(
      `  ${name.padEnd(19)}${fixed(result.requestsPerSecond, 0).padStart(9)}${fixed(result.p50Ms, 3).padStart(9)}${fixed(result.p99Ms, 3).padStart(9)}` +
        `${fixed(result.serverCpuMicrosPerRequest, 0).padStart(12)}${mb(result.rssBytes).padStart(8)}${String(errors).padStart(8)}${other.padStart(11)}`,
    );
  }
  for (const [name, r] of Object.entries(scenario.ratios)) {
    console.log(
      `  ${name}: ${fixed(r.throughputVsBare * 100, 1)} % of the bare proxy's throughput, ${fixed(r.cpuPerRequestVsBare, 2)}× its CPU per request, ` +
        `${signed(r.addedP50VsBareMs)} ms p50 over it; ${signed(r.addedP50VsDirectMs)} ms p50, ${signed(r.addedP99VsDirectMs)} ms p99 over direct`,
    );
    if (r.baseline) {
      const main = Number.isFinite(r.mainThreadCpuPerRequestVsBaseline) ? `, ${fixed(r.mainThreadCpuPerRequestVsBaseline, 2)}× its main thread's (${fixed(results[name].mainThreadCpuMicrosPerRequest, 0)} vs ${fixed(results[r.baseline].mainThreadCpuMicrosPerRequest, 0)} µs)` : '';
      console.log(`    vs ${r.baseline}: ${fixed(r.throughputVsBaseline * 100, 1)} % of its throughput, ${fixed(r.cpuPerRequestVsBaseline, 2)}× its CPU per request${main}`);
    }
  }
  const redis = results['gateway redis']?.redis;
  if (redis) {
    const top = Object.entries(redis.perCommandPerRequest)
      .sort((a, b) => b[1] - a[1])
      .slice(0, 8)
      .map(([command, perRequest]) => `${command} ${perRequest.toFixed(2)}`)
      .join(', ');
    console.log(`  gateway redis, per request: ${fixed(redis.roundTripsPerRequest, 2)} Redis round trips (socket writes: a command or a pipeline), ${fixed(redis.commandsPerRequest, 2)} commands [${top}]${redis.idle && redis.idle.writesPerSecond === 0 ? '; idle, it sent nothing' : ''}`);
    if (redis.backgroundPerRequest && redis.idle.writesPerSecond > 0) {
      console.log(
        `    of which the gateway's idle traffic (${fixed(redis.idle.writesPerSecond, 1)} round trips/s measured idle at start) ≈ ${fixed(redis.backgroundPerRequest.writes, 2)} per request: ` +
          `≈ ${fixed(redis.roundTripsPerRequest - redis.backgroundPerRequest.writes, 2)} round trips and ${fixed(redis.commandsPerRequest - redis.backgroundPerRequest.commands, 2)} commands per request for the requests themselves`,
      );
    }
    const server = redis.server;
    console.log(`    the Redis server counted ${fixed(server.commandsPerRequest, 2)} commands and ${fixed(server.readsPerRequest, 2)} client reads per request from all ${server.connectedClients} connected clients`);
  }
}

/** The targets, each checked for every scenario (and target row) that measured it. */
export function evaluateTargets(scenarios, { startup, otelSpans } = {}) {
  const checks = [];
  const check = (target, scenario, value, pass) => checks.push({ target, scenario, value, pass });
  for (const scenario of scenarios) {
    const label = MODE_LABEL[scenario.mode];
    const realistic = scenario.ratios['gateway realistic'];
    const master = scenario.ratios.gateway;
    if (scenario.connections === 32) {
      if (realistic) check("realistic: ≥ 0.8× the bare proxy's throughput at 32 connections", label, `${fixed(realistic.throughputVsBare, 2)}× (${fixed(realistic.cpuPerRequestVsBare, 2)}× its CPU per request)`, realistic.throughputVsBare >= TARGETS.realisticThroughput);
      if (master) check("master key: ≥ 60 % of the bare proxy's throughput at 32 connections", label, `${fixed(master.throughputVsBare * 100, 1)} %`, master.throughputVsBare >= TARGETS.masterThroughput);
      for (const [name, result] of Object.entries(scenario.results)) {
        if (!name.startsWith('gateway') || result.rssBytes === undefined) continue;
        check('RSS ≤ 120 MB after the 32-connection run', `${label} · ${name}`, `${mb(result.rssBytes)} MB`, result.rssBytes <= TARGETS.rssBytes);
      }
      const otel = scenario.ratios['gateway otel'];
      if (otel) check(`otel callback: ≥ 90 % of the same gateway's throughput (${otel.baseline}) at 32 connections`, label, `${fixed(otel.throughputVsBaseline * 100, 1)} %`, otel.throughputVsBaseline >= TARGETS.otelThroughput);
    }
    if (scenario.connections === 4) {
      if (realistic) {
        check('realistic: added p50 ≤ 0.3 ms over direct at 4 connections', label, `${signed(realistic.addedP50VsDirectMs)} ms (${signed(realistic.addedP50VsBareMs)} ms vs bare proxy)`, realistic.addedP50VsDirectMs <= TARGETS.realisticAddedP50Ms);
        check('realistic: added p99 ≤ 1 ms over direct at 4 connections', label, `${signed(realistic.addedP99VsDirectMs)} ms`, realistic.addedP99VsDirectMs <= TARGETS.realisticAddedP99Ms);
      }
      if (master) check('master key: ≤ 1 ms added p50 at 4 connections', label, `${signed(master.addedP50VsDirectMs)} ms vs direct (${signed(master.addedP50VsBareMs)} ms vs bare proxy)`, master.addedP50VsDirectMs <= TARGETS.masterAddedP50Ms);
    }
  }
  if (otelSpans) check('otel callback: the sink received spans', 'all runs', `${otelSpans.spans} spans in ${otelSpans.batches} batches for ${otelSpans.requests} requests`, otelSpans.spans > 0);
  if (startup) {
    check('startup ≤ 1 s (embedded database)', 'fresh database', `${fixed(startup.freshMedianMs, 0)} ms (median of ${startup.runs})`, startup.freshMedianMs <= startup.targetMs);
    check('startup ≤ 1 s (embedded database)', 'existing database', `${fixed(startup.existingMedianMs, 0)} ms (median of ${startup.runs})`, startup.existingMedianMs <= startup.targetMs);
  }
  return checks;
}
