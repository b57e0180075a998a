import { describe, expect, it } from 'vitest';
import { GatewayError } from '../errors.js';
import { fakeContext, fakeDeployment } from '../../test/support/stage-fakes.js';
import { toUsageRow, type UsageFacts } from './usage-row.js';

const facts: UsageFacts = {
  modelGroup: 'model-a',
  deployment: fakeDeployment('dep-a', 'model-a'),
  requested: 'model-x',
  retries: 1,
  fallbacks: 1,
  stream: true,
  settlement: { usage: { promptTokens: 9, completionTokens: 2, totalTokens: 11, estimated: true }, costMicros: 20, upstreamLatencyMs: 12.6, timeToFirstTokenMs: 3.4, usageAdjusted: true },
  error: undefined,
  aborted: false,
  byok: false,
  creditsCharged: 36,
  powerLevel: 'eco',
  routingRule: 'code-to-coder',
  promptForLog: undefined,
  latencyMs: 20.5,
};

describe('toUsageRow', () => {
  it('maps a settled call', () => {
    const context = fakeContext({ callId: 'c-1', startedAtEpochMs: 1_700_000_000_000 });
    expect(toUsageRow(context, facts)).toMatchObject({
      call_id: 'c-1',
      created_at: 1_700_000_000_000,
      model_group: 'model-a',
      deployment_id: 'dep-a',
      upstream_model: 'model-a-upstream',
      stream: 1,
      total_tokens: 11,
      tokens_estimated: 1,
      cost_micros: 20,
      latency_ms: 21,
      upstream_latency_ms: 13,
      time_to_first_token_ms: 3,
      status: 'success',
      http_status: 200,
      metadata: JSON.stringify({ requested_model: 'model-x' }),
      credits_millicredits: 36,
      power_level: 'eco',
      routing_rule: 'code-to-coder',
      usage_adjusted: 1,
      aborted: 0,
    });
  });

  it('maps a failure: status and message from the error, a client that left counts as aborted', () => {
    const error = new GatewayError('client_closed_request', 'gone');
    expect(toUsageRow(fakeContext(), { ...facts, settlement: undefined, error, requested: 'model-a' })).toMatchObject({
      status: 'failure',
      http_status: error.status,
      error_code: 'client_closed_request',
      error_message: 'gone',
      aborted: 1,
      metadata: null,
      cost_micros: null,
      upstream_latency_ms: null,
    });
  });

  it('names the agent and the agent run the call belongs to (null otherwise)', () => {
    expect(toUsageRow(fakeContext({ agentExecution: 'run-1' }), { ...facts, agent: 'email-parser' })).toMatchObject({ agent: 'email-parser', agent_execution: 'run-1' });
    expect(toUsageRow(fakeContext(), facts)).toMatchObject({ agent: null, agent_execution: null });
  });
});
