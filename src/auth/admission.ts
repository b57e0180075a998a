/**
 * Admits a virtual key's request against the key's, its user's and its team's limits — and the
 * end user's it is made for, when that is a stored customer (the most restrictive applies, because
 * each is checked): rpm (sliding minute, counted at admission), tpm
 * (real tokens of the last minute plus the estimates held by requests in flight, reserved
 * atomically at admission and replaced by the real count when the call settles), requests in
 * flight, and budgets by reservation — the request's maximum cost is reserved atomically before
 * the upstream call and the exact cost settled after (in full, even past the reservation), so no
 * amount of concurrency, on any number of replicas, pushes spend past a budget.
 */
import type { Logger } from 'pino';
import { formatUsd } from '../billing/cost.js';
import { noteOverrun, type OverrunListener } from '../billing/reservation-overrun.js';
import { SharedStateUnavailable } from '../state/resilient-limits-state.js';
import { GatewayError } from '../errors.js';
import { requestRefund, type AcquireOutcome, type BudgetHold, type LimitsState, type ParallelOutcome, type RateLimit, type RateWindow } from '../state/limits-state.js';
import type { ResolvedKey } from './key-directory.js';
import { addTokenHeaders, fullMinuteRefusal, reserveTokens, tooLargeRefusal } from './token-reservation.js';
import { budgetRefusalDetail, reserveWithinBudget } from './budget-reservation.js';
import { fixedPlan, MINIMUM_ANSWER_TOKENS, unpricedCallRefusal, type ReservationPlan } from '../billing/reservation-plan.js';
import { currentPeriod, spendThisPeriod, type EndUserRecord, type Limits as HolderLimits, type LimitSubject } from './principals.js';
import { KeySpendTally } from './key-spend.js';
import { modelRateEntry, modelRateSubject } from './model-rate-limits.js';
import { entriesFor, modelBudgetPeriod, modelSpendThisPeriod, type ModelBudgets, type ServedModel } from './model-budgets.js';

/** A holder's spend of its budget period after a call settled (budget alerts). */
export interface SettledSpend {
  kind: LimitSubject['kind'];
  id: string;
  /** How the holder is named in words: key "alias" (or its prefix), team "id", … */
  name: string;
  /** Budget period start (0 when the budget never resets). */
  period: number;
  spentMicros: number;
  maxBudgetMicros: number | null;
  softBudgetMicros: number | null;
  /** A request was refused because not even a minimal call fits in what this holder's budget has left. */
  exhausted: boolean;
}
export type SpendListener = (spend: SettledSpend) => void;

export interface Ticket {
  /** x-ratelimit-* and budget warning headers, for every response to the call. */
  readonly headers: Record<string, string>;
  /**
   * Output tokens per choice the budget reservation was sized for, when the gateway chose them (the
   * client set no max_tokens and a hard budget applies): the call must be capped there upstream.
   */
  readonly outputCap?: number;
  /** Some hard budget holds the call (its key's, user's, team's, end user's, per-model or the proxy-wide one): its reservation bounds what it may bill. */
  readonly holdsMoney?: boolean;
  /**
   * Releases the reservation and in-flight slot; charges the exact cost and counts the tokens.
   * `served`: the model that answered, whose model_max_budget entries (if the key has any) are
   * charged; the other entries reserved at admission are released. Returns the entries charged.
   */
  settle(costMicros: number | undefined, tokens: number, served?: ServedModel): readonly string[];
  /**
   * Reserves `micros` more on the call's budget holds before another attempt, when an attempt that
   * failed was billed (a prompt read and abandoned, an answer that could not be read) out of what
   * was reserved: true when every holder's budget holds it (the settle then gives it back with the
   * rest), false when one does not or the limits store does not answer — no further attempt is made.
   */
  extend(micros: number): Promise<boolean>;
  /**
   * Holds `tokens` more on the call's tpm windows (its key's, user's, team's, end user's and the
   * key's model_tpm_limit entries) once its prompt grew after admission (a pre_call guardrail
   * rewrote it: guardrails-pre.ts): undefined when every window has room for them (the settle gives
   * them back, the call's real tokens counted as always), else the refusal admission would have
   * given — 429 `rate_limit_exceeded` — and nothing more is held. Absent: the call holds no tpm window.
   */
  extendTokens?(tokens: number): Promise<GatewayError | undefined>;
}

