import { readableSpans } from '../dist/observability/callbacks/otel-spans.js';
import { JsonTraceSerializer, ProtobufTraceSerializer } from '@opentelemetry/otlp-transformer';
import { resourceFromAttributes } from '@opentelemetry/resources';
import { RandomIdGenerator } from '@opentelemetry/sdk-trace-base';
const g = new RandomIdGenerator();
const row = { call_id: 'chatcmpl-'+g.generateTraceId(), created_at: Date.now(), endpoint: 'chat/completions', key_hash: 'a'.repeat(64), key_id: 'key_abc123', key_alias: 'svc-pricing', user_id: 'user-1', team_id: 'team-1', model_group: 'gpt-4o-mini', deployment_id: 'openai-gpt-4o-mini-0', provider: 'openai', upstream_model: 'gpt-4o-mini', stream: 0, prompt_tokens: 123, completion_tokens: 45, total_tokens: 168, cached_tokens: 0, cache_creation_tokens: 0, reasoning_tokens: 0, tokens_estimated: 0, cost_micros: 432, latency_ms: 12, time_to_first_token_ms: null, upstream_latency_ms: 10, status: 'success', http_status: 200, error_code: null, error_message: null, retries: 0, fallbacks: 0, metadata: '{"tags":["a"]}', byok: 0, credits_millicredits: null, power_level: null, aborted: 0, usage_adjusted: 0, cache_hit: 0, saved_cost_micros: null, routing_rule: null, messages: null, response: null, agent: null, agent_execution: null };
const content = { prompt: [{ role: 'system', content: 'You are a helpful assistant that answers briefly.' }, { role: 'user', content: 'What is the capital of France? Answer in one word, please, and explain nothing.' }], promptTruncated: false, answer: 'Paris. The capital of France is Paris, a city on the Seine.', answerTruncated: false };
function records(n) {
  const out = [];
  for (let i = 0; i < n; i++) {
    const request = { traceId: g.generateTraceId(), spanId: g.generateSpanId(), parentSpanId: undefined, sampled: true, finishReasons: ['stop'] };
    const t = Date.now();
    out.push({ type: 'attempt', request, spanId: g.generateSpanId(), endpoint: 'chat/completions', deployment: { id: 'openai-gpt-4o-mini-0', provider: 'openai', upstreamModel: 'gpt-4o-mini', apiBase: 'http://127.0.0.1:9999/v1' }, group: 'gpt-4o-mini', retries: 0, fallbacks: 0, start: t, end: t + 10, error: undefined, outcome: { usage: { promptTokens: 123, completionTokens: 45, estimated: false }, finishReasons: ['stop'], stream: false } });
    out.push({ type: 'request', request, row: { ...row }, content, start: t - 1, end: t + 11 });
  }
  return out;
}
const resource = resourceFromAttributes({ 'service.name': 'switchboard', 'service.version': '1.0.0' });
const scope = { name: 'switchboard', version: '1.0.0' };
const N = 256;
function measure(label, fn) {
  for (let i = 0; i < 20; i++) fn(records(N));
  const batches = Array.from({ length: 100 }, () => records(N));
  const t0 = process.cpuUsage();
  let bytes = 0;
  for (const b of batches) bytes += fn(b) ?? 0;
  const u = process.cpuUsage(t0);
  console.log(label, ((u.user + u.system) / (100 * N)).toFixed(1), 'µs per request (2 spans)', bytes ? (bytes / (100 * N)).toFixed(0) + ' B/req' : '');
}
measure('readableSpans only', (b) => { readableSpans(b, resource, scope, { redact: false }); });
measure('json', (b) => JsonTraceSerializer.serializeRequest(readableSpans(b, resource, scope, { redact: false })).length);
measure('protobuf', (b) => ProtobufTraceSerializer.serializeRequest(readableSpans(b, resource, scope, { redact: false })).length);
measure('structuredClone', (b) => { structuredClone(b); });
