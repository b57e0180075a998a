/**
 * LiteLLM's management API for users and teams: /user/*, /team/* (keys: keys.ts). Writes need the
 * llm.configure permission (the admin role: the master key, or a key of a proxy_admin user), except
 * what management-access.ts lets team admins do with their team's members; a user reads itself.
 */
import type { FastifyInstance } from 'fastify';
import { z } from 'zod';
import type { ManagementService } from '../../auth/management.js';
import { actorOf, isTeamAdmin, ManagementAccess } from '../../auth/management-access.js';
import { requirePermission } from '../../auth/permissions.js';
import { GatewayError } from '../../errors.js';
import { parseInput } from '../../parse-input.js';
import { oneValue, positiveInteger } from '../query-fields.js';
import { guardrailsIntoMetadata } from './guardrail-fields.js';
import { limitFields } from './limit-fields.js';
import { vectorStoresOf } from './object-permission.js';
import { refuseUnknown, refuseUnsupported, routeFields, UNSUPPORTED_TEAM_FIELDS, UNSUPPORTED_USER_FIELDS } from './unsupported-fields.js';
import { STORED_FIELD_BOUNDS, storedName, storedNameList } from './stored-field-bounds.js';
import { withUserDefaults, type UserDefaults } from '../../config/user-defaults.js';

/** LiteLLM's NewUserRequestTeam: a team to join, with the role in it. */
const userTeam = z
  .object({
    team_id: storedName().min(1),
    user_role: z.enum(['admin', 'user']).optional(),
    max_budget_in_team: z.unknown().optional(),
  })
  .strict();

const userFields = z
  .object({
    ...limitFields,
    user_id: storedName().min(1).optional(),
    user_email: storedName().nullable().optional(),
    user_alias: storedName().nullable().optional(),
    user_role: z.enum(['proxy_admin', 'proxy_admin_viewer', 'internal_user', 'internal_user_viewer', 'customer']).optional(),
    tier: storedName().min(1).optional(),
    teams: z.union([storedNameList(), z.array(userTeam).max(STORED_FIELD_BOUNDS.listEntries)]).nullable().optional(),
    auto_create_key: z.boolean().optional(),
    key_alias: storedName().optional(),
  })
  .passthrough();

/** LiteLLM's Member: a user named by user_id or user_email, with a team role. */
const member = z
  .object({ user_id: storedName().min(1).optional(), user_email: storedName().min(1).optional(), role: z.enum(['admin', 'user']).optional() })
  .strict()
  .refine((value) => value.user_id !== undefined || value.user_email !== undefined, 'name the member by "user_id" or "user_email"');

const teamFields = z
  .object({
    ...limitFields,
    team_id: storedName().min(1).optional(),
    team_alias: storedName().nullable().optional(),
    budget_id: storedName().min(1).nullable().optional(),
    members_with_roles: z.array(member).max(STORED_FIELD_BOUNDS.listEntries, `must have at most ${STORED_FIELD_BOUNDS.listEntries} entries`).optional(),
  })
  .passthrough();

/** What the user and team routes read (team guardrails: into metadata; tags: refused; object_permission: vector stores), and the LiteLLM fields they refuse by name. */
const USER_ROUTE_FIELDS = routeFields(userFields.shape, UNSUPPORTED_USER_FIELDS);
const TEAM_ROUTE_FIELDS = routeFields(teamFields.shape, UNSUPPORTED_TEAM_FIELDS, ['guardrails', 'tags', 'object_permission']);

/**
 * LiteLLM's team tags (`tags`, kept in `metadata.tags`) route the team's keys to deployments with
 * those `litellm_params.tags`, as an access control for teams. Here only a request's own tags route
 * (any key may send any tag), so team tags are refused in words, never stored and silently ignored.
 */
function refuseTeamTags(body: unknown): void {
  if (typeof body !== 'object' || body === null) return;
  const { tags, metadata } = body as { tags?: unknown; metadata?: unknown };
  const nested = typeof metadata === 'object' && metadata !== null ? (metadata as { tags?: unknown }).tags : undefined;
  for (const [param, value] of [['tags', tags], ['metadata.tags', nested]] as const) {
    if (value === undefined || value === null || (Array.isArray(value) && value.length === 0)) continue;
    throw new GatewayError(
      'invalid_request',
      `${param}: team tags are not supported: they would not route the team's keys (tag routing follows each request's own tags, which any key may send), so they cannot reserve deployments for a team; give those deployments their own model_name and list it in the team's "models"`,
      { param },
    );
  }
}

