/**
 * The platform layer as the request path sees it: power level and automatic model choice before
 * routing, the credit reservation at admission, the user's own key per attempt, and the credit
 * headers and `_metadata` on the way out. The request path's stages call these functions and keep
 * what they return (a level choice, a credit ticket, an upstream target) on the call: nothing here
 * writes to the call. The rules live in credit-gate.ts, power-levels.ts and byok.ts.
 */
import type { Logger } from 'pino';
import { isGroupAllowed } from '../auth/model-access.js';
import type { ResolvedKey } from '../auth/key-directory.js';
import type { CostInput } from '../billing/max-cost.js';
import { reservationPlan, unpricedCallRefusal } from '../billing/reservation-plan.js';
import { formatUsd } from '../billing/cost.js';
import { GatewayError } from '../errors.js';
import type { Deployment, MediaPrices, TokenPrices } from '../providers/types.js';
import type { ModelCatalog } from '../routing/catalog.js';
import type { LimitsState } from '../state/limits-state.js';
import type { Allowances } from './allowances.js';
import type { ByokDirectory, OwnKeys } from './byok.js';
import type { OverrunListener } from '../billing/reservation-overrun.js';
import { CreditGate, formatCredits, type CreditTicket } from './credit-gate.js';
import { chargedLevel, fullPriceLevel, servesLevelChoice } from './level-charge.js';
import { choose, parsePowerLevel, servesChat } from './power-levels.js';
import { toCredits, type PlatformSettings, type PowerLevel, type Tier } from './settings.js';
import { limitsAllow, tierLimit, type ModelLimit } from './model-limits.js';
import { RoutingRuleStore } from './rule-store.js';
import type { ModelGroup } from '../routing/catalog.js';

export interface PlatformLayerOptions {
  settings: PlatformSettings;
  catalog: ModelCatalog;
  limits: LimitsState;
  byok: ByokDirectory;
  logger: Logger;
  /** Which deployments automatic model choice may pick (available, not cooling down, not down). */
  isHealthy: (deployment: Deployment) => boolean;
  /** The low-balance event (once per user as the balance falls under the threshold). */
  onLowBalance?: (userId: string, millicredits: number) => void;
  /** Told when a call costs more credits than were reserved for it. */
  onOverrun?: OverrunListener;
  /** Monthly allowances (allowances.ts); absent, none are granted. */
  allowances?: Allowances;
  /** The routing rules (config.yaml's and stored ones); absent, config.yaml's alone. */
  rules?: RoutingRuleStore;
}

/** The power level a call runs at, and the model group that level chose (absent: the caller chose the model). */
export interface LevelChoice {
  level: PowerLevel | undefined;
  levelModel: string | undefined;
  /** The prices of the deployment the level chose: its group's dearer deployments get no discount (level-charge.ts). */
  levelPrices?: TokenPrices;
  /** Its media prices (web searches, images, seconds…), compared the same way. */
  levelMediaPrices?: MediaPrices;
}

/** What the platform decided about the model of a call, before routing. */
export interface ModelChoice extends LevelChoice {
  /** The model name to route. */
  modelName: string;
  /** True when the level chose the model (the request named none, or "auto"): the body's model becomes it. */
  chosen: boolean;
  /** The level's max_tokens cap (power-levels.ts capMaxTokens), for the request's normalized copy. */
  maxTokens: number | undefined;
}

/** The deployment one attempt calls, whether it runs on the user's own key, and the level it is charged at. */
export interface UpstreamTarget {
  deployment: Deployment;
  byok: boolean;
  chargedLevel: PowerLevel | undefined;
}

/** How a call is charged, as far as the headers and `_metadata` tell it. */
export interface Charge {
  level: PowerLevel | undefined;
  byok: boolean;
  credits: CreditTicket | undefined;
}

/** What a finished call tells the platform: who served it, what it cost, and how it is charged. */
export interface PlatformOutcome extends Charge {
  deployment: Deployment;
  costMicros: number | undefined;
}

export class PlatformLayer {
  readonly settings: PlatformSettings;
  readonly credits: CreditGate;
  readonly byok: ByokDirectory;
  readonly allowances: Allowances | undefined;
  readonly rules: RoutingRuleStore;
  isHealthy: (deployment: Deployment) => boolean;

  constructor(private readonly options: PlatformLayerOptions) {
    this.settings = options.settings;
    this.byok = options.byok;
    this.rules = options.rules ?? new RoutingRuleStore({ configRules: options.settings.routingRules, logger: options.logger });
    this.isHealthy = options.isHealthy;
    this.allowances = options.allowances;
    this.credits = new CreditGate(options.limits, options.settings, options.logger, options.onLowBalance, options.onOverrun, options.allowances);
  }

