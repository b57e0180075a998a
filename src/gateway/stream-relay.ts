/**
 * Relays an upstream stream to the client as OpenAI SSE, chunk by chunk with back-pressure.
 *
 * `openStream` reads the upstream until the first chunk the client would see, so that a failure
 * before it (an error event, a reset, a stall past stream_timeout) can still be retried or fall
 * back; only then are response headers written. After that first byte the stream is committed: a
 * later failure ends it with an OpenAI error event.
 */
import type { ServerResponse } from 'node:http';
import { once } from 'node:events';
import { Readable } from 'node:stream';
import { GatewayError } from '../errors.js';
import { NdjsonParser, SseParser } from '../providers/shared/sse.js';
import { EventStreamParser } from '../providers/shared/event-stream.js';
import { mentionsUsageObject } from '../providers/shared/chunk-usage.js';
import type { ChatChunk, ChatStreamTransform, EmittedChunk, Framing, MediaUnits, Usage } from '../providers/types.js';
import type { StreamEncoder } from './response-format.js';
import type { UpstreamResponse } from './upstream.js';
import { SseRun } from './sse-run.js';
import { ReadableReader } from './readable-reader.js';
import { billedText, chunksFinishReasons, chunksText, partChunks, StreamedAnswer, type StreamedPart } from './streamed-answer.js';

type Body = UpstreamResponse['body'];

interface EventReader {
  push(chunk: Uint8Array): Array<{ data: string; event?: string }>;
  end(): Array<{ data: string; event?: string }>;
}

function readerFor(framing: Framing, provider: string): EventReader {
  if (framing === 'eventstream') return new EventStreamParser(provider);
  if (framing === 'ndjson') {
    const parser = new NdjsonParser();
    return { push: (chunk) => parser.push(chunk).map((data) => ({ data })), end: () => parser.end().map((data) => ({ data })) };
  }
  return new SseParser();
}

export interface StreamTimers {
  /** Cancels the upstream call (aborts its request) with the given error. */
  abort(error: GatewayError): void;
  /** ms allowed until the first chunk. */
  firstChunkTimeoutMs: number;
  /** ms allowed between chunks afterwards. */
  idleTimeoutMs: number;
  provider: string;
}

export interface StreamOutcome {
  usage: Usage | undefined;
  /** The gateway cut the stream (RelayOptions.readingEnded) before it ended by itself. */
  cut?: GatewayError;
  /** ms from the start of the call to the first chunk written to the client. */
  firstChunkAt: number;
  error?: GatewayError;
  clientDisconnected: boolean;
}

export class UpstreamStream {
  private readonly iterator: ReadableReader | AsyncIterator<Buffer>;
  private readonly reader: EventReader;
  /** Set when runs of plain events may be forwarded as they came (SseRun). */
  private readonly runs: { parser: SseParser; forwardable: (run: string) => number } | undefined;
  private timer: NodeJS.Timeout | undefined;
  private timerMs = 0;
  private reading = false;
  private finished = false;
  /** The upstream ended the stream (as opposed to the gateway destroying it). */
  private endedByUpstream = false;
  private readonly kept: EmittedChunk[] = [];
  /** The kept chunks parsed so far (parsedChunks), and how many kept items they cover. */
  private readonly parsed: ChatChunk[] = [];
  private parsedUpTo = 0;
  /** What the kept items answered (answer), while no more were kept. */
  private answered: StreamedAnswer | undefined;
  private lastChunk: EmittedChunk | undefined;
  private forwardedUsage = false;
  private pendingError: GatewayError | undefined;
  /** The upstream's usage reports so far, folded (runningUsage); the transform's usage as last seen. */
  private reported: Usage | undefined;
  private seenReport: Usage | undefined;
  /** How many kept items came before the last report that changed the counts: output after them is not in it. */
  private reportedUpTo = 0;
  /**
   * Reading ahead (readAhead) while the answer may not be released yet: the batches read and not yet
   * handed to next(), the read loop (never rejects), whether it should stop after its read in
   * flight, and the failure it ended with (thrown by next() after the held batches).
   */
  private readonly held: EmittedChunk[][] = [];
  private aheadLoop: Promise<void> | undefined;
  private aheadStopped = false;
  private aheadFailure: { error: unknown } | undefined;
  /** Bytes read from the upstream so far. */
  private bytesRead = 0;

