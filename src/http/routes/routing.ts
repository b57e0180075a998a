/**
 * Routing rules and tiers for admins, and the Testing Lab:
 *
 *   GET    /api/v1/llm/routing/rules          every rule in the order tried (config.yaml's and stored ones)
 *   POST   /api/v1/llm/routing/rules          adds a rule (stored; on every replica within a second)
 *   PATCH  /api/v1/llm/routing/rules/:name    changes fields of a stored rule
 *   DELETE /api/v1/llm/routing/rules/:name    removes a stored rule
 *   POST   /api/v1/llm/routing/explain        {request, user_id?}: the rule and plan a call would get, calling nothing
 *   POST   /api/v1/llm/routing/test           {request, user_id?}: the Testing Lab, a real call (charged) with its routing
 *   GET    /api/v1/llm/tiers                  each tier's markup, models, BYOK, power levels and user count
 *
 * Rules, tiers and acting for another user need llm.configure; explaining or testing one's own
 * calls needs llm.execute. Acting for a user uses one of the user's own active keys, so the call
 * is held to exactly what that user's calls are held to.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { callerOf } from '../../auth/authenticator.js';
import type { Caller } from '../../auth/caller.js';
import { callerWith, can, permissionDenied, requirePermission } from '../../auth/permissions.js';
import { GatewayError } from '../../errors.js';
import type { CallContext } from '../../gateway/call-context.js';
import { failureOf } from '../../gateway/call.js';
import type { Gateway } from '../../gateway/pipeline.js';
import { RULE_HEADER } from '../../gateway/stages/rules.js';
import { consumeRequestOptions } from '../../gateway/request-options.js';
import { assertChatMediaReferences } from '../../gateway/internal-media-references.js';
import { validateChatRequest } from '../../gateway/validate.js';
import type { PlatformLayer } from '../../platform/layer.js';
import type { RoutingRule } from '../../platform/routing-rules.js';
import type { ModelCatalog } from '../../routing/catalog.js';
import type { PrincipalRepository } from '../../storage/repositories/principals.js';
import { usersPerTier } from '../../storage/repositories/tier-counts.js';
import { parseInput } from '../../parse-input.js';
import { callOf } from '../context.js';
import { withAutoModel } from './openai.js';

export interface RoutingRouteDependencies {
  gateway: Gateway;
  catalog: ModelCatalog;
  platform: PlatformLayer;
  principals: () => PrincipalRepository;
}

const PREFIX = '/api/v1/llm';

const actingBody = z
  .object({
    request: z.record(z.unknown(), { required_error: 'is required: a chat request body ({"model": …, "messages": […]})', invalid_type_error: 'expected a chat request object' }),
    user_id: z.string().min(1).max(256).optional(),
    /** Header values the call would carry. */
    power_level: z.string().max(32).optional(),
    task: z.string().max(64).optional(),
  })
  .strict();

export function ruleView(rule: RoutingRule) {
  return {
    name: rule.name,
    priority: rule.priority,
    enabled: rule.enabled,
    match: rule.match,
    action: rule.action,
    source: rule.source,
    created_at: rule.createdAt === null ? null : new Date(rule.createdAt).toISOString(),
    updated_at: rule.updatedAt === null ? null : new Date(rule.updatedAt).toISOString(),
  };
}

