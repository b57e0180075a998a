/**
 * The otel callback end to end: a request with one retry and one fallback, sent with the official
 * openai SDK and a client traceparent, reaches an OTLP/HTTP collector stand-in as a span tree — in
 * binary protobuf (the default) and in JSON (OTEL_EXPORTER_OTLP_PROTOCOL=http/json).
 */
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MockOpenAI } from '../support/mock-openai.js';
import type { CallbackQueueTuning } from '../../src/observability/callbacks/callbacks.js';
import { MockOtlpCollector, type CollectedSpan } from '../support/mock-otlp-collector.js';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { waitFor } from '../support/wait.js';

const TRACE_ID = '4bf92f3577b34da6a3ce929d0e0e4736';
const CLIENT_SPAN = '00f067aa0ba902b7';

function entry(name: string, mock: MockOpenAI, id: string, upstreamModel: string): string {
  return `
  - model_name: ${name}
    litellm_params:
      model: openai/${upstreamModel}
      api_base: ${mock.url}
      api_key: sk-upstream-test
    model_info: {id: ${id}, input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}`;
}

/** A gateway with the otel callback exporting to `collector`, serving `models` (entry() lines). */
function startTracedGateway(models: string, collector: MockOtlpCollector, options: { tuning?: CallbackQueueTuning } = {}): Promise<TestGateway> {
  return startGateway(
    `
model_list:${models}
litellm_settings:
  callbacks: ["otel"]
general_settings:
  master_key: ${MASTER_KEY}
`,
    { env: { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url }, callbackTuning: { flushIntervalMs: 20, ...options.tuning } },
  );
}

