/**
 * Admit: a virtual key's limits and budget/tpm reservation (auth/admission.ts), then the user's
 * credit reservation (platform layer), both bounded over every deployment the call may reach.
 * Both are settled with the call's usage record. When a reservation was sized for an output the
 * gateway chose (the client set no max_tokens; billing/reservation-plan.ts), next gets a request
 * copy capped at that output, so the provider cannot bill past what was reserved.
 */
import { estimatedTokens } from '../../billing/token-estimate.js';
import { formatUsd } from '../../billing/cost.js';
import { outputCapField, reservationPlan, withOutputCap, withoutOutputCap, type ReservationPlan } from '../../billing/reservation-plan.js';
import { ownKeysServe } from '../../platform/byok.js';
import { formatCredits } from '../../platform/credit-gate.js';
import { creditCostMillicredits } from '../../platform/credits.js';
import type { Deployment } from '../../providers/types.js';
import type { EndUserRecord, KeyRecord } from '../../auth/principals.js';
import type { ModelBudgetScope, Ticket } from '../../auth/admission.js';
import type { AllowedRegion } from '../../routing/region-filter.js';
import { GatewayError, toGatewayError } from '../../errors.js';
import type { CallContext, Operation } from '../call-context.js';
import { costInputOf } from '../cost-input.js';
import { failedWith, type AdmissionDecision, type Call, type Stage } from '../call.js';
import type { GatewayDependencies } from '../dependencies.js';

export function admitStage(deps: Pick<GatewayDependencies, 'admission' | 'platform' | 'customers'> & { settings?: Pick<GatewayDependencies['settings'], 'reservationOutputTokens' | 'maxEndUserBudgetMicros'> }): Stage {
  const { admission, platform, customers } = deps;
  if (!admission && !platform) return (call, next) => next(call);
  return async (callIn, next) => {
    let call = callIn;
    const principal = call.context.caller.principal;
    const defaultBudget = deps.settings?.maxEndUserBudgetMicros;
    let endUser = await storedEndUser(customers, call, defaultBudget);
    // An end user without a row yet, held to the default budget: its row is created once the key's own limits admitted the call.
    const unstored = endUser === undefined && defaultBudget !== undefined && admission !== undefined && customers !== undefined && !!call.context.endUser;
    if (endUser?.allowedModelRegion) call = { ...call, region: regionOf(endUser, call) };
    // The master key's calls are admitted only to count their spend toward a proxy-wide budget (admission.ts).
    if (!principal && !endUser && !unstored && !admission?.countsEveryCall) return next(call);
    let decision: AdmissionDecision = {};
    // Read per call: a hot reload changes the settings in place.
    const allowance = deps.settings?.reservationOutputTokens;
    const deployments = call.resolution!.reachable.deployments();
    // A provider-native call is relayed as sent: it reserves its worst case, uncapped (cost-input.ts).
    const input = costInputOf(call.operation);
    try {
      if (admission) {
        const plan = reservationPlan(input, deployments, allowance);
        const reachable = call.resolution!.reachable;
        // The key's model_max_budget, model_rpm_limit and model_tpm_limit cover every model the call may be served by (requested group and fallbacks).
        const models = principal && hasPerModelLimits(principal.key)
          ? { reachable: reachable.groups().flatMap((group) => group.available.map((deployment) => ({ group: group.name, provider: deployment.provider, upstreamModel: deployment.upstreamModel, baseModel: deployment.modelInfo.base_model }))), aliasTarget: (name: string) => reachable.aliasTarget(name), sameModelGroups: (group: string) => reachable.sameModelGroups(group) }
          : undefined;
        const tokens = estimatedTokens(input, plan.promptBound);
        if (unstored) {
          const created = await admitCreating(admission, customers!, call, defaultBudget!, plan, tokens, models);
          decision = { ticket: created.ticket };
          endUser = created.endUser;
          if (endUser?.allowedModelRegion) call = { ...call, region: regionOf(endUser, call) };
        } else decision = { ticket: await admission.admit(principal, call.context.callId, plan, tokens, endUser, models) };
      }
      if (platform && principal) decision = { ...decision, credits: await platform.reserveCredits(principal, input, deployments, call.level!, decision.ticket?.outputCap ?? allowance) };
    } catch (caught) {
      throw failedWith(toGatewayError(caught), { ...call, admission: decision });
    }
    const cap = decision.credits?.outputCap ?? decision.ticket?.outputCap;
    if (cap === undefined || call.operation.kind === 'embeddings' || call.operation.kind === 'native') return next({ ...call, admission: decision });
    const field = outputCapField(input.kind, deployments);
    const operation = { ...call.operation, request: withOutputCap(call.operation.request, cap, field) } as Operation;
    return next({ ...call, operation, admission: { ...decision, outputCap: { field, tokens: cap } } });
  };
}

