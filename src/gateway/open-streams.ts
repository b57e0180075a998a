/**
 * The open streams of virtual keys, checked on one timer for all of them (not one per stream):
 * every second each distinct key is asked whether it is still valid, and the streams of a key
 * that was blocked or deleted meanwhile are cut. The timer runs only while streams are open.
 */
import type { Logger } from 'pino';
import type { KeyRevocationCheck } from '../auth/key-revocation.js';
import type { GatewayError } from '../errors.js';

export const DEFAULT_KEY_CHECK_INTERVAL_MS = 1_000;

interface OpenStream {
  keyHash: string;
  cut(error: GatewayError): void;
}

export class OpenStreams {
  private readonly streams = new Set<OpenStream>();
  private timer: NodeJS.Timeout | undefined;
  private sweeping = false;

  constructor(
    private readonly check: KeyRevocationCheck,
    private readonly logger: Logger,
    private readonly intervalMs = DEFAULT_KEY_CHECK_INTERVAL_MS,
  ) {}

  /** Watches a stream of `keyHash` until the returned function is called; `cut` ends it. */
  watch(keyHash: string, cut: (error: GatewayError) => void): () => void {
    const stream: OpenStream = { keyHash, cut };
    this.streams.add(stream);
    if (!this.timer) {
      this.timer = setInterval(() => void this.sweep(), this.intervalMs);
      this.timer.unref();
    }
    return () => {
      this.streams.delete(stream);
      if (this.streams.size === 0) this.stop();
    };
  }

  get size(): number {
    return this.streams.size;
  }

  /** Checks each key with open streams once and cuts the streams of revoked keys. */
  async sweep(): Promise<void> {
    if (this.sweeping) return; // a slow database load must not pile sweeps up
    this.sweeping = true;
    try {
      const byKey = new Map<string, OpenStream[]>();
      for (const stream of this.streams) {
        const list = byKey.get(stream.keyHash);
        if (list) list.push(stream);
        else byKey.set(stream.keyHash, [stream]);
      }
      await Promise.all(
        [...byKey].map(async ([keyHash, streams]) => {
          const error = await this.check(keyHash);
          if (!error) return;
          this.logger.warn({ streams: streams.length, code: error.code }, 'ending the open streams of a revoked key');
          for (const stream of streams) {
            this.streams.delete(stream);
            stream.cut(error);
          }
        }),
      );
      if (this.streams.size === 0) this.stop();
    } finally {
      this.sweeping = false;
    }
  }

  stop(): void {
    clearInterval(this.timer);
    this.timer = undefined;
  }
}