  private constructor(
    private readonly body: Body,
    private readonly transform: ChatStreamTransform,
    framing: Framing,
    private readonly timers: StreamTimers,
    forwardRuns = false,
  ) {
    // Upstream bodies are Node Readables (undici's); anything else is read through its own iterator.
    this.iterator = body instanceof Readable ? new ReadableReader(body) : (body as AsyncIterable<Buffer>)[Symbol.asyncIterator]();
    this.reader = readerFor(framing, timers.provider);
    if (forwardRuns && transform.forwardable && this.reader instanceof SseParser) {
      this.runs = { parser: this.reader, forwardable: (run) => transform.forwardable!(run) };
    }
  }

  /**
   * Reads until the first client-visible chunks. Throws (the call is still retryable) when the
   * upstream fails, ends or stalls before that. `options.forwardRuns`: the client's encoder writes
   * OpenAI SSE, so runs of events the transform need not see are forwarded as they came (SseRun).
   */
  static async open(
    body: Body,
    transform: ChatStreamTransform,
    framing: Framing,
    timers: StreamTimers,
    options: { forwardRuns?: boolean } = {},
  ): Promise<{ stream: UpstreamStream; first: EmittedChunk[] }> {
    const stream = new UpstreamStream(body, transform, framing, timers, options.forwardRuns === true);
    try {
      const first = await stream.next(timers.firstChunkTimeoutMs);
      if (first === undefined) {
        throw transform.error ?? new GatewayError('upstream_invalid_response', `${timers.provider} ended the stream without sending any chunk`, { provider: timers.provider });
      }
      return { stream, first };
    } catch (error) {
      stream.destroy();
      throw error;
    }
  }

  /**
   * The next batch of chunks (at least one), or undefined at the end of the stream. `beforeWait`
   * is called before each read that will have to wait for the upstream (nothing is in hand).
   * What was read ahead comes first, in order (the read ahead stops; its read in flight, if any, is
   * the one this waits for), then its failure if it ended with one.
   */
  next(timeoutMs: number, beforeWait?: () => void): Promise<EmittedChunk[] | undefined> {
    // Not an async function: a stream that never read ahead (nearly all) reads with no extra promise.
    if (this.aheadLoop === undefined && this.aheadFailure === undefined) return this.read(timeoutMs, beforeWait);
    return this.nextAfterReadAhead(timeoutMs, beforeWait);
  }

  private async nextAfterReadAhead(timeoutMs: number, beforeWait?: () => void): Promise<EmittedChunk[] | undefined> {
    if (this.aheadLoop) {
      this.aheadStopped = true;
      if (this.held.length === 0) {
        beforeWait?.();
        await this.aheadLoop;
        this.aheadLoop = undefined;
      }
      if (this.held.length > 0) return this.held.length === 1 ? this.held.shift() : this.held.splice(0).flat();
    }
    const failure = this.aheadFailure;
    if (failure) {
      this.aheadFailure = undefined;
      throw failure.error;
    }
    return this.read(timeoutMs, beforeWait);
  }

  /**
   * Reads on from the upstream while the answer may not be released yet (a during_call verdict is
   * pending), so that what the provider produces meanwhile is in hand — counted, its usage seen —
   * however the call ends. Nothing is relayed: the batches are held for next(), in order; the read
   * ahead stops at the end of the stream, on a failure (kept for next()), when next() is called, or
   * once more than `maxBytes` (the response size limit) were read ahead — the relay would cut there.
   */
  readAhead(timeoutMs: number, maxBytes?: number): void {
    if (this.aheadLoop || this.finished) return;
    const from = this.bytesRead;
    this.aheadStopped = false;
    this.aheadLoop = (async () => {
      try {
        while (!this.aheadStopped && (maxBytes === undefined || this.bytesRead - from <= maxBytes)) {
          const batch = await this.read(timeoutMs);
          if (!batch) break;
          this.held.push(batch);
        }
      } catch (error) {
        this.aheadFailure = { error };
      }
    })();
  }