/**
 * The stored customer the call is made for, if any; a blocked one is refused with 403 (as
 * LiteLLM). An end user without a row is only recorded (its spend is on the usage rows), not
 * created: ids are the client's to choose, and storing each would let any client grow the table —
 * unless the operator set a default end-user budget (litellm_settings.max_end_user_budget,
 * `defaultBudgetMicros`): then its row is created on its first call, as LiteLLM does, to keep its
 * spend on, and an end user without a budget of its own (none set, no budget object linked) is held
 * to the default for its whole life.
 */
async function storedEndUser(customers: GatewayDependencies['customers'], call: Call, defaultBudgetMicros: number | undefined): Promise<EndUserRecord | undefined> {
  try {
    return await endUserOf(customers, call.context, defaultBudgetMicros);
  } catch (caught) {
    throw failedWith(caught as GatewayError, call);
  }
}

/**
 * Admission of a call for an end user held to the default budget whose row does not exist yet: the
 * key's own limits (rpm_limit, budget, …) first, so a call they refuse creates no row — each new id
 * costs a row only for a call the key admitted, and the key's rpm_limit bounds how fast a client can
 * grow the table —, then the row is created (insert-or-keep) and the end user's budget reserved
 * against it, under the same counter every later call uses. One ticket settles both.
 */
async function admitCreating(admission: NonNullable<GatewayDependencies['admission']>, customers: NonNullable<GatewayDependencies['customers']>, call: Call, defaultBudgetMicros: number, plan: ReservationPlan, tokens: number, models: ModelBudgetScope | undefined): Promise<{ ticket: Ticket; endUser: EndUserRecord | undefined }> {
  const { context } = call;
  const keyTicket = await admission.admit(context.caller.principal, context.callId, plan, tokens, undefined, models);
  let endUser: EndUserRecord | undefined;
  let endUserTicket: Ticket | undefined;
  try {
    endUser = await endUserOf(customers, context, defaultBudgetMicros, true);
    // The end user's budget alone: the key's admission above already counts the call toward the proxy-wide budget.
    if (endUser) endUserTicket = await admission.admit(undefined, `${context.callId}:end-user`, plan, tokens, endUser, undefined, false);
  } catch (caught) {
    keyTicket.settle(0, 0);
    throw caught;
  }
  if (!endUserTicket) return { ticket: keyTicket, endUser };
  const second = endUserTicket;
  const caps = [keyTicket.outputCap, second.outputCap].filter((cap): cap is number => cap !== undefined);
  const ticket: Ticket = {
    headers: { ...second.headers, ...keyTicket.headers },
    outputCap: caps.length > 0 ? Math.min(...caps) : undefined,
    holdsMoney: keyTicket.holdsMoney === true || second.holdsMoney === true,
    extend: async (micros) => (await keyTicket.extend(micros)) && second.extend(micros),
    extendTokens: async (tokens) => (await keyTicket.extendTokens?.(tokens)) ?? second.extendTokens?.(tokens),
    settle: (costMicros, used, served) => {
      second.settle(costMicros, used, served);
      return keyTicket.settle(costMicros, used, served);
    },
  };
  return { ticket, endUser };
}

