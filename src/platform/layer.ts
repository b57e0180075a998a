/**
 * The platform layer as the request path sees it: power level and automatic model choice before
 * routing, the credit reservation at admission, the user's own key per attempt, and the credit
 * headers and `_metadata` on the way out. The pipeline calls these hooks; the rules live in
 * credit-gate.ts, power-levels.ts and byok.ts.
 */
import type { Logger } from 'pino';
import { isModelAllowed } from '../auth/model-access.js';
import type { ResolvedKey } from '../auth/key-directory.js';
import { maxCostMicros, type CostInput } from '../billing/max-cost.js';
import { formatUsd } from '../billing/cost.js';
import { GatewayError } from '../errors.js';
import type { CallContext } from '../gateway/pipeline.js';
import type { Deployment } from '../providers/types.js';
import type { ModelCatalog } from '../routing/catalog.js';
import type { LimitsState } from '../state/limits-state.js';
import type { ByokDirectory } from './byok.js';
import type { OverrunListener } from '../billing/reservation-overrun.js';
import { CreditGate, formatCredits } from './credit-gate.js';
import { chargedLevel, fullPriceLevel } from './level-charge.js';
import { capMaxTokens, choose, parsePowerLevel, servesChat } from './power-levels.js';
import { toCredits, type PlatformSettings, type PowerLevel } from './settings.js';

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
}

/** What a finished call tells the platform: who served it and what it cost. */
export interface PlatformOutcome {
  deployment: Deployment;
  costMicros: number | undefined;
}

export class PlatformLayer {
  readonly settings: PlatformSettings;
  readonly credits: CreditGate;
  readonly byok: ByokDirectory;
  isHealthy: (deployment: Deployment) => boolean;
  /** The model group each call's power level chose (absent: the caller chose the model). */
  private readonly levelModels = new WeakMap<CallContext, string>();
  /** The level each call is charged at, for the deployment of its latest attempt. */
  private readonly chargedLevels = new WeakMap<CallContext, PowerLevel | undefined>();

  constructor(private readonly options: PlatformLayerOptions) {
    this.settings = options.settings;
    this.byok = options.byok;
    this.isHealthy = options.isHealthy;
    this.credits = new CreditGate(options.limits, options.settings, options.logger, options.onLowBalance, options.onOverrun);
  }

  /**
   * Reads the power level (body `power_level`, else the X-Power-Level header), picks a model when
   * the request names none (or "auto"), and caps max_tokens to the level's limit. Returns the model
   * name to route.
   */
  resolveModel(context: CallContext, kind: CostInput['kind'], request: Record<string, unknown>, modelName: string, principal: ResolvedKey | undefined): string {
    const fromBody = request.power_level;
    delete request.power_level;
    let level = parsePowerLevel(fromBody, '"power_level"') ?? parsePowerLevel(context.requestedPowerLevel, 'the X-Power-Level header');
    let chosen = modelName;
    if (!modelName || modelName === 'auto') {
      if (level === 'custom') throw new GatewayError('invalid_request', 'power level "custom" runs the model you name: set "model" (GET /api/v1/llm/models lists them)', { param: 'model' });
      level ??= 'balanced';
      const deployment = this.levelChoice(level, principal);
      if (!deployment) throw new GatewayError('model_unavailable', `no healthy model is available for power level "${level}"; name a model or retry shortly`, { param: 'model' });
      chosen = deployment.modelName;
      request.model = chosen;
      this.levelModels.set(context, chosen);
    } else if (level && level !== 'custom' && this.levelChoice(level, principal)?.modelName === modelName) {
      // Naming the very model the level would choose earns its multiplier too.
      this.levelModels.set(context, modelName);
    }
    context.powerLevel = level;
    if (level && kind !== 'embeddings') capMaxTokens(request, this.settings.powerLevels[level].maxTokens);
    return chosen;
  }

  /** The deployment a level would choose for this caller now, among healthy chat deployments. */
  private levelChoice(level: Exclude<PowerLevel, 'custom'>, principal: ResolvedKey | undefined): Deployment | undefined {
    const candidates = this.options.catalog
      .allGroups()
      .filter((group) => !principal || isModelAllowed(principal, group.name))
      .flatMap((group) => group.available)
      .filter((deployment) => servesChat(deployment) && this.isHealthy(deployment));
    return choose(level, candidates, this.settings);
  }

