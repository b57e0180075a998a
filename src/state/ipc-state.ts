/**
 * Shared state across the worker processes of `switchboard start --workers N` without Redis: the
 * primary process owns the in-memory implementations (limits, router state, the local response
 * cache) and every worker reaches them through a generic proxy. A proxied method call is a message
 * (target, method name, arguments) over the cluster's IPC channel; the primary calls the method on
 * its object and replies with the result, correlated by a request id. Nothing here names a method
 * of LimitsState, RouterState or CacheStore, so methods added to those interfaces later work
 * without touching this file. Synchronous methods cannot be proxied: a caller gives them a local
 * implementation (router cooldowns are pushed to every worker as events, ipc-router-state.ts).
 *
 * A worker whose primary is gone (or does not answer within `timeoutMs`) fails closed: every call
 * rejects with PrimaryUnavailable, which admission turns into a 503 rather than unchecked spend.
 */

/** The IPC end of a process: `process` in a worker, a cluster `Worker` in the primary. */
export interface IpcPort {
  send(message: unknown, callback?: (error: Error | null) => void): boolean;
  on(event: 'message', listener: (message: unknown) => void): unknown;
  on(event: 'disconnect', listener: () => void): unknown;
  readonly connected?: boolean;
}

export interface CallMessage {
  sb: 'call';
  id: number;
  target: string;
  method: string;
  args: unknown[];
}

export type ReplyMessage = { sb: 'reply'; id: number; ok: true; value: unknown } | { sb: 'reply'; id: number; ok: false; error: string };

/** Pushed by the primary to every worker (a router cooldown). */
export interface EventMessage {
  sb: 'event';
  target: string;
  name: string;
  args: unknown[];
}

export class PrimaryUnavailable extends Error {}

/** Several messages sent as one (an Outbox's flush). */
export interface BatchMessage {
  sb: 'batch';
  messages: unknown[];
}

/**
 * Coalesces the messages of one event-loop turn into one IPC write: under load a worker issues
 * several calls per turn (admission, settle, router), and each write is a system call on both ends.
 */
export class Outbox {
  private queued: unknown[] = [];
  private scheduled = false;

  constructor(private readonly send: (message: unknown) => void) {}

  push(message: unknown): void {
    this.queued.push(message);
    if (this.scheduled) return;
    this.scheduled = true;
    setImmediate(() => this.flush());
  }

  flush(): void {
    this.scheduled = false;
    const messages = this.queued;
    if (messages.length === 0) return;
    this.queued = [];
    this.send(messages.length === 1 ? messages[0] : ({ sb: 'batch', messages } satisfies BatchMessage));
  }
}

/** Each message of a batch, or the message itself. */
export function unbatched(message: unknown): unknown[] {
  return isMessage<BatchMessage>(message, 'batch') ? message.messages : [message];
}

function isMessage<T extends { sb: string }>(message: unknown, kind: T['sb']): message is T {
  return typeof message === 'object' && message !== null && (message as { sb?: unknown }).sb === kind;
}

interface Pending {
  resolve: (value: unknown) => void;
  reject: (error: Error) => void;
  sentAt: number;
}

/** The worker side: sends calls, matches replies, fails closed once the primary is gone. */
export class SharedStateClient {
  private nextId = 1;
  private readonly pending = new Map<number, Pending>();
  private readonly eventListeners = new Map<string, (name: string, args: unknown[]) => void>();
  private lost: string | undefined;
  private readonly sweep: NodeJS.Timeout;
  private readonly outbox: Outbox;

  constructor(
    private readonly port: IpcPort,
    private readonly timeoutMs = 5_000,
    private readonly now: () => number = Date.now,
  ) {
    this.outbox = new Outbox((message) => {
      try {
        this.port.send(message, (error) => {
          if (error) this.fail(`the primary process cannot be reached (${error.message})`);
        });
      } catch (error) {
        this.fail(`the primary process cannot be reached (${(error as Error).message})`);
      }
    });
    port.on('message', (received) => {
      for (const message of unbatched(received)) {
        if (isMessage<ReplyMessage>(message, 'reply')) this.settle(message);
        else if (isMessage<EventMessage>(message, 'event')) this.eventListeners.get(message.target)?.(message.name, message.args);
      }
    });
    port.on('disconnect', () => this.fail('the primary process is gone'));
    // One timer for every call (not one per call): a primary that stopped answering fails the calls waiting on it.
    this.sweep = setInterval(() => this.expire(), Math.max(100, Math.floor(timeoutMs / 4)));
    this.sweep.unref();
  }