async function endUserOf(customers: GatewayDependencies['customers'], context: CallContext, defaultBudgetMicros: number | undefined, create = false): Promise<EndUserRecord | undefined> {
  const id = context.endUser;
  if (!id || !customers) return undefined;
  let record: EndUserRecord | null;
  try {
    record = await customers.resolve(id, create);
  } catch (caught) {
    throw new GatewayError('limits_unavailable', `the gateway cannot check end user "${id}" right now (${(caught as Error).message}); retry shortly`, { retryAfterSeconds: 1, headers: { 'retry-after': '1' } });
  }
  if (record?.blocked) throw new GatewayError('permission_denied', `End User=${id} is blocked. Let your admin know, if you think this is a mistake.`);
  if (record && defaultBudgetMicros !== undefined && record.maxBudgetMicros === null && (record.budgetId ?? null) === null) return { ...record, maxBudgetMicros: defaultBudgetMicros };
  return record ?? undefined;
}

/**
 * Admission of a call that carries no price (a pass-through endpoint, http/routes/pass-through.ts):
 * the rate limits of the key, its user and team and the stored customer it is made for —
 * rpm_limit, max_parallel_requests, tpm_limit (the answer's tokens, counted when it settles) —
 * count it like any other call, and a blocked customer is refused. Nothing can be reserved against
 * a budget, so a customer held to one is refused (as the route refuses keys held to money). The
 * ticket must be settled when the call ends; undefined when no limit applies.
 */
export async function admitUnpriced(deps: Pick<GatewayDependencies, 'admission' | 'customers'> & { settings?: Pick<GatewayDependencies['settings'], 'maxEndUserBudgetMicros'> }, context: CallContext): Promise<Ticket | undefined> {
  const principal = context.caller.principal;
  const defaultBudget = deps.settings?.maxEndUserBudgetMicros;
  const endUser = await endUserOf(deps.customers, context, defaultBudget);
  // An end user without a row is held to the default budget when one is set: refused without creating its row.
  const held = endUser ? endUser.maxBudgetMicros !== null || (endUser.budgetId ?? null) !== null : defaultBudget !== undefined && !!context.endUser && deps.customers !== undefined;
  if (held) {
    throw new GatewayError('permission_denied', `pass-through endpoints carry no price, so a call for end user "${endUser?.userId ?? context.endUser}", who is held to a budget, cannot be made through them (every call it makes must be charged)`);
  }
  if (!deps.admission || (!principal && !endUser)) return undefined;
  return deps.admission.admit(principal, context.callId, 0, 0, endUser);
}

/** The customer's allowed_model_region; a stored value this version cannot hold calls to is refused, never ignored. */
function regionOf(endUser: EndUserRecord, call: Call): AllowedRegion {
  const region = endUser.allowedModelRegion;
  if (region === 'eu' || region === 'us') return region;
  throw failedWith(new GatewayError('permission_denied', `End User=${endUser.userId} has allowed_model_region "${region}", which is not a region calls can be held to ("eu" or "us"); update the customer`), call);
}

/** Whether a key has per-model budgets or rate limits (the call's reachable models are then worked out for admission). */
function hasPerModelLimits(key: KeyRecord): boolean {
  return some(key.modelMaxBudget) || some(key.modelRpmLimit) || some(key.modelTpmLimit);
}

function some(entries: Readonly<Record<string, unknown>> | undefined): boolean {
  if (entries === undefined) return false;
  for (const _ in entries) return true;
  return false;
}

/**
 * A request a pre_call guardrail rewrote after admission (guardrails-pre.ts: a generic_guardrail_api
 * answering GUARDRAIL_INTERVENED, PII placeholders): the reservations were sized for the request as
 * admitted, and the rewritten one may read far more (an API that adds a 40 KB preamble to a 5-byte
 * prompt). Each reservation grows by what the rewrite adds to the bound admission computed — its
 * budget holds (key, user, team, end user, model_max_budget, proxy-wide) and the user's credits by
 * the largest increase of the cost bound on any deployment the call may reach (the credits on those
 * the user's own keys do not serve), its tpm windows by the increase of the token estimate — or,
 * when one cannot hold it, the call is refused before any upstream call with admission's refusal
 * (400 `budget_exceeded`, 402 `insufficient_credits`, 429 `rate_limit_exceeded`); its record then
 * settles the reservations, charging nothing. `admitted`: the call as admission handed it on (its
 * operation carries the output cap admission set, which the rewrite keeps); `by`: the guardrails
 * that rewrote it.
 */