/** The models a call may be served by, for the key's per-model budgets (model_max_budget). */
export interface ModelBudgetScope {
  /** Every (group, deployment) the call may reach: the requested group and each fallback. */
  reachable: ServedModel[];
  /** The group a name sends calls to through the key's aliases and model_group_alias. */
  aliasTarget: (name: string) => string | undefined;
  /** The configured groups calling the upstream model a wildcard group (by name) serves; none for a configured group. */
  sameModelGroups?: (group: string) => readonly string[];
}

/** The counter of one model_max_budget entry of a key: beside the key's own, named by the entry. */
export function modelBudgetSubjectName(key: { id: string; createdAt: number }, entry: string): string {
  return `${budgetSubjectName({ kind: 'key', id: key.id, limits: key })}|model:${entry}`;
}

interface ModelHold {
  entry: string;
  hold: BudgetHold;
}

const NO_ENTRIES: readonly string[] = [];

/** The "budget" of a holder with only a soft budget: never reached, but its spend is counted. */
const UNLIMITED_MICROS = Number.MAX_SAFE_INTEGER;

function subjectsOf(resolved: ResolvedKey | undefined, endUser: EndUserRecord | undefined, proxy: HolderLimits | undefined): LimitSubject[] {
  const subjects: LimitSubject[] = [];
  if (resolved) {
    subjects.push({ kind: 'key', id: resolved.key.id, limits: resolved.key });
    if (resolved.user) subjects.push({ kind: 'user', id: resolved.user.userId, limits: resolved.user });
    if (resolved.team) subjects.push({ kind: 'team', id: resolved.team.teamId, limits: resolved.team });
    // The proxy-wide budget holds every virtual key's call.
    if (proxy) subjects.push({ kind: 'proxy', id: 'proxy', limits: proxy });
  } else if (proxy) {
    // The master key is not held to it (as in LiteLLM), but what it spends counts on the same counter.
    subjects.push({ kind: 'proxy', id: 'proxy', limits: proxy, countOnly: true });
  }
  // The end user the call is made for (a stored customer): held to its own limits like the key's.
  if (endUser) subjects.push({ kind: 'customer', id: endUser.userId, limits: endUser });
  return subjects;
}

function subjectName(subject: LimitSubject): string {
  return `${subject.kind}:${subject.id}`;
}

/**
 * The name of a holder's budget counter. It includes the holder's creation time, so that a user or
 * team deleted and created again under the same id starts from nothing instead of inheriting the
 * old counter (kept in memory, or in Redis for days).
 */
export function budgetSubjectName(subject: Pick<LimitSubject, 'kind' | 'id'> & { limits: Pick<LimitSubject['limits'], 'createdAt'> }): string {
  return `${subject.kind}:${subject.id}@${subject.limits.createdAt}`;
}

function describe(subject: LimitSubject, resolved: ResolvedKey | undefined): string {
  if (subject.kind === 'key' && resolved) return resolved.key.alias ? `key "${resolved.key.alias}"` : `key ${resolved.key.prefix}`;
  if (subject.kind === 'customer') return `end user "${subject.id}"`;
  if (subject.kind === 'proxy') return 'the proxy-wide budget (litellm_settings.max_budget)';
  return `${subject.kind} "${subject.id}"`;
}

function resetText(ms: number): string {
  return `${Math.max(0, Math.ceil(ms / 1000))}s`;
}

interface Limits {
  rpm: RateLimit[];
  tpm: RateLimit[];
  parallel: RateLimit[];
  holds: BudgetHold[];
  /** Some hold has a real max_budget (not only a soft budget). */
  hardLimit: boolean;
  /** The holds (also in `holds`) of the key's model_max_budget entries the call may reach. */
  modelHolds: ModelHold[];
  /** The subjects of `tpm` and `parallel`, as settlement names them (built once per call, not per settle). */
  tpmSubjects: string[];
  parallelSubjects: string[];
  /** The index in `holds` of the key's own budget counter, -1 when it has none. */
  keyHold: number;
}

