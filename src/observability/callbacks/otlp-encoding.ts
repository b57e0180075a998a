/**
 * OTLP/HTTP trace encoding, written as each span ends: binary protobuf (the field numbers of
 * opentelemetry/proto/{collector/trace,trace,common,resource}/v1/*.proto) or OTLP JSON. A span is
 * encoded once, into bytes (or a JSON string) that wait in the delivery queue; a batch is those
 * items framed as one ExportTraceServiceRequest with the gateway's resource and scope.
 *
 * Why not the SDK's ReadableSpans and exporter: every span then lives as a record, an attribute
 * object and a ReadableSpan until its batch is sent, and building and serialising them cost about
 * as much CPU as proxying the call (bench/README.md). Here a span costs a few writes into a shared
 * slab; attribute keys are encoded once per process.
 */

/** OTLP SpanKind values (opentelemetry/proto/trace/v1/trace.proto). */
export const SPAN_KIND_SERVER = 2;
export const SPAN_KIND_CLIENT = 3;
/** OTLP Status.StatusCode values. */
export const STATUS_UNSET = 0;
export const STATUS_ERROR = 2;

/** Span.flags: the W3C trace flags (sampled) and whether the parent's remoteness is known / remote. */
const FLAGS_SAMPLED = 0x01;
const FLAGS_HAS_IS_REMOTE = 0x100;
const FLAGS_IS_REMOTE = 0x200;

export interface SpanHead {
  traceId: string;
  spanId: string;
  parentSpanId: string | undefined;
  /** The parent is the client's span (a W3C traceparent), not one of the gateway's. */
  remoteParent: boolean;
  name: string;
  kind: number;
  /** Epoch milliseconds, fractional. */
  startMs: number;
  endMs: number;
}

export interface SpanStatus {
  code: number;
  message?: string;
}

/** Writes one span at a time: `begin`, its attributes, `end` answers the encoded span. */
export interface SpanWriter<Item> {
  begin(head: SpanHead): void;
  string(key: string, value: string): void;
  /** An integer is OTLP's int_value, any other number its double_value (as the OpenTelemetry SDK does). */
  number(key: string, value: number): void;
  boolean(key: string, value: boolean): void;
  strings(key: string, values: readonly string[]): void;
  end(status: SpanStatus): Item;
}

export interface TraceEncoding<Item> {
  contentType: string;
  writer: SpanWriter<Item>;
  /** One ExportTraceServiceRequest holding the items. */
  request(items: readonly Item[]): Buffer;
}

export interface ResourceInfo {
  /** The resource's attributes (service.name first), all strings. */
  attributes: ReadonlyArray<readonly [string, string]>;
  scopeName: string;
  scopeVersion: string;
}

/** Epoch nanoseconds of epoch milliseconds, as [low 32 bits, high 32 bits] (microsecond precision). */
function nanosOf(ms: number): [number, number] {
  const micros = Math.max(0, Math.round(ms * 1000));
  const high = Math.floor(micros / 0x1_0000_0000);
  const lowNanos = (micros - high * 0x1_0000_0000) * 1000; // < 2^42: exact
  const carry = Math.floor(lowNanos / 0x1_0000_0000);
  return [lowNanos - carry * 0x1_0000_0000, high * 1000 + carry];
}

/** Epoch nanoseconds of epoch milliseconds as a decimal string (OTLP JSON's fixed64). */
function nanosText(ms: number): string {
  const micros = Math.max(0, Math.round(ms * 1000));
  return micros === 0 ? '0' : `${micros}000`;
}

function varintSize(value: number): number {
  let size = 1;
  while (value >= 0x80) {
    value = Math.floor(value / 0x80);
    size++;
  }
  return size;
}

// ---------------------------------------------------------------------------------------------
// Protobuf

/** Bytes of one slab: spans are written one after the other into it; a new one starts when it is full. */
const SLAB_BYTES = 256 * 1024;

/**
 * A protobuf writer over a slab shared by the spans it writes: each span is a view of its slab
 * (the slab lives while any of its spans waits to be sent). Length-delimited fields reserve one
 * byte for their length and move their body when the length needs more.
 */
class ProtobufSpanWriter implements SpanWriter<Buffer> {
  private slab = Buffer.allocUnsafeSlow(SLAB_BYTES);
  private pos = 0;
  /** Where the span being written starts in the slab; marks are offsets from it (the span may move to a new slab). */
  private spanStart = 0;
  private spanMark = 0;
  private attributeMark = 0;
  /** Each attribute key's encoded KeyValue.key field (tag, length, UTF-8). */
  private readonly keys = new Map<string, Buffer>();

