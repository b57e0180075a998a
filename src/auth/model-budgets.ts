/**
 * Per-model budgets on a virtual key (LiteLLM's `model_max_budget`): a map from a model name to a
 * budget in USD, optionally per period. Both of LiteLLM's shapes are read:
 *
 *   {"gpt-4o": {"budget_limit": 0.5, "time_period": "1d"}}   (LiteLLM's BudgetConfig; also
 *                                                              "max_budget" / "budget_duration")
 *   {"gpt-4o": 10.0}                                           (older shape: no period)
 *
 * Which calls an entry covers: an entry applies to the model a call is SERVED by — the model group
 * that answered (config `model_name`, after key aliases, `model_group_alias` and wildcards were
 * resolved), or the deployment's upstream model or `model_info.base_model`, with or without its
 * provider prefix (`gpt-4o`, `openai/gpt-4o`) or a vendor prefix of its own (an aggregator's
 * `openai/gpt-4o`), in any case, or a name the key's `aliases` or the config's `model_group_alias`
 * send to that group. At admission the call reserves on the entry of every model it may reach
 * (the requested group and every fallback); at settle only the entries of the model that served it
 * are charged, the others released. So neither an alias nor a fallback moves a call out from under
 * a budget, and a fallback to another model is charged to the model that answered.
 */
import { GatewayError } from '../errors.js';
import { addServedModelNames, comparableModelName } from '../routing/model-names.js';
import { addDuration, MAX_DURATION_TEXT, parseDuration, periodStart } from './budget-period.js';

export interface ModelBudget {
  budgetMicros: number;
  /** LiteLLM's time_period ("1d", "30d", "1mo", …); null: the budget never resets. */
  timePeriod: string | null;
}

/** Entry name (as configured) → budget. */
export type ModelBudgets = Record<string, ModelBudget>;

/** The spend the database last recorded for one entry, and the period it belongs to (0: never resets). */
export interface ModelSpend {
  period: number;
  spendMicros: number;
}

const MAX_ENTRIES = 256;
const MAX_NAME = 256;

function refuse(path: string, message: string): never {
  throw new GatewayError('invalid_request', `${path}: ${message}`, { param: 'model_max_budget' });
}

function budgetOf(value: unknown, path: string): number {
  if (typeof value !== 'number' || !Number.isFinite(value) || value < 0) refuse(path, 'expected a budget in USD (a number of 0 or more)');
  return Math.round(value * 1_000_000);
}

/**
 * Reads `model_max_budget` as sent (either shape). null / undefined → undefined (not given);
 * anything malformed is refused with 400 naming the field.
 */
export function parseModelBudgets(value: unknown, field = 'model_max_budget'): ModelBudgets | undefined {
  if (value === undefined || value === null) return undefined;
  if (typeof value !== 'object' || Array.isArray(value)) refuse(field, 'expected an object mapping a model name to a budget, like {"gpt-4o": {"budget_limit": 10, "time_period": "30d"}}');
  const entries = Object.entries(value as Record<string, unknown>);
  if (entries.length > MAX_ENTRIES) refuse(field, `must have at most ${MAX_ENTRIES} models`);
  const budgets: ModelBudgets = {};
  for (const [model, entry] of entries) {
    const path = `${field}.${model}`;
    if (model.trim() === '' || model.length > MAX_NAME) refuse(path, `a model name must be 1 to ${MAX_NAME} characters`);
    if (typeof entry === 'number') {
      budgets[model] = { budgetMicros: budgetOf(entry, path), timePeriod: null };
      continue;
    }
    if (typeof entry !== 'object' || entry === null || Array.isArray(entry)) refuse(path, 'expected a budget in USD or {"budget_limit": <USD>, "time_period": "<duration>"}');
    const fields = entry as Record<string, unknown>;
    for (const name of Object.keys(fields)) {
      if (['budget_limit', 'max_budget', 'time_period', 'budget_duration'].includes(name)) continue;
      if ((name === 'tpm_limit' || name === 'rpm_limit') && fields[name] == null) continue;
      refuse(`${path}.${name}`, name === 'tpm_limit' || name === 'rpm_limit' ? 'per-model rate limits are not supported (set tpm_limit / rpm_limit on the key)' : 'unknown field: a per-model budget has budget_limit (USD) and time_period');
    }
    if (fields.budget_limit !== undefined && fields.max_budget !== undefined) refuse(path, 'give budget_limit or max_budget, not both');
    if (fields.time_period != null && fields.budget_duration != null) refuse(path, 'give time_period or budget_duration, not both');
    const limitField = fields.budget_limit !== undefined ? 'budget_limit' : 'max_budget';
    const limit = fields[limitField];
    if (limit === undefined || limit === null) refuse(`${path}.budget_limit`, 'is required: the budget in USD');
    const periodField = fields.time_period != null ? 'time_period' : 'budget_duration';
    const period = fields[periodField] ?? null;
    if (period !== null && (typeof period !== 'string' || !parseDuration(period))) refuse(`${path}.${periodField}`, `expected a duration like "30s", "30m", "24h", "1d", "1w", "1mo" (or "daily", "weekly", "monthly"), ${MAX_DURATION_TEXT}`);
    budgets[model] = { budgetMicros: budgetOf(limit, `${path}.${limitField}`), timePeriod: period as string | null };
  }
  return budgets;
}