function limitsOf(subjects: LimitSubject[], now: number, resolved?: ResolvedKey, models?: ModelBudgetScope): Limits {
  const rpm: RateLimit[] = [];
  const tpm: RateLimit[] = [];
  const parallel: RateLimit[] = [];
  const holds: BudgetHold[] = [];
  let hardLimit = false;
  let keyHold = -1;
  for (const subject of subjects) {
    const { limits } = subject;
    if (limits.rpmLimit !== null || limits.tpmLimit !== null || limits.maxParallelRequests !== null) {
      const name = subjectName(subject);
      if (limits.rpmLimit !== null) rpm.push({ subject: name, limit: limits.rpmLimit });
      if (limits.tpmLimit !== null) tpm.push({ subject: name, limit: limits.tpmLimit });
      if (limits.maxParallelRequests !== null) parallel.push({ subject: name, limit: limits.maxParallelRequests });
    }
    // A soft budget needs the live spend too, so its holder gets a counter even without a hard budget.
    if (limits.maxBudgetMicros !== null || limits.softBudgetMicros !== null) {
      // The key is the first subject when there is one (subjectsOf).
      if (resolved && subject === subjects[0]) keyHold = holds.length;
      holds.push({ subject: budgetSubjectName(subject), period: currentPeriod(limits, now), maxMicros: subject.countOnly ? UNLIMITED_MICROS : limits.maxBudgetMicros ?? UNLIMITED_MICROS, baselineMicros: spendThisPeriod(limits, now) });
    }
    if (limits.maxBudgetMicros !== null && !subject.countOnly) hardLimit = true;
  }
  // The key's per-model rate limits: a window per entry covering any model the call may be served by.
  const key = resolved?.key;
  if (key && models) {
    for (const entry of coveredEntries(key.modelRpmLimit, models)) rpm.push({ subject: modelRateSubject(key.id, entry), limit: key.modelRpmLimit![entry] });
    for (const entry of coveredEntries(key.modelTpmLimit, models)) tpm.push({ subject: modelRateSubject(key.id, entry), limit: key.modelTpmLimit![entry] });
  }
  // The key's per-model budgets: one hold per entry covering any model the call may be served by.
  const modelHolds: ModelHold[] = [];
  const budgets = resolved?.key.modelMaxBudget;
  if (resolved && budgets && models && Object.keys(budgets).length > 0) {
    const entries = new Set(models.reachable.flatMap((served) => entriesFor(budgets, served, models.aliasTarget, models.sameModelGroups?.(served.group))));
    for (const entry of entries) {
      const hold = modelHoldOf(resolved, budgets, entry, now);
      holds.push(hold);
      modelHolds.push({ entry, hold });
      hardLimit = true;
    }
  }
  return { rpm, tpm, parallel, holds, hardLimit, modelHolds, tpmSubjects: tpm.map((limit) => limit.subject), parallelSubjects: parallel.map((limit) => limit.subject), keyHold };
}

/** The entries of a key's per-model map that cover some model the call may be served by. */
function coveredEntries(entries: Readonly<Record<string, unknown>> | undefined, models: ModelBudgetScope): Set<string> {
  if (!entries || Object.keys(entries).length === 0) return new Set();
  return new Set(models.reachable.flatMap((served) => entriesFor(entries, served, models.aliasTarget, models.sameModelGroups?.(served.group))));
}

function modelHoldOf(resolved: ResolvedKey, budgets: ModelBudgets, entry: string, now: number): BudgetHold {
  const { key } = resolved;
  const period = modelBudgetPeriod(budgets[entry], key.createdAt, now);
  return { subject: modelBudgetSubjectName(key, entry), period, maxMicros: budgets[entry].budgetMicros, baselineMicros: modelSpendThisPeriod(key.modelSpend?.[entry], period) };
}

function addRequestHeaders(headers: Record<string, string>, windows: RateWindow[]): void {
  const tightest = windows.reduce<RateWindow | undefined>((best, window) => (!best || window.remaining < best.remaining ? window : best), undefined);
  if (!tightest) return;
  headers['x-ratelimit-limit-requests'] = String(tightest.limit);
  headers['x-ratelimit-remaining-requests'] = String(tightest.remaining);
  headers['x-ratelimit-reset-requests'] = resetText(tightest.resetMs);
}

