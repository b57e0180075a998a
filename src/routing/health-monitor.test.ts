import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../errors.js';
import type { Deployment } from '../providers/types.js';
import type { DeploymentCheck } from './health-check.js';
import { HealthMonitor, type DeploymentHealth, type HealthStore } from './health-monitor.js';

function deployment(id: string): Deployment {
  return { id, modelName: 'chat', provider: 'openai', upstreamModel: 'gpt-4o-mini', apiBase: 'http://127.0.0.1:1', headers: {}, defaultParams: {}, modelInfo: {}, available: true };
}

const upstreamError = (status: number) => new GatewayError(status >= 500 ? 'upstream_error' : 'upstream_rate_limited', `openai returned ${status}`, { upstreamStatus: status });

class MemoryStore implements HealthStore {
  saved: DeploymentHealth[] = [];
  claim?: (name: 'round' | 'probe', ttlMs: number) => Promise<boolean>;
  deliver: ((record: DeploymentHealth) => void) | undefined;
  async start(onRemote: (record: DeploymentHealth) => void) {
    this.deliver = onRemote;
  }
  async save(record: DeploymentHealth) {
    this.saved.push(record);
  }
  async close() {}
}

function setup(options: { latencyMs?: number; store?: HealthStore; intervalMs?: number } = {}) {
  const deployments = [deployment('a'), deployment('b'), deployment('off')];
  const answers = new Map<string, boolean>([['a', true], ['b', true], ['off', true]]);
  const checked: string[] = [];
  let now = 1_000_000;
  const monitor = new HealthMonitor({
    deployments: () => deployments.map((item) => ({ deployment: item, active: item.id !== 'off' })),
    check: async (item): Promise<DeploymentCheck> => {
      checked.push(item.id);
      return answers.get(item.id) ? { deployment: item, healthy: true, latencyMs: options.latencyMs ?? 20 } : { deployment: item, healthy: false, latencyMs: 3, error: '502: mock failure' };
    },
    logger: pino({ level: 'silent' }),
    store: options.store,
    intervalMs: options.intervalMs ?? 0,
    downProbeIntervalMs: 0,
    degradedThresholdMs: 1_000,
    now: () => now++,
  });
  return { monitor, deployments, answers, checked };
}

