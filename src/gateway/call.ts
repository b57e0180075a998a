/**
 * One call on its way down the chain of stages (chain.ts), and the stage interface. A stage gets
 * the call as the stages before it left it, and hands `next` an extended copy carrying its own
 * decision (resolution, admission, attempt); it never writes to the copy it was given. The HTTP
 * layer's CallContext travels along unchanged.
 */
import type { Ticket } from '../auth/admission.js';
import type { ReachableModels } from '../auth/reachable-models.js';
import type { GatewayError } from '../errors.js';
import type { GuardrailDefinition } from '../guardrails/definitions.js';
import type { PiiVault } from '../guardrails/pii.js';
import type { CreditTicket } from '../platform/credit-gate.js';
import type { LevelChoice, UpstreamTarget } from '../platform/layer.js';
import type { ModelLimit } from '../platform/model-limits.js';
import type { Deployment } from '../providers/types.js';
import type { ModelGroup } from '../routing/catalog.js';
import type { CallContext, EveryField, GatewayResult, NativeOperation, Operation } from './call-context.js';
import type { ResponseFormat } from './response-format.js';

export interface Call {
  readonly context: CallContext;
  /** The operation on a normalized copy of the client's body; the client's own object is never written. */
  readonly operation: Operation;
  readonly format: ResponseFormat;
  readonly stream: boolean;
  /** The request's messages (or prompt, or input) as JSON; only set when prompts are stored. */
  readonly promptForLog?: string;
  /** The model name as far as resolution got (key alias, power level): named on the row of a call refused early. */
  readonly modelName?: string;
  /** The power level the call runs at (platform layer), once read. */
  readonly level?: LevelChoice;
  /** The agent the call is made for (`agent/<name>`, agents stage): named on its usage row. */
  readonly agent?: string;
  /** The routing rule that applied (stages/rules.ts), named in x-switchboard-rule and on the usage row. */
  readonly rule?: { readonly name: string };
  /** Limits on the models the call may reach beyond the key's lists: its tier's, its rule's. */
  readonly limits?: readonly ModelLimit[];
  readonly resolution?: Resolution;
  /** The region the call must stay in: its stored end user's allowed_model_region (admit stage; routing/region-filter.ts). */
  readonly region?: 'eu' | 'us';
  readonly admission?: AdmissionDecision;
  readonly attempt?: AttemptPlan;
  /** The W3C traceparent this attempt sends upstream (litellm_settings.forward_traceparent_to_llm_provider). */
  readonly traceparent?: string;
  /** What the guardrail stages hand down to the attempt's settlement (stages/guardrails-*.ts). */
  readonly guardrails?: GuardrailRun;
  /**
   * The same request in a provider's own API, for the deployments that serve it natively (a
   * Responses request on OpenAI and Azure OpenAI): the route stage hands an attempt on such a
   * deployment this operation and format instead of the translated ones (stages/native-alternative.ts).
   */
  readonly alternative?: NativeAlternative;
}

/**
 * A new call with every field of Call present, in one order. Stages hand `next` copies made with
 * `{ ...call, field }`; when the field already exists the copy keeps the original's hidden class, so
 * every call on the path has one shape and the stages' reads of it stay monomorphic (a field first
 * added by a spread gave each combination of stages its own shape, and reads like `call.guardrails`
 * went megamorphic: bench/README.md).
 */
export function newCall(fields: Pick<Call, 'context' | 'operation' | 'format' | 'stream'> & Partial<Call>): Call {
  const call: EveryField<Call> = {
    context: fields.context,
    operation: fields.operation,
    format: fields.format,
    stream: fields.stream,
    promptForLog: fields.promptForLog,
    modelName: fields.modelName,
    level: fields.level,
    agent: fields.agent,
    rule: fields.rule,
    limits: fields.limits,
    resolution: fields.resolution,
    region: fields.region,
    admission: fields.admission,
    attempt: fields.attempt,
    traceparent: fields.traceparent,
    guardrails: fields.guardrails,
    alternative: fields.alternative,
  };
  return call as Call;
}

