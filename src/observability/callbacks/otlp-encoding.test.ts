import { describe, expect, it } from 'vitest';
import { decodeTraces } from '../../../test/support/mock-otlp-collector.js';
import { FAILED_ATTEMPT_ATTRIBUTES, SPAN_DEPLOYMENT, SPAN_REQUEST_IDS, spanRow } from '../../../test/support/otel-span-fixtures.js';
import { traceEncoding, type OtlpProtocol, type TraceEncoding } from './otlp-encoding.js';
import { writeAttemptSpan, writeRequestSpan } from './otel-spans.js';

const info = { attributes: [['service.name', 'svc-ü'], ['service.version', '1.2.3'], ['deployment.environment', 'prod']] as Array<[string, string]>, scopeName: 'switchboard', scopeVersion: '1.2.3' };
const request = SPAN_REQUEST_IDS;
const deployment = SPAN_DEPLOYMENT;
const row = spanRow();

function encodeAndDecode(protocol: OtlpProtocol, write: (encoding: TraceEncoding<Buffer | string>) => Array<Buffer | string>) {
  const encoding = traceEncoding(protocol, info) as TraceEncoding<Buffer | string>;
  const body = encoding.request(write(encoding));
  return decodeTraces(body, encoding.contentType);
}

describe.each(['http/protobuf', 'http/json'] as const)('OTLP encoding (%s)', (protocol) => {
  it('encodes a request span and its attempts with ids, times, kinds, flags, attributes, status, resource and scope', () => {
    const content = { prompt: [{ role: 'user', content: 'héllo 👋' }], promptTruncated: false, answer: 'wörld', answerTruncated: false };
    const spans = encodeAndDecode(protocol, ({ writer }) => [
      writeAttemptSpan(writer, { request, spanId: '1111111111111111', endpoint: 'chat/completions', deployment, group: 'gpt', retries: 0, fallbacks: 0, startMs: 1_733_389_200_000.25, endMs: 1_733_389_200_010.5, error: Object.assign(new Error('upstream broke'), { code: 'upstream_error', upstreamStatus: 500 }), outcome: undefined }),
      writeAttemptSpan(writer, { request, spanId: '2222222222222222', endpoint: 'chat/completions', deployment, group: 'gpt', retries: 1, fallbacks: 0, startMs: 1_733_389_200_011, endMs: 1_733_389_200_020, error: undefined, outcome: { usage: { promptTokens: 12, completionTokens: 7 } as never, finishReasons: ['stop', 'length'], timeToFirstTokenMs: 3.4, stream: true, aborted: true } }),
      writeRequestSpan(writer, { request, row, content, startMs: 1_733_389_200_000, endMs: 1_733_389_200_021, redact: false }),
    ]);
    expect(spans).toHaveLength(3);
    for (const span of spans) {
      expect(span.resource).toEqual({ 'service.name': 'svc-ü', 'service.version': '1.2.3', 'deployment.environment': 'prod' });
      expect(span.scope).toEqual({ name: 'switchboard', version: '1.2.3' });
      expect(span.traceId).toBe(request.traceId);
    }
    const [failed, streamed, root] = spans;
    expect(failed).toMatchObject({ spanId: '1111111111111111', parentSpanId: request.spanId, name: 'chat gpt-4o-mini', kind: 3, status: { code: 2, message: 'upstream broke' }, flags: 0x101 });
    expect(failed.startNanos).toBe(1_733_389_200_000_250_000n);
    expect(failed.endNanos).toBe(1_733_389_200_010_500_000n);
    expect(failed.attributes).toEqual(FAILED_ATTEMPT_ATTRIBUTES);
    expect(streamed.status.code ?? 0).toBe(0);
    expect(streamed.attributes).toMatchObject({ 'switchboard.stream': true, 'gen_ai.usage.input_tokens': 12, 'gen_ai.usage.output_tokens': 7, 'gen_ai.response.finish_reasons': ['stop', 'length'], 'switchboard.time_to_first_token_ms': 3, 'switchboard.aborted': true });
    // The request span continues the client's (remote) span.
    expect(root).toMatchObject({ spanId: request.spanId, parentSpanId: request.parentSpanId, name: 'chat chat/completions', kind: 2, flags: 0x301 });
    expect(root.attributes).toMatchObject({
      'http.response.status_code': 200,
      'switchboard.call_id': 'call-1',
      'switchboard.cache_hit': false,
      'switchboard.stream': true,
      'switchboard.retries': 1,
      'gen_ai.request.model': 'gpt',
      'gen_ai.response.model': 'gpt-4o-mini',
      'switchboard.cost_usd': 0.001234,
      'switchboard.cost_micros': 1234,
      'switchboard.key_alias': 'svc',
      'switchboard.user_id': 'u1',
      'gen_ai.response.finish_reasons': ['stop'],
    });
    expect(root.attributes).not.toHaveProperty('switchboard.team_id');
    expect(JSON.parse(root.attributes['gen_ai.input.messages'] as string)).toEqual([{ role: 'user', parts: [{ type: 'text', content: 'héllo 👋' }] }]);
    expect(JSON.parse(root.attributes['gen_ai.output.messages'] as string)).toEqual([{ role: 'assistant', parts: [{ type: 'text', content: 'wörld' }], finish_reason: 'stop' }]);
  });

  it('keeps long values whole (lengths of several bytes) and spans that outgrow a slab', () => {
    const long = 'ä'.repeat(70_000); // 140 000 UTF-8 bytes: a three-byte length, larger than half a slab
    const spans = encodeAndDecode(protocol, ({ writer }) => {
      const items: Array<Buffer | string> = [];
      for (let index = 0; index < 5; index++) {
        items.push(writeRequestSpan(writer, { request: { ...request, spanId: `${index}`.repeat(16) }, row: { ...row, call_id: `call-${index}` }, content: { prompt: long, promptTruncated: true, answer: `answer ${index} ${long}`, answerTruncated: false }, startMs: 1000, endMs: 2000, redact: true }));
      }
      return items;
    });
    expect(spans.map((span) => span.attributes['switchboard.call_id'])).toEqual(['call-0', 'call-1', 'call-2', 'call-3', 'call-4']);
    for (const [index, span] of spans.entries()) {
      expect(span.spanId).toBe(`${index}`.repeat(16));
      expect(JSON.parse(span.attributes['gen_ai.input.messages'] as string)[0].parts[0].content).toBe(long);
      expect(JSON.parse(span.attributes['gen_ai.output.messages'] as string)[0].parts[0].content).toBe(`answer ${index} ${long}`);
      expect(span.attributes['switchboard.content_truncated']).toBe(true);
      // redact_user_api_key_info: no key alias, team or user.
      expect(span.attributes).not.toHaveProperty('switchboard.key_alias');
      expect(span.attributes).not.toHaveProperty('switchboard.user_id');
    }
  });

  it('writes numbers as OTLP int_value or double_value, negative and large ones included', () => {
    const values = [0, 1, 127, 128, 300, 2 ** 31, 2 ** 53 - 1, -1, -300, 0.5, -2.25, 1e-9];
    const [span] = encodeAndDecode(protocol, ({ writer }) => {
      writer.begin({ traceId: request.traceId, spanId: request.spanId, parentSpanId: undefined, remoteParent: false, name: 'n', kind: 2, startMs: 0, endMs: 0 });
      values.forEach((value, index) => writer.number(`n${index}`, value));
      writer.boolean('yes', true);
      writer.boolean('no', false);
      writer.strings('none', []);
      return [writer.end({ code: 0 })];
    });
    expect(span.parentSpanId).toBeUndefined();
    expect(span.flags).toBe(0x101);
    expect(values.map((_, index) => span.attributes[`n${index}`])).toEqual(values);
    expect(span.attributes).toMatchObject({ yes: true, no: false, none: [] });
    expect(span.startNanos).toBe(0n);
  });

  it('frames an empty batch as a request without spans', () => {
    expect(encodeAndDecode(protocol, () => [])).toEqual([]);
  });
});