describe('HealthMonitor', () => {
  it('starts unknown (and routable), then follows checks: a failed check is down, a passing one healthy again', async () => {
    const { monitor, answers, checked } = setup();
    expect(monitor.statusOf('a')).toBeUndefined();
    expect(monitor.isHealthy('a')).toBe(true);

    const first = await monitor.runRound();
    expect(first).toMatchObject({ healthy: 2, degraded: 0, down: 0, checked: 2 });
    expect(checked).toEqual(['a', 'b']); // the disabled deployment is never checked
    expect(monitor.statusOf('a')).toMatchObject({ status: 'healthy', responseTimeMs: 20, consecutiveFailures: 0 });

    answers.set('a', false);
    await monitor.runRound();
    expect(monitor.statusOf('a')).toMatchObject({ status: 'down', consecutiveFailures: 1, lastError: '502: mock failure' });
    expect(monitor.isHealthy('a')).toBe(false);
    expect(monitor.isHealthy('b')).toBe(true);

    // Probes check only the down deployments.
    checked.length = 0;
    await monitor.probeDown();
    expect(checked).toEqual(['a']);
    expect(monitor.statusOf('a')).toMatchObject({ status: 'down', consecutiveFailures: 2 });

    answers.set('a', true);
    await monitor.probeDown();
    expect(monitor.statusOf('a')).toMatchObject({ status: 'healthy', consecutiveFailures: 0 });
    expect(monitor.statusOf('a')?.lastError).toBeUndefined();
    expect(monitor.isHealthy('a')).toBe(true);
  });

  it('a check refused with 400 or 429 proves the deployment answers: degraded, not down', async () => {
    const { monitor, deployments } = setup();
    for (const status of [400, 429]) {
      monitor.applyCheck({ deployment: deployments[0], healthy: false, latencyMs: 5, error: `${status}: max_tokens is too small`, upstreamStatus: status });
      expect(monitor.statusOf('a')).toMatchObject({ status: 'degraded', lastError: `${status}: max_tokens is too small` });
      expect(monitor.isHealthy('a')).toBe(true);
    }
    monitor.applyCheck({ deployment: deployments[0], healthy: false, latencyMs: 5, error: '503: overloaded', upstreamStatus: 503 });
    expect(monitor.statusOf('a')?.status).toBe('down');
  });

  it('marks a slow deployment degraded', async () => {
    const { monitor } = setup({ latencyMs: 1_500 });
    await monitor.runRound();
    expect(monitor.statusOf('a')?.status).toBe('degraded');
    expect(monitor.isHealthy('a')).toBe(true);
  });

  it('live traffic: intermittent failures degrade, five in a row take the deployment down, and only a probe brings it back', async () => {
    const { monitor, deployments } = setup();
    const [a] = deployments;
    await monitor.runRound();
    for (let index = 0; index < 8; index++) monitor.observeSuccess(a, undefined);
    monitor.observeFailure(a, upstreamError(502));
    expect(monitor.statusOf('a')?.status).toBe('healthy'); // one failure in ten is noise
    monitor.observeSuccess(a, undefined);
    monitor.observeFailure(a, upstreamError(502));
    expect(monitor.statusOf('a')?.status).toBe('degraded');
    // A 429 says nothing about the deployment's health.
    for (let index = 0; index < 10; index++) monitor.observeFailure(a, upstreamError(429));
    expect(monitor.statusOf('a')?.status).toBe('degraded');
    for (let index = 0; index < 4; index++) monitor.observeFailure(a, upstreamError(500));
    expect(monitor.statusOf('a')).toMatchObject({ status: 'down', consecutiveFailures: 5, lastError: 'openai returned 500' });
    monitor.observeSuccess(a, undefined);
    expect(monitor.statusOf('a')?.status).toBe('down');
    await monitor.probeDown();
    expect(monitor.statusOf('a')?.status).toBe('healthy');
  });

  it('live traffic: a refused connection (nothing sent) takes the deployment down at once; a probe brings it back', async () => {
    const { monitor, deployments } = setup();
    const [a] = deployments;
    await monitor.runRound();
    monitor.observeFailure(a, new GatewayError('upstream_connection', 'ollama: cannot reach the upstream (ECONNREFUSED)', { unreachable: true }));
    expect(monitor.statusOf('a')).toMatchObject({ status: 'down', consecutiveFailures: 1 });
    expect(monitor.isHealthy(a)).toBe(false);
    await monitor.probeDown();
    expect(monitor.statusOf('a')?.status).toBe('healthy');
  });

  it('a slow first token degrades a deployment; a quick one makes it healthy again', async () => {
    const { monitor, deployments } = setup();
    const [a] = deployments;
    monitor.observeSuccess(a, 2_000);
    expect(monitor.statusOf('a')?.status).toBe('degraded');
    monitor.observeSuccess(a, 100);
    expect(monitor.statusOf('a')?.status).toBe('healthy');
  });

  it('shares every change through its store and takes newer records from other replicas', async () => {
    const store = new MemoryStore();
    const { monitor } = setup({ store });
    await monitor.start();
    await monitor.runRound();
    expect(store.saved.map((record) => `${record.deploymentId}:${record.status}`)).toEqual(['a:healthy', 'b:healthy']);
    const mine = monitor.statusOf('a')!;
    store.deliver!({ deploymentId: 'a', status: 'down', consecutiveFailures: 1, lastError: 'seen elsewhere', updatedAt: mine.updatedAt + 10 });
    expect(monitor.statusOf('a')).toMatchObject({ status: 'down', lastError: 'seen elsewhere' });
    // An older record does not overwrite a newer one.
    store.deliver!({ deploymentId: 'a', status: 'healthy', consecutiveFailures: 0, updatedAt: mine.updatedAt - 10 });
    expect(monitor.statusOf('a')?.status).toBe('down');
    // A "down" left over from long ago (no replica has re-probed it) is ignored.
    store.deliver!({ deploymentId: 'b', status: 'down', consecutiveFailures: 9, updatedAt: mine.updatedAt - 3_600_000 });
    expect(monitor.statusOf('b')?.status).toBe('healthy');
    await monitor.close();
  });

  it('runs scheduled rounds only when this replica wins the claim', async () => {
    for (const granted of [false, true]) {
      const store = new MemoryStore();
      const claims: string[] = [];
      store.claim = async (name: string) => {
        claims.push(name);
        return granted;
      };
      const { monitor, checked } = setup({ store, intervalMs: 20 });
      await monitor.start();
      await new Promise((resolve) => setTimeout(resolve, 90));
      await monitor.close();
      expect(claims.length).toBeGreaterThanOrEqual(2);
      expect(claims.every((name) => name === 'round')).toBe(true);
      if (granted) expect(checked.length).toBeGreaterThanOrEqual(4);
      else expect(checked).toEqual([]);
    }
  });
});