  /**
   * Reads the power level (body `power_level`, else the X-Power-Level header), picks a model when
   * the request names none (or "auto"), and tells the level's max_tokens cap. Reads the request,
   * never writes it: the caller applies the choice to its own copy.
   */
  resolveModel(kind: CostInput['kind'], request: Readonly<Record<string, unknown>>, modelName: string, requestedPowerLevel: string | undefined, principal: ResolvedKey | undefined, limits?: readonly ModelLimit[]): ModelChoice {
    let level = parsePowerLevel(request.power_level, '"power_level"') ?? parsePowerLevel(requestedPowerLevel, 'the X-Power-Level header');
    let chosen = modelName;
    let levelModel: string | undefined;
    let levelPrices: TokenPrices | undefined;
    let levelMediaPrices: MediaPrices | undefined;
    const byLevel = !modelName || modelName === 'auto';
    if (byLevel) {
      if (level === 'custom') throw new GatewayError('invalid_request', 'power level "custom" runs the model you name: set "model" (GET /api/v1/llm/models lists them)', { param: 'model' });
      level ??= 'balanced';
      const deployment = this.levelChoice(level, principal, limits);
      if (!deployment) throw new GatewayError('model_unavailable', `no healthy model is available for power level "${level}"; name a model or retry shortly`, { param: 'model' });
      chosen = deployment.modelName;
      if (this.isOpenChoice(level, deployment, principal, limits)) {
        levelModel = chosen;
        levelPrices = deployment.prices;
        levelMediaPrices = deployment.mediaPrices;
      }
    } else if (level && level !== 'custom') {
      // Naming the very model the level would choose earns its multiplier too.
      const deployment = this.levelChoice(level, principal, limits);
      if (deployment?.modelName === modelName && this.isOpenChoice(level, deployment, principal, limits)) {
        levelModel = modelName;
        levelPrices = deployment.prices;
        levelMediaPrices = deployment.mediaPrices;
      }
    }
    const maxTokens = level && kind !== 'embeddings' ? this.settings.powerLevels[level].maxTokens : undefined;
    return { modelName: chosen, chosen: byLevel, level, levelModel, levelPrices, levelMediaPrices, maxTokens };
  }

  /**
   * Whether the level's choice for this caller is the one it makes among the models the operator
   * gives the caller (its tier, its user's and team's models), not narrowed by what the caller
   * controls: its key's own model list (a user makes keys with any subset) and the routing rules
   * a request's tags, metadata or task header make match. A level's multiplier is a discount for
   * letting the gateway choose; narrowed to a dear model, "eco" would choose it at eco's price.
   */
  private isOpenChoice(level: Exclude<PowerLevel, 'custom'>, deployment: Deployment, principal: ResolvedKey | undefined, limits: readonly ModelLimit[] | undefined): boolean {
    const narrowedByKey = principal !== undefined && principal.key.models.length > 0;
    const narrowedByRule = limits?.some((limit) => limit.code !== 'model_not_in_tier') === true;
    if (!narrowedByKey && !narrowedByRule) return true;
    const open = principal && narrowedByKey ? { ...principal, key: { ...principal.key, models: [], aliases: {} } } : principal;
    return this.levelChoice(level, open, limits?.filter((limit) => limit.code === 'model_not_in_tier'))?.id === deployment.id;
  }

  /** The deployment a level would choose for this caller now, among healthy chat deployments. */
  private levelChoice(level: Exclude<PowerLevel, 'custom'>, principal: ResolvedKey | undefined, limits: readonly ModelLimit[] | undefined): Deployment | undefined {
    const candidates = this.options.catalog
      .allGroups()
      .filter((group) => (!principal || isGroupAllowed(principal, group.name, group.name)) && limitsAllow(limits, [group.name], group))
      .flatMap((group) => group.available)
      .filter((deployment) => servesChat(deployment) && this.isHealthy(deployment));
    return choose(level, candidates, this.settings);
  }

  /**
   * Reserves the call's maximum credit cost for a user's key, at the dearest level any candidate
   * may be charged at. Deployments the user's own keys would serve cost no credits, so they are
   * left out of the bound. Undefined when the key has no user account to charge.
   *
   * The own keys are taken here, once (the ticket's `ownKeys`): every attempt of the call runs on
   * exactly the keys the reservation assumed (upstreamTarget), so a key deleted, no longer opening,
   * or a tier's `byok` changed mid-call never moves a retry onto the operator's key unreserved.
   */
  async reserveCredits(principal: ResolvedKey, input: CostInput, deployments: readonly Deployment[], choice: LevelChoice, outputAllowance?: number): Promise<CreditTicket | undefined> {
    const user = this.credits.accountOf(principal);
    if (!user) return undefined;
    const ownKeys = this.byok.keysOf(this.ownKeyUser(principal));
    const payable = deployments.filter((deployment) => !this.byok.servesWith(ownKeys, deployment));
    const { level } = choice;
    const discounted = level !== undefined && payable.every((deployment) => servesLevelChoice(choice, deployment));
    const reservedLevel = level === undefined || discounted ? level : fullPriceLevel(this.settings);
    const plan = reservationPlan(input, payable, outputAllowance);
    // Credits cannot pay for what has no price (a call on the user's own key is not paid in credits).
    if (plan.unpriced) throw unpricedCallRefusal(plan.unpriced, 'a user paying credits');
    return this.credits.reserve(user, reservedLevel, plan, ownKeys);
  }

