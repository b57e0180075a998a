/**
 * The /api/v1/llm/* routes for platforms built on the Ops Center layout: chat completions, models
 * and health with the same behaviour as the /v1 ones, and the platform layer's own — credits
 * (balance, ledger, admin grants) and users' own provider keys (BYOK). Each route checks its
 * permission (src/auth/permissions.ts). A user reads and manages their own account; acting for
 * another user (?user_id= or "user_id") needs llm.configure.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { UserRecord } from '../../auth/principals.js';
import { callerWith, can, permissionDenied, requirePermission, type Permission } from '../../auth/permissions.js';
import { GatewayError } from '../../errors.js';
import type { Gateway } from '../../gateway/pipeline.js';
import { consumeRequestOptions } from '../../gateway/request-options.js';
import { assertChatMediaReferences } from '../../gateway/internal-media-references.js';
import { validateChatRequest } from '../../gateway/validate.js';
import { isModelAllowed } from '../../auth/model-access.js';
import type { PlatformLayer } from '../../platform/layer.js';
import { traitsOf } from '../../platform/power-levels.js';
import { toCredits, toMillicredits, POWER_LEVELS } from '../../platform/settings.js';
import type { ModelCatalog } from '../../routing/catalog.js';
import type { CreditRepository, StoredCreditTransaction } from '../../storage/repositories/credits.js';
import type { PrincipalRepository } from '../../storage/repositories/principals.js';
import { callOf } from '../context.js';
import type { ByokKeysAnswer, CreditAccountView, CreditTransactionsAnswer, CreditTransactionView } from '../views.js';
import { healthFor, healthQuery, type HealthDependencies } from './health.js';
import { registerRoutingRoutes } from './routing.js';
import { sendResult, withAutoModel } from './openai.js';
import { parseInput } from '../../parse-input.js';
import { oneValue, positiveInteger, wholeNumber } from '../query-fields.js';
import { STORED_FIELD_BOUNDS, storedName } from './stored-field-bounds.js';

export interface PlatformRouteDependencies {
  gateway: Gateway;
  catalog: ModelCatalog;
  health: HealthDependencies;
  platform?: PlatformLayer;
  /** Throw 503 until the database is ready. */
  credits: () => CreditRepository;
  principals: () => PrincipalRepository;
  /** Drops cached principals everywhere after a balance change (their credit totals moved). */
  invalidatePrincipals: () => Promise<void>;
}

const PREFIX = '/api/v1/llm';

const addBody = z
  .object({
    user_id: z.string({ required_error: 'is required: the user to credit' }).min(1).max(STORED_FIELD_BOUNDS.nameChars, `must be at most ${STORED_FIELD_BOUNDS.nameChars} characters`),
    amount: z.number({ required_error: 'is required: credits to add (negative only for kind "adjustment")', invalid_type_error: 'expected a number of credits' }).finite(),
    kind: z.enum(['grant', 'purchase', 'refund', 'adjustment']).default('grant'),
    description: z.string().max(500).optional(),
  })
  .strict();

const byokBody = z
  .object({
    provider: z.string({ required_error: 'is required (e.g. "openai", "anthropic")' }).min(1).max(64),
    api_key: z.string({ required_error: 'is required: your provider API key' }).min(1).max(STORED_FIELD_BOUNDS.secretChars),
    user_id: storedName().min(1).optional(),
  })
  .strict();

const DEFAULT_TRANSACTIONS = 50;
const TRANSACTION_KINDS = ['grant', 'purchase', 'usage', 'refund', 'dispute', 'adjustment', 'allowance', 'expiry'] as const satisfies ReadonlyArray<StoredCreditTransaction['kind']>;

const userQuery = z.object({ user_id: oneValue().optional() });
const transactionsQuery = z.object({
  user_id: oneValue().optional(),
  limit: positiveInteger(500).optional(),
  offset: wholeNumber(0, Number.MAX_SAFE_INTEGER).optional(),
  kind: z.enum(TRANSACTION_KINDS, { errorMap: () => ({ message: `must be one of ${TRANSACTION_KINDS.join(', ')}` }) }).optional(),
});

function transactionView(row: StoredCreditTransaction): CreditTransactionView {
  return {
    id: row.id,
    kind: row.kind,
    amount: toCredits(row.amount_millicredits),
    balance_after: toCredits(row.balance_after_millicredits),
    call_id: row.call_id,
    description: row.description,
    created_at: new Date(Number(row.created_at)).toISOString(),
  };
}

