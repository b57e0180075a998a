/**
 * Whether the client of a call is still there. The HTTP layer calls `close()` when the connection
 * ends before the response did; the pipeline listens while an upstream attempt (or a backoff wait)
 * is under way, to cancel it. Attempts run one after another, so one listener at a time is enough —
 * and far cheaper on the request path than an AbortController linked to another.
 */
export class ClientConnection {
  gone = false;
  private listener: (() => void) | undefined;

  close(): void {
    if (this.gone) return;
    this.gone = true;
    const listener = this.listener;
    this.listener = undefined;
    listener?.();
  }

  /** Calls `listener` when the client goes (at once if it has); returns a function that stops listening. */
  onGone(listener: () => void): () => void {
    if (this.gone) {
      listener();
      return noop;
    }
    this.listener = listener;
    return () => {
      if (this.listener === listener) this.listener = undefined;
    };
  }
}

function noop(): void {}
