/**
 * LiteLLM's key management routes (/key/*), in LiteLLM's request and response shapes
 * (GenerateKeyRequest / GenerateKeyResponse, KeyRequest, DeleteKeyRequest, UpdateKeyRequest). Who
 * may do what is decided by management-access.ts: admins everything, internal users their own keys,
 * team admins their team's keys, viewers only reads.
 */
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { z } from 'zod';
import { invalidRouteEntry, KEY_TYPE_ROUTES } from '../../auth/allowed-routes.js';
import type { KeyFields, ManagementService } from '../../auth/management.js';
import { keyHashOf } from '../../auth/management.js';
import { actorOf, assertIssuedKeyMayManage, ManagementAccess, type Actor, type AliasRules } from '../../auth/management-access.js';
import type { KeyRecord } from '../../auth/principals.js';
import { parseModelBudgets } from '../../auth/model-budgets.js';
import { parseModelRateLimits } from '../../auth/model-rate-limits.js';
import { GatewayError } from '../../errors.js';
import { parseInput } from '../../parse-input.js';
import { firstOverBound, withGenerateDefaults, type KeyGenerateParams } from '../../config/key-generate-params.js';
import { personalKeyRefusal, teamKeyRefusal, type KeyGenerationSettings } from '../../config/key-generation-settings.js';
import { callOf } from '../context.js';
import { oneValue, positiveInteger } from '../query-fields.js';
import { guardrailsIntoMetadata } from './guardrail-fields.js';
import { limitFields } from './limit-fields.js';
import { vectorStoresOf } from './object-permission.js';
import { refuseUnknown, refuseUnsupported, routeFields, UNSUPPORTED_KEY_FIELDS } from './unsupported-fields.js';
import { STORED_FIELD_BOUNDS, storedAliases, storedDuration, storedName, storedNameList } from './stored-field-bounds.js';

const routeList = z
  .array(storedName().min(1))
  .max(STORED_FIELD_BOUNDS.listEntries, `must have at most ${STORED_FIELD_BOUNDS.listEntries} entries`)
  .superRefine((entries, context) => {
    for (const entry of entries) {
      const problem = invalidRouteEntry(entry);
      if (problem) context.addIssue({ code: z.ZodIssueCode.custom, message: problem });
    }
  });

const keyFields = z
  .object({
    ...limitFields,
    key_alias: storedName().min(1).nullable().optional(),
    budget_id: storedName().min(1).nullable().optional(),
    aliases: storedAliases().optional(),
    duration: storedDuration().nullable().optional(),
    user_id: storedName().min(1).nullable().optional(),
    team_id: storedName().min(1).nullable().optional(),
    tags: storedNameList().nullable().optional(),
    allowed_routes: routeList.nullable().optional(),
    key_type: z.enum(['default', 'llm_api', 'management', 'read_only']).nullable().optional(),
    spend: z.number({ invalid_type_error: 'expected a number (USD)' }).nonnegative().optional(),
    // Per-model budgets, in either of LiteLLM's shapes: read (and refused when malformed) by serviceFields.
    model_max_budget: z.unknown().optional(),
    // Per-model rate limits (LiteLLM's): read (and refused when malformed) by serviceFields.
    model_rpm_limit: z.unknown().optional(),
    model_tpm_limit: z.unknown().optional(),
    // LiteLLM's object permissions: only vector_stores is built (read by serviceFields; object-permission.ts).
    object_permission: z.unknown().optional(),
    // The secret itself, on /key/generate only: an imported key (checked in the service).
    key: z.string().optional(),
  })
  .passthrough();

type KeyBody = z.infer<typeof keyFields>;

/** What the key routes read (guardrails: moved into metadata), and the LiteLLM fields they refuse by name. */
const KEY_ROUTE_FIELDS = routeFields(keyFields.shape, UNSUPPORTED_KEY_FIELDS, ['guardrails']);
const REGENERATE_FIELDS = routeFields(keyFields.shape, UNSUPPORTED_KEY_FIELDS, ['guardrails', 'new_key']);
const BULK_UPDATE_FIELDS = new Set(['keys']);