/** Writes, and reads of others' users and teams, need llm.configure (the admin role's, by default). */
const adminOnly = { preHandler: requirePermission('llm.configure') };

/** Lists answer pages of at most this many entries (LiteLLM's limit too). */
const MAX_PAGE_SIZE = 100;
const DEFAULT_PAGE_SIZE = 10;

const userInfoQuery = z.object({ user_id: oneValue().optional() });
const userListQuery = z.object({ page: positiveInteger(1_000_000).optional(), page_size: positiveInteger(MAX_PAGE_SIZE).optional(), role: oneValue().optional() });
const teamInfoQuery = z.object({ team_id: oneValue().optional() });
const teamListQuery = z.object({ user_id: oneValue().optional() });
const teamReference = z.object({ team_id: z.string({ required_error: 'is required' }).min(1) });

export function registerManagementRoutes(app: FastifyInstance, service: () => ManagementService, userDefaults?: UserDefaults): void {
  const access = new ManagementAccess(service);

  /** A user named by user_id or user_email (LiteLLM's addressing); 404 when there is none. */
  const userIdOf = async (named: { user_id?: string; user_email?: string | null }): Promise<string> => {
    if (named.user_id) return (await service().requireUser(named.user_id)).userId;
    if (named.user_email) return (await service().requireUserByEmail(named.user_email)).userId;
    throw new GatewayError('invalid_request', 'name the user by "user_id" or "user_email"', { param: 'user_id' });
  };

  // ---- users
  app.post('/user/new', adminOnly, async (request) => {
    // LiteLLM's defaults for new users fill what the request leaves unset (config/user-defaults.ts).
    refuseUnknown(request.body, USER_ROUTE_FIELDS, '/user/new');
    refuseUnsupported(request.body, UNSUPPORTED_USER_FIELDS, ['spend']);
    const body = withUserDefaults(parseInput(userFields, request.body), userDefaults);
    if ((body.teams ?? []).some((team) => typeof team !== 'string' && team.max_budget_in_team != null)) {
      throw new GatewayError('invalid_request', 'teams: per-member budgets in a team ("max_budget_in_team") are not supported yet: leave it out', { param: 'teams' });
    }
    const teams = (body.teams ?? []).map((team) => (typeof team === 'string' ? { teamId: team, role: 'user' as const } : { teamId: team.team_id, role: team.user_role ?? ('user' as const) }));
    const user = await service().createUser(body, teams);
    // LiteLLM's NewUserResponse names the teams the user joined.
    const view = { ...(await service().userView(user)), teams: teams.map((team) => team.teamId) };
    if (body.auto_create_key === false) return view;
    const actor = actorOf(request);
    const { secret, key } = await service().generateKey({ user_id: user.userId, key_alias: body.key_alias, models: body.models }, undefined, actor.kind === 'admin' ? actor.id : null);
    return { ...view, key: secret, token: key.hash };
  });

  app.post('/user/update', adminOnly, async (request) => {
    refuseUnknown(request.body, USER_ROUTE_FIELDS, '/user/update');
    refuseUnsupported(request.body, UNSUPPORTED_USER_FIELDS);
    const body = parseInput(userFields.omit({ teams: true }), request.body);
    // LiteLLM's UpdateUserRequest names the user by user_id, or else by user_email.
    const userId = body.user_id ? body.user_id : await userIdOf({ user_email: body.user_email });
    const { user_email: email, ...rest } = body;
    return service().userView(await service().updateUser(userId, body.user_id ? body : rest));
  });

  app.post('/user/delete', adminOnly, async (request) => {
    const body = parseInput(z.object({ user_ids: z.array(z.string()).min(1, 'name at least one user') }), request.body);
    return { deleted: await service().deleteUsers(body.user_ids) };
  });

  app.get('/user/info', async (request) => {
    const actor = actorOf(request);
    const asked = parseInput(userInfoQuery, request.query, 'query').user_id;
    // Without user_id: the caller's own user (LiteLLM's default).
    const userId = asked ?? (actor.kind === 'user' ? actor.user.userId : undefined);
    if (!userId) throw new GatewayError('invalid_request', 'pass ?user_id= (this key has no user of its own)', { param: 'user_id' });
    access.assertMayReadUser(actor, userId);
    const user = await service().requireUser(userId);
    const [keys, teams] = await Promise.all([service().keysOf({ userId }), service().teamsOf(userId)]);
    return {
      user_id: userId,
      user_info: await service().userView(user),
      keys: await Promise.all(keys.map((key) => service().keyView(key))),
      teams: await Promise.all(teams.map((team) => service().teamView(team))),
    };
  });

  app.get('/user/list', adminOnly, async (request) => {
    const query = parseInput(userListQuery, request.query, 'query');
    const page = query.page ?? 1;
    const size = query.page_size ?? DEFAULT_PAGE_SIZE;
    const result = await service().listUsers(page, size, query.role);
    return { users: await Promise.all(result.items.map((user) => service().userView(user))), total: result.total, page, page_size: size, total_pages: Math.max(1, Math.ceil(result.total / size)) };
  });

  // ---- teams
  const teamMembers = async (items: Array<z.infer<typeof member>>) =>
    Promise.all(items.map(async (item) => ({ userId: await userIdOf(item), role: item.role ?? ('user' as const) })));

  app.post('/team/new', adminOnly, async (request) => {
    refuseUnknown(request.body, TEAM_ROUTE_FIELDS, '/team/new');
    refuseTeamTags(request.body);
    refuseUnsupported(request.body, UNSUPPORTED_TEAM_FIELDS);
    const body = parseInput(teamFields, guardrailsIntoMetadata(request.body, true));
    const vectorStores = vectorStoresOf(request.body);
    const members = await teamMembers(body.members_with_roles ?? []);
    return service().teamView(await service().createTeam({ ...body, ...(vectorStores !== undefined ? { vector_stores: vectorStores } : {}), members_with_roles: members.map((item) => ({ user_id: item.userId, role: item.role })) }));
  });

  app.post('/team/update', adminOnly, async (request) => {
    refuseUnknown(request.body, TEAM_ROUTE_FIELDS, '/team/update');
    refuseTeamTags(request.body);
    refuseUnsupported(request.body, UNSUPPORTED_TEAM_FIELDS);
    const body = parseInput(teamFields.omit({ members_with_roles: true }).extend({ team_id: z.string({ required_error: 'is required' }).min(1) }), guardrailsIntoMetadata(request.body, false));
    const vectorStores = vectorStoresOf(request.body);
    return service().teamView(await service().updateTeam(body.team_id, { ...body, ...(vectorStores !== undefined ? { vector_stores: vectorStores } : {}) }));
  });

  app.post('/team/delete', adminOnly, async (request) => {
    const body = parseInput(z.object({ team_ids: z.array(z.string()).min(1, 'name at least one team') }), request.body);
    const deleted = await service().deleteTeams(body.team_ids);
    return { deleted: deleted.teams, deleted_keys: deleted.keyHashes };
  });

  app.post('/team/block', adminOnly, async (request) => {
    const { team_id: teamId } = parseInput(teamReference, request.body);
    return service().teamView(await service().updateTeam(teamId, { blocked: true }));
  });

  app.post('/team/unblock', adminOnly, async (request) => {
    const { team_id: teamId } = parseInput(teamReference, request.body);
    return service().teamView(await service().updateTeam(teamId, { blocked: false }));
  });

  app.get('/team/info', async (request) => {
    const actor = actorOf(request);
    const teamId = parseInput(teamInfoQuery, request.query, 'query').team_id ?? (actor.kind === 'user' ? request.call?.caller.teamId ?? undefined : undefined);
    if (!teamId) throw new GatewayError('invalid_request', 'pass ?team_id=', { param: 'team_id' });
    const team = await access.readableTeam(actor, teamId);
    // A plain member reads its own keys of the team, as /key/info and /key/list let it; the team's
    // admins (and admins, and proxy_admin_viewers) read every key of the team.
    const everyKey = actor.kind === 'admin' || actor.readsAll || isTeamAdmin(team, actor.user.userId);
    const keys = await service().keysOf(everyKey ? { teamId } : { teamId, userId: actor.user.userId });
    return { team_id: teamId, team_info: await service().teamView(team), keys: await Promise.all(keys.map((key) => service().keyView(key))), team_memberships: await service().memberships(team) };
  });

  app.get('/team/list', async (request) => {
    const actor = actorOf(request);
    const asked = parseInput(teamListQuery, request.query, 'query').user_id;
    // A non-admin lists the teams it belongs to (LiteLLM's answer to internal users).
    if (actor.kind === 'user' && asked && asked !== actor.user.userId) throw new GatewayError('permission_denied', 'a non-admin key lists only its own teams (leave out user_id)');
    const teams = await service().listTeams(actor.kind === 'admin' ? asked : actor.user.userId);
    return Promise.all(teams.map((team) => service().teamView(team)));
  });

  app.post('/team/member_add', async (request) => {
    const body = parseInput(z.object({ team_id: z.string().min(1), member: z.union([member, z.array(member).max(STORED_FIELD_BOUNDS.listEntries)]), max_budget_in_team: z.null({ invalid_type_error: 'per-member budgets in a team are not supported yet: leave "max_budget_in_team" out' }).optional() }).strict(), request.body);
    const actor = actorOf(request);
    await access.assertMayManageTeam(actor, body.team_id);
    const members = await teamMembers(Array.isArray(body.member) ? body.member : [body.member]);
    const team = await service().addMembers(body.team_id, members);
    const users = await Promise.all(members.map((item) => service().requireUser(item.userId)));
    // LiteLLM's TeamAddMemberResponse: the team, the users added and their memberships. A team admin
    // may add any user, but reads no user's account but its own (/user/info): it gets who was added,
    // not their role, tier, models, budget, spend or metadata.
    return {
      ...(await service().teamView(team)),
      updated_users: await Promise.all(users.map((user) => (actor.kind === 'admin' ? service().userView(user) : { user_id: user.userId, user_email: user.email, user_alias: user.alias }))),
      updated_team_memberships: (await service().memberships(team)).filter((row) => members.some((item) => item.userId === row.user_id)),
    };
  });

  app.post('/team/member_update', async (request) => {
    const body = parseInput(
      z.object({
        team_id: z.string().min(1),
        user_id: z.string().min(1).optional(),
        user_email: z.string().min(1).optional(),
        role: z.enum(['admin', 'user']).optional(),
        max_budget_in_team: z.null({ invalid_type_error: 'per-member budgets in a team are not supported yet: leave "max_budget_in_team" out' }).optional(),
      }).strict(),
      request.body,
    );
    await access.assertMayManageTeam(actorOf(request), body.team_id);
    const userId = await userIdOf(body);
    const team = await service().requireTeam(body.team_id);
    const current = team.members.find((item) => item.userId === userId);
    if (!current) throw new GatewayError('not_found', `user "${userId}" is not a member of team "${body.team_id}" (add it with /team/member_add)`, { param: 'user_id' });
    if (body.role) await service().addMembers(body.team_id, [{ userId, role: body.role }]);
    const user = await service().requireUser(userId);
    return { team_id: body.team_id, user_id: userId, user_email: user.email, role: body.role ?? current.role, max_budget_in_team: null };
  });

  app.post('/team/member_delete', async (request) => {
    const body = parseInput(z.object({ team_id: z.string().min(1), user_id: z.string().min(1).optional(), user_email: z.string().min(1).optional(), user_ids: z.array(z.string()).optional() }).strict(), request.body);
    await access.assertMayManageTeam(actorOf(request), body.team_id);
    const userIds = [...(body.user_id || body.user_email ? [await userIdOf(body)] : []), ...(body.user_ids ?? [])];
    if (userIds.length === 0) throw new GatewayError('invalid_request', 'send "user_id" or "user_email"', { param: 'user_id' });
    return service().teamView(await service().removeMembers(body.team_id, userIds));
  });
}
