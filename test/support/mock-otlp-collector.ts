/**
 * An OpenTelemetry collector stand-in: takes OTLP/HTTP on /v1/traces — binary protobuf
 * (`application/x-protobuf`) or JSON (`application/json`), gzip or not, as an OTLP/HTTP receiver must —
 * and decodes each ExportTraceServiceRequest span with its resource, attributes (AnyValue → JS value)
 * and status. The protobuf side walks the wire format with the field numbers of
 * opentelemetry/proto/{collector/trace,trace,common,resource}/v1/*.proto.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import { gunzipSync } from 'node:zlib';
import { MockServer } from './mock-server.js';

export interface CollectedSpan {
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  name: string;
  kind: number;
  startNanos: bigint;
  endNanos: bigint;
  attributes: Record<string, unknown>;
  status: { code?: number; message?: string };
  resource: Record<string, unknown>;
  scope: { name?: string; version?: string };
  /** Span.flags (W3C trace flags, and bits 8–9: whether the parent is known to be remote / is remote). */
  flags: number | undefined;
}

interface AnyValue {
  stringValue?: string;
  boolValue?: boolean;
  intValue?: string | number;
  doubleValue?: number;
  arrayValue?: { values?: AnyValue[] };
}

function valueOf(value: AnyValue): unknown {
  if (value.stringValue !== undefined) return value.stringValue;
  if (value.boolValue !== undefined) return value.boolValue;
  if (value.intValue !== undefined) return Number(value.intValue);
  if (value.doubleValue !== undefined) return value.doubleValue;
  if (value.arrayValue) return (value.arrayValue.values ?? []).map(valueOf);
  return undefined;
}

function attributesOf(list: Array<{ key: string; value: AnyValue }> | undefined): Record<string, unknown> {
  return Object.fromEntries((list ?? []).map((item) => [item.key, valueOf(item.value)]));
}

/** One protobuf field: its number and its value (a varint as bigint, fixed64/fixed32 bytes, or the length-delimited bytes). */
interface WireField {
  field: number;
  wireType: number;
  varint?: bigint;
  bytes?: Buffer;
}

function wireFields(buffer: Buffer): WireField[] {
  const fields: WireField[] = [];
  let at = 0;
  const varint = (): bigint => {
    let result = 0n;
    let shift = 0n;
    for (;;) {
      if (at >= buffer.length) throw new Error('truncated varint');
      const byte = buffer[at++];
      result |= BigInt(byte & 0x7f) << shift;
      if ((byte & 0x80) === 0) return result;
      shift += 7n;
    }
  };
  while (at < buffer.length) {
    const tag = Number(varint());
    const field = tag >>> 3;
    const wireType = tag & 7;
    if (wireType === 0) fields.push({ field, wireType, varint: varint() });
    else if (wireType === 1 || wireType === 5) {
      const size = wireType === 1 ? 8 : 4;
      fields.push({ field, wireType, bytes: buffer.subarray(at, at + size) });
      at += size;
    } else if (wireType === 2) {
      const length = Number(varint());
      fields.push({ field, wireType, bytes: buffer.subarray(at, at + length) });
      at += length;
    } else throw new Error(`unsupported wire type ${wireType}`);
    if (at > buffer.length) throw new Error('truncated field');
  }
  return fields;
}

const ofField = (fields: WireField[], field: number): WireField[] => fields.filter((item) => item.field === field);
const stringOf = (item: WireField | undefined): string | undefined => item?.bytes?.toString('utf8');

/** AnyValue: 1 string, 2 bool, 3 int64, 4 double, 5 ArrayValue { 1 values }. */
function protoValueOf(buffer: Buffer): unknown {
  const [item] = wireFields(buffer);
  if (!item) return undefined;
  switch (item.field) {
    case 1:
      return stringOf(item);
    case 2:
      return item.varint === 1n;
    case 3:
      return Number(BigInt.asIntN(64, item.varint!));
    case 4:
      return item.bytes!.readDoubleLE(0);
    case 5:
      return ofField(wireFields(item.bytes!), 1).map((value) => protoValueOf(value.bytes!));
    default:
      return undefined;
  }
}

/** repeated KeyValue { 1 key, 2 value }. */
function protoAttributesOf(items: WireField[]): Record<string, unknown> {
  return Object.fromEntries(
    items.map((item) => {
      const fields = wireFields(item.bytes!);
      const value = ofField(fields, 2)[0];
      return [stringOf(ofField(fields, 1)[0]), value ? protoValueOf(value.bytes!) : undefined];
    }),
  );
}

