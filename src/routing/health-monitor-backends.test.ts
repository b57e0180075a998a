/** The health monitor with local backends: model_missing keeps a deployment out of traffic, uncalled, until its model is there. */
import pino from 'pino';
import { describe, expect, it } from 'vitest';
import { GatewayError } from '../errors.js';
import type { Deployment } from '../providers/types.js';
import type { DeploymentCheck } from './health-check.js';
import { HealthMonitor, healthGaugeValue, isOutOfService, type BackendInventoryHook } from './health-monitor.js';

function deployment(id: string): Deployment {
  return { id, modelName: 'llama', provider: 'ollama_chat', upstreamModel: 'llama3.1:8b', apiBase: `http://${id}:11434`, headers: {}, defaultParams: {}, modelInfo: {}, available: true };
}

function setup() {
  const deployments = [deployment('llm01'), deployment('llm02')];
  const missing = new Set<string>(['llm02']);
  const refreshed: string[][] = [];
  const checked: string[] = [];
  const backends: BackendInventoryHook = {
    refresh: async (items) => {
      refreshed.push(items.map((item) => item.id));
    },
    missingModel: (item) => (missing.has(item.id) ? `model llama3.1:8b is not pulled on ${item.apiBase}` : undefined),
  };
  let now = 1_000_000;
  const monitor = new HealthMonitor({
    deployments: () => deployments.map((item) => ({ deployment: item, active: true })),
    check: async (item): Promise<DeploymentCheck> => {
      checked.push(item.id);
      return missing.has(item.id) ? { deployment: item, healthy: false, error: 'ollama_chat: model "llama3.1:8b" not found', upstreamStatus: 404 } : { deployment: item, healthy: true, latencyMs: 5 };
    },
    backends,
    logger: pino({ level: 'silent' }),
    intervalMs: 0,
    downProbeIntervalMs: 0,
    degradedThresholdMs: 1_000,
    now: () => now++,
  });
  return { monitor, deployments, missing, refreshed, checked };
}

describe('HealthMonitor with local backends', () => {
  it('reads the backends before a round and does not call a deployment whose model is missing', async () => {
    const { monitor, refreshed, checked } = setup();
    const summary = await monitor.runRound();
    expect(refreshed).toEqual([['llm01', 'llm02']]);
    expect(checked).toEqual(['llm01']);
    expect(summary).toMatchObject({ healthy: 1, model_missing: 1, down: 0, checked: 2 });
    expect(monitor.statusOf('llm02')).toMatchObject({ status: 'model_missing', lastError: 'model llama3.1:8b is not pulled on http://llm02:11434', consecutiveFailures: 1 });
    expect(monitor.isHealthy('llm02')).toBe(false);
    expect(monitor.isHealthy('llm01')).toBe(true);
  });

  it('probes model_missing deployments and brings them back once the model is there', async () => {
    const { monitor, missing, deployments, checked } = setup();
    await monitor.runRound();
    checked.length = 0;
    await monitor.probeDown();
    expect(checked).toEqual([]); // still missing: still not called
    missing.delete('llm02');
    await monitor.probeDown();
    expect(checked).toEqual(['llm02']);
    expect(monitor.statusOf('llm02')?.status).toBe('healthy');
    // checkNow (after a pull) does the same for the deployments named.
    missing.add('llm02');
    const [after] = await monitor.checkNow([deployments[1]]);
    expect(after.status).toBe('model_missing');
  });

  it('a failed check of a deployment whose backend lacks the model (GET /health) is model_missing, not down', () => {
    const { monitor, deployments } = setup();
    const health = monitor.applyCheck({ deployment: deployments[1], healthy: false, error: 'not found', upstreamStatus: 404 });
    expect(health.status).toBe('model_missing');
    expect(health.lastError).toBe('model llama3.1:8b is not pulled on http://llm02:11434');
  });

  it('live success does not bring a model_missing deployment back; live failures keep it model_missing', async () => {
    const { monitor, deployments } = setup();
    await monitor.runRound();
    monitor.observeSuccess(deployments[1], undefined);
    expect(monitor.statusOf('llm02')?.status).toBe('model_missing');
    for (let i = 0; i < 6; i++) monitor.observeFailure(deployments[1], new GatewayError('upstream_error', 'boom', { upstreamStatus: 502 }));
    expect(monitor.statusOf('llm02')?.status).toBe('model_missing');
  });

  it('a live 404 reads the backend again and marks the deployment model_missing at once', async () => {
    const { monitor, deployments, missing, refreshed } = setup();
    missing.delete('llm02');
    await monitor.runRound();
    expect(monitor.statusOf('llm02')?.status).toBe('healthy');
    missing.add('llm02');
    monitor.observeFailure(deployments[1], new GatewayError('upstream_not_found', 'model not found', { upstreamStatus: 404 }));
    await new Promise((resolve) => setTimeout(resolve, 5));
    expect(refreshed.at(-1)).toEqual(['llm02']);
    expect(monitor.statusOf('llm02')?.status).toBe('model_missing');
  });

  it('counts model_missing as out of service (gauge 0)', () => {
    expect(isOutOfService('model_missing')).toBe(true);
    expect(isOutOfService('degraded')).toBe(false);
    expect(healthGaugeValue('model_missing')).toBe(0);
  });
});