/** A stored value (written normalized, in LiteLLM's shape, by the management routes) read back. */
export function storedModelBudgets(text: string | null | undefined): ModelBudgets {
  if (!text) return {};
  return parseModelBudgets(JSON.parse(text) as unknown) ?? {};
}

/** LiteLLM's shape, as /key/info returns it and the database stores it: {model: {budget_limit, time_period}}. */
export function toLiteLLM(budgets: ModelBudgets | undefined | null): Record<string, { budget_limit: number; time_period: string | null }> {
  const view: Record<string, { budget_limit: number; time_period: string | null }> = {};
  for (const [model, budget] of Object.entries(budgets ?? {})) view[model] = { budget_limit: budget.budgetMicros / 1_000_000, time_period: budget.timePeriod };
  return view;
}

/** The start of the entry's period `now` falls in (periods repeat from the key's creation); 0 when it never resets. */
export function modelBudgetPeriod(budget: ModelBudget, anchor: number, now = Date.now()): number {
  const duration = budget.timePeriod ? parseDuration(budget.timePeriod) : undefined;
  if (!duration) return 0;
  return periodStart(anchor, duration, now);
}

/** When the entry's current period ends (epoch ms), or null when it never resets. */
export function modelBudgetResetAt(budget: ModelBudget, anchor: number, now = Date.now()): number | null {
  const duration = budget.timePeriod ? parseDuration(budget.timePeriod) : undefined;
  return duration ? addDuration(modelBudgetPeriod(budget, anchor, now), duration) : null;
}

/** The recorded spend of the entry's current period (0 when the record is of an older period). */
export function modelSpendThisPeriod(spend: ModelSpend | undefined, period: number): number {
  return spend && spend.period === period ? spend.spendMicros : 0;
}

/** A model a call may be served by: its group, and the deployment's provider, upstream model and model_info.base_model. */
export interface ServedModel {
  group: string;
  provider: string;
  upstreamModel: string;
  baseModel?: string;
}

/**
 * The entries that cover a call served by `served`. `aliasTarget` resolves a name through the key's
 * aliases and the config's model_group_alias to the group it sends calls to (undefined: not an alias).
 * `sameModelGroups`: when a wildcard served the call under the client's name, the configured groups
 * that call the same upstream model (`gpt-4o` through `"*"` is what `premium` → openai/gpt-4o serves;
 * platform/model-limits.ts, configuredGroupsServedBy): an entry naming such a group, or an alias of
 * one, covers the call too, as deny_models and a rule's match.model do — else a spent `premium` entry
 * was dodged by asking for `gpt-4o` (any spelling, or a key alias leading to it).
 */
export function entriesFor(budgets: Readonly<Record<string, unknown>>, served: ServedModel, aliasTarget: (name: string) => string | undefined, sameModelGroups: readonly string[] = []): string[] {
  const names = new Set([comparableModelName(served.group)]);
  addServedModelNames(names, served.provider, served.upstreamModel);
  // An Azure deployment's name says nothing of its model; base_model says which it is (and prices it).
  if (served.baseModel) addServedModelNames(names, served.provider, served.baseModel);
  for (const group of sameModelGroups) names.add(comparableModelName(group));
  const groups = new Set([served.group, ...sameModelGroups]);
  return Object.keys(budgets).filter((entry) => {
    if (names.has(comparableModelName(entry))) return true;
    const target = aliasTarget(entry);
    return target !== undefined && groups.has(target);
  });
}

/**
 * The per-model budgets that hold a key: its own when it has any, else those of the budget object
 * it links to (`budget_id`; a budget is a template, so the key still has counters of its own).
 */
export function effectiveModelBudgets(own: ModelBudgets | undefined, budget: { budgetId: string; modelMaxBudget: Record<string, unknown> | null } | undefined): ModelBudgets {
  if (own && Object.keys(own).length > 0) return own;
  if (!budget?.modelMaxBudget) return {};
  return parseModelBudgets(budget.modelMaxBudget, `model_max_budget of budget "${budget.budgetId}"`) ?? {};
}
