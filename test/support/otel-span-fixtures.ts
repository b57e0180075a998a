/** The request ids, deployment and usage row the OTLP encoding tests write spans from (otlp-encoding*.test.ts). */
import type { TraceIds } from '../../src/observability/callbacks/otel-spans.js';
import type { UsageLogRow } from '../../src/storage/schema.js';

export const SPAN_REQUEST_IDS: TraceIds = { traceId: '4bf92f3577b34da6a3ce929d0e0e4736', spanId: '00f067aa0ba902b7', parentSpanId: 'b7ad6b7169203331', sampled: true, finishReasons: ['stop'] };

export const SPAN_DEPLOYMENT = { id: 'dep-1', provider: 'openai', upstreamModel: 'gpt-4o-mini', apiBase: 'http://10.0.0.1:8080/v1' };

/** A streamed, successful call's row (one retry), with `overrides`. */
export function spanRow(overrides: Record<string, unknown> = {}): UsageLogRow {
  return {
    call_id: 'call-1',
    endpoint: 'chat/completions',
    status: 'success',
    http_status: 200,
    error_code: null,
    error_message: null,
    cache_hit: 0,
    retries: 1,
    fallbacks: 0,
    stream: 1,
    provider: 'openai',
    model_group: 'gpt',
    upstream_model: 'gpt-4o-mini',
    deployment_id: 'dep-1',
    prompt_tokens: 12,
    completion_tokens: 7,
    cost_micros: 1234,
    time_to_first_token_ms: 42,
    key_alias: 'svc',
    team_id: null,
    user_id: 'u1',
    end_user: null,
    ...overrides,
  } as unknown as UsageLogRow;
}

/** The attributes of a failed attempt span on SPAN_DEPLOYMENT (first try, an upstream 500). */
export const FAILED_ATTEMPT_ATTRIBUTES = {
  'gen_ai.operation.name': 'chat',
  'gen_ai.request.model': 'gpt-4o-mini',
  'switchboard.model_group': 'gpt',
  'switchboard.deployment': 'dep-1',
  'switchboard.retries_before': 0,
  'switchboard.fallback': 0,
  'gen_ai.system': 'openai',
  'server.address': '10.0.0.1:8080',
  'error.type': 'upstream_error',
  'http.response.status_code': 500,
};