/** A chat call's native form, used per attempt on the deployments `serves` accepts. */
export interface NativeAlternative {
  readonly operation: NativeOperation;
  readonly format: ResponseFormat;
  serves(deployment: Deployment): boolean;
}

/** The guardrail stages' part of a call, read where an answer is settled, before it is released. */
export interface GuardrailRun {
  /** The guardrails that apply to the call (config order). */
  readonly active: readonly GuardrailDefinition[];
  /** The placeholders the pre_call masking handed out, when output_parse_pii puts the values back in the answer. */
  readonly restore?: PiiVault;
  /** The during_call guardrails' verdict on the prompt, checked while the attempt runs: the error that refuses the answer, or undefined. Never rejects. */
  readonly duringCall?: Promise<GatewayError | undefined>;
  /** The post_call guardrails on a JSON answer in the client's format: the body to send, or throws the violation (settled first: the provider billed it). */
  readonly checkAnswer?: (body: string) => Promise<string>;
  /** The violation with which the post_call guardrails cut a streamed answer (stream-check.ts), once they did: the stream's record is that failure. */
  readonly streamRefusal?: () => GatewayError | undefined;
}

/** What the resolve stage decided: the group to route, and every model the call may reach. */
export interface Resolution {
  group: ModelGroup;
  reachable: ReachableModels;
}

/** What the admit stage reserved; both are settled with the call's usage record. */
export interface AdmissionDecision {
  /** The key's limits and budget reservation (virtual keys only). */
  ticket?: Ticket;
  /** The user's credit reservation (platform layer). */
  credits?: CreditTicket;
  /**
   * The completion limit the gateway added to the request copy because a reservation was sized for
   * it (billing/reservation-plan.ts); the client's own request had none.
   */
  outputCap?: { field: string; tokens: number };
}

/** One upstream attempt as the route stage planned it. */
export interface AttemptPlan {
  deployment: Deployment;
  group: ModelGroup;
  retries: number;
  fallbacks: number;
  /** The group the client asked for (before fallbacks). */
  requested: string;
  /** The deployment actually called (a copy on the user's own key for BYOK), and the level charged. */
  target: UpstreamTarget;
}

export type Next = (call: Call) => Promise<GatewayResult>;

/** One concern of the request path; it decides, then hands an extended copy of the call to `next`. */
export type Stage = (call: Call, next: Next) => Promise<GatewayResult>;

/** The stages in order, ending in `last` (the attempt): one function the Gateway calls. Built once, not per call. */
export function compose(stages: readonly Stage[], last: Next): Next {
  let next = last;
  for (let index = stages.length - 1; index >= 0; index--) {
    const stage = stages[index];
    const inner = next;
    next = (call) => stage(call, inner);
  }
  return next;
}

/** Where routing stopped: the last group tried, the last deployment called, retries and fallbacks. */
export interface RouteFacts {
  group: ModelGroup;
  deployment: Deployment | undefined;
  retries: number;
  fallbacks: number;
  requested: string;
  /** The last attempt planned (it fixed the level the call is charged at). */
  lastAttempt: AttemptPlan | undefined;
}

/** A failed call as the stage that gave up saw it. */
export interface Failure {
  call: Call;
  route?: RouteFacts;
}

/**
 * The call as the stage that gave up saw it, kept with the error on its way out, so that the one
 * usage row of a failed call names what was decided before the failure (the group, the deployment,
 * the reservations to release) without any stage writing to shared state.
 */
const failures = new WeakMap<GatewayError, Failure>();

export function failedWith(error: GatewayError, call: Call, route?: RouteFacts): GatewayError {
  failures.set(error, { call, route });
  return error;
}

export function failureOf(error: GatewayError): Failure | undefined {
  return failures.get(error);
}