describe('OTLP protobuf encoding', () => {
  it('writes each field once, in field-number order, with minimal lengths (a receiver reads it field by field)', () => {
    const encoding = traceEncoding('http/protobuf', info) as TraceEncoding<Buffer>;
    const span = writeAttemptSpan(encoding.writer, { request, spanId: '1111111111111111', endpoint: 'embeddings', deployment, group: 'emb', retries: 0, fallbacks: 0, startMs: 1, endMs: 2, error: undefined, outcome: undefined });
    // ScopeSpans.spans (2, length-delimited), then the Span: trace_id (1) 16 bytes, span_id (2) 8 bytes, parent_span_id (4) 8 bytes.
    expect(span[0]).toBe(0x12);
    const bodyStart = span[1] < 0x80 ? 2 : 3;
    expect(span.length - bodyStart).toBe(span[1] < 0x80 ? span[1] : (span[1] & 0x7f) + span[2] * 128);
    expect([...span.subarray(bodyStart, bodyStart + 2)]).toEqual([0x0a, 16]);
    expect(span.subarray(bodyStart + 2, bodyStart + 18).toString('hex')).toBe(request.traceId);
    expect([...span.subarray(bodyStart + 18, bodyStart + 20)]).toEqual([0x12, 8]);
    expect([...span.subarray(bodyStart + 28, bodyStart + 30)]).toEqual([0x22, 8]);
  });
});