/** ExportTraceServiceRequest { 1 ResourceSpans { 1 Resource { 1 attributes }, 2 ScopeSpans { 2 Span } } }. */
function protoSpans(body: Buffer): CollectedSpan[] {
  const spans: CollectedSpan[] = [];
  for (const resourceSpans of ofField(wireFields(body), 1)) {
    const fields = wireFields(resourceSpans.bytes!);
    const resourceField = ofField(fields, 1)[0];
    const resource = resourceField ? protoAttributesOf(ofField(wireFields(resourceField.bytes!), 1)) : {};
    for (const scopeSpans of ofField(fields, 2)) {
      const scopeFields = wireFields(scopeSpans.bytes!);
      const scopeField = ofField(scopeFields, 1)[0];
      const scopeInfo = scopeField ? wireFields(scopeField.bytes!) : [];
      const scope = { name: stringOf(ofField(scopeInfo, 1)[0]), version: stringOf(ofField(scopeInfo, 2)[0]) };
      for (const spanField of ofField(scopeFields, 2)) {
        // Span: 1 trace_id, 2 span_id, 4 parent_span_id, 5 name, 6 kind, 7/8 start/end (fixed64), 9 attributes, 15 Status { 2 message, 3 code }.
        const span = wireFields(spanField.bytes!);
        const hex = (field: number) => ofField(span, field)[0]?.bytes?.toString('hex') || undefined;
        const statusField = ofField(span, 15)[0];
        const statusFields = statusField ? wireFields(statusField.bytes!) : [];
        const code = ofField(statusFields, 3)[0]?.varint;
        const message = stringOf(ofField(statusFields, 2)[0]);
        spans.push({
          traceId: hex(1)!,
          spanId: hex(2)!,
          parentSpanId: hex(4),
          name: stringOf(ofField(span, 5)[0]) ?? '',
          kind: Number(ofField(span, 6)[0]?.varint ?? 0n),
          startNanos: ofField(span, 7)[0].bytes!.readBigUInt64LE(0),
          endNanos: ofField(span, 8)[0].bytes!.readBigUInt64LE(0),
          attributes: protoAttributesOf(ofField(span, 9)),
          status: { ...(code !== undefined && code !== 0n ? { code: Number(code) } : {}), ...(message !== undefined ? { message } : {}) },
          resource,
          scope,
          flags: ofField(span, 16)[0]?.bytes?.readUInt32LE(0),
        });
      }
    }
  }
  return spans;
}

/** OTLP JSON: { resourceSpans: [{ resource: { attributes }, scopeSpans: [{ spans }] }] }. */
function jsonSpans(raw: Buffer): CollectedSpan[] {
  const spans: CollectedSpan[] = [];
  const body = JSON.parse(raw.toString('utf8')) as { resourceSpans?: Array<{ resource?: { attributes?: Array<{ key: string; value: AnyValue }> }; scopeSpans?: Array<{ scope?: { name?: string; version?: string }; spans?: Array<Record<string, unknown>> }> }> };
  for (const resourceSpans of body.resourceSpans ?? []) {
    const resource = attributesOf(resourceSpans.resource?.attributes);
    for (const scope of resourceSpans.scopeSpans ?? []) {
      for (const span of scope.spans ?? []) {
        spans.push({
          traceId: span.traceId as string,
          spanId: span.spanId as string,
          parentSpanId: (span.parentSpanId as string | undefined) || undefined,
          name: span.name as string,
          kind: span.kind as number,
          startNanos: BigInt(span.startTimeUnixNano as string),
          endNanos: BigInt(span.endTimeUnixNano as string),
          attributes: attributesOf(span.attributes as Array<{ key: string; value: AnyValue }>),
          status: (span.status as CollectedSpan['status']) ?? {},
          resource,
          scope: { name: scope.scope?.name, version: scope.scope?.version },
          flags: span.flags as number | undefined,
        });
      }
    }
  }
  return spans;
}

/** The spans of one ExportTraceServiceRequest body, binary protobuf or JSON by its content type. */
export function decodeTraces(raw: Buffer, contentType: string): CollectedSpan[] {
  return contentType.startsWith('application/x-protobuf') ? protoSpans(raw) : jsonSpans(raw);
}

export class MockOtlpCollector extends MockServer {
  readonly spans: CollectedSpan[] = [];
  readonly requests: Array<{ path: string; headers: IncomingMessage['headers'] }> = [];
  /** HTTP statuses to answer the next export requests with, one each, before taking any. */
  refuseWith: number[] = [];

  start(): Promise<string> {
    return this.listen();
  }

  protected async handle(request: IncomingMessage, response: ServerResponse): Promise<void> {
    const chunks: Buffer[] = [];
    for await (const chunk of request) chunks.push(chunk as Buffer);
    let raw = Buffer.concat(chunks);
    if (request.headers['content-encoding'] === 'gzip') raw = gunzipSync(raw);
    this.requests.push({ path: request.url ?? '', headers: request.headers });
    const refusal = this.refuseWith.shift();
    if (refusal !== undefined) {
      // What a collector answers when it cannot take a request: a Status message (here as JSON) with the code.
      response.writeHead(refusal, { 'content-type': 'application/json' }).end(JSON.stringify({ code: refusal === 400 ? 3 : 14, message: `refused with ${refusal}` }));
      return;
    }
    const contentType = String(request.headers['content-type']);
    if (request.url === '/v1/traces' && contentType.startsWith('application/x-protobuf')) {
      this.spans.push(...protoSpans(raw));
      // ExportTraceServiceResponse with no partial_success: an empty message.
      response.writeHead(200, { 'content-type': 'application/x-protobuf' }).end();
      return;
    }
    if (request.url !== '/v1/traces' || !contentType.startsWith('application/json')) {
      response.writeHead(415).end();
      return;
    }
    this.spans.push(...jsonSpans(raw));
    response.writeHead(200, { 'content-type': 'application/json' }).end('{}');
  }
}