describe.each([
  { protocol: undefined, contentType: 'application/x-protobuf', compression: undefined },
  { protocol: 'http/json', contentType: 'application/json', compression: undefined },
  { protocol: undefined, contentType: 'application/x-protobuf', compression: 'gzip' },
])('otel callback (protocol $protocol, compression $compression)', ({ protocol, contentType, compression }) => {
  const failing = new MockOpenAI({ promptTokens: 1000, completionTokens: 500 });
  const backup = new MockOpenAI({ promptTokens: 1000, completionTokens: 500 });
  const collector = new MockOtlpCollector();
  let gateway: TestGateway;

  beforeAll(async () => {
    await failing.start();
    await backup.start();
    await collector.start();
    failing.alwaysFault = { kind: 'error', status: 500, body: { error: { message: 'upstream broke', type: 'server_error' } } };
    gateway = await startGateway(
      `
model_list:${entry('primary', failing, 'dep-primary', 'gpt-4o')}${entry('backup', backup, 'dep-backup', 'gpt-4o-mini')}
router_settings:
  num_retries: 1
  allowed_fails: 100
  fallbacks: [{"primary": ["backup"]}]
litellm_settings:
  callbacks: ["otel"]
  forward_traceparent_to_llm_provider: true
general_settings:
  master_key: ${MASTER_KEY}
`,
      {
        env: { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url, OTEL_EXPORTER_OTLP_HEADERS: 'x-collector-token=abc%20def', OTEL_SERVICE_NAME: 'gateway-under-test', OTEL_RESOURCE_ATTRIBUTES: 'deployment.environment=e2e', ...(protocol ? { OTEL_EXPORTER_OTLP_PROTOCOL: protocol } : {}), ...(compression ? { OTEL_EXPORTER_OTLP_TRACES_COMPRESSION: compression } : {}) },
        callbackTuning: { flushIntervalMs: 20 },
      },
    );
  });
  afterAll(async () => {
    await gateway?.close();
    await collector.close();
    await backup.close();
    await failing.close();
  });

  it('exports the request span with a child per attempt, continuing the client trace, with GenAI attributes', async () => {
    const keyResponse = await fetch(`${gateway.url}/key/generate`, { method: 'POST', headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json' }, body: JSON.stringify({ key_alias: 'traced-key' }) });
    const { key } = (await keyResponse.json()) as { key: string };
    const completion = await gateway.openai(key).chat.completions.create({ model: 'primary', messages: [{ role: 'user', content: 'hi' }] }, { headers: { traceparent: `00-${TRACE_ID}-${CLIENT_SPAN}-01` } });
    expect(completion.choices[0].message.content).toBeTruthy();
    expect(failing.requests.length).toBe(2); // the first attempt and its retry
    expect(backup.requests.length).toBe(1);

    await waitFor(() => collector.spans.filter((span) => span.traceId === TRACE_ID).length >= 4, 'four spans of the trace', 15_000);
    const spans = collector.spans.filter((span) => span.traceId === TRACE_ID);
    expect(spans).toHaveLength(4);
    const root = spans.find((span) => span.parentSpanId === CLIENT_SPAN)!;
    expect(root, 'the request span is a child of the client span').toBeDefined();
    expect(root.kind).toBe(2); // SPAN_KIND_SERVER
    expect(root.resource['service.name']).toBe('gateway-under-test');
    expect(root.resource['deployment.environment']).toBe('e2e');
    expect(root.attributes).toMatchObject({
      'gen_ai.operation.name': 'chat',
      'gen_ai.system': 'openai',
      'gen_ai.request.model': 'backup',
      'gen_ai.response.model': 'gpt-4o-mini',
      'gen_ai.usage.input_tokens': 1000,
      'gen_ai.usage.output_tokens': 500,
      'switchboard.cost_micros': 2000,
      'switchboard.key_alias': 'traced-key',
      'switchboard.cache_hit': false,
      'switchboard.retries': 1,
      'switchboard.fallbacks': 1,
      'http.response.status_code': 200,
    });
    expect(root.attributes['switchboard.cost_usd']).toBeCloseTo(0.002, 9);
    // Message logging is on (the default) though no prompts are stored: content as the GenAI conventions' messages.
    expect(JSON.parse(root.attributes['gen_ai.input.messages'] as string)).toEqual([{ role: 'user', parts: [{ type: 'text', content: 'hi' }] }]);
    expect(JSON.parse(root.attributes['gen_ai.output.messages'] as string)).toEqual([{ role: 'assistant', parts: [{ type: 'text', content: completion.choices[0].message.content }], finish_reason: 'stop' }]);
    expect(root.attributes['gen_ai.response.finish_reasons']).toEqual(['stop']);

    const attempts = spans.filter((span) => span.parentSpanId === root.spanId).sort((a, b) => (a.startNanos < b.startNanos ? -1 : 1));
    expect(attempts).toHaveLength(3);
    expect(attempts.map((span) => [span.name, span.kind, span.attributes['switchboard.deployment'], span.attributes['switchboard.retries_before'], span.attributes['switchboard.fallback'], span.status.code ?? 0])).toEqual([
      ['chat gpt-4o', 3, 'dep-primary', 0, 0, 2],
      ['chat gpt-4o', 3, 'dep-primary', 1, 0, 2],
      ['chat gpt-4o-mini', 3, 'dep-backup', 1, 1, 0],
    ]);
    expect(attempts[0].attributes).toMatchObject({ 'gen_ai.system': 'openai', 'gen_ai.request.model': 'gpt-4o', 'http.response.status_code': 500 });
    for (const attempt of attempts) {
      expect(attempt.startNanos >= root.startNanos).toBe(true);
      expect(attempt.endNanos <= root.endNanos).toBe(true);
    }
    // Each upstream attempt was sent a traceparent naming its own span, in the client's trace.
    expect(failing.requests.map((request) => request.headers.traceparent)).toEqual([`00-${TRACE_ID}-${attempts[0].spanId}-01`, `00-${TRACE_ID}-${attempts[1].spanId}-01`]);
    expect(backup.requests[0].headers.traceparent).toBe(`00-${TRACE_ID}-${attempts[2].spanId}-01`);
    const exportRequest = collector.requests.find((request) => request.path === '/v1/traces')!;
    expect(exportRequest.headers['x-collector-token']).toBe('abc def');
    expect(exportRequest.headers['content-type']).toBe(contentType);
    // The collector inflated a gzip body before decoding it (mock-otlp-collector.ts).
    expect(exportRequest.headers['content-encoding']).toBe(compression);

    const events = await (await fetch(`${gateway.url}/metrics`, { headers: { authorization: `Bearer ${MASTER_KEY}` } })).text();
    expect(events).toMatch(/switchboard_callback_events_total\{destination="otel",outcome="sent"\} [1-9]/);
  });

  it('starts a new trace without a traceparent', async () => {
    const before = new Set(collector.spans.map((span) => span.traceId));
    await gateway.openai().chat.completions.create({ model: 'backup', messages: [{ role: 'user', content: 'hi' }] });
    await waitFor(() => collector.spans.some((span) => !before.has(span.traceId)), 'a new trace', 15_000);
    await waitFor(() => collector.spans.filter((span) => !before.has(span.traceId)).length >= 2, 'its two spans', 15_000);
    const fresh = collector.spans.filter((span) => !before.has(span.traceId));
    const root = fresh.find((span) => span.parentSpanId === undefined)!;
    expect(root).toBeDefined();
    expect(fresh.filter((span) => span.parentSpanId === root.spanId)).toHaveLength(1);
  });
});

describe('otel callback with streams', () => {
  // 100 ms between chunks: the stream lasts well beyond its opening.
  const slow = new MockOpenAI({ promptTokens: 20, completionTokens: 7, chunkDelayMs: 100, reply: 'one two three four five six' });
  const collector = new MockOtlpCollector();
  let gateway: TestGateway;

  beforeAll(async () => {
    await slow.start();
    await collector.start();
    gateway = await startTracedGateway(`${entry('slow', slow, 'dep-slow', 'gpt-4o-mini')}`, collector);
  });
  afterAll(async () => {
    await gateway?.close();
    await collector.close();
    await slow.close();
  });

  const traceOf = (traceId: string) => collector.spans.filter((span) => span.traceId === traceId);

  it('ends the attempt span when the stream ends, with its usage, finish reason and time to first token', async () => {
    const traceId = 'aa'.repeat(16);
    const openedAt = Date.now();
    const stream = await gateway.openai().chat.completions.create({ model: 'slow', messages: [{ role: 'user', content: 'count' }], stream: true, stream_options: { include_usage: true } }, { headers: { traceparent: `00-${traceId}-${CLIENT_SPAN}-01` } });
    let streamed = '';
    for await (const chunk of stream) streamed += chunk.choices[0]?.delta?.content ?? '';
    const streamMs = Date.now() - openedAt;
    expect(streamed).toBe('one two three four five six');
    await waitFor(() => traceOf(traceId).length >= 2, 'the request and attempt spans', 15_000);
    const root = traceOf(traceId).find((span) => span.parentSpanId === CLIENT_SPAN)!;
    const attempt = traceOf(traceId).find((span) => span.parentSpanId === root.spanId)!;
    const attemptMs = Number(attempt.endNanos - attempt.startNanos) / 1e6;
    // Eight chunks 100 ms apart: the span covers the stream, not just its opening (~100 ms).
    expect(attemptMs).toBeGreaterThan(600);
    expect(attemptMs).toBeLessThanOrEqual(streamMs + 50);
    expect(attempt.attributes).toMatchObject({ 'switchboard.stream': true, 'gen_ai.usage.input_tokens': 20, 'gen_ai.usage.output_tokens': 7, 'gen_ai.response.finish_reasons': ['stop'] });
    const firstToken = attempt.attributes['switchboard.time_to_first_token_ms'] as number;
    expect(firstToken).toBeGreaterThanOrEqual(0);
    expect(firstToken).toBeLessThan(attemptMs - 400);
    expect(attempt.status.code ?? 0).toBe(0);
    expect(attempt.endNanos <= root.endNanos).toBe(true);
    // The answer on the request span is what was streamed.
    const output = JSON.parse(root.attributes['gen_ai.output.messages'] as string);
    expect(output[0].parts[0].content).toBe(streamed);
    // And the finish reason the stream ended with, on the request span too.
    expect(output[0].finish_reason).toBe('stop');
    expect(root.attributes['gen_ai.response.finish_reasons']).toEqual(['stop']);
  });

  it('stays responsive when the upstream names a huge choice index in its finish event', async () => {
    // The finish reasons were gathered in an array by choice index: index 999,999,999 made reading them back a 24 s loop.
    const traceId = 'e1'.repeat(16);
    slow.faults.push({ kind: 'finish-index', index: 999_999_999 });
    const startedAt = Date.now();
    const stream = await gateway.openai().chat.completions.create({ model: 'slow', messages: [{ role: 'user', content: 'count' }], stream: true }, { headers: { traceparent: `00-${traceId}-${CLIENT_SPAN}-01` } });
    let streamed = '';
    for await (const chunk of stream) streamed += chunk.choices[0]?.delta?.content ?? '';
    expect(streamed).toBe('one two three four five six');
    expect((await fetch(`${gateway.url}/health/liveliness`)).status).toBe(200);
    await waitFor(() => traceOf(traceId).length >= 2, 'the request and attempt spans', 15_000);
    expect(Date.now() - startedAt).toBeLessThan(4_000);
    const root = traceOf(traceId).find((span) => span.parentSpanId === CLIENT_SPAN)!;
    const attempt = traceOf(traceId).find((span) => span.parentSpanId === root.spanId)!;
    // A reason at no choice a client can have is not reported.
    expect(attempt.attributes['gen_ai.response.finish_reasons']).toBeUndefined();
    expect(root.attributes['gen_ai.response.finish_reasons']).toBeUndefined();
  });

  it('records and charges a JSON answer whose choices hold null (the traced attempt used to fail on it)', async () => {
    const traceId = 'e2'.repeat(16);
    slow.faults.push({ kind: 'error', status: 200, body: { id: 'chatcmpl-odd', object: 'chat.completion', created: 1, model: 'gpt-4o-mini', choices: [null, { index: 1, message: { role: 'assistant', content: 'hi' }, finish_reason: 'stop' }], usage: { prompt_tokens: 20, completion_tokens: 7, total_tokens: 27 } } });
    const response = await fetch(`${gateway.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${MASTER_KEY}`, 'content-type': 'application/json', traceparent: `00-${traceId}-${CLIENT_SPAN}-01` }, body: JSON.stringify({ model: 'slow', messages: [{ role: 'user', content: 'odd' }] }) });
    await response.text();
    const record = await gateway.recordOf(response.headers.get('x-switchboard-call-id')!);
    expect(record).toMatchObject({ prompt_tokens: 20, completion_tokens: 7 });
    expect(record!.cost_micros).toBeGreaterThan(0);
    await waitFor(() => traceOf(traceId).length >= 2, 'the request and attempt spans', 15_000);
    const root = traceOf(traceId).find((span) => span.parentSpanId === CLIENT_SPAN)!;
    const attempt = traceOf(traceId).find((span) => span.parentSpanId === root.spanId)!;
    expect(attempt.attributes['gen_ai.response.finish_reasons']).toEqual(['stop']);
  });

  it('ends the attempt span of a stream the client leaves, marked aborted', async () => {
    const traceId = 'bb'.repeat(16);
    const controller = new AbortController();
    const stream = await gateway.openai().chat.completions.create({ model: 'slow', messages: [{ role: 'user', content: 'count' }], stream: true }, { headers: { traceparent: `00-${traceId}-${CLIENT_SPAN}-01` }, signal: controller.signal });
    let pieces = 0;
    try {
      for await (const chunk of stream) {
        if (chunk.choices[0]?.delta?.content) {
          pieces++;
          controller.abort(); // the client hangs up after the first words
        }
      }
    } catch {
      // the SDK may raise its abort error
    }
    expect(pieces).toBe(1);
    await waitFor(() => traceOf(traceId).length >= 2, 'the spans of the left stream', 15_000);
    const root = traceOf(traceId).find((span) => span.parentSpanId === CLIENT_SPAN)!;
    const attempt = traceOf(traceId).find((span) => span.parentSpanId === root.spanId)!;
    expect(attempt.attributes['switchboard.aborted']).toBe(true);
    expect(attempt.attributes['error.type']).toBe('client_closed_request');
    expect(attempt.status.code).toBe(2);
    expect(attempt.endNanos <= root.endNanos).toBe(true);
  });

  it('exports nothing of a request whose metadata says no-log', async () => {
    const hidden = 'cc'.repeat(16);
    const shown = 'dd'.repeat(16);
    await gateway.openai().chat.completions.create({ model: 'slow', messages: [{ role: 'user', content: 'the secret recipe' }], metadata: { 'no-log': 'true' } } as never, { headers: { traceparent: `00-${hidden}-${CLIENT_SPAN}-01` } });
    await gateway.openai().chat.completions.create({ model: 'slow', messages: [{ role: 'user', content: 'hello' }] }, { headers: { traceparent: `00-${shown}-${CLIENT_SPAN}-01` } });
    await waitFor(() => traceOf(shown).length >= 2, 'the logged call', 15_000);
    expect(traceOf(hidden)).toHaveLength(0);
    expect(JSON.stringify(collector.spans.map((span) => span.attributes))).not.toContain('the secret recipe');
  });
});

