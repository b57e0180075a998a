/**
 * The request path as one list of stages (docs/architecture.md). Each stage decides one thing and
 * hands an extended copy of the call to the next; the last one settles and records an attempt.
 * A new capability is one stage file plus one line here.
 */
import { performance } from 'node:perf_hooks';
import type { Next, Stage } from './call.js';
import { compose } from './call.js';
import type { GatewayDependencies } from './dependencies.js';
import type { UsageRecorder } from './record.js';
import { agentStage } from './stages/agent.js';
import { admitStage } from './stages/admit.js';
import { cacheStage } from './stages/cache.js';
import { guardrailPostCallStage } from './stages/guardrails-post.js';
import { guardrailPreCallStage } from './stages/guardrails-pre.js';
import { attemptBytes } from './stages/attempt-bytes.js';
import { attemptJson } from './stages/attempt-json.js';
import { attemptStream } from './stages/attempt-stream.js';
import type { Attempt, Attempted, StreamEnd } from './stages/attempted.js';
import { mockStage } from './stages/mock.js';
import { recordFailuresStage } from './stages/record-failures.js';
import { resolveStage } from './stages/resolve.js';
import { rulesStage } from './stages/rules.js';
import { routeStage } from './stages/route.js';
import { settleStage } from './stages/settle.js';

export function buildChain(deps: GatewayDependencies, recorder: UsageRecorder): Next {
  // The semantic cache embeds prompts through this very chain (cache/embedder.ts).
  let run: Next | undefined;
  const stages: Stage[] = [
    // Goes first: every call's outcome is recorded, and the logging callbacks get each recorded row (record.ts).
    recordFailuresStage(deps.catalog, recorder),
    agentStage(deps.agents), // `agent/<name>`: the agent's model and settings, before rules and allow-lists
    rulesStage(deps), // tier gating and routing rules: limits and the rule's plan for resolve
    resolveStage(deps),
    admitStage(deps),
    guardrailPreCallStage(() => deps.guardrails), // pre_call: the prompt masked or refused before a mock, a cache lookup or any attempt; during_call checks start alongside the attempt
    guardrailPostCallStage(), // post_call: the answer checked where it is settled (JSON) or as it streams; masked PII put back
    mockStage(recorder), // `mock_response`: answered locally once the key may use the model and its limits admit the call
    cacheStage({ cache: deps.cache, recorder, catalog: deps.catalog, router: deps.router, run: () => run! }), // looks up before routing, stores what settle returned
    routeStage(deps),
  ];
  run = compose(stages, settleStage(deps, recorder, attemptOf(deps)));
  return run;
}

/**
 * One attempt: JSON, or an opened stream; traced as one span when the otel callback is on. A JSON
 * attempt's span ends with its answer; a stream's when the stream ends (or is cut or left, or a
 * during_call guardrail refuses it before it is relayed), with the usage, finish reasons and time to
 * first chunk of that attempt.
 */
function attemptOf(deps: GatewayDependencies): Attempt {
  const attempt: Attempt = (call) => {
    if (call.operation.kind === 'native' && call.operation.bytes) return attemptBytes(deps, call);
    return call.stream ? attemptStream(deps, call) : attemptJson(deps, call);
  };
  const callbacks = deps.callbacks;
  if (!callbacks?.tracesAttempts) return attempt;
  return async (call) => {
    const traced = callbacks.attemptStarted(call);
    const startedAt = performance.now();
    let attempted: Attempted;
    try {
      attempted = await attempt(traced.traceparent ? { ...call, traceparent: traced.traceparent } : call);
    } catch (error) {
      traced.end(error);
      throw error;
    }
    if (attempted.kind === 'json') {
      traced.end(attempted.refused, { usage: attempted.usage, finishReasons: traceFacts(() => finishReasonsOf(attempted.parsed)), stream: false });
      return attempted;
    }
    const ended = async (ending: Promise<StreamEnd>): Promise<StreamEnd> => {
      let end: StreamEnd;
      try {
        end = await ending;
      } catch (error) {
        traced.end(error, { usage: undefined, finishReasons: undefined, stream: true, aborted: true });
        throw error;
      }
      // firstChunkAt counts from the call's start; the span's from the attempt's.
      const firstChunk = end.firstChunkAt > 0 ? Math.max(0, end.firstChunkAt - (startedAt - call.context.startedAt)) : undefined;
      traced.end(end.error, { usage: end.usage, finishReasons: traceFacts(() => end.finishReasons()), timeToFirstTokenMs: firstChunk, stream: true, aborted: end.aborted });
      return end;
    };
    const { relay, discard } = attempted;
    // One literal (a property set on the copy afterwards made V8 collect several times as often:
    // bench/README.md). A stream a during_call guardrail refused ends its span too, as cut.
    return { ...attempted, relay: (response) => ended(relay(response)), discard: discard && ((error) => ended(discard(error))) };
  };
}

/** What a trace reads of an answer, never an error that fails the call: the answer was given and is billed whatever it holds. */
function traceFacts<T>(read: () => T): T | undefined {
  try {
    return read();
  } catch {
    return undefined;
  }
}

/** The finish reasons of an OpenAI-shaped answer (`choices[].finish_reason`). */
function finishReasonsOf(parsed: unknown): string[] | undefined {
  const choices = (parsed as { choices?: unknown } | null)?.choices;
  if (!Array.isArray(choices)) return undefined;
  // An upstream's choices may hold anything (null included): only a string finish reason counts.
  const reasons = choices.map((choice) => (choice !== null && typeof choice === 'object' ? (choice as { finish_reason?: unknown }).finish_reason : undefined)).filter((reason): reason is string => typeof reason === 'string');
  return reasons.length > 0 ? reasons : undefined;
}