  /** Why calls fail now (the primary is gone), or undefined while it answers. */
  get failure(): string | undefined {
    return this.lost;
  }

  call(target: string, method: string, args: unknown[]): Promise<unknown> {
    if (this.lost) return Promise.reject(new PrimaryUnavailable(`shared state unavailable: ${this.lost}`));
    const id = this.nextId++;
    return new Promise((resolve, reject) => {
      this.pending.set(id, { resolve, reject, sentAt: this.now() });
      this.outbox.push({ sb: 'call', id, target, method, args } satisfies CallMessage);
    });
  }

  /**
   * An object whose every method not in `local` is a call to the primary's `target`. `local` holds
   * what must not go over IPC: synchronous methods, plain properties, and `close` (a worker never
   * closes the primary's state).
   */
  proxy<T extends object>(target: string, local: Partial<T>): T {
    const methods = local as Record<string | symbol, unknown>;
    return new Proxy(methods, {
      get: (object, name) => {
        if (name in object) return object[name];
        // `then` must stay absent: the proxy is awaited as a value in places.
        if (typeof name !== 'string' || name === 'then') return undefined;
        const method = (...args: unknown[]) => this.call(target, name, args);
        object[name] = method;
        return method;
      },
    }) as T;
  }

  onEvent(target: string, listener: (name: string, args: unknown[]) => void): void {
    this.eventListeners.set(target, listener);
  }

  close(): void {
    clearInterval(this.sweep);
  }

  private settle(message: ReplyMessage): void {
    const pending = this.pending.get(message.id);
    if (!pending) return;
    this.pending.delete(message.id);
    if (message.ok) pending.resolve(message.value);
    else pending.reject(new Error(message.error));
  }

  private expire(): void {
    const limit = this.now() - this.timeoutMs;
    for (const [id, pending] of this.pending) {
      if (pending.sentAt > limit) break; // in send order: the rest are newer
      this.pending.delete(id);
      pending.reject(new PrimaryUnavailable(`shared state unavailable: the primary process did not answer within ${this.timeoutMs / 1000}s`));
    }
  }

  private fail(reason: string): void {
    this.lost ??= reason;
    const error = new PrimaryUnavailable(`shared state unavailable: ${this.lost}`);
    for (const pending of this.pending.values()) pending.reject(error);
    this.pending.clear();
  }
}

/** Methods a worker may not call on the primary's objects. */
const REFUSED = new Set(['close', 'constructor']);

/**
 * The primary side: answers a worker's calls (one message or a batch) on `targets` (by name).
 * Returns the messages that are not calls, for the caller to handle.
 */
export function answerCalls(targets: Record<string, object>, received: unknown, reply: (message: ReplyMessage) => void): unknown[] {
  const others: unknown[] = [];
  for (const message of unbatched(received)) if (!answerCall(targets, message, reply)) others.push(message);
  return others;
}

/** Answers one call; false when the message is not a call. */
export function answerCall(targets: Record<string, object>, message: unknown, reply: (message: ReplyMessage) => void): boolean {
  if (!isMessage<CallMessage>(message, 'call')) return false;
  const { id, target, method, args } = message;
  const object = targets[target] as Record<string, unknown> | undefined;
  const fn = object?.[method];
  if (!object || typeof fn !== 'function' || REFUSED.has(method) || method.startsWith('_') || fn === (Object.prototype as Record<string, unknown>)[method]) {
    reply({ sb: 'reply', id, ok: false, error: `the primary has no shared-state method ${target}.${method}` });
    return true;
  }
  let result: unknown;
  try {
    result = (fn as (...values: unknown[]) => unknown).apply(object, args);
  } catch (error) {
    reply({ sb: 'reply', id, ok: false, error: (error as Error).message });
    return true;
  }
  if (result instanceof Promise) {
    result.then(
      (value) => reply({ sb: 'reply', id, ok: true, value }),
      (error: Error) => reply({ sb: 'reply', id, ok: false, error: error.message }),
    );
  } else {
    reply({ sb: 'reply', id, ok: true, value: result });
  }
  return true;
}