/**
 * One upstream (model `m`), a collector and a gateway exporting to it, started for the enclosing
 * describe; `sections` is the YAML after model_list (with litellm_settings naming otel).
 */
function tracedSetup(sections: string, upstreamOptions: ConstructorParameters<typeof MockOpenAI>[0] = {}) {
  const upstream = new MockOpenAI(upstreamOptions);
  const collector = new MockOtlpCollector();
  const setup = { upstream, collector, gateway: undefined as unknown as TestGateway };
  beforeAll(async () => {
    await upstream.start();
    await collector.start();
    setup.gateway = await startGateway(`\nmodel_list:${entry('m', upstream, 'dep-m', 'gpt-4o-mini')}\n${sections}`, { env: { OTEL_EXPORTER_OTLP_ENDPOINT: collector.url }, callbackTuning: { flushIntervalMs: 20 } });
  });
  afterAll(async () => {
    await setup.gateway?.close();
    await collector.close();
    await upstream.close();
  });
  return setup;
}

describe('otel callback with turn_off_message_logging', () => {
  const setup = tracedSetup(`litellm_settings:
  callbacks: ["otel"]
  turn_off_message_logging: true
general_settings:
  master_key: ${MASTER_KEY}
  store_prompts_in_spend_logs: true
`);

  it('exports the spans without content', async () => {
    const { collector } = setup;
    await setup.gateway.openai().chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'the secret recipe' }] });
    await waitFor(() => collector.spans.length >= 2, 'the spans', 15_000);
    const root = collector.spans.find((span) => span.parentSpanId === undefined)!;
    expect(root.attributes['gen_ai.usage.input_tokens']).toBeGreaterThan(0);
    expect(root.attributes['gen_ai.input.messages']).toBeUndefined();
    expect(root.attributes['gen_ai.output.messages']).toBeUndefined();
    expect(JSON.stringify(collector.spans.map((span) => span.attributes))).not.toContain('the secret recipe');
  });
});

