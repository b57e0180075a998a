/**
 * Budget alerts (alert type `budget_alerts`): a key's, user's, team's or end user's spend of its
 * budget period passed its soft budget, 80 % of its max budget, or the whole max budget (exhausted:
 * spent, or a request refused because not even a minimal call fits in what is left). Told of the
 * counted spend after each billed call settled, and of such refusals (auth/admission.ts), off the
 * request path (nothing awaited; the alert is queued). Each
 * condition alerts once per holder per budget period (a new period may alert again; with
 * alerting_args.budget_alert_ttl, again once that long has passed while the spend stays over it): on this
 * replica by memory, across replicas (with Redis) by a SET NX claim per condition and period; the
 * hourly dedup and per-minute rate limit of alerting.ts apply on top.
 */
import { formatUsd } from '../../billing/cost.js';
import type { SettledSpend } from '../../auth/admission.js';
import type { Alert } from './alert.js';

/** A shared once-only claim per condition (Redis SET NX with a long expiry). */
export interface ClaimStore {
  /** True when this replica is the first to claim the key (for ttlSeconds, else for good). */
  claim(key: string, ttlSeconds?: number): Promise<boolean>;
  release(key: string): Promise<void>;
}

export type BudgetCondition = 'soft_budget' | 'max_budget_80' | 'max_budget';

/** At most this many remembered conditions; the oldest are forgotten first (a forgotten one may alert again). */
const MAX_REMEMBERED = 50_000;

export class BudgetAlerts {
  /** Each alerted condition and when it was alerted (or claimed). */
  private readonly alerted = new Map<string, number>();

  constructor(
    /** Sends the alert; false when it was not sent (rate-limited), so that a later call may send it. */
    private readonly raise: (alert: Alert) => boolean,
    private readonly now: () => number,
    /** alerting_args.budget_alert_ttl: a condition alerts again this long after its last alert; unset, once per period. */
    private readonly ttlMs?: number,
  ) {}

  /** Claims shared by the replicas (Redis SET NX): only the replica that claims a condition sends it. */
  private claims: ClaimStore | undefined;

  useClaims(claims: ClaimStore): void {
    this.claims = claims;
  }

  spent(spend: SettledSpend): void {
    const { spentMicros: spent, maxBudgetMicros: max, softBudgetMicros: soft } = spend;
    const reached: Array<{ condition: BudgetCondition; level: Alert['level']; text: string }> = [];
    if (max !== null && (spent >= max || spend.exhausted)) reached.push({ condition: 'max_budget', level: 'High', text: `has exhausted its budget: spent $${formatUsd(spent)} of its $${formatUsd(max)} max_budget${spent < max ? ', and what is left pays for no call' : ''}; its requests are refused until the budget resets or is raised` });
    if (max !== null && spent * 10 >= max * 8) reached.push({ condition: 'max_budget_80', level: 'Medium', text: `has reached 80% of its budget: spent $${formatUsd(spent)} of its $${formatUsd(max)} max_budget` });
    if (soft !== null && spent >= soft) reached.push({ condition: 'soft_budget', level: 'Medium', text: `has crossed its soft budget: spent $${formatUsd(spent)}, past its $${formatUsd(soft)} soft_budget${max !== null ? ` (max_budget $${formatUsd(max)})` : ''}` });
    const fresh = reached.filter((entry) => !this.isAlerted(this.key(spend, entry.condition)));
    const exhausted = fresh.some((entry) => entry.condition === 'max_budget');
    for (const entry of fresh) {
      const key = this.key(spend, entry.condition);
      // A call that took the spend from under 80 % to the whole budget: the exhaustion says it all.
      if (entry.condition === 'max_budget_80' && exhausted) {
        this.remember(key);
        continue;
      }
      const alert: Alert = {
        alert_type: 'budget_alerts',
        level: entry.level,
        message: `${capitalized(spend.name)} ${entry.text}${spend.period > 0 ? ` (budget period from ${new Date(spend.period).toISOString()})` : ''}`,
        timestamp: Math.floor(this.now() / 1000),
        model_group: null,
        deployment: null,
        provider: null,
        condition: key,
      };
      const claims = this.claims;
      if (!claims) {
        if (this.raise(alert)) this.remember(key);
        continue;
      }
      // Remembered at once, so this replica claims each condition once; another replica's claim wins.
      this.remember(key);
      void claims
        .claim(key, this.ttlMs !== undefined ? Math.max(1, Math.ceil(this.ttlMs / 1000)) : undefined)
        // Redis not answering: better a duplicate than a missed alert.
        .catch(() => true)
        .then((won) => {
          if (!won || this.raise(alert)) return;
          // Rate-limited: let a later call send it, here or on another replica.
          this.alerted.delete(key);
          void claims.release(key).catch(() => undefined);
        });
    }
  }

  private key(spend: SettledSpend, condition: BudgetCondition): string {
    return `budget:${condition}:${spend.kind}:${spend.id}:${spend.period}`;
  }

  private isAlerted(key: string): boolean {
    const at = this.alerted.get(key);
    return at !== undefined && (this.ttlMs === undefined || this.now() - at < this.ttlMs);
  }

  private remember(key: string): void {
    this.alerted.delete(key);
    this.alerted.set(key, this.now());
    if (this.alerted.size > MAX_REMEMBERED) this.alerted.delete(this.alerted.keys().next().value!);
  }
}

function capitalized(text: string): string {
  return text.charAt(0).toUpperCase() + text.slice(1);
}
