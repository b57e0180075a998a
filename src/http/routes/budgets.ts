/**
 * LiteLLM's budget routes (/budget/new|update|info|list|delete, `LiteLLM_BudgetTable` shapes):
 * budget objects that keys, teams and customers link to with `budget_id` (auth/budgets.ts). Every
 * route needs llm.configure (the admin role).
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { BudgetService } from '../../auth/budget-objects.js';
import { requirePermission } from '../../auth/permissions.js';
import { parseInput } from '../../parse-input.js';
import { callOf } from '../context.js';
import { oneValue } from '../query-fields.js';
import { storedDuration, storedLimit, storedMetadata, storedName } from './stored-field-bounds.js';

const nullableNumber = z.number({ invalid_type_error: 'expected a number' }).nonnegative().nullable().optional();
const nullableInteger = storedLimit();

/** BudgetNewRequest's fields; an unknown field is refused, naming it. */
export const budgetFields = {
  budget_id: storedName().min(1).optional(),
  max_budget: nullableNumber,
  soft_budget: nullableNumber,
  max_parallel_requests: nullableInteger,
  tpm_limit: nullableInteger,
  rpm_limit: nullableInteger,
  budget_duration: storedDuration().nullable().optional(),
  model_max_budget: storedMetadata().nullable().optional(),
};

const newBudget = z.object(budgetFields).strict();
const updateBudget = z.object({ ...budgetFields, budget_id: storedName().min(1) }).strict();
const budgetIds = z.object({ budgets: z.array(storedName().min(1)).min(1, 'name at least one budget id').max(100) }).strict();
const budgetInfoQuery = z.object({ budgets: oneValue().optional(), budget_id: oneValue().optional() });
const deleteBudget = z.object({ id: storedName().min(1) }).strict();

const adminOnly = { preHandler: requirePermission('llm.configure') };

/** Who made a change, for created_by / updated_by. */
function actor(request: FastifyRequest): string {
  const caller = callOf(request).caller;
  // The master key is LiteLLM's "litellm_proxy_admin_name"; a virtual key is its user, alias or id.
  if (!caller.principal) return 'litellm_proxy_admin_name';
  return caller.userId ?? caller.keyAlias ?? `key ${caller.keyId ?? 'unknown'}`;
}

export function registerBudgetRoutes(app: FastifyInstance, service: () => BudgetService): void {
  app.post('/budget/new', adminOnly, async (request) => service().budgetView(await service().newBudget(parseInput(newBudget, request.body), actor(request))));

  app.post('/budget/update', adminOnly, async (request) => service().budgetView(await service().updateBudget(parseInput(updateBudget, request.body), actor(request))));

  // LiteLLM reads {"budgets": [ids]} from a POST body; GET ?budgets=a,b (or ?budget_id=) reads the same.
  app.post('/budget/info', adminOnly, async (request) => (await service().budgets(parseInput(budgetIds, request.body).budgets)).map((budget) => service().budgetView(budget)));
  app.get('/budget/info', adminOnly, async (request) => {
    const query = parseInput(budgetInfoQuery, request.query, 'query');
    const ids = (query.budgets ?? query.budget_id ?? '').split(',').map((id) => id.trim()).filter(Boolean);
    return (await service().budgets(parseInput(budgetIds, { budgets: ids }).budgets)).map((budget) => service().budgetView(budget));
  });

  app.get('/budget/list', adminOnly, async () => (await service().listBudgets()).map((budget) => service().budgetView(budget)));

  app.post('/budget/delete', adminOnly, async (request) => service().budgetView(await service().deleteBudget(parseInput(deleteBudget, request.body).id)));
}
