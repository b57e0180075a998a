/**
 * The logging callbacks (litellm_settings.callbacks / success_callback / failure_callback): each
 * configured destination gets every recorded call's usage row through its own bounded delivery
 * queue (delivery-queue.ts), after the row is recorded and off the request path; `otel` traces
 * every call (otel.ts) through a queue of its own. `callbacks`
 * destinations get every call, `success_callback` ones the successes, `failure_callback` ones the
 * failures. A key (or request) whose metadata says `no-log: true` is sent nowhere;
 * redact_user_api_key_info leaves the key, user and team out of what is sent.
 */
import type { Logger } from 'pino';
import type { UsageLogRow } from '../../storage/schema.js';
import { DeliveryQueue, type DeliveryStats } from './delivery-queue.js';
import { genericApiSender, genericApiSettingsFrom } from './generic-api.js';
import { langfuseSender, langfuseSettingsFrom } from './langfuse.js';
import { OtelTracing, otelSettingsFrom, type AttemptOutcome } from './otel.js';
import { resolvedContent, type CallContent, type LoggedCall } from './callback-content.js';
import type { Call } from '../../gateway/call.js';
import type { CallContext } from '../../gateway/call-context.js';

export interface CallbackSettings {
  callbacks?: unknown;
  success_callback?: unknown;
  failure_callback?: unknown;
  redact_user_api_key_info?: boolean;
  forward_traceparent_to_llm_provider?: boolean;
}

/** Destination names the gateway sends to; LiteLLM's "generic" is the older name of generic_api. */
const BUILT = new Map<string, string>([
  ['generic_api', 'generic_api'],
  ['generic', 'generic_api'],
  ['otel', 'otel'],
  ['langfuse', 'langfuse'],
]);

interface Destination {
  queue: DeliveryQueue<LoggedCall>;
  onSuccess: boolean;
  onFailure: boolean;
}

export interface CallbackQueueTuning {
  maxQueued?: number;
  batchSize?: number;
  flushIntervalMs?: number;
  maxAttempts?: number;
  initialBackoffMs?: number;
  maxBackoffMs?: number;
  timeoutMs?: number;
}

export class CallbackProblem extends Error {}

export class Callbacks {
  private constructor(
    private readonly destinations: Destination[],
    private readonly tracing: OtelTracing | undefined,
    /** Message content reaches the callbacks (litellm_settings.turn_off_message_logging not set). */
    readonly messageLogging: boolean,
  ) {}

  /** Whether upstream attempts are traced (the otel callback). */
  get tracesAttempts(): boolean {
    return this.tracing !== undefined;
  }

  /**
   * The destinations of the settings, or undefined when none is configured. Names the gateway does
   * not send to are skipped (the config loader warns about each); so is, with a warning, a built
   * destination without its settings (GENERIC_LOGGER_ENDPOINT, LANGFUSE_*, OTEL_EXPORTER_OTLP_ENDPOINT).
   */
  static fromSettings(settings: CallbackSettings & { turn_off_message_logging?: boolean }, env: Record<string, string | undefined>, logger: Logger, tuning: CallbackQueueTuning = {}): Callbacks | undefined {
    const wanted = new Map<string, { onSuccess: boolean; onFailure: boolean }>();
    const add = (key: keyof CallbackSettings, onSuccess: boolean, onFailure: boolean) => {
      for (const name of namesOf(settings[key], key)) {
        const destination = BUILT.get(name);
        if (!destination) continue; // warned about by the config loader (unsupportedCallbacks)
        const entry = wanted.get(destination) ?? { onSuccess: false, onFailure: false };
        entry.onSuccess ||= onSuccess;
        entry.onFailure ||= onFailure;
        wanted.set(destination, entry);
      }
    };
    add('callbacks', true, true);
    add('success_callback', true, false);
    add('failure_callback', false, true);
    if (wanted.size === 0) {
      if (settings.forward_traceparent_to_llm_provider === true) logger.warn('forward_traceparent_to_llm_provider needs the otel callback (with OTEL_EXPORTER_OTLP_ENDPOINT): no traceparent is sent upstream');
      return undefined;
    }
    const redact = settings.redact_user_api_key_info === true;
    const destinations: Destination[] = [];
    let tracing: OtelTracing | undefined;
    for (const [name, when] of wanted) {
      // A destination without its settings (an unset variable) is warned about and skipped, so a
      // LiteLLM config whose logging secrets are not set here still starts.
      try {
        // Traces cover every call, whichever list names otel.
        if (name === 'otel') tracing = new OtelTracing(otelSettingsFrom(env), logger, tuning, { redact, forwardTraceparent: settings.forward_traceparent_to_llm_provider === true });
        else {
          const send = name === 'langfuse' ? langfuseSender(langfuseSettingsFrom(env), { redact }) : genericApiSender(genericApiSettingsFrom(env), { redact });
          destinations.push({ ...when, queue: new DeliveryQueue({ destination: name, send, logger, ...tuning }) });
        }
      } catch (error) {
        logger.warn({ callback: name }, `${(error as Error).message}: nothing is sent to the ${name} callback`);
      }
    }
    if (settings.forward_traceparent_to_llm_provider === true && !tracing) logger.warn('forward_traceparent_to_llm_provider needs the otel callback (with OTEL_EXPORTER_OTLP_ENDPOINT): no traceparent is sent upstream');
    if (destinations.length === 0 && !tracing) return undefined;
    return new Callbacks(destinations, tracing, settings.turn_off_message_logging !== true);
  }