/** Who a rate window belongs to, in words: its holder, or a key's per-model entry (`setting`: the field that sets it). */
function describeWindow(name: string, subjects: LimitSubject[], resolved: ResolvedKey | undefined, setting: 'rpm_limit' | 'tpm_limit'): string {
  const entry = modelRateEntry(name);
  if (entry !== undefined && resolved) return `${describeKey(resolved)} on model "${entry}" (model_${setting}["${entry}"])`;
  return describe(subjects.find((candidate) => subjectName(candidate) === name)!, resolved);
}

function rpmRefusal(refused: Extract<AcquireOutcome, { ok: false }>, subjects: LimitSubject[], resolved: ResolvedKey | undefined): GatewayError {
  const retryAfter = Math.ceil(refused.retryAfterMs / 1000);
  const setting = modelRateEntry(refused.subject) === undefined ? ' (rpm_limit)' : '';
  return new GatewayError('rate_limit_exceeded', `rate limit reached for ${describeWindow(refused.subject, subjects, resolved, 'rpm_limit')}: ${refused.limit} requests per minute${setting}; retry in ${retryAfter}s`, {
    retryAfterSeconds: retryAfter,
    headers: { 'retry-after': String(retryAfter), 'x-ratelimit-limit-requests': String(refused.limit), 'x-ratelimit-remaining-requests': '0', 'x-ratelimit-reset-requests': resetText(refused.retryAfterMs) },
  });
}

function parallelRefusal(refused: Extract<ParallelOutcome, { ok: false }>, subjects: LimitSubject[], resolved: ResolvedKey | undefined): GatewayError {
  const subject = subjects.find((candidate) => subjectName(candidate) === refused.subject)!;
  const setting = subject.kind === 'key' && resolved?.key.parallelLimitIsDefault ? 'general_settings.default_key_max_parallel_requests, the default for keys without max_parallel_requests' : 'max_parallel_requests';
  return new GatewayError('rate_limit_exceeded', `too many requests in flight for ${describe(subject, resolved)}: at most ${refused.limit} at once (${setting})`, {
    retryAfterSeconds: 1,
    headers: { 'retry-after': '1' },
  });
}

/** The refusal of a key's per-model budget (model_max_budget), in the words of the other budget refusals. */
function modelBudgetRefusal(reservation: Extract<Awaited<ReturnType<typeof reserveWithinBudget>>, { ok: false }>, plan: ReservationPlan, modelHold: ModelHold, resolved: ResolvedKey): GatewayError {
  const { refusal, neededMicros } = reservation;
  const knob = `raise model_max_budget["${modelHold.entry}"].budget_limit`;
  return new GatewayError('budget_exceeded', `Budget has been exceeded for ${describeKey(resolved)} on model "${modelHold.entry}" (model_max_budget): ${budgetRefusalDetail(refusal, neededMicros, plan, knob)}`, {
    headers: { 'x-switchboard-budget-remaining': formatUsd(Math.max(0, refusal.maxMicros - refusal.spentMicros - refusal.reservedMicros)) },
  });
}

function describeKey(resolved: ResolvedKey): string {
  return resolved.key.alias ? `key "${resolved.key.alias}"` : `key ${resolved.key.prefix}`;
}

export class Admission {
  /** With a proxy-wide budget, the master key's calls are admitted too, to count their spend (never refused by it). */
  get countsEveryCall(): boolean {
    return this.proxyBudget !== undefined;
  }

  /** Each key's spend including the calls settled here (x-litellm-key-spend; key-spend.ts). */
  readonly keySpend = new KeySpendTally();

  constructor(
    private readonly state: LimitsState,
    private readonly logger: Logger,
    /** Told when a call costs more than the budget reservation made for it (charged in full all the same). */
    private readonly onOverrun?: OverrunListener,
    /** Told of each budget holder's spend once a billed call has settled, off the request path (budget alerts). */
    private readonly onSpend?: SpendListener,
    /** The proxy-wide budget's limits (proxy-budget.ts), when litellm_settings.max_budget is set. */
    private readonly proxyBudget?: () => HolderLimits | undefined,
    /** The same once its row is first read (a master-key call made before waits for it: proxy-budget.ts whenRead). */
    private readonly proxyBudgetRead?: () => Promise<HolderLimits | undefined>,
  ) {}

