/**
 * LiteLLM's management API for keys, users and teams: /key/*, /user/*, /team/*. Every route needs
 * the llm.configure permission (the admin role: the master key, or a key of a proxy_admin user) —
 * except /key/info, where any key may read itself.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import type { ManagementService } from '../../auth/management.js';
import { keyHashOf } from '../../auth/management.js';
import { can, requirePermission } from '../../auth/permissions.js';
import { GatewayError } from '../../errors.js';
import { callOf } from '../context.js';
import { parseInput } from '../../parse-input.js';
import { oneValue, positiveInteger } from '../query-fields.js';
import { STORED_FIELD_BOUNDS, storedAliases, storedDuration, storedMetadata, storedName, storedNameList } from './stored-field-bounds.js';

const nullableNumber = z.number({ invalid_type_error: 'expected a number' }).nonnegative().nullable().optional();
const nullableInteger = z.number({ invalid_type_error: 'expected a whole number' }).int().nonnegative().nullable().optional();

const limitFields = {
  models: storedNameList().optional(),
  max_budget: nullableNumber,
  soft_budget: nullableNumber,
  budget_duration: storedDuration().nullable().optional(),
  rpm_limit: nullableInteger,
  tpm_limit: nullableInteger,
  max_parallel_requests: nullableInteger,
  metadata: storedMetadata().optional(),
  blocked: z.boolean().optional(),
};

const keyFields = z
  .object({
    ...limitFields,
    key_alias: storedName().min(1).nullable().optional(),
    aliases: storedAliases().optional(),
    duration: storedDuration().nullable().optional(),
    user_id: storedName().min(1).nullable().optional(),
    team_id: storedName().min(1).nullable().optional(),
    budget_id: storedName().min(1).nullable().optional(),
  })
  .passthrough();

/**
 * LiteLLM's `guardrails` field of /key/generate and /team/new: kept as `metadata.guardrails`, where
 * LiteLLM keeps it and where the guardrail stage reads it. An update would replace the whole
 * metadata, so there it is refused with a word on how to set it.
 */
function guardrailsIntoMetadata(body: unknown, creating: boolean): unknown {
  if (typeof body !== 'object' || body === null || !('guardrails' in body)) return body;
  const { guardrails, ...rest } = body as Record<string, unknown>;
  if (guardrails === undefined || guardrails === null) return rest;
  if (!creating) throw new GatewayError('invalid_request', '"guardrails" is set at creation; to change it, send the whole "metadata" with its "guardrails" list', { param: 'guardrails' });
  if (!Array.isArray(guardrails) || !guardrails.every((name) => typeof name === 'string' && name.length > 0)) throw new GatewayError('invalid_request', '"guardrails" must be a list of guardrail names', { param: 'guardrails' });
  const metadata = typeof rest.metadata === 'object' && rest.metadata !== null ? rest.metadata : {};
  return { ...rest, metadata: { ...metadata, guardrails } };
}

const keyReference = z.object({ key: z.string({ required_error: 'is required: the key (sk-…) or its token' }).min(1) }).passthrough();

const userFields = z
  .object({
    ...limitFields,
    user_id: storedName().min(1).optional(),
    user_email: storedName().nullable().optional(),
    user_alias: storedName().nullable().optional(),
    user_role: z.enum(['proxy_admin', 'proxy_admin_viewer', 'internal_user', 'internal_user_viewer', 'customer']).optional(),
    tier: storedName().min(1).optional(),
    teams: storedNameList().optional(),
    auto_create_key: z.boolean().optional(),
    key_alias: storedName().optional(),
  })
  .passthrough();

const member = z.object({ user_id: storedName().min(1), role: z.enum(['admin', 'user']).optional() });

const teamFields = z
  .object({
    ...limitFields,
    team_id: storedName().min(1).optional(),
    team_alias: storedName().nullable().optional(),
    budget_id: storedName().min(1).nullable().optional(),
    members_with_roles: z.array(member).max(STORED_FIELD_BOUNDS.listEntries, `must have at most ${STORED_FIELD_BOUNDS.listEntries} entries`).optional(),
  })
  .passthrough();