  /**
   * Starts an upstream attempt's span: `end` ends it (with the error, if it failed, and how it
   * ended: usage, finish reasons, a stream's first chunk); `traceparent` is sent upstream.
   */
  attemptStarted(call: Call): { end: (error?: unknown, outcome?: AttemptOutcome) => void; traceparent: string | undefined } {
    if (!this.tracing || noLogFor(call.context)) return { end: () => {}, traceparent: undefined };
    return this.tracing.attemptStarted(call);
  }

  /**
   * Hands a recorded call to every destination that wants it; synchronous, never throws. `content`
   * is the call's bounded content, only given when message logging is on (callback-content.ts).
   */
  deliver(row: UsageLogRow, context: CallContext, content?: CallContent): void {
    try {
      if (noLogFor(context)) {
        this.tracing?.forget(context);
        return;
      }
      // A stream's answer is read from the parts it relayed here, once, for every destination.
      const kept = this.messageLogging && content ? resolvedContent(content) : undefined;
      this.tracing?.recorded(context, row, kept);
      const failed = row.status === 'failure';
      let logged: LoggedCall | undefined;
      for (const destination of this.destinations) {
        if (failed ? destination.onFailure : destination.onSuccess) destination.queue.enqueue((logged ??= { row, content: kept }));
      }
    } catch {
      // Logging never fails a call; a destination that cannot take the row simply misses it.
    }
  }

  start(): void {
    for (const queue of this.queues()) queue.start();
  }

  snapshot(): DeliveryStats[] {
    return this.queues().map((queue) => queue.snapshot());
  }

  /** Sends what is due now on every destination (tests, shutdown). */
  async flush(): Promise<void> {
    await Promise.all(this.queues().map((queue) => queue.flush(true)));
  }

  async close(): Promise<void> {
    await Promise.all([...this.destinations.map((destination) => destination.queue.close()), this.tracing?.close()]);
  }

  private queues(): Array<DeliveryQueue<unknown>> {
    const queues: Array<DeliveryQueue<unknown>> = this.destinations.map((destination) => destination.queue as DeliveryQueue<unknown>);
    if (this.tracing) queues.push(this.tracing.queue as DeliveryQueue<unknown>);
    return queues;
  }
}

/** Each destination name of the settings that the gateway does not send to, where it is written. */
export function unsupportedCallbacks(settings: CallbackSettings): Array<{ key: keyof CallbackSettings; index: number | undefined; name: string; message: string }> {
  const found: Array<{ key: keyof CallbackSettings; index: number | undefined; name: string; message: string }> = [];
  for (const key of ['callbacks', 'success_callback', 'failure_callback'] as const) {
    const value = settings[key];
    const list = Array.isArray(value) ? value : value === undefined || value === null ? [] : [value];
    list.forEach((name, index) => {
      if (typeof name === 'string' && !BUILT.has(name.trim())) {
        found.push({ key, index: Array.isArray(value) ? index : undefined, name, message: `callback "${name}" is not supported: nothing is sent to it (the gateway sends to ${[...BUILT.keys()].join(', ')})` });
      }
    });
  }
  return found;
}

/** The key's or the request's metadata says `no-log: true`: nothing of the call is sent or traced, and its alerts quote no upstream text. */
export function noLogFor(context: CallContext): boolean {
  return noLog(context.caller.principal?.key.metadata) || noLog(context.requestMetadata);
}

function noLog(metadata: Record<string, unknown> | undefined): boolean {
  const value = metadata?.['no-log'];
  return value === true || value === 'true';
}

function namesOf(value: unknown, key: string): string[] {
  if (value === undefined || value === null) return [];
  const list = Array.isArray(value) ? value : [value];
  return list.map((name) => {
    if (typeof name !== 'string') throw new CallbackProblem(`litellm_settings.${key}: expected callback names (strings), got ${JSON.stringify(name)}`);
    return name.trim();
  });
}