/** The power levels the caller's tier may ask for (every level for callers without a tier). */
function levelsOf(platform: PlatformLayer, principal: Parameters<PlatformLayer['tierOf']>[0]) {
  const allowed = platform.tierOf(principal)?.powerLevels;
  return POWER_LEVELS.filter((level) => !allowed || allowed.includes(level));
}

export function registerPlatformRoutes(app: FastifyInstance, deps: PlatformRouteDependencies): void {
  const { gateway, catalog, platform } = deps;

  const requirePlatform = (): PlatformLayer => {
    if (!platform) throw new GatewayError('not_found', 'credits, tiers and BYOK are off on this gateway: add the "platform:" section to the config to turn them on');
    return platform;
  };

  /**
   * The user a request acts for: its own (the key's user), or, for a caller holding llm.configure,
   * the one named by `asked`. The master key names one.
   */
  const subjectUser = async (request: FastifyRequest, permission: Permission, asked: string | undefined): Promise<UserRecord> => {
    const caller = callerWith(request, permission);
    const own = caller.principal?.user;
    if (asked && asked !== own?.userId) {
      if (!can(request, 'llm.configure')) {
        throw permissionDenied(request, 'llm.configure', 'acting for another user');
      }
      const user = await deps.principals().findUser(asked);
      if (!user) throw new GatewayError('not_found', `no user "${asked}"`, { param: 'user_id' });
      return user;
    }
    if (own) return own;
    throw new GatewayError('invalid_request', caller.principal ? 'this key belongs to no user, and credits and BYOK keys are per user: use a key created for a user (/user/new)' : 'name the user: ?user_id= (or "user_id" in the body)', { param: 'user_id' });
  };

  app.post(`${PREFIX}/chat/completions`, { config: { endpoint: 'chat/completions' }, preHandler: requirePermission('llm.execute') }, async (request, reply) => {
    const call = callOf(request);
    const chat = validateChatRequest(withAutoModel(consumeRequestOptions(call, request.headers, request.body), platform !== undefined));
    await assertChatMediaReferences(chat, can(request, 'llm.manage_providers'));
    const result = await gateway.chat(call, chat);
    return sendResult(reply, result);
  });

  app.get(`${PREFIX}/models`, { preHandler: requirePermission('llm.read') }, async (request) => {
    const principal = callOf(request).caller.principal;
    const listed = catalog.listedModels().filter(({ id, group }) => (!principal || isModelAllowed(principal, id, group.name)) && (!platform || platform.tierAllows(principal, id, group)));
    return {
      object: 'list',
      data: listed.map(({ id, group }) => {
        const deployment = group.available[0];
        const traits = traitsOf(deployment);
        return {
          id,
          object: 'model',
          created: catalog.createdAt,
          owned_by: deployment.provider,
          quality_score: traits.quality,
          latency_class: (['fast', 'medium', 'slow'] as const)[traits.latency],
          privacy: traits.local ? 'local' : 'cloud',
          free: traits.cost === 0,
          byok: platform?.byok.serves(platform.ownKeyUser(principal), deployment) ?? false,
        };
      }),
      ...(platform ? { power_levels: levelsOf(platform, principal).map((level) => ({ level, max_tokens: platform.settings.powerLevels[level].maxTokens ?? null, multiplier: platform.settings.powerLevels[level].multiplier })) } : {}),
    };
  });

  if (platform) registerRoutingRoutes(app, { gateway, catalog, platform, principals: deps.principals });

  app.get(`${PREFIX}/health`, { preHandler: requirePermission('llm.read') }, async (request) => {
    return healthFor(request, deps.health, parseInput(healthQuery, request.query, 'query').model);
  });

  // ---- credits
  const balanceOf = async (request: FastifyRequest) => {
    const layer = requirePlatform();
    const user = await subjectUser(request, 'llm.read', parseInput(userQuery, request.query, 'query').user_id);
    // A due monthly allowance is counted in the balance now and stored in the background.
    layer.allowances?.touch(user);
    const balance = await layer.credits.balance(user);
    return { layer, user, balance };
  };

  app.get(`${PREFIX}/credits`, async (request) => {
    const { layer, user, balance } = await balanceOf(request);
    const tier = layer.credits.tierOf(user);
    const account: CreditAccountView = {
      user_id: user.userId,
      tier: tier.name,
      markup: tier.markup,
      balance: toCredits(balance),
      credits_used: toCredits(Math.max(0, (user.creditBalanceMillicredits ?? 0) + (user.creditsUsedMillicredits ?? 0) - balance)),
      credits_per_usd: layer.settings.creditsPerUsd,
      low_balance_threshold: layer.settings.lowBalanceMillicredits === undefined ? null : toCredits(layer.settings.lowBalanceMillicredits),
      low_balance: layer.credits.isLow(balance),
      monthly_credits: toCredits(tier.monthlyMillicredits),
      rollover: tier.rollover,
      allowance_period: user.allowancePeriod ?? null,
    };
    return account;
  });

  app.get(`${PREFIX}/credits/balance`, async (request) => {
    const { layer, user, balance } = await balanceOf(request);
    return { user_id: user.userId, balance: toCredits(balance), low_balance: layer.credits.isLow(balance) };
  });

  app.post(`${PREFIX}/credits/add`, async (request) => {
    requirePlatform();
    callerWith(request, 'llm.configure');
    const body = parseInput(addBody, request.body);
    const amount = toMillicredits(body.amount);
    if (amount === 0) throw new GatewayError('invalid_request', 'amount: must not be 0', { param: 'amount' });
    if (amount < 0 && body.kind !== 'adjustment') throw new GatewayError('invalid_request', `amount: must be positive for kind "${body.kind}" (use kind "adjustment" to take credits away)`, { param: 'amount' });
    const row = await deps.credits().add(body.user_id, body.kind, amount, body.description ?? null);
    if (row === undefined) throw new GatewayError('not_found', `no user "${body.user_id}" (create it with /user/new)`, { param: 'user_id' });
    if (row === 'insufficient') throw new GatewayError('invalid_request', `amount: user "${body.user_id}" has fewer than ${toCredits(-amount)} credits; a balance never goes below zero`, { param: 'amount' });
    await deps.invalidatePrincipals();
    return { user_id: body.user_id, balance: toCredits(row.balance_after_millicredits), transaction: transactionView(row) };
  });

  app.get(`${PREFIX}/credits/transactions`, async (request) => {
    requirePlatform();
    const query = parseInput(transactionsQuery, request.query, 'query');
    const user = await subjectUser(request, 'llm.read', query.user_id);
    const limit = query.limit ?? DEFAULT_TRANSACTIONS;
    const offset = query.offset ?? 0;
    // Not the entries of an earlier user of the same id (user ids are reused names; a deleted user's
    // ledger stays): a non-admin's ledger starts when its user was created, as its usage does (spend.ts, ownRowsSince).
    const since = can(request, 'llm.configure') ? 0 : user.createdAt;
    const page = await deps.credits().list(user.userId, limit, offset, query.kind, since);
    const answer: CreditTransactionsAnswer = { user_id: user.userId, transactions: page.items.map(transactionView), total: page.total, limit, offset };
    return answer;
  });

  // ---- bring your own key
  app.post(`${PREFIX}/byok/keys`, async (request) => {
    const layer = requirePlatform();
    const body = parseInput(byokBody, request.body);
    const user = await subjectUser(request, 'llm.execute', body.user_id);
    const tier = layer.credits.tierOf(user);
    if (!tier.byok) throw new GatewayError('byok_not_in_tier', `tier "${tier.name}" does not include bring-your-own-key: its users' calls run on credits (platform.tiers.${tier.name}.byok)`, { param: 'provider' });
    return layer.byok.store(user.userId, body.provider, body.api_key);
  });

  app.get(`${PREFIX}/byok/keys`, async (request) => {
    const layer = requirePlatform();
    const user = await subjectUser(request, 'llm.execute', parseInput(userQuery, request.query, 'query').user_id);
    const answer: ByokKeysAnswer = { user_id: user.userId, keys: await layer.byok.list(user.userId) };
    return answer;
  });

  app.get(`${PREFIX}/byok/keys/:provider`, async (request) => {
    const layer = requirePlatform();
    const user = await subjectUser(request, 'llm.execute', parseInput(userQuery, request.query, 'query').user_id);
    return layer.byok.get(user.userId, (request.params as { provider: string }).provider);
  });

  app.delete(`${PREFIX}/byok/keys/:provider`, async (request) => {
    const layer = requirePlatform();
    const user = await subjectUser(request, 'llm.execute', parseInput(userQuery, request.query, 'query').user_id);
    const provider = (request.params as { provider: string }).provider;
    await layer.byok.remove(user.userId, provider);
    return { user_id: user.userId, deleted: provider };
  });

  app.delete(`${PREFIX}/byok/keys`, async (request) => {
    const layer = requirePlatform();
    const user = await subjectUser(request, 'llm.execute', parseInput(userQuery, request.query, 'query').user_id);
    return { user_id: user.userId, deleted: await layer.byok.remove(user.userId) };
  });
}
