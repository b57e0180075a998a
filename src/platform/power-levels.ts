/**
 * Power levels: a caller says how much answer quality it wants to pay for (`X-Power-Level` header
 * or `power_level` body field), and, when it names no model (or "auto"), the gateway picks one among
 * the healthy deployments from their model_info metadata:
 * - eco: the cheapest; free before paid, local before cloud, then faster, then better;
 * - balanced: the best quality per cost among models at or above the quality floor (free models
 *   there win), else the best model there is;
 * - precision: the highest quality_score; the cheaper one on a tie;
 * - custom: the model the caller names (no automatic choice).
 * Each level caps max_tokens and sets the credit cost multiplier (platform.power_levels).
 */
import { GatewayError } from '../errors.js';
import { isLocalProvider } from '../providers/specs.js';
import type { Deployment } from '../providers/types.js';
import { POWER_LEVELS, type PlatformSettings, type PowerLevel } from './settings.js';

/** quality_score assumed for a deployment that declares none. */
export const DEFAULT_QUALITY_SCORE = 50;
const LATENCY_RANK: Record<string, number> = { fast: 0, medium: 1, slow: 2 };

export function parsePowerLevel(value: unknown, source: string): PowerLevel | undefined {
  if (value === undefined || value === null || value === '') return undefined;
  const text = typeof value === 'string' ? value.trim().toLowerCase() : value;
  if (typeof text === 'string' && (POWER_LEVELS as readonly string[]).includes(text)) return text as PowerLevel;
  throw new GatewayError('invalid_request', `${source} must be one of ${POWER_LEVELS.join(', ')}, got ${JSON.stringify(value)}`, { param: 'power_level' });
}

export interface DeploymentTraits {
  quality: number;
  /** Pico-dollars per input + output token; Infinity when the price is unknown. */
  cost: number;
  local: boolean;
  latency: number;
}

export function traitsOf(deployment: Deployment): DeploymentTraits {
  const info = deployment.modelInfo;
  const quality = typeof info.quality_score === 'number' ? info.quality_score : DEFAULT_QUALITY_SCORE;
  const cost = deployment.prices ? deployment.prices.inputPerToken + deployment.prices.outputPerToken : Number.POSITIVE_INFINITY;
  const privacy = typeof info.privacy === 'string' ? info.privacy : isLocalProvider(deployment.provider) ? 'local' : 'cloud';
  const latency = typeof info.latency_class === 'string' && Object.hasOwn(LATENCY_RANK, info.latency_class) ? LATENCY_RANK[info.latency_class] : LATENCY_RANK.medium;
  return { quality, cost, local: privacy === 'local', latency };
}

function compareEco(a: DeploymentTraits, b: DeploymentTraits): number {
  return a.cost - b.cost || Number(b.local) - Number(a.local) || a.latency - b.latency || b.quality - a.quality;
}

function comparePrecision(a: DeploymentTraits, b: DeploymentTraits): number {
  return b.quality - a.quality || a.cost - b.cost || a.latency - b.latency;
}

/** Quality per pico-dollar; a free model's value is unbounded (ties then go to quality). */
function value(traits: DeploymentTraits): number {
  if (traits.cost === 0) return Number.POSITIVE_INFINITY;
  return Number.isFinite(traits.cost) ? traits.quality / traits.cost : 0;
}

function compareBalanced(a: DeploymentTraits, b: DeploymentTraits): number {
  const byValue = value(b) - value(a);
  return (Number.isNaN(byValue) ? 0 : byValue) || b.quality - a.quality || a.latency - b.latency;
}

/**
 * The deployment a level picks among `candidates` (chat deployments the caller may use, healthy),
 * or undefined when there is none.
 */
export function choose(level: Exclude<PowerLevel, 'custom'>, candidates: Deployment[], settings: Pick<PlatformSettings, 'balancedQualityFloor'>): Deployment | undefined {
  if (candidates.length === 0) return undefined;
  const ranked = candidates.map((deployment) => ({ deployment, traits: traitsOf(deployment) }));
  if (level === 'eco') ranked.sort((a, b) => compareEco(a.traits, b.traits));
  else if (level === 'precision') ranked.sort((a, b) => comparePrecision(a.traits, b.traits));
  else {
    const floor = settings.balancedQualityFloor;
    const above = ranked.filter((entry) => entry.traits.quality >= floor);
    if (above.length === 0) return ranked.sort((a, b) => comparePrecision(a.traits, b.traits))[0].deployment;
    return above.sort((a, b) => compareBalanced(a.traits, b.traits))[0].deployment;
  }
  return ranked[0].deployment;
}

/** A deployment that serves chat (not embeddings, images, …). */
export function servesChat(deployment: Deployment): boolean {
  const mode = deployment.modelInfo.mode;
  return mode === undefined || mode === 'chat' || mode === 'completion';
}

/** Lowers the request's output limit to the level's cap (sets it when the request has none). */
export function capMaxTokens(request: Record<string, unknown>, cap: number | undefined): void {
  if (cap === undefined) return;
  const completion = request.max_completion_tokens;
  if (typeof completion === 'number') {
    if (completion > cap) request.max_completion_tokens = cap;
    if (typeof request.max_tokens === 'number' && request.max_tokens > cap) request.max_tokens = cap;
    return;
  }
  if (typeof request.max_tokens !== 'number' || request.max_tokens > cap) request.max_tokens = cap;
}