  begin(head: SpanHead): void {
    this.spanStart = this.pos;
    this.ensure(64 + head.name.length * 3);
    this.byte(0x12); // ScopeSpans.spans (2, length-delimited)
    this.spanMark = this.openLength();
    this.hexField(0x0a, head.traceId, 16); // trace_id (1)
    this.hexField(0x12, head.spanId, 8); // span_id (2)
    if (head.parentSpanId) this.hexField(0x22, head.parentSpanId, 8); // parent_span_id (4)
    this.byte(0x2a); // name (5)
    this.stringBody(head.name);
    this.byte(0x30); // kind (6)
    this.varint(head.kind);
    this.byte(0x39); // start_time_unix_nano (7, fixed64)
    this.fixed64(nanosOf(head.startMs));
    this.byte(0x41); // end_time_unix_nano (8, fixed64)
    this.fixed64(nanosOf(head.endMs));
    this.flags = FLAGS_SAMPLED | FLAGS_HAS_IS_REMOTE | (head.remoteParent ? FLAGS_IS_REMOTE : 0);
  }

  private flags = 0;

  string(key: string, value: string): void {
    this.keyValueStart(key, 8 + value.length * 3);
    this.byte(0x0a); // AnyValue.string_value (1)
    this.stringBody(value);
    this.keyValueEnd();
  }

  number(key: string, value: number): void {
    this.keyValueStart(key, 12);
    this.numberValue(value);
    this.keyValueEnd();
  }

  boolean(key: string, value: boolean): void {
    this.keyValueStart(key, 2);
    this.byte(0x10); // AnyValue.bool_value (2)
    this.byte(value ? 1 : 0);
    this.keyValueEnd();
  }

  strings(key: string, values: readonly string[]): void {
    let size = 8;
    for (const value of values) size += 12 + value.length * 3;
    this.keyValueStart(key, size);
    this.byte(0x2a); // AnyValue.array_value (5)
    const array = this.openLength();
    for (const value of values) {
      this.byte(0x0a); // ArrayValue.values (1)
      const item = this.openLength();
      this.byte(0x0a); // AnyValue.string_value (1)
      this.stringBody(value);
      this.closeLength(item);
    }
    this.closeLength(array);
    this.keyValueEnd();
  }

  end(status: SpanStatus): Buffer {
    const message = status.message ?? '';
    this.ensure(32 + message.length * 3);
    this.byte(0x50); // dropped_attributes_count (10)
    this.byte(0);
    this.byte(0x60); // dropped_events_count (12)
    this.byte(0);
    this.byte(0x70); // dropped_links_count (14)
    this.byte(0);
    this.byte(0x7a); // status (15)
    const statusMark = this.openLength();
    if (message) {
      this.byte(0x12); // Status.message (2)
      this.stringBody(message);
    }
    this.byte(0x18); // Status.code (3)
    this.varint(status.code);
    this.closeLength(statusMark);
    this.byte(0x85); // flags (16, fixed32): tag 133 as a varint
    this.byte(0x01);
    this.slab.writeUInt32LE(this.flags, this.pos);
    this.pos += 4;
    this.closeLength(this.spanMark);
    return this.slab.subarray(this.spanStart, this.pos);
  }

  /** Opens an attribute (KeyValue) and its value (AnyValue), with room for `valueBytes` of the value. */
  private keyValueStart(key: string, valueBytes: number): void {
    let encoded = this.keys.get(key);
    if (!encoded) {
      const bytes = Buffer.from(key, 'utf8');
      encoded = Buffer.concat([Buffer.from([0x0a]), varintBytes(bytes.length), bytes]);
      this.keys.set(key, encoded);
    }
    this.ensure(encoded.length + valueBytes + 16);
    this.byte(0x4a); // Span.attributes (9)
    this.attributeMark = this.openLength();
    this.slab.set(encoded, this.pos);
    this.pos += encoded.length;
    this.byte(0x12); // KeyValue.value (2)
    this.valueMark = this.openLength();
  }

  private valueMark = 0;

  private keyValueEnd(): void {
    this.closeLength(this.valueMark);
    this.closeLength(this.attributeMark);
  }

  private numberValue(value: number): void {
    if (Number.isInteger(value) && value >= -(2 ** 63) && value < 2 ** 63) {
      this.byte(0x18); // AnyValue.int_value (3)
      if (value >= 0) this.varint(value);
      else this.negativeVarint(value);
    } else {
      this.byte(0x21); // AnyValue.double_value (4, fixed64)
      this.slab.writeDoubleLE(value, this.pos);
      this.pos += 8;
    }
  }