/** Writes, and reads of others' keys, users and teams, need llm.configure (the admin role's, by default). */
const adminOnly = { preHandler: requirePermission('llm.configure') };

/** Lists answer pages of at most this many entries (LiteLLM's limit too). */
const MAX_PAGE_SIZE = 100;
const DEFAULT_PAGE_SIZE = 10;

const keyInfoQuery = z.object({ key: oneValue().optional() });
const keyListQuery = z.object({
  page: positiveInteger(1_000_000).optional(),
  size: positiveInteger(MAX_PAGE_SIZE).optional(),
  user_id: oneValue().optional(),
  team_id: oneValue().optional(),
  key_alias: oneValue().optional(),
  return_full_object: oneValue().optional(),
});
const userInfoQuery = z.object({ user_id: oneValue().optional() });
const userListQuery = z.object({ page: positiveInteger(1_000_000).optional(), page_size: positiveInteger(MAX_PAGE_SIZE).optional(), role: oneValue().optional() });
const teamInfoQuery = z.object({ team_id: oneValue().optional() });
const teamListQuery = z.object({ user_id: oneValue().optional() });

export function registerManagementRoutes(app: FastifyInstance, service: () => ManagementService): void {
  // ---- keys
  app.post('/key/generate', adminOnly, async (request) => {
    const { secret, key } = await service().generateKey(parseInput(keyFields, guardrailsIntoMetadata(request.body, true)));
    return { key: secret, ...(await service().keyView(key)) };
  });

  app.post('/key/update', adminOnly, async (request) => {
    const body = parseInput(keyFields.merge(keyReference), guardrailsIntoMetadata(request.body, false));
    return service().keyView(await service().updateKey(body.key, body));
  });

  const regenerate = async (request: FastifyRequest) => {
    const fromPath = (request.params as { key?: string }).key;
    const body = parseInput(fromPath ? keyFields : keyFields.merge(keyReference), guardrailsIntoMetadata(request.body, false));
    const { secret, key } = await service().regenerateKey(fromPath ?? (body as { key: string }).key, body);
    return { key: secret, ...(await service().keyView(key)) };
  };
  app.post('/key/regenerate', adminOnly, regenerate);
  app.post('/key/:key/regenerate', adminOnly, regenerate);

  app.post('/key/block', adminOnly, async (request) => {
    return service().keyView(await service().setKeyBlocked(parseInput(keyReference, request.body).key, true));
  });

  app.post('/key/unblock', adminOnly, async (request) => {
    return service().keyView(await service().setKeyBlocked(parseInput(keyReference, request.body).key, false));
  });

  app.post('/key/delete', adminOnly, async (request) => {
    const body = parseInput(z.object({ keys: z.array(z.string()).optional(), key_aliases: z.array(z.string()).optional() }), request.body);
    if (!body.keys?.length && !body.key_aliases?.length) throw new GatewayError('invalid_request', 'send "keys" (keys or tokens) or "key_aliases"', { param: 'keys' });
    return { deleted_keys: await service().deleteKeys(body.keys ?? [], body.key_aliases ?? []) };
  });

  app.get('/key/info', async (request) => {
    const call = callOf(request);
    const asked = parseInput(keyInfoQuery, request.query, 'query').key;
    const ownHash = call.caller.principal?.key.hash;
    if (!can(request, 'llm.configure')) {
      if (asked && keyHashOf(asked) !== ownHash) throw new GatewayError('permission_denied', 'a non-admin key may only read its own /key/info');
    }
    const target = asked ?? ownHash;
    if (!target) throw new GatewayError('invalid_request', 'pass ?key=<key or token>', { param: 'key' });
    const key = await service().requireKey(target);
    return { key: asked ?? key.hash, info: await service().keyView(key) };
  });

  app.get('/key/list', adminOnly, async (request) => {
    const query = parseInput(keyListQuery, request.query, 'query');
    const page = query.page ?? 1;
    const size = query.size ?? DEFAULT_PAGE_SIZE;
    const result = await service().listKeys({ userId: query.user_id, teamId: query.team_id, alias: query.key_alias }, page, size);
    const full = query.return_full_object === 'true';
    return {
      keys: full ? await Promise.all(result.items.map((key) => service().keyView(key))) : result.items.map((key) => key.hash),
      total_count: result.total,
      current_page: page,
      total_pages: Math.max(1, Math.ceil(result.total / size)),
    };
  });

  // ---- users
  app.post('/user/new', adminOnly, async (request) => {
    const body = parseInput(userFields, request.body);
    const user = await service().createUser(body, body.teams ?? []);
    const view = await service().userView(user);
    if (body.auto_create_key === false) return view;
    const { secret, key } = await service().generateKey({ user_id: user.userId, key_alias: body.key_alias, models: body.models });
    return { ...view, key: secret, token: key.hash };
  });

  app.post('/user/update', adminOnly, async (request) => {
    const body = parseInput(userFields.extend({ user_id: z.string({ required_error: 'is required' }).min(1) }), request.body);
    return service().userView(await service().updateUser(body.user_id, body));
  });

  app.post('/user/delete', adminOnly, async (request) => {
    const body = parseInput(z.object({ user_ids: z.array(z.string()).min(1, 'name at least one user') }), request.body);
    return { deleted: await service().deleteUsers(body.user_ids) };
  });

  app.get('/user/info', adminOnly, async (request) => {
    const userId = parseInput(userInfoQuery, request.query, 'query').user_id;
    if (!userId) throw new GatewayError('invalid_request', 'pass ?user_id=', { param: 'user_id' });
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
  app.post('/team/new', adminOnly, async (request) => {
    return service().teamView(await service().createTeam(parseInput(teamFields, guardrailsIntoMetadata(request.body, true))));
  });

  app.post('/team/update', adminOnly, async (request) => {
    const body = parseInput(teamFields.extend({ team_id: z.string({ required_error: 'is required' }).min(1) }), guardrailsIntoMetadata(request.body, false));
    return service().teamView(await service().updateTeam(body.team_id, body));
  });

  app.post('/team/delete', adminOnly, async (request) => {
    const body = parseInput(z.object({ team_ids: z.array(z.string()).min(1, 'name at least one team') }), request.body);
    const deleted = await service().deleteTeams(body.team_ids);
    return { deleted: deleted.teams, deleted_keys: deleted.keyHashes };
  });

  app.get('/team/info', adminOnly, async (request) => {
    const teamId = parseInput(teamInfoQuery, request.query, 'query').team_id;
    if (!teamId) throw new GatewayError('invalid_request', 'pass ?team_id=', { param: 'team_id' });
    const team = await service().requireTeam(teamId);
    const keys = await service().keysOf({ teamId });
    return { team_id: teamId, team_info: await service().teamView(team), keys: await Promise.all(keys.map((key) => service().keyView(key))) };
  });

  app.get('/team/list', adminOnly, async (request) => {
    const teams = await service().listTeams(parseInput(teamListQuery, request.query, 'query').user_id);
    return Promise.all(teams.map((team) => service().teamView(team)));
  });

  app.post('/team/member_add', adminOnly, async (request) => {
    const body = parseInput(z.object({ team_id: z.string().min(1), member: z.union([member, z.array(member).max(STORED_FIELD_BOUNDS.listEntries)]) }), request.body);
    const members = (Array.isArray(body.member) ? body.member : [body.member]).map((item) => ({ userId: item.user_id, role: item.role ?? ('user' as const) }));
    return service().teamView(await service().addMembers(body.team_id, members));
  });

  app.post('/team/member_delete', adminOnly, async (request) => {
    const body = parseInput(z.object({ team_id: z.string().min(1), user_id: z.string().min(1).optional(), user_ids: z.array(z.string()).optional() }), request.body);
    const userIds = [...(body.user_id ? [body.user_id] : []), ...(body.user_ids ?? [])];
    if (userIds.length === 0) throw new GatewayError('invalid_request', 'send "user_id"', { param: 'user_id' });
    return service().teamView(await service().removeMembers(body.team_id, userIds));
  });
}