describe('otel callback with a during_call guardrail', () => {
  const setup = tracedSetup(
    `guardrails:
  - guardrail_name: alongside
    litellm_params:
      guardrail: content_filter
      mode: during_call
      blocked_words: [contraband]
litellm_settings:
  callbacks: ["otel"]
general_settings:
  master_key: ${MASTER_KEY}
`,
    { promptTokens: 12, completionTokens: 5 },
  );

  it('ends the attempt span of a stream the guardrail refused once it had opened, marked aborted', async () => {
    const { collector } = setup;
    const traceId = 'd1'.repeat(16);
    const error = await setup.gateway
      .openai()
      .chat.completions.create({ model: 'm', messages: [{ role: 'user', content: 'contraband please' }], stream: true, guardrails: ['alongside'] } as never, { headers: { traceparent: `00-${traceId}-${CLIENT_SPAN}-01` } })
      .then(() => undefined, (caught: unknown) => caught as { status?: number });
    expect(error?.status).toBe(400);
    // The upstream was called (the check ran alongside it): its attempt is in the trace, ended as cut.
    await waitFor(() => collector.spans.filter((span) => span.traceId === traceId).length >= 2, 'the request and attempt spans', 15_000);
    const spans = collector.spans.filter((span) => span.traceId === traceId);
    const root = spans.find((span) => span.parentSpanId === CLIENT_SPAN)!;
    const attempt = spans.find((span) => span.parentSpanId === root.spanId)!;
    expect(attempt.attributes).toMatchObject({ 'switchboard.stream': true, 'switchboard.aborted': true, 'error.type': 'guardrail_violation' });
    expect(attempt.status.code).toBe(2);
    expect(root.attributes['error.type']).toBe('guardrail_violation');
  });
});

