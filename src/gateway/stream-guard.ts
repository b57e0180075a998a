/**
 * Ends an open stream from outside the relay: when it has lasted its maximum duration (an upstream
 * trickling a chunk a second never trips the idle timeout), or when its key is revoked meanwhile
 * (OpenStreams). Cutting aborts the upstream call — the relay then ends the client's stream with
 * the cut's error event and the output so far is billed — and, when the client is not reading (its
 * buffer is full, so it could not read the error event either), closes the client's connection.
 */
import type { ServerResponse } from 'node:http';
import { GatewayError } from '../errors.js';
import type { OpenStreams } from './open-streams.js';

export interface StreamGuardOptions {
  /** Aborts the upstream call with the given error. */
  abort(error: GatewayError): void;
  /** The client's response, when the stream is relayed (a refused stream read to its end has none). */
  response?: ServerResponse;
  provider: string;
  /** How long the stream may last in all, ms (0: no cap), and how much of it has passed. */
  maxDurationMs: number;
  elapsedMs: number;
  /** The virtual key's hash, when the stream should end with the key's validity. */
  keyHash?: string | null;
  openStreams?: OpenStreams;
}

export class StreamGuard {
  private reason: GatewayError | undefined;
  private released = false;
  private readonly timer: NodeJS.Timeout | undefined;
  private readonly unwatch: (() => void) | undefined;

  constructor(private readonly options: StreamGuardOptions) {
    const { maxDurationMs } = options;
    if (maxDurationMs > 0) {
      this.timer = setTimeout(() => this.cut(durationExceeded(options.provider, maxDurationMs)), Math.max(0, maxDurationMs - options.elapsedMs));
    }
    if (options.keyHash && options.openStreams) this.unwatch = options.openStreams.watch(options.keyHash, (error) => this.cut(error));
  }

  cut(error: GatewayError): void {
    if (this.reason || this.released) return;
    this.reason = error;
    this.options.abort(error);
    const { response } = this.options;
    if (response?.writableNeedDrain && !response.destroyed) response.destroy();
  }

  /** Stops watching (reading from the upstream is over); the error the guard cut the stream with, if it did. */
  finish(): GatewayError | undefined {
    this.release();
    return this.reason;
  }

  release(): void {
    this.released = true;
    clearTimeout(this.timer);
    this.unwatch?.();
  }
}

export function durationExceeded(provider: string, maxDurationMs: number): GatewayError {
  return new GatewayError('upstream_timeout', `${provider}: the stream reached its maximum duration of ${maxDurationMs / 1000}s (max_stream_duration) and was ended; the output so far is billed`, { provider });
}