  /**
   * Limits fail closed: when their store fails (or Redis does not answer under
   * `shared_state_outage: refuse`), a virtual key's request is refused with 503 rather than let
   * through unchecked. Under the default, `local`, an outage never reaches here (resilient-limits-state.ts).
   */
  /** `cost`: the call's reservation plan (billing/reservation-plan.ts), or a fixed maximum in micro-dollars. */
  /** `models`: what the call may be served by, for the key's model_max_budget (none given: no per-model budget applies). */
  /** `proxyBudget`: false for a second admission of the same call (its end user's alone), which must not count its spend again. */
  async admit(resolved: ResolvedKey | undefined, callId: string, cost: ReservationPlan | number, estimatedTokens = 0, endUser?: EndUserRecord, models?: ModelBudgetScope, proxyBudget = true): Promise<Ticket> {
    try {
      let proxy = proxyBudget ? this.proxyBudget?.() : undefined;
      // Only before the budget's row is first read (virtual keys are not served yet): the master key's call waits to be counted.
      if (proxyBudget && proxy === undefined && this.proxyBudgetRead) proxy = await this.proxyBudgetRead();
      return await this.check(resolved, callId, typeof cost === 'number' ? fixedPlan(cost) : cost, estimatedTokens, endUser, models, proxy);
    } catch (error) {
      if (error instanceof GatewayError) throw error;
      // The outage itself is logged once by the shared-state status, not per request.
      if (!(error instanceof SharedStateUnavailable)) this.logger.error({ err: (error as Error).message }, 'the limits store failed; this request is refused');
      throw new GatewayError('limits_unavailable', 'the gateway cannot check this key\'s limits right now (its limits store does not answer); retry shortly', { retryAfterSeconds: 1, headers: { 'retry-after': '1' } });
    }
  }

  /**
   * Every limit and the budget in one combined operation of the limits store (`LimitsState.admit`):
   * one promise, and on the embedded store one synchronous check-and-take. A budget refusal goes
   * the step-by-step way (`checkInSteps`), which retries with a smaller output when the gateway
   * chose it and words the refusal, and so does a tpm estimate over a limit (refused after rpm is checked).
   */
  private async check(resolved: ResolvedKey | undefined, callId: string, plan: ReservationPlan, estimatedTokens: number, endUser: EndUserRecord | undefined, models: ModelBudgetScope | undefined, proxy: HolderLimits | undefined): Promise<Ticket> {
    const subjects = subjectsOf(resolved, endUser, proxy);
    const now = Date.now();
    const limits = limitsOf(subjects, now, resolved, models);
    const { rpm, tpm, parallel, holds, hardLimit } = limits;
    // A deployment without a price reserves nothing and is charged nothing: a budget cannot hold it.
    if (hardLimit && plan.unpriced) throw unpricedCallRefusal(plan.unpriced, 'a key held to a budget (its own, its user\'s, team\'s or end user\'s, or the proxy-wide one)');
    const describeName = (name: string) => describeWindow(name, subjects, resolved, 'tpm_limit');
    // An estimate over a tpm limit can never pass: refused step by step (after rpm, as always).
    if (tooLargeRefusal(tpm, estimatedTokens, describeName)) return this.checkInSteps(resolved, callId, plan, estimatedTokens, subjects, now, models);
    const outputCap = holds.length > 0 && hardLimit ? plan.outputTokens : undefined;
    const budgetMicros = holds.length > 0 ? plan.costMicros(outputCap) : 0;
    // Every hold's counter is read by the same operation anyway: the soft budgets and the key's spend (x-litellm-key-spend) use it.
    const outcome = await this.state.admit({ requestId: callId, rpm, tpm, tokens: estimatedTokens, parallel, holds, budgetMicros, readSpent: holds.length > 0 });
    if (!outcome.ok) {
      if (outcome.refused === 'requests') throw rpmRefusal(outcome.outcome, subjects, resolved);
      if (outcome.refused === 'tokens') throw fullMinuteRefusal(outcome.outcome, estimatedTokens, describeName);
      if (outcome.refused === 'parallel') throw parallelRefusal(outcome.outcome, subjects, resolved);
      return this.checkInSteps(resolved, callId, plan, estimatedTokens, subjects, now, models);
    }
    const headers: Record<string, string> = {};
    addRequestHeaders(headers, outcome.requests);
    addTokenHeaders(headers, outcome.tokens);
    for (const subject of subjects) {
      if (subject.limits.softBudgetMicros === null) continue;
      const index = holds.findIndex((hold) => hold.subject === budgetSubjectName(subject));
      this.warnSoft(headers, subject, resolved, Math.max(outcome.spent[index] ?? 0, spendThisPeriod(subject.limits, now)));
    }
    const { keyHold } = limits;
    return this.ticket(subjects, resolved, callId, limits, estimatedTokens, budgetMicros, outputCap, headers, models, keyHold < 0 ? undefined : outcome.spent[keyHold]);
  }