describe('otel callback against a collector that refuses', () => {
  const upstream = new MockOpenAI({ promptTokens: 10, completionTokens: 5 });
  const collector = new MockOtlpCollector();
  let gateway: TestGateway;

  beforeAll(async () => {
    await upstream.start();
    await collector.start();
    gateway = await startTracedGateway(`${entry('gpt', upstream, 'dep-gpt', 'gpt-4o-mini')}`, collector, { tuning: { initialBackoffMs: 50 } });
  });
  afterAll(async () => {
    await gateway?.close();
    await collector.close();
    await upstream.close();
  });

  const counter = async (outcome: string) => {
    const text = await (await fetch(`${gateway.url}/metrics`, { headers: { authorization: `Bearer ${MASTER_KEY}` } })).text();
    return Number(new RegExp(`switchboard_callback_events_total\\{destination="otel",outcome="${outcome}"\\} (\\d+)`).exec(text)?.[1] ?? 0);
  };

  it('gives a batch up at once when the collector answers 400 (OTLP: not retryable), and sends the next', async () => {
    collector.refuseWith = [400];
    await gateway.openai().chat.completions.create({ model: 'gpt', messages: [{ role: 'user', content: 'refused' }] });
    await waitFor(() => collector.requests.length >= 1, 'the refused export', 15_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    // The call's two spans went in one batch or two; the refused one was never sent again.
    const failed = await counter('failed');
    expect(failed).toBeGreaterThanOrEqual(1);
    expect(failed + collector.spans.length).toBe(2);
    expect(collector.requests).toHaveLength(collector.spans.length > 0 ? 2 : 1);
    const requestsBefore = collector.requests.length;
    await gateway.openai().chat.completions.create({ model: 'gpt', messages: [{ role: 'user', content: 'taken' }] });
    await waitFor(() => collector.spans.length >= 4 - failed, 'the next call\'s spans', 15_000);
    expect(collector.requests.length).toBeGreaterThan(requestsBefore);
    expect(await counter('failed')).toBe(failed);
  });

  it('retries a batch the collector answered 503 (retryable), until it takes it', async () => {
    const before = collector.requests.length;
    const spansBefore = collector.spans.length;
    collector.refuseWith = [503, 503];
    await gateway.openai().chat.completions.create({ model: 'gpt', messages: [{ role: 'user', content: 'retried' }] });
    const failedBefore = await counter('failed');
    await waitFor(() => collector.spans.length >= spansBefore + 2, 'the retried batch', 15_000);
    expect(collector.requests.length - before).toBeGreaterThanOrEqual(3);
    expect(await counter('failed')).toBe(failedBefore);
  });
});