export function registerRoutingRoutes(app: FastifyInstance, deps: RoutingRouteDependencies): void {
  const { platform, catalog, gateway } = deps;
  const configure = { preHandler: requirePermission('llm.configure') };
  const list = () => ({ rules: platform.rules.rules().map(ruleView) });
  const nameOf = (request: FastifyRequest) => {
    const name = (request.params as { name: string }).name;
    // The router decoded the path once; a second decode throws on a literal '%', so such a name is taken as it came.
    try {
      return decodeURIComponent(name);
    } catch {
      return name;
    }
  };

  app.get(`${PREFIX}/routing/rules`, configure, async () => list());
  app.post(`${PREFIX}/routing/rules`, configure, async (request) => ruleView(await platform.rules.create(request.body, catalog)));
  app.patch(`${PREFIX}/routing/rules/:name`, configure, async (request) => ruleView(await platform.rules.update(nameOf(request), request.body, catalog)));
  app.delete(`${PREFIX}/routing/rules/:name`, configure, async (request) => {
    const name = nameOf(request);
    await platform.rules.remove(name);
    return { deleted: name };
  });

  /**
   * The caller a call runs as: the requester's own key, or, with llm.configure, one of the named
   * user's active keys (the most recently created one).
   */
  const actingCaller = async (request: FastifyRequest, userId: string | undefined): Promise<Caller> => {
    const own = callerWith(request, 'llm.execute');
    if (!userId || userId === own.userId) return own;
    if (!can(request, 'llm.configure')) throw permissionDenied(request, 'llm.configure', 'acting for another user');
    const principals = deps.principals();
    const user = await principals.findUser(userId);
    if (!user) throw new GatewayError('not_found', `no user "${userId}"`, { param: 'user_id' });
    const now = Date.now();
    const keys = (await principals.keysOf({ userId })).filter((key) => !key.blocked && (key.expiresAt === null || key.expiresAt > now)).sort((a, b) => b.createdAt - a.createdAt);
    if (keys.length === 0) throw new GatewayError('invalid_request', `user "${userId}" has no active key, so no call can run as them; create one (/key/generate with "user_id")`, { param: 'user_id' });
    const key = keys[0];
    const team = key.teamId ? await principals.findTeam(key.teamId) : undefined;
    return callerOf({ key, user, team });
  };

  const contextFor = (request: FastifyRequest, caller: Caller, body: z.infer<typeof actingBody>): CallContext => ({
    ...callOf(request),
    endpoint: 'chat/completions',
    caller,
    recorded: false,
    requestedPowerLevel: body.power_level,
    requestedTask: body.task,
  });

  app.post(`${PREFIX}/routing/explain`, async (request) => {
    const body = parseInput(actingBody, request.body);
    const caller = await actingCaller(request, body.user_id);
    const context = { ...contextFor(request, caller, body), recorded: true };
    const chat = validateChatRequest(withAutoModel(consumeRequestOptions(context, {}, body.request), true));
    const tier = platform.tierOf(caller.principal);
    let call;
    try {
      call = await gateway.explainChat(context, chat);
    } catch (caught) {
      // A call that would be refused: which rule applied, and the refusal the call would get.
      if (!(caught instanceof GatewayError)) throw caught;
      const seen = failureOf(caught)?.call;
      return { user_id: caller.userId, tier: tier?.name ?? null, rule: seen?.rule?.name ?? null, requested_model: chat.model, refused: { status: caught.status, code: caught.code, message: caught.message } };
    }
    const resolution = call.resolution!;
    const requestCopy = call.operation.request as Record<string, unknown>;
    return {
      user_id: caller.userId,
      tier: tier?.name ?? null,
      rule: call.rule?.name ?? null,
      model: resolution.group.name,
      requested_model: chat.model,
      fallbacks: resolution.reachable.groups().slice(1).map((group) => group.name),
      power_level: call.level?.level ?? null,
      max_tokens: typeof requestCopy.max_completion_tokens === 'number' ? requestCopy.max_completion_tokens : typeof requestCopy.max_tokens === 'number' ? requestCopy.max_tokens : null,
      limits: (call.limits ?? []).map((limit) => limit.described),
      deployments: resolution.group.available.map((deployment) => ({ id: deployment.id, provider: deployment.provider })),
      refused: null,
    };
  });

  // The Testing Lab makes a model call: held to what every model call is held to before routing (modelRequest).
  app.post(`${PREFIX}/routing/test`, { config: { modelRequest: 'request' } }, async (request) => {
    const body = parseInput(actingBody, request.body);
    if (body.request.stream === true) throw new GatewayError('invalid_request', 'the Testing Lab answers whole responses: leave out "stream"', { param: 'request.stream' });
    const caller = await actingCaller(request, body.user_id);
    const context = contextFor(request, caller, body);
    const chat = validateChatRequest(withAutoModel(consumeRequestOptions(context, {}, body.request), true));
    await assertChatMediaReferences(chat, can(request, 'llm.manage_providers'));
    const result = await gateway.chat(context, chat);
    if (result.kind !== 'json') throw new GatewayError('internal', 'the Testing Lab expected a whole response');
    const headers = result.headers;
    const answer = JSON.parse(result.body) as { choices?: Array<{ message?: { content?: unknown } }>; usage?: unknown; _metadata?: Record<string, unknown> };
    const number = (name: string) => (headers[name] === undefined ? null : Number(headers[name]));
    return {
      call_id: context.callId,
      user_id: caller.userId,
      tier: platform.tierOf(caller.principal)?.name ?? null,
      rule: headers[RULE_HEADER] ?? null,
      model: headers['x-switchboard-model-group'] ?? null,
      deployment: headers['x-switchboard-model-id'] ?? null,
      provider: headers['x-switchboard-provider'] ?? null,
      power_level: headers['x-switchboard-power-level'] ?? null,
      byok: headers['x-switchboard-byok'] === 'true',
      usage: answer.usage ?? null,
      credits_cost: number('x-switchboard-credits-cost'),
      credits_remaining: number('x-switchboard-credits-remaining'),
      content: answer.choices?.[0]?.message?.content ?? null,
    };
  });

  app.get(`${PREFIX}/tiers`, configure, async () => {
    const counts = await usersPerTier(deps.principals().db, platform.settings.defaultTier);
    return {
      default_tier: platform.settings.defaultTier,
      tiers: [...platform.settings.tiers.values()].map((tier) => ({
        name: tier.name,
        markup: tier.markup,
        initial_credits: tier.initialMillicredits / 1000,
        monthly_credits: tier.monthlyMillicredits / 1000,
        rollover: tier.rollover,
        models: tier.models ?? null,
        byok: tier.byok,
        power_levels: tier.powerLevels ?? null,
        users: counts.get(tier.name) ?? 0,
      })),
    };
  });
}