const keyReference = z.object({ key: z.string({ required_error: 'is required: the key (sk-…) or its token' }).min(1) }).passthrough();

/** The body as the service takes it: key_type expanded to its allowed_routes when those are not given. */
function serviceFields(body: KeyBody): KeyFields {
  const { key: _key, model_max_budget: budgets, model_rpm_limit: rpm, model_tpm_limit: tpm, object_permission: permission, ...fields } = body;
  if (fields.key_type && fields.allowed_routes == null) fields.allowed_routes = KEY_TYPE_ROUTES[fields.key_type];
  const modelMaxBudget = budgets === undefined ? undefined : (parseModelBudgets(budgets) ?? null);
  const modelRpmLimit = parseModelRateLimits(rpm, 'model_rpm_limit');
  const modelTpmLimit = parseModelRateLimits(tpm, 'model_tpm_limit');
  const vectorStores = vectorStoresOf({ object_permission: permission });
  return {
    ...fields,
    ...(modelMaxBudget !== undefined ? { model_max_budget: modelMaxBudget } : {}),
    ...(modelRpmLimit !== undefined ? { model_rpm_limit: modelRpmLimit } : {}),
    ...(modelTpmLimit !== undefined ? { model_tpm_limit: modelTpmLimit } : {}),
    ...(vectorStores !== undefined ? { vector_stores: vectorStores } : {}),
  } as KeyFields;
}

const MAX_PAGE_SIZE = 100;
const DEFAULT_PAGE_SIZE = 10;

const keyInfoQuery = z.object({ key: oneValue().optional() });
const keyListQuery = z.object({
  page: positiveInteger(1_000_000).optional(),
  size: positiveInteger(MAX_PAGE_SIZE).optional(),
  user_id: oneValue().optional(),
  team_id: oneValue().optional(),
  key_alias: oneValue().optional(),
  key_hash: oneValue().optional(),
  return_full_object: oneValue().optional(),
});

/**
 * `keyParams`: litellm_settings.upperbound_key_generate_params / default_key_generate_params, read
 * at start (a reload reports them as needing a restart), as is `generation`
 * (litellm_settings.key_generation_settings).
 */
