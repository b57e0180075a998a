import pino from 'pino';
import { describe, expect, it } from 'vitest';
import type { Deployment } from '../providers/types.js';
import { ModelCatalog } from '../routing/catalog.js';
import { GatewayMetrics, MAX_MODEL_GROUP_LABELS, type CallObservation } from './metrics.js';
import { UsageLogWriter } from './usage-log-writer.js';

function deployment(id: string, modelName: string): Deployment {
  return { id, modelName, provider: 'openai', upstreamModel: 'gpt-4o-mini', apiBase: 'http://127.0.0.1:1', headers: {}, defaultParams: {}, modelInfo: {}, available: true };
}

function setup(cooling: Set<string> = new Set()) {
  const deployments = [deployment('dep-1', 'chat'), deployment('dep-2', 'chat')];
  const catalog = new ModelCatalog(deployments, { alias: 'chat' });
  const usageWriter = new UsageLogWriter({ logger: pino({ level: 'silent' }) });
  const metrics = new GatewayMetrics({ catalog, usageWriter, coolingUntil: (item) => (cooling.has(item.id) ? Date.now() + 1000 : undefined), defaultMetrics: false });
  return { metrics, deployments, usageWriter };
}

const call = (overrides: Partial<CallObservation>): CallObservation => ({
  modelGroup: 'chat',
  deployment: undefined,
  keyAlias: null,
  status: 200,
  failed: false,
  usage: undefined,
  costMicros: undefined,
  latencyMs: 20,
  upstreamLatencyMs: undefined,
  timeToFirstTokenMs: null,
  retries: 0,
  fallbacks: 0,
  ...overrides,
});

describe('GatewayMetrics', () => {
  it('aggregates calls per label set and renders them at scrape time', async () => {
    const { metrics, deployments } = setup();
    for (let index = 0; index < 3; index++) {
      metrics.observeCall(call({ deployment: deployments[0], keyAlias: 'team-a', usage: { promptTokens: 10, completionTokens: 5, totalTokens: 15 }, costMicros: 250, upstreamLatencyMs: 15 }));
    }
    metrics.observeCall(call({ deployment: deployments[1], keyAlias: 'team-a', status: 502, failed: true, retries: 1, fallbacks: 2 }));
    const text = await metrics.scrape();
    expect(text).toContain('switchboard_requests_total{model_group="chat",deployment="dep-1",provider="openai",key_alias="team-a",status_class="2xx"} 3');
    expect(text).toContain('switchboard_request_failures_total{model_group="chat",deployment="dep-2",provider="openai",key_alias="team-a",status_class="5xx"} 1');
    expect(text).not.toContain('switchboard_request_failures_total{model_group="chat",deployment="dep-1"');
    expect(text).toContain('switchboard_prompt_tokens_total{model_group="chat",deployment="dep-1",provider="openai",key_alias="team-a"} 30');
    expect(text).toContain('switchboard_spend_usd_total{model_group="chat",deployment="dep-1",provider="openai",key_alias="team-a"} 0.00075');
    expect(text).toContain('switchboard_retries_total{model_group="chat",deployment="dep-2",provider="openai",key_alias="team-a"} 1');
    expect(text).toContain('switchboard_fallbacks_total{model_group="chat",deployment="dep-2",provider="openai",key_alias="team-a"} 2');
    expect(text).toContain('switchboard_request_duration_seconds_count{model_group="chat",deployment="dep-1",provider="openai"} 3');
    expect(text).toContain('switchboard_upstream_duration_seconds_count{model_group="chat",deployment="dep-1",provider="openai"} 3');
    expect(text).toContain('switchboard_gateway_overhead_seconds_sum{model_group="chat",deployment="dep-1",provider="openai"} 0.015');
    expect(text).not.toContain('process_cpu_seconds_total');
  });

  it('labels calls without a deployment by a known group name only', async () => {
    const { metrics } = setup();
    metrics.observeCall(call({ modelGroup: 'alias', status: 400, failed: true }));
    metrics.observeCall(call({ modelGroup: 'made-up-model-123', status: 404, failed: true }));
    metrics.observeCall(call({ modelGroup: null, status: 401, failed: true }));
    const text = await metrics.scrape();
    expect(text).toContain('switchboard_requests_total{model_group="chat",deployment="none",provider="none",key_alias="none",status_class="4xx"} 1');
    expect(text).toContain('switchboard_requests_total{model_group="unknown",deployment="none",provider="none",key_alias="none",status_class="4xx"} 1');
    expect(text).toContain('switchboard_requests_total{model_group="none",deployment="none",provider="none",key_alias="none",status_class="4xx"} 1');
    expect(text).not.toContain('made-up-model-123');
  });

  it('keeps model_group bounded: wildcard groups named by clients beyond the cap count as other', async () => {
    const { metrics, deployments } = setup();
    // A wildcard group is named exactly as the client sent it, its deployment the wildcard's.
    for (let index = 0; index < MAX_MODEL_GROUP_LABELS + 300; index++) metrics.observeCall(call({ modelGroup: `openai/gpt-4o@${index}`, deployment: deployments[0] }));
    metrics.observeCall(call({ modelGroup: 'openai/gpt-4o@0', deployment: deployments[0] }));
    const text = await metrics.scrape();
    const groups = new Set([...text.matchAll(/switchboard_requests_total\{model_group="([^"]+)"/g)].map((match) => match[1]));
    expect(groups.size).toBe(MAX_MODEL_GROUP_LABELS + 1);
    expect(text).toContain('switchboard_requests_total{model_group="other",deployment="dep-1",provider="openai",key_alias="none",status_class="2xx"} 300');
    // A group that had its series keeps them.
    expect(text).toContain('switchboard_requests_total{model_group="openai/gpt-4o@0",deployment="dep-1",provider="openai",key_alias="none",status_class="2xx"} 2');
  });

  it('reads cooldowns and the usage writer at scrape time', async () => {
    const cooling = new Set<string>();
    const { metrics, usageWriter } = setup(cooling);
    expect(await metrics.scrape()).toContain('switchboard_deployments_cooling_down{model_group="chat"} 0');
    cooling.add('dep-2');
    usageWriter.enqueue({} as Parameters<UsageLogWriter['enqueue']>[0]);
    const text = await metrics.scrape();
    expect(text).toContain('switchboard_deployments_cooling_down{model_group="chat"} 1');
    expect(text).toContain('switchboard_usage_log_queue_depth 1');
    expect(text).toContain('switchboard_usage_log_rows_dropped_total 0');
  });

  it('keeps one registry per instance', async () => {
    const first = setup().metrics;
    const second = setup().metrics;
    first.observeCall(call({}));
    expect(await second.scrape()).not.toContain('switchboard_requests_total{');
    expect(await first.scrape()).toContain('switchboard_requests_total{');
  });
});
