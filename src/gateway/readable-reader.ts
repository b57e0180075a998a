/**
 * Reads a Node Readable one `read()` at a time, with the semantics of its async iterator
 * (`stream[Symbol.asyncIterator]()`, Node's createAsyncIterator): each next() answers what is
 * buffered (all of it, as `read()` does), waits for 'readable' when nothing is, ends when the stream
 * ended, and throws the error that destroyed it — ERR_STREAM_PREMATURE_CLOSE for a stream destroyed
 * before its end, as `finished` reports it. The iterator is an async generator: every next() resumes
 * it behind a queued request and promises of its own, and the stream relay reads each upstream
 * stream this way a few times per call. Once ended or failed, the stream is destroyed (the
 * iterator's `finally` does the same).
 */
import { finished, type Readable } from 'node:stream';

export class ReadableReader {
  /** undefined while the stream is open; null once it ended; the error that ended it otherwise. */
  private outcome: Error | null | undefined;
  private wake: (() => void) | undefined;
  private readonly notify = (): void => {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  };

  constructor(private readonly stream: Readable) {
    stream.on('readable', this.notify);
    finished(stream, { writable: false }, (error) => {
      this.outcome = error ?? null;
      this.notify();
    });
  }

  async next(): Promise<IteratorResult<Buffer, undefined>> {
    for (;;) {
      const chunk: Buffer | null = this.stream.destroyed ? null : this.stream.read();
      if (chunk !== null) return { done: false, value: chunk };
      if (this.outcome) {
        this.stream.destroy();
        throw this.outcome;
      }
      if (this.outcome === null) {
        if (!this.stream.destroyed) this.stream.destroy();
        return { done: true, value: undefined };
      }
      await new Promise<void>((resolve) => {
        this.wake = resolve;
      });
    }
  }
}