export function registerKeyRoutes(app: FastifyInstance, service: () => ManagementService, rules?: AliasRules, keyParams: KeyGenerateParams = {}, generation?: KeyGenerationSettings | null, defaultTeamDisabled = false): void {
  const access = new ManagementAccess(service, rules);
  /**
   * key_generation_settings on /key/generate (LiteLLM's key_generation_check, before any default
   * is filled in): 400 when a non-admin's role may not create this team or personal key, or a
   * required param is not in the body. A caller outside the named team is left to checkKeyFields.
   * general_settings.default_team_disabled: a non-admin's personal key (no team_id) is refused (400).
   */
  const assertMayGenerate = async (actor: Actor, teamId: string | null | undefined, sent: unknown) => {
    if (actor.kind === 'admin') return;
    if (defaultTeamDisabled && !teamId) throw new GatewayError('invalid_request', 'Personal key creation is disabled by admin (general_settings.default_team_disabled): create a team key, with the team_id of a team you are a member of', { param: 'team_id' });
    if (!generation) return;
    // undefined: a key moved (assertMayMove), checked on the role alone.
    const body = sent === undefined ? undefined : typeof sent === 'object' && sent !== null ? (sent as Record<string, unknown>) : {};
    let refusal: string | undefined;
    if (teamId) {
      if (!generation.team_key_generation) return;
      const member = (await service().findTeam(teamId))?.members.find((entry) => entry.userId === actor.user.userId);
      if (!member) return;
      refusal = teamKeyRefusal(generation, member.role, body);
    } else {
      refusal = personalKeyRefusal(generation, actor.user.role, body);
    }
    if (refusal) throw new GatewayError('invalid_request', refusal);
  };
  /**
   * default_team_disabled on /key/update, /key/bulk_update and /key/regenerate: a non-admin may not
   * turn a key into a personal key afterwards (`team_id: null`), which /key/generate would refuse.
   */
  const assertKeepsTeam = (actor: Actor, body: { team_id?: string | null }) => {
    if (defaultTeamDisabled && actor.kind !== 'admin' && Object.hasOwn(body, 'team_id') && !body.team_id) {
      throw new GatewayError('invalid_request', 'Personal keys are disabled by admin (general_settings.default_team_disabled): a key may not be taken out of its team ("team_id": null); only an admin may', { param: 'team_id' });
    }
  };
  /**
   * key_generation_settings on /key/update, /key/bulk_update and /key/regenerate: a key a non-admin
   * moves into a team (or out of one, making it personal) must be one its role may create there, or
   * a key made where the role may make keys would be moved to where it may not. The role is checked,
   * not required_params: the key's fields were given when it was made.
   */
  const assertMayMove = async (actor: Actor, body: { team_id?: string | null }, existing: KeyRecord) => {
    if (actor.kind === 'admin' || !Object.hasOwn(body, 'team_id') || (body.team_id ?? null) === existing.teamId) return;
    await assertMayGenerate(actor, body.team_id ?? null, undefined);
  };
  /** Refuses (400) a field above its upperbound_key_generate_params bound, naming it and the bound. */
  const assertWithinBounds = (body: Record<string, unknown>) => {
    const over = firstOverBound(body, keyParams.upperbound);
    if (over) throw new GatewayError('invalid_request', over[1], { param: over[0] });
  };

  /** The key named in a body or path, once the actor may manage it. */
  const managedKey = async (actor: Actor, keyOrHash: string, write: boolean) => {
    const key = await service().requireKey(keyOrHash);
    await access.assertMayManageKey(actor, key, write);
    return key;
  };
  const createdBy = (actor: Actor) => (actor.kind === 'admin' ? actor.id : actor.user.userId);

  app.post('/key/generate', async (request) => {
    const actor = actorOf(request);
    refuseUnknown(request.body, KEY_ROUTE_FIELDS, '/key/generate');
    const sent = parseInput(keyFields, guardrailsIntoMetadata(request.body, true));
    refuseUnsupported(sent, UNSUPPORTED_KEY_FIELDS);
    await assertMayGenerate(actor, sent.team_id, request.body);
    const body = withGenerateDefaults(sent, keyParams);
    assertWithinBounds(body);
    const fields = await access.checkKeyFields(actor, serviceFields(body) as KeyFields & { key?: string }, undefined);
    if (body.key !== undefined && actor.kind !== 'admin') throw new GatewayError('permission_denied', 'only an admin may import a key ("key")');
    const { secret, key } = await service().generateKey(fields, body.key, createdBy(actor));
    return { ...(await service().keyView(key)), key: secret };
  });

  app.post('/key/update', async (request) => {
    const actor = actorOf(request);
    refuseUnknown(request.body, KEY_ROUTE_FIELDS, '/key/update');
    const body = parseInput(keyFields.merge(keyReference), guardrailsIntoMetadata(request.body, false));
    refuseUnsupported(body, UNSUPPORTED_KEY_FIELDS);
    assertWithinBounds(body);
    assertKeepsTeam(actor, body);
    const existing = await managedKey(actor, body.key, true);
    await assertMayMove(actor, body, existing);
    const { key: _reference, ...rest } = body;
    const fields = await access.checkKeyFields(actor, serviceFields(rest), existing);
    return service().keyView(await service().updateKey(existing.hash, fields));
  });

  app.post('/key/bulk_update', async (request) => {
    const actor = actorOf(request);
    const raw = request.body as { keys?: unknown } | null;
    refuseUnknown(raw, BULK_UPDATE_FIELDS, '/key/bulk_update');
    if (raw && Array.isArray(raw.keys)) raw.keys.forEach((entry, index) => refuseUnknown(entry, KEY_ROUTE_FIELDS, '/key/bulk_update', `keys[${index}].`));
    const entries = raw && Array.isArray(raw.keys) ? { ...raw, keys: raw.keys.map((entry) => guardrailsIntoMetadata(entry, false)) } : raw;
    const body = parseInput(z.object({ keys: z.array(keyFields.merge(keyReference)).min(1, 'send at least one key').max(100, 'at most 100 keys at once') }), entries);
    // Every key is checked before any is changed: one refusal changes nothing. Each entry is checked
    // against the key as it is now, so a key named twice would pass two checks that its combined
    // change fails (moved to a team by one entry, given models or a budget outside it by another).
    const checked: Array<{ hash: string; fields: KeyFields }> = [];
    for (const entry of body.keys) {
      refuseUnsupported(entry, UNSUPPORTED_KEY_FIELDS);
      assertWithinBounds(entry);
      assertKeepsTeam(actor, entry);
      const existing = await managedKey(actor, entry.key, true);
      await assertMayMove(actor, entry, existing);
      if (checked.some((earlier) => earlier.hash === existing.hash)) {
        throw new GatewayError('invalid_request', `keys: key ${existing.alias ? `"${existing.alias}"` : existing.prefix} is named more than once; send one entry per key, with all of its changes`, { param: 'keys' });
      }
      const { key: _reference, ...rest } = entry;
      checked.push({ hash: existing.hash, fields: await access.checkKeyFields(actor, serviceFields(rest), existing) });
    }
    const updated = [];
    for (const { hash, fields } of checked) updated.push(await service().keyView(await service().updateKey(hash, fields)));
    return { total_requested: body.keys.length, successful_updates: updated, failed_updates: [] };
  });

  const regenerate = async (request: FastifyRequest) => {
    const actor = actorOf(request);
    const fromPath = (request.params as { key?: string }).key;
    refuseUnknown(request.body, REGENERATE_FIELDS, fromPath ? '/key/{key}/regenerate' : '/key/regenerate');
    const schema = keyFields.extend({ new_key: z.string().optional() });
    const body = parseInput(fromPath ? schema : schema.merge(keyReference), guardrailsIntoMetadata(request.body, false));
    refuseUnsupported(body, UNSUPPORTED_KEY_FIELDS);
    assertWithinBounds(body);
    assertKeepsTeam(actor, body);
    const existing = await managedKey(actor, fromPath ?? (body as { key: string }).key, true);
    await assertMayMove(actor, body, existing);
    if (body.new_key !== undefined && actor.kind !== 'admin') throw new GatewayError('permission_denied', 'only an admin may import a key ("new_key")');
    const { key: _reference, new_key: newKey, ...rest } = body as KeyBody & { new_key?: string };
    const fields = Object.keys(rest).length > 0 ? await access.checkKeyFields(actor, serviceFields(rest), existing) : {};
    // Through a key with limits someone else set, no other key's secret is taken (checkKeyFields checks it when fields are sent).
    assertIssuedKeyMayManage(actor, undefined, existing);
    // A new secret for another user's key (or one without a user) would hand the caller access beyond its own.
    access.assertMayTakeSecret(actor, fields.user_id !== undefined ? fields.user_id : existing.userId);
    const { secret, key } = await service().regenerateKey(existing.hash, fields, newKey);
    return { ...(await service().keyView(key)), key: secret };
  };
  app.post('/key/regenerate', regenerate);
  app.post('/key/:key/regenerate', regenerate);

  /** Block, unblock and spend resets: admins, and the admins of the key's team. */
  const teamManagedKey = async (request: FastifyRequest, keyOrHash: string) => {
    const actor = actorOf(request);
    const key = await service().requireKey(keyOrHash);
    if (actor.kind !== 'admin') {
      if (!key.teamId) throw new GatewayError('permission_denied', 'only an admin (or the admin of the key\'s team) may do this');
      await access.assertMayManageTeam(actor, key.teamId);
    }
    return key;
  };

  app.post('/key/block', async (request) => {
    const key = await teamManagedKey(request, parseInput(keyReference, request.body).key);
    return service().keyView(await service().setKeyBlocked(key.hash, true));
  });

  app.post('/key/unblock', async (request) => {
    const key = await teamManagedKey(request, parseInput(keyReference, request.body).key);
    return service().keyView(await service().setKeyBlocked(key.hash, false));
  });

  app.post('/key/:key/reset_spend', async (request) => {
    const key = await teamManagedKey(request, (request.params as { key: string }).key);
    access.assertMayResetSpend(actorOf(request), key);
    const body = parseInput(z.object({ reset_to: z.number({ required_error: 'is required (USD)', invalid_type_error: 'expected a number (USD)' }).nonnegative() }), request.body);
    const current = (await service().keyView(key)).spend ?? 0;
    if (body.reset_to > current) throw new GatewayError('invalid_request', `reset_to ($${body.reset_to}) must not exceed the key's current spend ($${current})`, { param: 'reset_to' });
    const view = await service().keyView(await service().updateKey(key.hash, { spend: body.reset_to }));
    return { key_hash: key.hash, spend: view.spend, previous_spend: current, max_budget: view.max_budget, budget_reset_at: view.budget_reset_at };
  });

  app.post('/key/delete', async (request) => {
    const actor = actorOf(request);
    const body = parseInput(z.object({ keys: z.array(z.string()).nullable().optional(), key_aliases: z.array(z.string()).nullable().optional() }), request.body);
    if (!body.keys?.length && !body.key_aliases?.length) throw new GatewayError('invalid_request', 'send "keys" (keys or tokens) or "key_aliases"', { param: 'keys' });
    if (actor.kind !== 'admin') {
      for (const name of body.keys ?? []) {
        const key = await service().findKey(name);
        if (key) await access.assertMayManageKey(actor, key, true);
      }
      for (const alias of body.key_aliases ?? []) {
        const key = await service().findKeyByAlias(alias);
        if (key) await access.assertMayManageKey(actor, key, true);
      }
    }
    return { deleted_keys: await service().deleteKeys(body.keys ?? [], body.key_aliases ?? []) };
  });

  app.get('/key/info', async (request) => {
    const call = callOf(request);
    const asked = parseInput(keyInfoQuery, request.query, 'query').key;
    const ownHash = call.caller.principal?.key.hash;
    if (asked && keyHashOf(asked) !== ownHash) {
      // Reading another key: an admin, a viewer, the key's own user, or its team's admin.
      await managedKey(actorOf(request), asked, false);
    }
    const target = asked ?? ownHash;
    if (!target) throw new GatewayError('invalid_request', 'pass ?key=<key or token> (the master key is not a virtual key)', { param: 'key' });
    const key = await service().requireKey(target);
    // LiteLLM leaves the token out of info: `key` names what was asked for.
    const { token: _token, ...info } = await service().keyView(key);
    return { key: asked ?? key.hash, info };
  });

  app.get('/key/list', async (request) => {
    const actor = actorOf(request);
    const query = parseInput(keyListQuery, request.query, 'query');
    const page = query.page ?? 1;
    const size = query.size ?? DEFAULT_PAGE_SIZE;
    const filter = await access.listFilter(actor, { userId: query.user_id, teamId: query.team_id });
    const result = await service().listKeys({ ...filter, alias: query.key_alias, hash: query.key_hash ? keyHashOf(query.key_hash) : undefined }, page, size);
    const full = query.return_full_object === 'true';
    return {
      keys: full ? await Promise.all(result.items.map((key) => service().keyView(key))) : result.items.map((key) => key.hash),
      total_count: result.total,
      current_page: page,
      total_pages: Math.max(1, Math.ceil(result.total / size)),
    };
  });
}