export async function reserveRewrite(admitted: Call, rewritten: Operation, by: readonly string[]): Promise<void> {
  const decision = admitted.admission;
  const ticket = decision?.ticket;
  const credits = decision?.credits;
  if (!decision || (!ticket && !credits) || rewritten === admitted.operation) return;
  const who = by.length > 0 ? `guardrail${by.length > 1 ? 's' : ''} ${by.map((name) => `"${name}"`).join(', ')}` : 'a guardrail';
  const before = costInputOf(admitted.operation);
  const after = costInputOf(rewritten);
  if (ticket?.extendTokens) {
    const tokens = estimatedTokens(after) - estimatedTokens(before);
    if (tokens > 0) {
      const refused = await ticket.extendTokens(tokens);
      if (refused) throw new GatewayError(refused.code, `${who} rewrote the prompt after the call was admitted, adding about ${tokens} tokens to its estimate: ${refused.message}`, { retryAfterSeconds: refused.retryAfterSeconds, headers: refused.headers });
    }
  }
  const deployments = admitted.resolution?.reachable.deployments() ?? [];
  if (ticket?.holdsMoney === true) {
    const micros = boundIncrease(admitted.operation, rewritten, decision.outputCap, deployments);
    if (micros > 0 && !(await ticket.extend(micros))) {
      throw new GatewayError('budget_exceeded', `Budget has been exceeded: ${who} rewrote the prompt after the call was admitted, and the rewritten request may cost up to $${formatUsd(micros)} more than was reserved for it, which a budget holding this call (its key's, user's, team's, end user's, a model_max_budget entry's or the proxy-wide one) cannot hold; the call was not made and nothing was charged — send a shorter request or wait for requests in flight to finish`);
    }
  }
  if (credits) {
    const payable = deployments.filter((deployment) => !ownKeysServe(credits.ownKeys, deployment));
    const micros = boundIncrease(admitted.operation, rewritten, decision.outputCap, payable);
    if (micros > 0 && !(await credits.extend([{ costMicros: micros, level: credits.level }]))) {
      const more = creditCostMillicredits(micros, credits.rate);
      throw new GatewayError('insufficient_credits', `Insufficient credits: ${who} rewrote the prompt after the call was admitted, and the rewritten request may cost up to ${formatCredits(more)} credits more than were reserved for it, which user "${credits.userId}"'s balance cannot cover; the call was not made and nothing was charged. Add credits (POST /api/v1/llm/credits/add), send a shorter request or choose a cheaper power level.`);
    }
  }
}

/**
 * How much more than `admitted` the `rewritten` request may cost, by the bound admission reserved
 * (reservation-plan.ts, on the request as the client sent it and at the output cap admission set):
 * the largest increase on any one deployment, so that it covers every reservation made over these
 * deployments or some of them (the dearest after the rewrite may not be the dearest before).
 */
function boundIncrease(admitted: Operation, rewritten: Operation, cap: { field: string; tokens: number } | undefined, deployments: readonly Deployment[]): number {
  const uncapped = (operation: Operation) => costInputOf(cap ? ({ ...operation, request: withoutOutputCap(operation.request, cap) } as Operation) : operation);
  const before = uncapped(admitted);
  const after = uncapped(rewritten);
  let most = 0;
  for (const deployment of deployments) {
    const increase = reservationPlan(after, [deployment]).costMicros(cap?.tokens) - reservationPlan(before, [deployment]).costMicros(cap?.tokens);
    most = Math.max(most, increase);
  }
  return most;
}