  /** Admission as separate operations of the limits store, each giving back what was taken before when it refuses. */
  private async checkInSteps(resolved: ResolvedKey | undefined, callId: string, plan: ReservationPlan, estimatedTokens: number, subjects: LimitSubject[], now: number, models: ModelBudgetScope | undefined): Promise<Ticket> {
    const limits = limitsOf(subjects, now, resolved, models);
    const { rpm, tpm, parallel, holds, hardLimit } = limits;
    const headers: Record<string, string> = {};

    const acquired = await this.state.acquireRequest(rpm, callId);
    if (!acquired.ok) throw rpmRefusal(acquired, subjects, resolved);
    addRequestHeaders(headers, acquired.windows);
    const refund = requestRefund(this.state, rpm.map((limit) => limit.subject), callId, acquired.takenAt);

    const tokens = await reserveTokens(this.state, tpm, callId, estimatedTokens, (name) => describeWindow(name, subjects, resolved, 'tpm_limit'), refund);
    Object.assign(headers, tokens.headers);
    const releaseTokens = () => this.state.settleTokens(tokens.subjects, callId, estimatedTokens, 0).catch(() => undefined);

    const slot = await this.state.acquireParallel(parallel);
    if (!slot.ok) {
      await Promise.all([refund(), releaseTokens()]);
      throw parallelRefusal(slot, subjects, resolved);
    }
    const releaseSlot = () => this.state.releaseParallel(parallel.map((limit) => limit.subject)).catch(() => undefined);

    const reservation = await reserveWithinBudget(this.state, holds, plan, hardLimit);
    if (!reservation.ok) {
      await Promise.all([refund(), releaseSlot(), releaseTokens()]);
      const modelHold = limits.modelHolds.find((candidate) => candidate.hold.subject === reservation.refusal.subject);
      if (modelHold) throw modelBudgetRefusal(reservation, plan, modelHold, resolved!);
      const subject = subjects.find((candidate) => budgetSubjectName(candidate) === reservation.refusal.subject)!;
      const { spentMicros, maxMicros } = reservation.refusal;
      // Exhausted: nothing is left, or not even a minimal answer fits (a big max_tokens alone is not exhaustion).
      const minimalMicros = Math.min(plan.costMicros(MINIMUM_ANSWER_TOKENS), reservation.neededMicros);
      if (spentMicros >= maxMicros || maxMicros - spentMicros < minimalMicros) {
        const hold = holds.find((candidate) => candidate.subject === reservation.refusal.subject)!;
        this.tell({ kind: subject.kind, id: subject.id, name: describe(subject, resolved), period: hold.period, spentMicros, maxBudgetMicros: subject.limits.maxBudgetMicros, softBudgetMicros: subject.limits.softBudgetMicros, exhausted: true });
      }
      throw new GatewayError('budget_exceeded', `Budget has been exceeded for ${describe(subject, resolved)}: ${budgetRefusalDetail(reservation.refusal, reservation.neededMicros, plan)}`, {
        headers: { 'x-switchboard-budget-remaining': formatUsd(Math.max(0, reservation.refusal.maxMicros - reservation.refusal.spentMicros - reservation.refusal.reservedMicros)) },
      });
    }

    // The live counter, not the cached record: the record's spend is as old as the cache entry.
    const softChecks = await Promise.all(
      subjects
        .filter((subject) => subject.limits.softBudgetMicros !== null)
        .map(async (subject) => {
          const live = await this.state.spent(budgetSubjectName(subject), currentPeriod(subject.limits, now)).catch(() => undefined);
          return { subject, spend: Math.max(live ?? 0, spendThisPeriod(subject.limits, now)) };
        }),
    );
    for (const { subject, spend } of softChecks) this.warnSoft(headers, subject, resolved, spend);
    return this.ticket(subjects, resolved, callId, limits, estimatedTokens, reservation.reservedMicros, reservation.outputTokens, headers, models);
  }

