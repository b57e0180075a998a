/**
 * LiteLLM's general_settings.global_max_parallel_requests (litellm/proxy/hooks/parallel_request_limiter.py):
 * at most N model calls in flight on the proxy; the next one is refused at once with 429 "Max
 * parallel request limit reached Hit Global Limit: Limit=N, current: N" (LiteLLM does not queue).
 *
 * - Counted per gateway process, as LiteLLM's counter is (local_only): with replicas, or with
 *   `start --workers K`, each process admits N, so the whole deployment admits up to N × processes.
 * - Model calls only: routes whose config has `endpoint` (every caller, the master key included, as
 *   LiteLLM's pre-call hook). Checked after authentication, so a request without a valid key never
 *   takes a slot.
 * - A slot is held from admission until the response is finished or its connection closed (a
 *   plain answer, the end of a stream, an error, a client that went away): the response's `close`
 *   event, which Node emits exactly once for each of these, or the connection's `close` (a
 *   response queued behind an earlier pipelined one never emits its own when the client hangs up).
 * - Refusals carry `retry-after: 1` (LiteLLM sends the seconds to the next minute, which means
 *   nothing for a limit on calls in flight).
 * - Unset: no hook is registered, nothing runs on the request path.
 */
import type { Socket } from 'node:net';
import type { FastifyReply, FastifyRequest, HookHandlerDoneFunction } from 'fastify';
import { Counter, Gauge, type Registry } from 'prom-client';
import { GatewayError } from '../errors.js';
import type { Gateway } from '../gateway/pipeline.js';
import { closeConnectionIfBodyUnread } from './early-refusal.js';
import { sendError } from './error-handler.js';

export class GlobalParallelLimit {
  inFlight = 0;
  refused = 0;

  constructor(readonly limit: number) {}

  /** general_settings.global_max_parallel_requests; unset or 0: no limit (no object at all). */
  static of(setting: number | null | undefined): GlobalParallelLimit | undefined {
    return setting ? new GlobalParallelLimit(setting) : undefined;
  }

  tryAcquire(): boolean {
    if (this.inFlight >= this.limit) {
      this.refused++;
      return false;
    }
    this.inFlight++;
    return true;
  }

  release(): void {
    if (this.inFlight > 0) this.inFlight--;
  }

  refusal(): GatewayError {
    return new GatewayError(
      'rate_limit_exceeded',
      `Max parallel request limit reached Hit Global Limit: Limit=${this.limit}, current: ${this.inFlight} (general_settings.global_max_parallel_requests, model calls in flight on this gateway process)`,
      { retryAfterSeconds: 1, headers: { 'retry-after': '1' } },
    );
  }
}

const SLOTS = Symbol('global parallel slots');

/** The releases of the slots a connection's calls hold, run by one `close` listener per connection. */
function slotsOf(socket: Socket & { [SLOTS]?: Set<() => void> }): Set<() => void> {
  let slots = socket[SLOTS];
  if (!slots) {
    const created = (slots = socket[SLOTS] = new Set());
    socket.once('close', () => {
      for (const release of created) release();
    });
  }
  return slots;
}

/** An onRequest hook registered after authentication's: admits each model call, or answers 429. */
export function globalParallelHook(limit: GlobalParallelLimit, gateway: Gateway) {
  return (request: FastifyRequest, reply: FastifyReply, done: HookHandlerDoneFunction): void => {
    const config = request.routeOptions.config;
    // Model routes, and the routes without an endpoint that call models (agent runs, the Testing Lab).
    if ((config.endpoint === undefined && config.modelRequest === undefined) || config.public) {
      done();
      return;
    }
    const socket = request.raw.socket;
    // The client went away while its key was being looked up: the `close` events were emitted
    // already, so a slot taken now would never be freed. The call is not run.
    if (socket.destroyed) {
      const error = new GatewayError('client_closed_request', 'the client closed the connection before the call was admitted');
      if (request.call) gateway.recordRejected(request.call, error, null);
      sendError(reply, error);
      return;
    }
    if (!limit.tryAcquire()) {
      const error = limit.refusal();
      closeConnectionIfBodyUnread(request, reply);
      if (request.call) gateway.recordRejected(request.call, error, null);
      // Answering from the hook: done() is not called.
      sendError(reply, error);
      return;
    }
    // A response to a pipelined request waits for the socket behind the one before it, and never
    // emits `close` when the client hangs up first: the socket's `close` frees its slot then.
    const slots = slotsOf(socket);
    const release = () => {
      if (slots.delete(release)) limit.release();
    };
    slots.add(release);
    reply.raw.once('close', release);
    done();
  };
}

export function registerGlobalParallelMetrics(registry: Registry, limit: GlobalParallelLimit): void {
  const registers = [registry];
  new Gauge({
    name: 'switchboard_global_parallel_requests_in_flight',
    help: 'Model calls in flight on this gateway process, counted against general_settings.global_max_parallel_requests.',
    registers,
    collect() {
      this.set(limit.inFlight);
    },
  });
  new Gauge({
    name: 'switchboard_global_parallel_requests_limit',
    help: 'general_settings.global_max_parallel_requests: model calls this gateway process lets be in flight at once.',
    registers,
    collect() {
      this.set(limit.limit);
    },
  });
  new Counter({
    name: 'switchboard_global_parallel_requests_refused_total',
    help: 'Model calls refused with 429 because general_settings.global_max_parallel_requests were in flight.',
    registers,
    collect() {
      this.reset();
      this.inc(limit.refused);
    },
  });
}