  /** The caller's tier (users only). */
  tierOf(principal: ResolvedKey | undefined): Tier | undefined {
    const user = this.credits.accountOf(principal);
    return user ? this.credits.tierOf(user) : undefined;
  }

  /** Whether the caller's tier includes a listed model (GET /v1/models, /api/v1/llm/models). */
  tierAllows(principal: ResolvedKey | undefined, id: string, group: ModelGroup): boolean {
    const tier = this.tierOf(principal);
    const limit = tier ? tierLimit(tier) : undefined;
    return !limit || limit.allows([id], group);
  }

  /** The user whose own keys a call may run on: none when the user's tier has `byok: false`. */
  ownKeyUser(principal: ResolvedKey | undefined): string | null {
    const user = this.credits.accountOf(principal);
    return user && this.credits.tierOf(user).byok ? user.userId : null;
  }

  /**
   * The deployment to call: a copy on the user's own key when the call was admitted with one for its
   * provider (`ownKeys`, the credit ticket's) and the deployment accepts own keys (byok-scope.ts);
   * and the level this attempt is charged at. Decided from the keys taken at admission, never the
   * stored ones now: the credit reservation left out exactly the deployments those keys serve.
   */
  upstreamTarget(ownKeys: OwnKeys | undefined, deployment: Deployment, choice: LevelChoice): UpstreamTarget {
    const own = this.byok.deploymentWith(ownKeys, deployment);
    return { deployment: own ?? deployment, byok: own !== undefined, chargedLevel: chargedLevel(this.settings, choice.level, servesLevelChoice(choice, deployment) ? choice.levelModel : undefined, deployment.modelName) };
  }

  /** Headers a stream starts with: the level, and the balance as admission saw it. */
  streamHeaders(charge: Charge, headers: Record<string, string>): void {
    if (charge.level) headers['x-switchboard-power-level'] = charge.level;
    if (charge.byok) headers['x-switchboard-byok'] = 'true';
    const ticket = charge.credits;
    if (!ticket) return;
    headers['x-switchboard-credits-remaining'] = formatCredits(ticket.balanceBeforeMillicredits);
    if (this.credits.isLow(ticket.balanceBeforeMillicredits)) headers['x-switchboard-low-balance'] = this.credits.lowBalanceWarning(ticket.balanceBeforeMillicredits);
  }

  /**
   * Headers of a finished JSON response, and its body with `_metadata` (OpenAI chat responses
   * only). Waits for the credit settlement (memory or Redis, never the database).
   */
  async finish(outcome: PlatformOutcome, headers: Record<string, string>, body: string, withMetadata: boolean): Promise<string> {
    const { level } = outcome;
    if (level) headers['x-switchboard-power-level'] = level;
    if (outcome.byok) headers['x-switchboard-byok'] = 'true';
    let charged = 0;
    let remaining: number | undefined;
    const settled = outcome.credits?.outcome;
    if (settled) {
      charged = settled.charged;
      remaining = await settled.remaining;
      headers['x-switchboard-credits-cost'] = formatCredits(charged);
      headers['x-switchboard-credits-remaining'] = formatCredits(remaining);
      if (this.credits.isLow(remaining)) headers['x-switchboard-low-balance'] = this.credits.lowBalanceWarning(remaining);
    }
    if (!withMetadata) return body;
    const metadata = {
      provider_used: outcome.deployment.provider,
      model_used: outcome.deployment.modelName,
      power_level: level ?? null,
      cost_incurred: toCredits(charged),
      cost_usd: outcome.costMicros === undefined ? null : Number(formatUsd(outcome.costMicros)),
      credits_remaining: remaining === undefined ? null : toCredits(remaining),
      byok: outcome.byok,
    };
    return withMetadataField(body, JSON.stringify(metadata));
  }
}

/**
 * The JSON object `body` with a `_metadata` member added. Upstreams end their bodies as they like
 * (OpenAI's end in a newline), so the object's closing brace is found past trailing whitespace; a
 * body that is not an object is returned as it is.
 */
export function withMetadataField(body: string, metadataJson: string): string {
  const trimmed = body.trimEnd();
  if (!trimmed.endsWith('}')) return body;
  if (/^\s*\{\s*\}$/.test(trimmed)) return `{"_metadata":${metadataJson}}`;
  return `${trimmed.slice(0, -1)},"_metadata":${metadataJson}}`;
}
