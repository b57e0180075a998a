/**
 * Concurrent identical requests on one replica: the first goes upstream (the leader), the others
 * wait for what it stores, up to a bound; a follower whose wait runs out, or whose leader stored
 * nothing (failure, aborted stream, an answer not cacheable), goes upstream itself.
 */
export class SingleFlight<T> {
  private readonly flights = new Map<string, Promise<T | undefined>>();

  /** The flight in progress for `key`, if any. */
  inFlight(key: string): Promise<T | undefined> | undefined {
    return this.flights.get(key);
  }

  /**
   * Starts a flight for `key`; the returned function lands it (with the stored value, or undefined)
   * exactly once. A flight not landed within `maxMs` (a stream still running, a pump that never
   * ran) lands empty then, so that no key stays waited on.
   */
  begin(key: string, maxMs: number): (value: T | undefined) => void {
    let resolve!: (value: T | undefined) => void;
    const flight = new Promise<T | undefined>((done) => (resolve = done));
    this.flights.set(key, flight);
    let landed = false;
    const land = (value: T | undefined) => {
      if (landed) return;
      landed = true;
      clearTimeout(timer);
      if (this.flights.get(key) === flight) this.flights.delete(key);
      resolve(value);
    };
    const timer = setTimeout(() => land(undefined), maxMs);
    timer.unref?.();
    return land;
  }

  size(): number {
    return this.flights.size;
  }
}

/** The flight's value, or undefined once `ms` have passed. */
export function waitAtMost<T>(flight: Promise<T | undefined>, ms: number): Promise<T | undefined> {
  return new Promise((resolve) => {
    const timer = setTimeout(() => resolve(undefined), ms);
    timer.unref?.();
    void flight.then((value) => {
      clearTimeout(timer);
      resolve(value);
    });
  });
}
