/**
 * The logging callbacks (litellm_settings.callbacks / success_callback / failure_callback): each
 * configured destination gets every recorded call's usage row through its own bounded delivery
 * queue (delivery-queue.ts), after the row is recorded and off the request path; `otel` traces
 * every call (otel.ts) through a queue of its own. `callbacks`
 * destinations get every call, `success_callback` ones the successes, `failure_callback` ones the
 * failures. A key (or request) whose metadata says `no-log: true` is sent nowhere;
 * redact_user_api_key_info leaves the key, user and team out of what is sent. The top-level
 * `callback_settings: {<name>: {message_logging: false}}` (LiteLLM's CustomLogger switch) keeps the
 * prompt and the answer from that one destination while the others still get them.
 */
import type { Logger } from 'pino';
import type { UsageLogRow } from '../../storage/schema.js';
import { DeliveryQueue, type DeliveryStats } from './delivery-queue.js';
import { genericApiSender, genericApiSettingsFrom } from './generic-api.js';
import { langfuseSender, langfuseSettingsFrom, LANGFUSE_DEFAULT_TAGS, langfuseDefaultTagsOf } from './langfuse.js';
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
  langfuse_default_tags?: unknown;
  /** The config's top-level callback_settings (LiteLLM's per-callback settings). */
  callback_settings?: unknown;
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
  /** The destination gets the call's content (callback_settings.<name>.message_logging not false). */
  content: boolean;
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
    /** Message content reaches some callback (turn_off_message_logging not set, and not every callback_settings message_logging false). */
    readonly messageLogging: boolean,
    /** The otel spans carry the content (callback_settings.otel.message_logging not false). */
    private readonly tracingContent: boolean,
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
    const contentOff = messageLoggingOff(settings.callback_settings);
    const destinations: Destination[] = [];
    let tracing: OtelTracing | undefined;
    for (const [name, when] of wanted) {
      // A destination without its settings (an unset variable) is warned about and skipped, so a
      // LiteLLM config whose logging secrets are not set here still starts.
      try {
        // Traces cover every call, whichever list names otel.
        if (name === 'otel') tracing = new OtelTracing(otelSettingsFrom(env), logger, tuning, { redact, forwardTraceparent: settings.forward_traceparent_to_llm_provider === true });
        else {
          const send = name === 'langfuse' ? langfuseSender(langfuseSettingsFrom(env), { redact, defaultTags: langfuseDefaultTagsOf(settings.langfuse_default_tags, env, logger) }) : genericApiSender(genericApiSettingsFrom(env), { redact });
          destinations.push({ ...when, content: !contentOff.has(name), queue: new DeliveryQueue({ destination: name, send, logger, ...tuning }) });
        }
      } catch (error) {
        logger.warn({ callback: name }, `${(error as Error).message}: nothing is sent to the ${name} callback`);
      }
    }
    if (settings.forward_traceparent_to_llm_provider === true && !tracing) logger.warn('forward_traceparent_to_llm_provider needs the otel callback (with OTEL_EXPORTER_OTLP_ENDPOINT): no traceparent is sent upstream');
    if (destinations.length === 0 && !tracing) return undefined;
    const tracingContent = tracing !== undefined && !contentOff.has('otel');
    const anyContent = tracingContent || destinations.some((destination) => destination.content);
    return new Callbacks(destinations, tracing, settings.turn_off_message_logging !== true && anyContent, tracingContent);
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
      this.tracing?.recorded(context, row, this.tracingContent ? kept : undefined);
      const failed = row.status === 'failure';
      let logged: LoggedCall | undefined;
      let bare: LoggedCall | undefined;
      for (const destination of this.destinations) {
        if (failed ? destination.onFailure : destination.onSuccess) destination.queue.enqueue(destination.content ? (logged ??= { row, content: kept }) : (bare ??= { row, content: undefined }));
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

/** Fields LiteLLM reads under each callback's name in callback_settings that the gateway honours. */
const CALLBACK_SETTING_FIELDS = new Set(['message_logging']);

/** The destinations whose callback_settings say `message_logging: false`. */
function messageLoggingOff(value: unknown): Set<string> {
  const off = new Set<string>();
  if (value === null || typeof value !== 'object' || Array.isArray(value)) return off;
  for (const [name, entry] of Object.entries(value as Record<string, unknown>)) {
    const destination = BUILT.get(name.trim());
    const flag = entry !== null && typeof entry === 'object' ? (entry as Record<string, unknown>).message_logging : undefined;
    if (destination && (flag === false || flag === 'false' || flag === 'False')) off.add(destination);
  }
  return off;
}

/**
 * What the gateway does not honour in callback_settings and langfuse_default_tags, at the path it is
 * written (load.ts warns about each): a callback name it does not send to, a field other than
 * message_logging, a message_logging that is not a boolean, a default tag it has no value for.
 */
export function callbackSettingsProblems(callbackSettings: unknown, litellmSettings: CallbackSettings): Array<{ path: Array<string | number>; message: string }> {
  const problems: Array<{ path: Array<string | number>; message: string }> = [];
  if (callbackSettings !== undefined && callbackSettings !== null) {
    if (typeof callbackSettings !== 'object' || Array.isArray(callbackSettings)) problems.push({ path: ['callback_settings'], message: 'callback_settings must map callback names to their settings: it is ignored' });
    else {
      for (const [name, entry] of Object.entries(callbackSettings as Record<string, unknown>)) {
        if (!BUILT.has(name.trim())) {
          problems.push({ path: ['callback_settings', name], message: `callback_settings for "${name}" are ignored: the gateway sends to ${[...BUILT.keys()].join(', ')} only` });
          continue;
        }
        if (entry === null || typeof entry !== 'object' || Array.isArray(entry)) {
          problems.push({ path: ['callback_settings', name], message: `callback_settings.${name} must be a mapping (message_logging: false): it is ignored` });
          continue;
        }
        for (const [field, setting] of Object.entries(entry as Record<string, unknown>)) {
          if (!CALLBACK_SETTING_FIELDS.has(field)) problems.push({ path: ['callback_settings', name, field], message: `callback_settings.${name}.${field} is not supported: ignored (only message_logging is read)` });
          else if (typeof setting !== 'boolean' && setting !== 'true' && setting !== 'false' && setting !== 'True' && setting !== 'False') problems.push({ path: ['callback_settings', name, field], message: `callback_settings.${name}.message_logging must be true or false: ${JSON.stringify(setting)} is ignored` });
        }
      }
    }
  }
  const tags = litellmSettings.langfuse_default_tags;
  if (tags !== undefined && tags !== null) {
    if (!Array.isArray(tags)) problems.push({ path: ['litellm_settings', 'langfuse_default_tags'], message: 'langfuse_default_tags must be a list of tag names: it is ignored' });
    else {
      tags.forEach((tag, index) => {
        if (typeof tag === 'string' && LANGFUSE_DEFAULT_TAGS.has(tag)) return;
        const why = typeof tag === 'string' && UNFILLED_TAGS.has(tag) ? UNFILLED_TAGS.get(tag) : 'not a tag LiteLLM fills';
        problems.push({ path: ['litellm_settings', 'langfuse_default_tags', index], message: `langfuse default tag ${JSON.stringify(tag)} is not added to Langfuse traces: ${why} (the gateway adds ${[...LANGFUSE_DEFAULT_TAGS].join(', ')})` });
      });
    }
  }
  return problems;
}

/** LiteLLM's default tags the gateway has no value for, and why. */
const UNFILLED_TAGS = new Map<string, string>([
  ['cache_key', 'the gateway does not report its cache keys'],
  ['semantic-similarity', 'there is no semantic cache'],
  ['user_api_key_user_email', "usage rows do not keep the user's email"],
  ['user_api_key_team_alias', "usage rows do not keep the team's alias"],
]);

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