  /**
   * The power level a call is charged at (level-charge.ts): the level the caller asked for when it
   * chose the model that serves, else full price. Before any attempt, the level the credits were
   * reserved at.
   */
  chargedLevel(context: CallContext): PowerLevel | undefined {
    if (this.chargedLevels.has(context)) return this.chargedLevels.get(context);
    return context.credits ? context.credits.level : context.powerLevel;
  }

  /**
   * Reserves the call's maximum credit cost for a user's key, at the dearest level any candidate
   * may be charged at. Deployments the user's own keys would serve cost no credits, so they are
   * left out of the bound.
   */
  async reserveCredits(context: CallContext, principal: ResolvedKey, input: CostInput, deployments: Deployment[]): Promise<void> {
    const user = this.credits.accountOf(principal);
    if (!user) return;
    const payable = deployments.filter((deployment) => !this.byok.serves(user.userId, deployment));
    const levelModel = this.levelModels.get(context);
    const discounted = context.powerLevel !== undefined && levelModel !== undefined && payable.every((deployment) => deployment.modelName === levelModel);
    const level = context.powerLevel === undefined || discounted ? context.powerLevel : fullPriceLevel(this.settings);
    context.credits = await this.credits.reserve(user, level, maxCostMicros(input, payable));
  }

  /**
   * The deployment to call: a copy on the user's own key when they stored one for its provider and
   * the deployment accepts own keys (byok-scope.ts). Also fixes the level this attempt is charged at.
   */
  upstreamTarget(context: CallContext, deployment: Deployment): Deployment {
    const own = this.byok.deploymentFor(context.caller.userId, deployment);
    context.byok = own !== undefined;
    this.chargedLevels.set(context, chargedLevel(this.settings, context.powerLevel, this.levelModels.get(context), deployment.modelName));
    return own ?? deployment;
  }

  /** Headers a stream starts with: the level, and the balance as admission saw it. */
  streamHeaders(context: CallContext, headers: Record<string, string>): void {
    const level = this.chargedLevel(context);
    if (level) headers['x-switchboard-power-level'] = level;
    if (context.byok) headers['x-switchboard-byok'] = 'true';
    const ticket = context.credits;
    if (!ticket) return;
    headers['x-switchboard-credits-remaining'] = formatCredits(ticket.balanceBeforeMillicredits);
    if (this.credits.isLow(ticket.balanceBeforeMillicredits)) headers['x-switchboard-low-balance'] = this.credits.lowBalanceWarning(ticket.balanceBeforeMillicredits);
  }

  /**
   * Headers of a finished JSON response, and its body with `_metadata` (OpenAI chat responses
   * only). Waits for the credit settlement (memory or Redis, never the database).
   */
  async finish(context: CallContext, outcome: PlatformOutcome, headers: Record<string, string>, body: string, withMetadata: boolean): Promise<string> {
    const level = this.chargedLevel(context);
    if (level) headers['x-switchboard-power-level'] = level;
    if (context.byok) headers['x-switchboard-byok'] = 'true';
    let charged = 0;
    let remaining: number | undefined;
    const settled = context.credits?.outcome;
    if (settled) {
      charged = settled.charged;
      remaining = await settled.remaining;
      headers['x-switchboard-credits-cost'] = formatCredits(charged);
      headers['x-switchboard-credits-remaining'] = formatCredits(remaining);
      if (this.credits.isLow(remaining)) headers['x-switchboard-low-balance'] = this.credits.lowBalanceWarning(remaining);
    }
    if (!withMetadata || !body.endsWith('}')) return body;
    const metadata = {
      provider_used: outcome.deployment.provider,
      model_used: outcome.deployment.modelName,
      power_level: level ?? null,
      cost_incurred: toCredits(charged),
      cost_usd: outcome.costMicros === undefined ? null : Number(formatUsd(outcome.costMicros)),
      credits_remaining: remaining === undefined ? null : toCredits(remaining),
      byok: context.byok === true,
    };
    const json = JSON.stringify(metadata);
    return body.trimEnd() === '{}' ? `{"_metadata":${json}}` : `${body.slice(0, body.lastIndexOf('}'))},"_metadata":${json}}`;
  }
}