  /**
   * Reads the rest of the stream without relaying it (what was read ahead included), so the output
   * the provider bills and its usage report are in hand: undefined when the upstream ended it, else
   * the failure that ended the reading (a cut, a timeout, the client gone, a broken stream).
   */
  async readToEnd(timeoutMs: number): Promise<GatewayError | undefined> {
    try {
      while (await this.next(timeoutMs)) {
        // Every batch read is kept (observe) for the count; nothing more to do with it.
      }
      return this.cutShort;
    } catch (caught) {
      return caught instanceof GatewayError ? caught : new GatewayError('upstream_connection', `${this.timers.provider}: the stream broke (${(caught as Error).message})`, { provider: this.timers.provider });
    }
  }

  private async read(timeoutMs: number, beforeWait?: () => void): Promise<EmittedChunk[] | undefined> {
    // Chunks that arrived in the same read as an error are delivered first; the error comes next.
    if (this.pendingError) throw this.pendingError;
    while (!this.finished) {
      if (beforeWait && !this.inputReady) beforeWait();
      const result = await this.readWithTimeout(timeoutMs);
      if (!result.done) this.bytesRead += result.value.length;
      const emitted: EmittedChunk[] = [];
      let events: Array<{ data: string; event?: string }>;
      if (result.done) events = this.reader.end();
      else if (this.runs) {
        const read = this.runs.parser.pushRun(result.value, this.runs.forwardable);
        if (read.run.length > 0) emitted.push(new SseRun(read.run));
        events = read.events;
      } else events = this.reader.push(result.value);
      for (const event of events) {
        for (const item of this.transform.push(event.data, event.event)) emitted.push(item);
        this.noteReport(this.kept.length + emitted.length);
        if (this.transform.error) break;
      }
      if (result.done && !this.transform.error) {
        emitted.push(...this.transform.end());
        this.noteReport(this.kept.length + emitted.length);
        this.finished = true;
        this.endedByUpstream = true;
      }
      if (this.transform.error) {
        if (emitted.length === 0) throw this.transform.error;
        this.pendingError = this.transform.error;
      }
      if (emitted.length > 0) {
        this.observe(emitted);
        return emitted;
      }
    }
    return undefined;
  }

  /**
   * One timer per stream, re-armed for each read (`refresh`) rather than created and cleared per
   * read; it only cancels the call when it fires during a read (not while the client is slow).
   */
  private async readWithTimeout(timeoutMs: number): Promise<IteratorResult<Buffer>> {
    if (timeoutMs <= 0) return this.iterator.next();
    if (this.timer === undefined || this.timerMs !== timeoutMs) {
      clearTimeout(this.timer);
      this.timerMs = timeoutMs;
      this.timer = setTimeout(() => this.idleTimeout(), timeoutMs);
    } else {
      this.timer.refresh();
    }
    this.reading = true;
    try {
      return await this.iterator.next();
    } finally {
      this.reading = false;
    }
  }

  private idleTimeout(): void {
    if (!this.reading || this.finished) return;
    this.timers.abort(new GatewayError('upstream_timeout', `${this.timers.provider} sent nothing for ${Math.round(this.timerMs / 1000)}s; the stream was cancelled`, { provider: this.timers.provider }));
  }


  /**
   * Keeps what the end of the stream needs: the last chunk, whether a usage chunk went out, and the
   * chunks, to count their text when the upstream reports no usage or usage beyond what the
   * request could produce (the chunks are kept as they are; their text is only read then).
   * Raw (pass-through) chunks are not parsed here.
   */
  private observe(emitted: EmittedChunk[]): void {
    for (const item of emitted) {
      this.lastChunk = item;
      if (!item.usageFree && (item.raw === undefined ? item.chunk.usage : mentionsUsageObject(item.raw))) this.forwardedUsage = true;
      this.kept.push(item);
    }
  }

