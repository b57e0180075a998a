/**
 * LiteLLM's customer routes — /customer/new|info|update|delete|list|block|unblock, and the same
 * under /end_user/* — with `NewCustomerRequest` / `LiteLLM_EndUserTable` shapes. A customer is the
 * end user a call is made for (the body's `user`, `x-litellm-end-user-id`, or
 * `general_settings.user_header_name`); its limits and block flag apply to those calls
 * (gateway/stages/admit.ts). Every route needs llm.configure (the admin role).
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { CustomerService } from '../../auth/customers.js';
import { requirePermission } from '../../auth/permissions.js';
import { parseInput } from '../../parse-input.js';
import { oneValue, positiveInteger } from '../query-fields.js';
import { budgetFields } from './budgets.js';
import { storedName } from './stored-field-bounds.js';
import { MAX_END_USER_LENGTH } from '../../gateway/end-user.js';

const endUserId = () => z.string().min(1).max(MAX_END_USER_LENGTH, `must be at most ${MAX_END_USER_LENGTH} characters`);

const customerFields = {
  ...budgetFields,
  user_id: endUserId(),
  alias: storedName().nullable().optional(),
  blocked: z.boolean().optional(),
  budget_id: storedName().min(1).nullable().optional(),
  spend: z.number().nonnegative().nullable().optional(),
  allowed_model_region: z.enum(['eu', 'us']).nullable().optional(),
  default_model: storedName().nullable().optional(),
};

const newCustomer = z.object(customerFields).strict();
const updateCustomer = z.object(customerFields).strict();
const userIds = z.object({ user_ids: z.array(endUserId()).min(1, 'name at least one end user').max(1_000) }).strict();
const infoQuery = z.object({ end_user_id: oneValue() });
const listQuery = z.object({ page: positiveInteger(1_000_000).optional(), size: positiveInteger(1_000).optional() });

const adminOnly = { preHandler: requirePermission('llm.configure') };

export function registerCustomerRoutes(app: FastifyInstance, service: () => CustomerService): void {
  for (const prefix of ['/customer', '/end_user']) {
    app.post(`${prefix}/new`, adminOnly, async (request) => service().customerView(await service().newCustomer(parseInput(newCustomer, request.body))));

    app.get(`${prefix}/info`, adminOnly, async (request) => service().customerView(await service().requireCustomer(parseInput(infoQuery, request.query, 'query').end_user_id)));

    app.post(`${prefix}/update`, adminOnly, async (request) => service().customerView(await service().updateCustomer(parseInput(updateCustomer, request.body))));

    app.post(`${prefix}/delete`, adminOnly, async (request) => {
      const deleted = await service().deleteCustomers(parseInput(userIds, request.body).user_ids);
      return { deleted_customers: deleted.length, message: `Successfully deleted customers with ids: ${JSON.stringify(deleted)}` };
    });

    // LiteLLM answers a plain list of LiteLLM_EndUserTable rows; ?page=&size= pages it (default: the first 1000).
    app.get(`${prefix}/list`, adminOnly, async (request) => {
      const query = parseInput(listQuery, request.query, 'query');
      const page = await service().listCustomers(query.page ?? 1, query.size ?? 1_000);
      return Promise.all(page.items.map((user) => service().customerView(user)));
    });

    app.post(`${prefix}/block`, adminOnly, async (request) => ({ blocked_users: await service().setBlocked(parseInput(userIds, request.body).user_ids, true) }));

    app.post(`${prefix}/unblock`, adminOnly, async (request) => ({ blocked_users: await service().setBlocked(parseInput(userIds, request.body).user_ids, false) }));
  }
}