  /** Room for `bytes` more; a full slab is replaced, the span written so far moved to the new one. */
  private ensure(bytes: number): void {
    if (this.pos + bytes <= this.slab.length) return;
    const written = this.pos - this.spanStart;
    const next = Buffer.allocUnsafeSlow(Math.max(SLAB_BYTES, 2 * (written + bytes)));
    this.slab.copy(next, 0, this.spanStart, this.pos);
    this.slab = next;
    this.spanStart = 0;
    this.pos = written;
  }

  private byte(value: number): void {
    this.slab[this.pos++] = value;
  }

  private varint(value: number): void {
    while (value >= 0x80) {
      this.slab[this.pos++] = (value % 0x80) | 0x80;
      value = Math.floor(value / 0x80);
    }
    this.slab[this.pos++] = value;
  }

  private negativeVarint(value: number): void {
    let rest = BigInt.asUintN(64, BigInt(value));
    while (rest >= 0x80n) {
      this.slab[this.pos++] = Number(rest & 0x7fn) | 0x80;
      rest >>= 7n;
    }
    this.slab[this.pos++] = Number(rest);
  }

  private fixed64([low, high]: [number, number]): void {
    this.slab.writeUInt32LE(low, this.pos);
    this.slab.writeUInt32LE(high, this.pos + 4);
    this.pos += 8;
  }

  /** A W3C id (lowercase hex, as the gateway makes and checks them) as its bytes. */
  private hexField(tag: number, hex: string, bytes: number): void {
    this.byte(tag);
    this.byte(bytes);
    for (let index = 0; index < bytes; index++) this.slab[this.pos++] = (HEX[hex.charCodeAt(2 * index)] << 4) | HEX[hex.charCodeAt(2 * index + 1)];
  }

  /** A string's length and UTF-8 bytes (the caller ensured room for 3 bytes per UTF-16 unit and the length). */
  private stringBody(value: string): void {
    const length = value.length;
    if (length < 0x80) {
      // Most values are short ASCII (names, ids, models): written byte by byte, no call into the binding.
      const at = this.pos;
      let index = 0;
      for (; index < length; index++) {
        const code = value.charCodeAt(index);
        if (code >= 0x80) break;
        this.slab[at + 1 + index] = code;
      }
      if (index === length) {
        this.slab[at] = length;
        this.pos = at + 1 + length;
        return;
      }
    }
    const mark = this.openLength();
    this.pos += this.slab.write(value, this.pos);
    this.closeLength(mark);
  }

  /** Reserves one byte for a length; answers the mark closeLength takes. */
  private openLength(): number {
    const mark = this.pos - this.spanStart;
    this.pos++;
    return mark;
  }

  private closeLength(mark: number): void {
    const at = this.spanStart + mark;
    const length = this.pos - at - 1;
    if (length < 0x80) {
      this.slab[at] = length;
      return;
    }
    const size = varintSize(length);
    this.ensure(size - 1);
    const start = this.spanStart + mark; // the span may have moved
    this.slab.copyWithin(start + size, start + 1, this.pos);
    this.pos += size - 1;
    let value = length;
    let write = start;
    while (value >= 0x80) {
      this.slab[write++] = (value % 0x80) | 0x80;
      value = Math.floor(value / 0x80);
    }
    this.slab[write] = value;
  }
}

/** Each hex digit's value by character code (0–9, a–f, A–F). */
const HEX = new Uint8Array(128);
for (let digit = 0; digit < 16; digit++) {
  HEX['0123456789abcdef'.charCodeAt(digit)] = digit;
  HEX['0123456789ABCDEF'.charCodeAt(digit)] = digit;
}

function varintBytes(value: number): Buffer {
  const bytes: number[] = [];
  while (value >= 0x80) {
    bytes.push((value % 0x80) | 0x80);
    value = Math.floor(value / 0x80);
  }
  bytes.push(value);
  return Buffer.from(bytes);
}

function lengthDelimited(tag: number, body: Buffer): Buffer {
  return Buffer.concat([Buffer.from([tag]), varintBytes(body.length), body]);
}

function protobufString(tag: number, value: string): Buffer {
  return lengthDelimited(tag, Buffer.from(value, 'utf8'));
}

/** KeyValue with a string value, as a repeated field `tag` of its message. */
function protobufStringAttribute(tag: number, key: string, value: string): Buffer {
  return lengthDelimited(tag, Buffer.concat([protobufString(0x0a, key), lengthDelimited(0x12, protobufString(0x0a, value))]));
}