  /**
   * Folds in the transform's usage when the last event brought a new report. `position`: the kept
   * items the report covers (those of the event that carried it included), when its counts changed.
   */
  private noteReport(position: number): void {
    const usage = this.transform.usage;
    if (usage === undefined || usage === this.seenReport) return;
    const changed = this.seenReport === undefined || usage.promptTokens !== this.seenReport.promptTokens || usage.completionTokens !== this.seenReport.completionTokens;
    this.seenReport = usage;
    this.reported = runningUsage(this.reported, usage);
    if (changed) this.reportedUpTo = position;
  }

  get usage(): Usage | undefined {
    // A report the transform made outside an event (none do today) is taken as it is.
    if (this.transform.usage !== this.seenReport) this.noteReport(this.reportedUpTo);
    return this.reported;
  }

  /**
   * Whether output the provider bills (text, tool calls, reasoning) came after the upstream's last
   * report: that report cannot include it (a part-way count followed by more text, a stale usage
   * chunk). Only the items after the report are read.
   */
  get outputAfterUsage(): boolean {
    if (this.reported === undefined || this.reportedUpTo >= this.kept.length) return false;
    return billedText(partChunks(this.keptParts(this.reportedUpTo))).length > 0;
  }

  /** Server tool uses seen in the events so far (ChatStreamTransform.units). */
  get units(): MediaUnits | undefined {
    return this.transform.units;
  }

  /**
   * The kept chunks as parsed chat chunks, in order. A forwarded run is parsed once, the first time
   * its chunks are asked for (the text and the finish reasons both read them).
   */
  private parsedChunks(): ChatChunk[] {
    if (this.parsedUpTo < this.kept.length) {
      partChunks(this.keptParts(this.parsedUpTo), this.parsed);
      this.parsedUpTo = this.kept.length;
    }
    return this.parsed;
  }

  /** The kept items from `from` on as plain parts: a forwarded run's text, or a chunk the gateway made. */
  private keptParts(from = 0): StreamedPart[] {
    const parts: StreamedPart[] = [];
    for (let index = from; index < this.kept.length; index++) {
      const item = this.kept[index];
      parts.push(item instanceof SseRun ? item.sse : item.chunk);
    }
    return parts;
  }

  /** What the stream relayed, unparsed, and what it answered (streamed-answer.ts): the same reader while nothing more was kept, so it is read once. */
  get answer(): StreamedAnswer {
    if (this.answered?.parts.length !== this.kept.length) this.answered = new StreamedAnswer(this.keptParts());
    return this.answered;
  }

  /** The text read from the upstream (relayed, or in hand when the stream ended), for counting tokens. */
  get text(): string {
    return chunksText(this.parsedChunks());
  }

  /** All the output read from the upstream that the provider bills (the text, reasoning and refusals), for a local count. */
  get countedText(): string {
    return billedText(this.parsedChunks());
  }

  /** The finish reason of each choice that reported one (by choice index): read with the text, in one pass (StreamedAnswer), unless the chunks were parsed already. */
  get finishReasons(): string[] {
    return this.parsedUpTo === this.kept.length ? chunksFinishReasons(this.parsed) : this.answer.finishReasons;
  }

  /**
   * The error of a stream the upstream ended without its end marker and before any choice reported
   * a finish reason (ChatStreamTransform.unterminated): cut short, so not relayed as complete.
   */
  get cutShort(): GatewayError | undefined {
    if (!this.endedByUpstream || this.transform.unterminated !== true || this.finishReasons.length > 0) return undefined;
    return new GatewayError('upstream_connection', `${this.timers.provider} ended the stream before any choice finished (no finish_reason, no data: [DONE])`, { provider: this.timers.provider });
  }

