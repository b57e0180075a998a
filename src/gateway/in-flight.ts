/**
 * Calls still being answered: counted from the chain's start until the result is sent — for a
 * stream, until its pump ended and the call was settled and recorded. A shutdown waits for none
 * to be left before it writes the queued usage rows, so a stream cut at the last moment is billed.
 */
export class InFlightCalls {
  private count = 0;
  private waiters: Array<() => void> = [];

  /** Counts one call; the returned function (idempotent) says it is done. */
  begin(): () => void {
    this.count++;
    let ended = false;
    return () => {
      if (ended) return;
      ended = true;
      this.count--;
      if (this.count === 0 && this.waiters.length > 0) for (const waiter of this.waiters.splice(0)) waiter();
    };
  }

  get size(): number {
    return this.count;
  }

  /** Resolves once no call is in flight. */
  idle(): Promise<void> {
    return this.count === 0 ? Promise.resolve() : new Promise((resolve) => this.waiters.push(resolve));
  }
}