function protobufEncoding(info: ResourceInfo): TraceEncoding<Buffer> {
  // ResourceSpans.resource (1): Resource { attributes (1) }; ScopeSpans.scope (1): InstrumentationScope { name (1), version (2) }.
  const resource = lengthDelimited(0x0a, Buffer.concat(info.attributes.map(([key, value]) => protobufStringAttribute(0x0a, key, value))));
  const scope = lengthDelimited(0x0a, Buffer.concat([protobufString(0x0a, info.scopeName), protobufString(0x12, info.scopeVersion)]));
  return {
    contentType: 'application/x-protobuf',
    writer: new ProtobufSpanWriter(),
    request(items) {
      let spansBytes = 0;
      for (const item of items) spansBytes += item.length;
      const scopeSpans = scope.length + spansBytes;
      const resourceSpans = resource.length + 1 + varintSize(scopeSpans) + scopeSpans;
      const body = Buffer.allocUnsafe(1 + varintSize(resourceSpans) + resourceSpans);
      let at = 0;
      const header = (tag: number, length: number) => {
        body[at++] = tag;
        at += varintBytes(length).copy(body, at);
      };
      header(0x0a, resourceSpans); // ExportTraceServiceRequest.resource_spans (1)
      at += resource.copy(body, at);
      header(0x12, scopeSpans); // ResourceSpans.scope_spans (2)
      at += scope.copy(body, at);
      for (const item of items) at += item.copy(body, at);
      return body;
    },
  };
}

// ---------------------------------------------------------------------------------------------
// JSON (OTLP/HTTP JSON: ids as hex, 64-bit integers as decimal strings, enums as numbers)

class JsonSpanWriter implements SpanWriter<string> {
  private text = '';
  private attributes = '';

  begin(head: SpanHead): void {
    this.text = `{"traceId":"${head.traceId}","spanId":"${head.spanId}",${head.parentSpanId ? `"parentSpanId":"${head.parentSpanId}",` : ''}"flags":${FLAGS_SAMPLED | FLAGS_HAS_IS_REMOTE | (head.remoteParent ? FLAGS_IS_REMOTE : 0)},"name":${JSON.stringify(head.name)},"kind":${head.kind},"startTimeUnixNano":"${nanosText(head.startMs)}","endTimeUnixNano":"${nanosText(head.endMs)}"`;
    this.attributes = '';
  }

  string(key: string, value: string): void {
    this.attribute(key, `{"stringValue":${JSON.stringify(value)}}`);
  }

  number(key: string, value: number): void {
    this.attribute(key, jsonNumber(value));
  }

  boolean(key: string, value: boolean): void {
    this.attribute(key, `{"boolValue":${value}}`);
  }

  strings(key: string, values: readonly string[]): void {
    this.attribute(key, `{"arrayValue":{"values":[${values.map((value) => `{"stringValue":${JSON.stringify(value)}}`).join(',')}]}}`);
  }

  end(status: SpanStatus): string {
    const statusText = status.message ? `{"message":${JSON.stringify(status.message)},"code":${status.code}}` : `{"code":${status.code}}`;
    const span = `${this.text},"attributes":[${this.attributes}],"droppedAttributesCount":0,"events":[],"droppedEventsCount":0,"links":[],"droppedLinksCount":0,"status":${statusText}}`;
    this.text = '';
    this.attributes = '';
    return span;
  }

  private attribute(key: string, value: string): void {
    this.attributes += `${this.attributes ? ',' : ''}{"key":${JSON.stringify(key)},"value":${value}}`;
  }
}

function jsonNumber(value: number): string {
  if (Number.isInteger(value) && value >= -(2 ** 63) && value < 2 ** 63) return `{"intValue":"${BigInt(value)}"}`;
  // JSON has no NaN or infinities: OTLP JSON writes them as the strings proto3 JSON uses.
  if (Number.isNaN(value)) return '{"doubleValue":"NaN"}';
  if (!Number.isFinite(value)) return `{"doubleValue":"${value > 0 ? 'Infinity' : '-Infinity'}"}`;
  return `{"doubleValue":${value}}`;
}

function jsonEncoding(info: ResourceInfo): TraceEncoding<string> {
  const attribute = (key: string, value: string) => ({ key, value: { stringValue: value } });
  const head = `{"resourceSpans":[{"resource":${JSON.stringify({ attributes: info.attributes.map(([key, value]) => attribute(key, value)), droppedAttributesCount: 0 })},"scopeSpans":[{"scope":${JSON.stringify({ name: info.scopeName, version: info.scopeVersion })},"spans":[`;
  return {
    contentType: 'application/json',
    writer: new JsonSpanWriter(),
    request: (items) => Buffer.from(`${head}${items.join(',')}]}]}]}`, 'utf8'),
  };
}

export type OtlpProtocol = 'http/protobuf' | 'http/json';

export function traceEncoding(protocol: OtlpProtocol, info: ResourceInfo): TraceEncoding<Buffer> | TraceEncoding<string> {
  return protocol === 'http/json' ? jsonEncoding(info) : protobufEncoding(info);
}