  /**
   * Whether the whole stream was read: the upstream ended it, with no failure and not cut short.
   * Its usage report is then final, whether or not the client was still there to get the end.
   */
  get readInFull(): boolean {
    return this.endedByUpstream && this.pendingError === undefined && this.transform.error === undefined && this.cutShort === undefined;
  }

  get usageForwarded(): boolean {
    return this.forwardedUsage;
  }

  get last(): ChatChunk | undefined {
    return this.lastChunk?.chunk;
  }

  /**
   * Whether the next read is already in hand — bytes buffered, or the upstream's end received — so
   * reading it involves no wait. (The end is seen through the stream's internal state; should that
   * ever change, this only answers false, which is always safe.)
   */
  get inputReady(): boolean {
    const body = this.body as Body & { readableLength?: number; readableEnded?: boolean; _readableState?: { ended?: boolean } };
    return this.held.length > 0 || this.finished || (body.readableLength ?? 0) > 0 || body.readableEnded === true || body._readableState?.ended === true;
  }

  destroy(): void {
    clearTimeout(this.timer);
    this.finished = true;
    if (!this.body.destroyed) this.body.destroy();
  }
}

export interface RelayOptions {
  encoder: StreamEncoder;
  /** Resolves usage when the upstream sent none (counts tokens). */
  estimateUsage(text: string): Promise<Usage>;
  startedAt: number;
  now(): number;
  /**
   * Called once, when reading from the upstream is over: the error the gateway cut the stream with
   * (duration cap, key revoked), if it did — the client sees it rather than the abort it caused.
   */
  readingEnded?(): GatewayError | undefined;
}

/**
 * Holds the client's writes back (corked) only while the upstream's next read is already in hand,
 * so that chunks that arrived together leave in one socket write — when a whole stream arrives at
 * once, headers, chunks and the end go out in one — and flushes before anything waits: a read
 * that must wait for the network, a full client buffer, token counting. The first chunk is never
 * held behind a wait (time to first token is unchanged).
 */
class WriteBatcher {
  private corked = false;

  constructor(private readonly response: ServerResponse) {}

  /** Writes; returns a promise only when the client's buffer is full (back-pressure). */
  write(data: string, moreReady: boolean): Promise<void> | undefined {
    const { response } = this;
    if (data.length === 0 || response.destroyed) return undefined;
    if (moreReady && !this.corked) {
      response.cork();
      this.corked = true;
    }
    if (response.write(data)) {
      if (!moreReady) this.flush();
      return undefined;
    }
    this.flush();
    return Promise.race([once(response, 'drain'), once(response, 'close')]).then(() => undefined);
  }

  /** Sends what is held (before any wait). */
  flush(): void {
    if (!this.corked) return;
    this.corked = false;
    this.response.uncork();
  }
}

/** Pumps an opened stream to the client; never throws (failures end the stream with an error event). */
export async function relayStream(stream: UpstreamStream, first: EmittedChunk[], response: ServerResponse, options: RelayOptions, timers: StreamTimers): Promise<StreamOutcome> {
  const { encoder } = options;
  const firstChunkAt = options.now() - options.startedAt;
  const batcher = new WriteBatcher(response);
  const flush = () => batcher.flush();
  let error: GatewayError | undefined;
  try {
    const full = batcher.write(encoder.chunks(first), stream.inputReady);
    if (full) await full;
    for (;;) {
      if (response.destroyed) break;
      const batch = await stream.next(timers.idleTimeoutMs, flush);
      if (!batch) break;
      const waiting = batcher.write(encoder.chunks(batch), stream.inputReady);
      if (waiting) await waiting;
    }
  } catch (caught) {
    error = caught instanceof GatewayError ? caught : new GatewayError('upstream_connection', `${timers.provider}: the stream broke (${(caught as Error).message})`, { provider: timers.provider });
  }
  error ??= stream.cutShort;
  const clientDisconnected = response.destroyed && !response.writableFinished;
  // A cut that came after the upstream had sent everything ended nothing.
  const cutWith = options.readingEnded?.();
  const cut = cutWith && (error !== undefined || clientDisconnected) ? cutWith : undefined;
  if (cut) error = cut;
  stream.destroy();

  // A client gone after the whole stream was read (read ahead while a during_call verdict was
  // pending) ended nothing early: the upstream's final report is what it bills.
  const usage = await usageAtEnd(stream, options.estimateUsage, error !== undefined || (clientDisconnected && !stream.readInFull), flush);
  if (!response.destroyed) {
    // The closing event and the end of the response go out in one write.
    response.end(error ? encoder.error(error) : encoder.end({ usage, last: stream.last, usageForwarded: stream.usageForwarded }));
  }
  return { usage, firstChunkAt, error, clientDisconnected, cut };
}

