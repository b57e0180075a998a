/**
 * The proxy-wide budget (LiteLLM's litellm_settings.max_budget, with budget_duration): every call of
 * a virtual key is held to it together, by the same reservation as a key's budget (admission.ts, a
 * holder of kind "proxy"), and every billed call's spend — the master key's too, as LiteLLM counts
 * it — is recorded on its row with the usage rows (storage/repositories/spend.ts). The master key
 * is not held to it (as in LiteLLM). The row is read when the database is ready and every few
 * seconds after, so a counter the limits store lost is seeded from a recent spend.
 */
import type { Logger } from 'pino';
import type { ProxySpendRecord, ProxySpendRepository } from '../storage/repositories/proxy-spend.js';
import type { GatewayConfig } from '../config/schema.js';
import { noLimits, type Limits } from './principals.js';

const REFRESH_MS = 5_000;
const RETRY_MS = 1_000;
/**
 * How long a master-key call made before the row is first read waits for it (proxyBudget's
 * `whenRead`): a call not held on the budget's counter would be missing from it, and the counter,
 * seeded later from a record read before the call was recorded, would let virtual keys spend it
 * again. Reading the row takes milliseconds; past this (the database does not answer) the call runs
 * uncounted, as before, and its spend reaches the budget with its usage row.
 */
export const FIRST_READ_WAIT_MS = 2_000;

export interface ProxyBudgetSettings {
  maxBudgetMicros: number;
  budgetDuration: string | null;
}

export class ProxyBudget {
  private record: ProxySpendRecord | undefined;
  /** The holder's limits of the record last read (one object per read, not per call). */
  private held: Limits | undefined;
  private timer: NodeJS.Timeout | undefined;
  private closed = false;
  private readonly waiting: Array<() => void> = [];

  constructor(
    private readonly settings: ProxyBudgetSettings,
    private readonly logger: Logger,
  ) {}

  /**
   * Creates or reads the row, then keeps it fresh. Resolves once it is read (retrying while the
   * database refuses): virtual keys are served only after (gateway-runtime.ts), never unheld.
   */
  async attach(repository: ProxySpendRepository): Promise<void> {
    for (;;) {
      try {
        this.use(await repository.ensure(this.settings.budgetDuration, Date.now()));
        break;
      } catch (error) {
        if (this.closed) return;
        this.logger.warn({ err: (error as Error).message }, 'could not read the proxy-wide budget (litellm_settings.max_budget); virtual keys wait for it');
        await new Promise((resolve) => setTimeout(resolve, RETRY_MS).unref());
      }
    }
    const refresh = () => {
      repository.read().then(
        (record) => {
          if (record) this.use(record);
        },
        () => undefined,
      );
    };
    this.timer = setInterval(refresh, REFRESH_MS);
    this.timer.unref();
  }

  /** The budget as a holder's limits, once the row is read (undefined before: nothing is served then). */
  limits(): Limits | undefined {
    return this.held;
  }

  /** The limits once the row is first read, waiting up to `timeoutMs` for it (undefined past that). */
  whenRead(timeoutMs = FIRST_READ_WAIT_MS): Promise<Limits | undefined> {
    if (this.held || this.closed) return Promise.resolve(this.held);
    return new Promise((resolve) => {
      const timer = setTimeout(() => resolve(this.held), timeoutMs);
      timer.unref();
      this.waiting.push(() => {
        clearTimeout(timer);
        resolve(this.held);
      });
    });
  }

  private use(record: ProxySpendRecord): void {
    this.record = record;
    this.held = {
      ...noLimits(record.createdAt),
      maxBudgetMicros: this.settings.maxBudgetMicros,
      budgetDuration: this.settings.budgetDuration,
      budgetPeriodStart: record.periodStart > 0 ? record.periodStart : null,
      spendMicros: record.spendMicros,
    };
    for (const wake of this.waiting.splice(0)) wake();
  }

  close(): void {
    this.closed = true;
    if (this.timer) clearInterval(this.timer);
    for (const wake of this.waiting.splice(0)) wake();
  }
}

/** The proxy-wide budget of the config, when litellm_settings.max_budget is set. */
export function proxyBudgetOf(config: Pick<GatewayConfig, 'litellm_settings'>, logger: Logger): ProxyBudget | undefined {
  const usd = config.litellm_settings.max_budget;
  if (usd === undefined || usd === null) return undefined;
  return new ProxyBudget({ maxBudgetMicros: Math.round(usd * 1_000_000), budgetDuration: config.litellm_settings.budget_duration?.trim() || null }, logger);
}
