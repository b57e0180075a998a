import { StringDecoder } from 'node:string_decoder';

/**
 * UTF-8 decoding across reads: a character cut between two reads is completed by the next one
 * (as TextDecoder's `stream` mode does, several times faster), and a leading byte-order mark is
 * dropped, as the event-stream rules and TextDecoder do.
 */
class Utf8Reader {
  private readonly decoder = new StringDecoder('utf8');
  private started = false;

  read(chunk: Uint8Array | string): string {
    let text = typeof chunk === 'string' ? chunk : this.decoder.write(chunk as Buffer);
    if (!this.started && text.length > 0) {
      this.started = true;
      if (text.charCodeAt(0) === 0xfeff) text = text.slice(1);
    }
    return text;
  }
}

/**
 * Incremental Server-Sent Events parser (the WHATWG event-stream rules): accepts bytes in any
 * chunking, handles \n, \r\n and \r line ends, multi-line `data:`, comments and `event:` names, and
 * yields one event per blank line.
 */
export interface SseEvent {
  event?: string;
  data: string;
}

export class SseParser {
  private readonly decoder = new Utf8Reader();
  private buffer = '';
  private data: string[] = [];
  private event: string | undefined;
  private pendingCarriageReturn = false;

  push(chunk: Uint8Array | string): SseEvent[] {
    return this.pushText(this.decoder.read(chunk));
  }

  /**
   * For relays that forward events verbatim. When the events this read completes are plain — one
   * `data: ` line each, no comments, `event:`/`id:` fields or carriage returns — `forwardable`
   * says how long a leading part of their text (an event boundary) may go out as it came: that is
   * `run` ('' when none), and the events after it are parsed into `events`. Text that is not plain
   * is parsed whole, as `push` does. Either way the events are those `push` would yield, in order;
   * the unfinished rest waits for the next read.
   */
  pushRun(chunk: Uint8Array | string, forwardable: (run: string) => number): { run: string; events: SseEvent[] } {
    const text = this.decoder.read(chunk);
    // Mid-event state (a data line waiting for its blank line, a pending \r): parse normally.
    if (this.pendingCarriageReturn || this.data.length > 0 || this.event !== undefined) return { run: '', events: this.pushText(text) };
    const all = this.buffer + text;
    const end = all.lastIndexOf('\n\n');
    if (end === -1 && !all.includes('\r')) {
      this.buffer = all;
      return { run: '', events: [] };
    }
    this.buffer = '';
    const complete = end === -1 ? '' : all.slice(0, end + 2);
    const take = complete.length > 0 && isPlainRun(complete) ? forwardable(complete) : 0;
    if (take === 0) return { run: '', events: this.pushText(all) };
    if (take === all.length) return { run: all, events: [] };
    return { run: all.slice(0, take), events: this.pushText(all.slice(take)) };
  }

  private pushText(chunkText: string): SseEvent[] {
    let text = chunkText;
    if (this.pendingCarriageReturn && text.startsWith('\n')) text = text.slice(1);
    this.pendingCarriageReturn = false;
    this.buffer += text;
    return this.drain();
  }

  /**
   * Flushes an event left without its closing blank line when the stream ends — if it is whole
   * (`[DONE]` or JSON). A stream cut inside its last event leaves a fragment the SSE spec drops
   * ("the incomplete event is not dispatched"): relayed, it would reach the client as a data line
   * that is not JSON. Read once per stream at most, off the hot path.
   */
  end(): SseEvent[] {
    const events = this.drain();
    if (this.buffer.length > 0) {
      this.line(this.buffer, events);
      this.buffer = '';
    }
    if (this.data.length > 0 && !wholeEventData(this.data.join('\n'))) {
      this.data = [];
      this.event = undefined;
    }
    if (this.data.length > 0) this.dispatch(events);
    return events;
  }

  private drain(): SseEvent[] {
    const events: SseEvent[] = [];
    const buffer = this.buffer;
    // Fast path: no carriage returns (what nearly every server sends) — split on \n with indexOf.
    if (!this.pendingCarriageReturn && !buffer.includes('\r')) {
      let start = 0;
      for (let newline = buffer.indexOf('\n'); newline !== -1; newline = buffer.indexOf('\n', start)) {
        this.line(buffer.slice(start, newline), events);
        start = newline + 1;
      }
      this.buffer = start === 0 ? buffer : buffer.slice(start);
      return events;
    }
    let start = 0;
    for (let index = 0; index < buffer.length; index++) {
      const code = buffer.charCodeAt(index);
      if (code !== 10 && code !== 13) continue;
      this.line(buffer.slice(start, index), events);
      if (code === 13) {
        if (index + 1 < buffer.length) {
          if (buffer.charCodeAt(index + 1) === 10) index++;
        } else {
          this.pendingCarriageReturn = true;
        }
      }
      start = index + 1;
    }
    this.buffer = start === 0 ? buffer : buffer.slice(start);
    return events;
  }

  private line(line: string, events: SseEvent[]): void {
    if (line.length === 0) {
      this.dispatch(events);
      return;
    }
    if (line.charCodeAt(0) === 58) return; // ':' comment
    const colon = line.indexOf(':');
    const field = colon === -1 ? line : line.slice(0, colon);
    let value = colon === -1 ? '' : line.slice(colon + 1);
    if (value.charCodeAt(0) === 32) value = value.slice(1);
    if (field === 'data') this.data.push(value);
    else if (field === 'event') this.event = value;
  }

  private dispatch(events: SseEvent[]): void {
    if (this.data.length === 0) {
      this.event = undefined;
      return;
    }
    events.push({ event: this.event, data: this.data.length === 1 ? this.data[0] : this.data.join('\n') });
    this.data = [];
    this.event = undefined;
  }
}

/** Whether the data of an event that lacks its closing blank line is whole: `[DONE]` or a JSON value. */
function wholeEventData(data: string): boolean {
  if (data === '[DONE]') return true;
  try {
    JSON.parse(data);
    return true;
  } catch {
    return false;
  }
}

/** Whether `run` is a sequence of `data: <line>\n\n` events and nothing else. */
function isPlainRun(run: string): boolean {
  if (run.includes('\r')) return false;
  let start = 0;
  while (start < run.length) {
    if (!run.startsWith('data: ', start)) return false;
    const newline = run.indexOf('\n', start);
    // Each event is one line followed by the blank line (a multi-line data field is not plain).
    if (run.charCodeAt(newline + 1) !== 10) return false;
    start = newline + 2;
  }
  return true;
}

/** Splits newline-delimited JSON into lines, in any chunking. */
export class NdjsonParser {
  private readonly decoder = new Utf8Reader();
  private buffer = '';

  push(chunk: Uint8Array | string): string[] {
    this.buffer += this.decoder.read(chunk);
    const lines: string[] = [];
    let newline = this.buffer.indexOf('\n');
    while (newline !== -1) {
      const line = this.buffer.slice(0, newline).trim();
      if (line) lines.push(line);
      this.buffer = this.buffer.slice(newline + 1);
      newline = this.buffer.indexOf('\n');
    }
    return lines;
  }

  end(): string[] {
    const rest = this.buffer.trim();
    this.buffer = '';
    return rest ? [rest] : [];
  }
}