/**
 * What a stream that is over (relayed, or read without relaying: a during_call refusal) is billed.
 * Usage without the prompt (Ollama's, for a prompt served from its KV cache) or without the output
 * takes the local count of what it leaves out. `endedEarly`: the upstream did not end it (the client
 * gone, the upstream broken, the gateway cutting it). `beforeCount` runs before the local count
 * (which may wait on the tokenizer).
 */
export async function usageAtEnd(stream: UpstreamStream, estimate: (text: string) => Promise<Usage>, endedEarly: boolean, beforeCount?: () => void): Promise<Usage | undefined> {
  let usage = stream.usage;
  if (!usage || usage.promptTokens === undefined || usage.completionTokens === undefined || endedEarly || stream.outputAfterUsage) {
    beforeCount?.();
    // What the upstream produced is billed however the stream ended: without the upstream's usage,
    // its text so far is counted; with usage reported only part-way (running counts, or output sent
    // after the last report), never less than that text.
    const counted = await estimate(stream.countedText);
    usage = usage ? atLeastCounted(usage, counted) : counted;
    // Server tools that ran before the usage reporting them arrived are billed all the same.
    const units = stream.units;
    if (units && !usage.units) usage = { ...usage, units };
  }
  return usage;
}

/**
 * A stream's usage after one more report. Counts in a stream are running totals (an
 * OpenAI-compatible server's usage on every chunk, Gemini's usageMetadata on every event,
 * Anthropic's cumulative message_delta), so a later report never lowers the prompt or the output an
 * earlier one gave — a repeated usage chunk with smaller counts, or a final Gemini event naming only
 * the prompt, would otherwise erase them. The rest (cache and reasoning splits) is the later report's.
 */
export function runningUsage(previous: Usage | undefined, next: Usage): Usage {
  if (previous === undefined) return next;
  const promptTokens = higher(previous.promptTokens, next.promptTokens);
  const completionTokens = higher(previous.completionTokens, next.completionTokens);
  if (promptTokens === next.promptTokens && completionTokens === next.completionTokens) return next;
  return { ...next, promptTokens, completionTokens, totalTokens: Math.max(next.totalTokens ?? 0, (promptTokens ?? 0) + (completionTokens ?? 0)) };
}

function higher(earlier: number | undefined, later: number | undefined): number | undefined {
  return earlier === undefined ? later : later === undefined ? earlier : Math.max(earlier, later);
}

/**
 * Usage an upstream reported before its stream ended early may be a running count (or the prompt
 * alone): the completion is never billed below the tokens of the text it had sent, and an unknown
 * prompt takes the local count. Marked estimated when the local count was used.
 */
export function atLeastCounted(reported: Usage, counted: Usage): Usage {
  const completion = reported.completionTokens;
  const countedCompletion = counted.completionTokens ?? 0;
  if (reported.promptTokens !== undefined && completion !== undefined && completion >= countedCompletion) return reported;
  const promptTokens = reported.promptTokens ?? counted.promptTokens;
  const completionTokens = Math.max(completion ?? 0, countedCompletion);
  return { ...reported, promptTokens, completionTokens, totalTokens: (promptTokens ?? 0) + completionTokens, estimated: true };
}