  private warnSoft(headers: Record<string, string>, subject: LimitSubject, resolved: ResolvedKey | undefined, spend: number): void {
    const soft = subject.limits.softBudgetMicros;
    if (soft !== null && spend >= soft) {
      headers['x-switchboard-budget-warning'] = `${describe(subject, resolved)} has spent $${formatUsd(spend)}, past its soft budget of $${formatUsd(soft)}`;
      this.logger.warn({ subject: subject.kind, id: subject.kind === 'key' && resolved ? resolved.key.prefix : subject.id, spend, soft }, 'soft budget passed');
    }
  }

  /**
   * The admitted call's ticket: its settle gives everything back and charges the call in one
   * operation, and adds the cost to the key's tally at once (`keyCounted`: the key's budget counter
   * as admission read it, when it has one).
   */
  private ticket(subjects: LimitSubject[], resolved: ResolvedKey | undefined, callId: string, limits: Limits, estimatedTokens: number, maxCostMicros: number, outputCap: number | undefined, headers: Record<string, string>, models: ModelBudgetScope | undefined, keyCounted?: number): Ticket {
    const { modelHolds } = limits;
    let settled = false;
    // Tokens held beside admission's estimate (extendTokens), each under its own id: released with the settle.
    // Nothing is allocated for it unless a call's prompt grows (rare): the settle of every call runs releaseMoreTokens.
    const moreTokens: Array<{ id: string; tokens: number }> = [];
    const releaseMoreTokens = () => {
      if (moreTokens.length === 0) return;
      for (const more of moreTokens.splice(0)) this.state.settleTokens(limits.tpmSubjects, more.id, more.tokens, 0).catch((error: Error) => this.logger.error({ err: error.message }, 'could not release a token reservation'));
    };
    return {
      headers,
      outputCap,
      holdsMoney: limits.hardLimit,
      extendTokens: async (tokens) => {
        const amount = Math.ceil(tokens);
        if (!(amount > 0) || limits.tpm.length === 0) return undefined;
        const describeName = (name: string) => describeWindow(name, subjects, resolved, 'tpm_limit');
        const total = estimatedTokens + moreTokens.reduce((sum, more) => sum + more.tokens, 0) + amount;
        if (settled) return new GatewayError('limits_unavailable', 'this call\'s limits were released before its token reservation could grow, so it is not run; retry', { retryAfterSeconds: 1, headers: { 'retry-after': '1' } });
        // An estimate over a limit can never pass (as at admission); else the minute must have room for the increase.
        const tooLarge = tooLargeRefusal(limits.tpm, total, describeName);
        if (tooLarge) return tooLarge;
        const id = `${callId}:tokens-${moreTokens.length + 1}`;
        let outcome;
        try {
          outcome = await this.state.reserveTokens(limits.tpm, id, amount);
        } catch (error) {
          this.logger.error({ err: (error as Error).message }, 'the limits store did not answer; a call whose prompt grew is refused');
          return new GatewayError('limits_unavailable', 'the gateway cannot check this key\'s limits right now (its limits store does not answer); retry shortly', { retryAfterSeconds: 1, headers: { 'retry-after': '1' } });
        }
        if (!outcome.ok) return fullMinuteRefusal(outcome, total, describeName);
        moreTokens.push({ id, tokens: amount });
        // Settled while the tokens were being reserved: give them back at once.
        if (settled) releaseMoreTokens();
        return undefined;
      },
      extend: async (micros) => {
        if (settled) return false;
        if (!(micros > 0) || limits.holds.length === 0) return true;
        const amount = Math.ceil(micros);
        try {
          const outcome = await this.state.reserve(limits.holds, amount);
          if (!outcome.ok) return false;
        } catch (error) {
          this.logger.error({ err: (error as Error).message }, 'the limits store did not answer; a billed call is not retried');
          return false;
        }
        if (settled) {
          // Settled while the reservation was being extended: give the extension back at once.
          this.state.settle(limits.holds, amount, 0).catch((error: Error) => this.logger.error({ err: error.message }, 'could not release a budget reservation'));
          return false;
        }
        maxCostMicros += amount;
        return true;
      },
      settle: (costMicros, usedTokens, served) => {
        if (settled) return [];
        settled = true;
        releaseMoreTokens();
        // Per-model budgets: the entries of the model that served the call are charged, the other reserved entries released.
        const budgets = resolved?.key.modelMaxBudget;
        const charged = served && budgets && models ? entriesFor(budgets, served, models.aliasTarget, models.sameModelGroups?.(served.group)) : NO_ENTRIES;
        let holds = limits.holds;
        // The key's own budget hold among those settled (its counter after the settle feeds the key's tally).
        let keyHold = limits.keyHold;
        // (Without per-model holds every hold is settled: nothing to sort out, nothing allocated.)
        if (modelHolds.length > 0) {
          const released = modelHolds.filter((candidate) => !charged.includes(candidate.entry)).map((candidate) => candidate.hold);
          if (released.length > 0) {
            const keyCounter = keyHold < 0 ? undefined : holds[keyHold];
            holds = holds.filter((hold) => !released.includes(hold));
            keyHold = keyCounter === undefined ? -1 : holds.indexOf(keyCounter);
            this.state.settle(released, maxCostMicros, 0).catch((error: Error) => this.logger.error({ err: error.message }, 'could not release a per-model budget reservation'));
          }
        }
        // An entry that covers the served model without having been reserved (the model list changed mid-call) is charged all the same.
        if (charged.length > 0 && (costMicros ?? 0) > 0) {
          const unreserved = charged.filter((entry) => !modelHolds.some((candidate) => candidate.entry === entry)).map((entry) => modelHoldOf(resolved!, budgets!, entry, Date.now()));
          if (unreserved.length > 0) this.state.settle(unreserved, 0, costMicros!).catch((error: Error) => this.logger.error({ err: error.message }, 'could not charge a per-model budget'));
        }
        // (The holder list is only built for an overrun: this runs on every call.)
        if (holds.length > 0 && (costMicros ?? 0) > maxCostMicros) noteOverrun({ ledger: 'budget', reserved: maxCostMicros, charged: costMicros ?? 0, holder: holds.map((hold) => hold.subject).join(',') }, this.logger, this.onOverrun);
        if (resolved) this.keySpend.settled(resolved.key, costMicros ?? 0, keyCounted);
        // The counters after the settle: for budget alerts, and the key's tally (the same operation returns them).
        const readSpent = (this.onSpend !== undefined || keyHold >= 0) && holds.length > 0 && (costMicros ?? 0) > 0;
        this.state
          .settleAdmission({
            requestId: callId,
            holds,
            reservedMicros: maxCostMicros,
            actualMicros: costMicros ?? 0,
            tpmSubjects: limits.tpmSubjects,
            heldTokens: estimatedTokens,
            usedTokens,
            parallelSubjects: limits.parallelSubjects,
            readSpent,
          })
          .then(
            (spent) => {
              if (!readSpent) return;
              const keyCountedAfter = keyHold < 0 ? undefined : spent[keyHold];
              if (resolved && keyCountedAfter !== undefined) this.keySpend.observed(resolved.key, keyCountedAfter);
              if (this.onSpend) this.tellSpend(subjects, holds, spent, resolved);
            },
            (error: Error) => this.logger.error({ err: error.message }, 'could not settle a request against its limits'),
          );
        return charged;
      },
    };
  }

  /** Tells the listener each budget holder's counted spend after the settle (`spent`: per hold); never throws. */
  private tellSpend(subjects: LimitSubject[], holds: BudgetHold[], spent: Array<number | undefined>, resolved: ResolvedKey | undefined): void {
    for (const subject of subjects) {
      const index = holds.findIndex((candidate) => candidate.subject === budgetSubjectName(subject));
      const counted = index < 0 ? undefined : spent[index];
      if (counted === undefined) continue;
      this.tell({ kind: subject.kind, id: subject.id, name: describe(subject, resolved), period: holds[index].period, spentMicros: counted, maxBudgetMicros: subject.limits.maxBudgetMicros, softBudgetMicros: subject.limits.softBudgetMicros, exhausted: false });
    }
  }

  /** The listener never fails a request. */
  private tell(spend: SettledSpend): void {
    try {
      this.onSpend?.(spend);
    } catch (error) {
      this.logger.warn({ err: (error as Error).message }, 'could not check a budget for alerts');
    }
  }
}
