/**
 * Who may manage which keys, users and teams (LiteLLM's roles). Admins (callers holding
 * llm.configure: the master key, proxy_admin users) manage everything; `proxy_admin_viewer` reads
 * everything; an `internal_user` manages its own keys; an `internal_user_viewer` only reads its own;
 * a team member with the team role `admin` manages the team's keys (creating them for itself) and
 * members. The invariant: a
 * caller never creates or changes a key into more access than it has itself — no other user's keys,
 * no team it (or the key's user) does not belong to, no model outside its own (and the team's)
 * models, no budget above its own (and the team's), no imported secret, no spend reset, no
 * unblocking, and no existing key given to another user (itself included: it would take over what
 * an admin bound to that key). Nor a key without a user: such a key is held to no user's models,
 * tier, budget or credits, so only an admin creates, changes or regenerates one.
 */
import type { FastifyRequest } from 'fastify';
import { GatewayError } from '../errors.js';
import { callOf } from '../http/context.js';
import { addDuration, parseDuration } from './budget-period.js';
import type { KeyFields, ManagementService } from './management.js';
import { ALL_MODELS } from './model-access.js';
import { effectiveModelBudgets, type ModelBudgets } from './model-budgets.js';
import { can } from './permissions.js';
import type { KeyRecord, TeamRecord, UserRecord } from './principals.js';

/** `key`: the key the request came with (its limits bound what is done through it: assertIssuedKeyMayManage). */
export type Actor = { kind: 'admin'; id: string } | { kind: 'user'; user: UserRecord; readsAll: boolean; writes: boolean; key?: KeyRecord };

/** The id of the master key as an actor: the `created_by` of the keys it makes. */
const MASTER_ACTOR = 'master';

/** The caller as a manager of keys, users and teams; 403 for keys that have no user to act as. */
export function actorOf(request: FastifyRequest): Actor {
  const caller = callOf(request).caller;
  if (can(request, 'llm.configure')) return { kind: 'admin', id: caller.userId ?? MASTER_ACTOR };
  const user = caller.principal?.user;
  if (!user || user.role === 'customer') throw new GatewayError('permission_denied', `${request.routeOptions.url} needs an admin key or a key of an internal user (this key has no user with a management role)`);
  return { kind: 'user', user, readsAll: user.role === 'proxy_admin_viewer', writes: user.role === 'internal_user', key: caller.principal?.key };
}

export function isTeamAdmin(team: TeamRecord, userId: string): boolean {
  return team.members.some((member) => member.userId === userId && member.role === 'admin');
}

function denied(message: string): GatewayError {
  return new GatewayError('permission_denied', message);
}

/**
 * Whether the non-admin `user` created this key (and so keeps its freedom over it). A key the
 * master key made stores "master", which an admin may also give a user as its user_id: such a key
 * is made by no user, or that user would escape the rules below on every master-made key. And a
 * key older than the user was made by an earlier user of the same id (deleted, then the id given
 * to someone else): `created_by` names the id, not the person, so such a key is not the caller's.
 */
function createdByCaller(existing: KeyRecord, user: Pick<UserRecord, 'userId' | 'createdAt'>): boolean {
  return existing.createdBy === user.userId && user.userId !== MASTER_ACTOR && existing.createdAt >= user.createdAt;
}

/**
 * The access limits on the caller's own key that someone else (an admin, a team admin) set beyond
 * the user's own: none when the caller created the key itself. An expiry, models narrower than the
 * user's, guardrails. Not its routes (a `management` key is issued to make keys), nor its budget or
 * rate limits: those bound the key's own calls, and the user's budget and rates bound all of its
 * keys (set them on the user to bound what it makes). A limit the user has anyway binds every key
 * of the user already (the key /user/new makes carries the user's models).
 */
function issuedLimits(key: KeyRecord, user: UserRecord): string[] {
  if (createdByCaller(key, user)) return [];
  const limits: string[] = [];
  if (key.expiresAt !== null) limits.push('an expiry');
  if (key.models.length > 0 && !key.models.some((name) => ALL_MODELS.has(name))) {
    const reached = new Set(key.models.map((name) => aliasTarget(key.aliases, name)));
    if (user.models.length === 0 || user.models.some((name) => ALL_MODELS.has(name) || !reached.has(name))) limits.push('models');
  }
  if (guardrailNames(key.metadata?.guardrails).length > 0) limits.push('guardrails');
  return limits;
}

/**
 * What is done through a key is bound by its access limits (items 178, 241, 247 keep a key from
 * lifting the expiry, models and guardrails an admin set on it; this keeps it from making or
 * changing another key without them). Through a key carrying such limits someone else set, a
 * non-admin:
 * - creates a key only within them: an expiry no later than this key's, models among its models,
 *   its guardrails kept;
 * - changes (updates, regenerates) no key but this one: another of its user's keys, made by the
 *   user, could be lifted and its new secret taken.
 */
export function assertIssuedKeyMayManage(actor: Actor, fields: KeyFields | undefined, target: KeyRecord | undefined): void {
  if (actor.kind === 'admin' || !actor.key) return;
  const own = actor.key;
  const limits = issuedLimits(own, actor.user);
  if (limits.length === 0) return;
  const issued = `this key carries access limits someone else set (${limits.join(', ')})`;
  if (target) {
    if (target.id === own.id) return;
    throw denied(`${issued}: through it only this key itself is changed or regenerated, not another key (it could be given more than this key has). Use a key you created yourself, or ask an admin`);
  }
  if (!fields) return;
  if (own.expiresAt !== null) {
    const parsed = typeof fields.duration === 'string' ? parseDuration(fields.duration) : undefined;
    // A malformed duration is left to the service's 400.
    if (!(typeof fields.duration === 'string' && (!parsed || addDuration(Date.now(), parsed) <= own.expiresAt))) {
      throw denied(`${issued}: a key made through it expires no later than it does (${new Date(own.expiresAt).toISOString()}): send a "duration" that ends by then`);
    }
  }
  if (limits.includes('models')) {
    const reached = new Set(own.models.map((name) => aliasTarget(own.aliases, name)));
    const models = fields.models ?? [];
    const aliases = fields.aliases ?? {};
    const wider = models.length === 0 ? ['every model of the user'] : models.filter((name) => ALL_MODELS.has(name) || !reached.has(aliasTarget(aliases, name)));
    if (wider.length > 0) throw denied(`${issued}: a key made through it may use only its models (${[...reached].join(', ')}), not ${wider.join(', ')}: send "models" among them`);
  }
  const guardrails = guardrailNames(own.metadata?.guardrails);
  const kept = new Set(guardrailNames(fields.metadata?.guardrails));
  const dropped = guardrails.filter((name) => !kept.has(name));
  if (dropped.length > 0) throw denied(`${issued}: a key made through it keeps its guardrails: name ${dropped.map((name) => `"${name}"`).join(', ')} in "guardrails" (or "metadata.guardrails")`);
}

/**
 * A key's guardrails (`metadata.guardrails`) bind its calls: an update replaces the whole metadata,
 * so a non-admin's new metadata must still name every guardrail the key has (it may add some).
 * Otherwise a key could drop the guardrail an admin gave it by updating itself, and a team admin
 * could drop it from a member's key.
 */
function assertKeepsGuardrails(metadata: Record<string, unknown> | undefined, existing: KeyRecord | undefined): void {
  if (metadata === undefined || !existing) return;
  const had = guardrailNames(existing.metadata?.guardrails);
  if (had.length === 0) return;
  const kept = new Set(guardrailNames(metadata.guardrails));
  const dropped = had.filter((name) => !kept.has(name));
  if (dropped.length > 0) {
    throw denied(`only an admin removes a guardrail from a key: keep ${dropped.map((name) => `"${name}"`).join(', ')} in "metadata.guardrails" (the new metadata replaces the whole object)`);
  }
}

/**
 * An expiry is how an operator issues a time-limited credential (a contractor, a demo): a non-admin
 * may bring a key's expiry closer (or set one where none was) but not lengthen or remove it, or the
 * key would outlive what it was issued for — with its key_alias, routing rules and budget link, and
 * for a team admin on a member's key, with the member's access. Only the keys the caller created
 * itself keep their old freedom: it could make such a key again with any expiry. (Who set an
 * expiry is not stored, so a key the caller created counts as its own even after an admin's update.)
 */
function assertKeepsExpiry(duration: string | null | undefined, existing: KeyRecord | undefined, user: UserRecord): void {
  if (duration === undefined || !existing || existing.expiresAt === null || createdByCaller(existing, user)) return;
  // A malformed duration is left to the service's 400.
  const parsed = duration === null ? undefined : parseDuration(duration);
  if (duration !== null && (!parsed || addDuration(Date.now(), parsed) <= existing.expiresAt)) return;
  throw denied(`only an admin lengthens or removes a key's expiry ("duration"): this key expires at ${new Date(existing.expiresAt).toISOString()}; send a shorter "duration" or leave it out`);
}

/** The model group a name in a key's list reaches through the key's aliases (as auth/model-access.ts reads it). */
function aliasTarget(aliases: Record<string, string>, name: string): string {
  return Object.hasOwn(aliases, name) && typeof aliases[name] === 'string' ? aliases[name] : name;
}

/**
 * On a key the caller did not create, its models only narrow: every name of the new list must
 * reach (through the key's new aliases) a model group the old list reached. An empty list means
 * every model the user may use, so it is never narrower than a list; and new aliases must not send
 * a listed name to another group (the key's own list counts a name its aliases send elsewhere as
 * that other group).
 */
function assertModelsNarrower(fields: KeyFields, existing: KeyRecord): void {
  if (fields.models === undefined && fields.aliases === undefined) return;
  const had = existing.models;
  if (had.length === 0 || had.some((name) => ALL_MODELS.has(name))) return;
  const reached = new Set(had.map((name) => aliasTarget(existing.aliases, name)));
  const models = fields.models ?? had;
  const aliases = fields.aliases ?? existing.aliases;
  const wider = models.length === 0 ? ['every model of the user'] : models.filter((name) => ALL_MODELS.has(name) || !reached.has(aliasTarget(aliases, name)));
  if (wider.length === 0) return;
  // A listed name that now reaches elsewhere is the aliases' doing; anything else the list's.
  const field = models.length > 0 && wider.every((name) => had.includes(name) && !ALL_MODELS.has(name)) ? 'aliases' : 'models';
  throw denied(`only an admin widens the models of a key it did not create ("${field}"): this key may use ${[...reached].join(', ')}, not ${wider.join(', ')}. Send a subset of its models, or leave "${field}" out`);
}

/** On a key the caller did not create, its allowed_routes only narrow (empty: any route its role allows). */
function assertRoutesNarrower(wanted: string[] | null | undefined, had: string[]): void {
  if (wanted === undefined || had.length === 0) return;
  const wider = !wanted?.length ? ['any route'] : wanted.filter((route) => !had.includes(route));
  if (wider.length > 0) throw denied(`only an admin widens or removes the "allowed_routes" of a key it did not create: this key may call ${had.join(', ')}, not ${wider.join(', ')}`);
}

/**
 * One limit of a key the caller did not create, lowered only: never raised, never removed. A limit
 * the key leaves unset is its linked budget's (auth/budgets.ts: the key's own wins), so that is the
 * ceiling then — a key setting its own would otherwise override the budget an admin linked.
 */
function assertNotRaised(field: string, wanted: number | null | undefined, own: number | null, linked: number | null, budgetId: string | null | undefined, show: (value: number) => string = String): void {
  if (wanted === undefined || wanted === own) return;
  const ceiling = own ?? linked;
  if (ceiling === null || (wanted !== null && wanted <= ceiling)) return;
  const from = own === null ? ` (from budget "${budgetId}")` : '';
  throw denied(`only an admin raises or removes "${field}" on a key it did not create: this key's is ${show(ceiling)}${from}; send a value no higher, or leave it out`);
}

/** On a key the caller did not create, every per-model budget in force stays, with its period and no higher. */
function assertModelBudgetsKept(wanted: ModelBudgets | null, existing: KeyRecord, budget: Record<string, unknown> | null): void {
  const linked = budget && existing.budgetId ? { budgetId: existing.budgetId, modelMaxBudget: (budget.model_max_budget as Record<string, unknown> | null) ?? null } : undefined;
  const before = effectiveModelBudgets(existing.modelMaxBudget, linked);
  const after = effectiveModelBudgets(wanted ?? undefined, linked);
  for (const [model, entry] of Object.entries(before)) {
    const next = Object.hasOwn(after, model) ? after[model] : undefined;
    if (next && next.budgetMicros <= entry.budgetMicros && next.timePeriod === entry.timePeriod) continue;
    throw denied(`only an admin raises, removes or re-periods an entry of the "model_max_budget" of a key it did not create: keep "${model}" at $${entry.budgetMicros / 1_000_000} or less per ${entry.timePeriod ?? 'lifetime'} (the new model_max_budget replaces the whole object)`);
  }
}

/** On a key the caller did not create, every per-model rate limit stays, no higher (the new map replaces the whole object). */
function assertModelRatesKept(field: 'model_rpm_limit' | 'model_tpm_limit', wanted: Readonly<Record<string, number>> | null | undefined, existing: Readonly<Record<string, number>> | undefined): void {
  if (wanted === undefined) return;
  for (const [model, limit] of Object.entries(existing ?? {})) {
    const next = wanted !== null && Object.hasOwn(wanted, model) ? wanted[model] : undefined;
    if (next !== undefined && next <= limit) continue;
    throw denied(`only an admin raises or removes an entry of the "${field}" of a key it did not create: keep "${model}" at ${limit} or less (the new ${field} replaces the whole object)`);
  }
}

const usdMicros = (usd: unknown): number | null | undefined => (usd === undefined ? undefined : typeof usd === 'number' ? Math.round(usd * 1_000_000) : null);
const countOf = (value: unknown): number | null => (typeof value === 'number' ? value : null);
const showUsd = (micros: number) => `$${micros / 1_000_000}`;

function sameEntries(left: string[], right: string[]): boolean {
  return left.length === right.length && left.every((entry) => right.includes(entry));
}

function guardrailNames(value: unknown): string[] {
  return Array.isArray(value) ? value.filter((name): name is string => typeof name === 'string') : [];
}

/** Every entry of `wanted` (after the key's aliases) within `allowed` (empty or all-proxy-models: everything). */
function outside(wanted: string[], allowed: string[], aliases: Record<string, string>): string[] {
  if (allowed.length === 0 || allowed.includes('all-proxy-models')) return [];
  return wanted.filter((model) => model !== 'all-proxy-models' ? !allowed.includes(aliases[model] ?? model) : true);
}

/** A team key's models within the team's models: for every caller, admins too (LiteLLM refuses the same). */
export function assertWithinTeamModels(fields: Pick<KeyFields, 'models' | 'aliases'>, team: TeamRecord | undefined): void {
  if (!team || !fields.models?.length) return;
  const extra = outside(fields.models, team.models, fields.aliases ?? {});
  if (extra.length > 0) throw new GatewayError('invalid_request', `models ${extra.join(', ')} are not in the models of team "${team.teamId}" (${team.models.join(', ')})`, { param: 'models' });
}

/** The routing rules a key alias may be bound to (platform/rule-store.ts); absent without the platform layer. */
export interface AliasRules {
  namingKeyAlias(alias: string): { name: string } | undefined;
}

export class ManagementAccess {
  constructor(
    private readonly service: () => ManagementService,
    private readonly rules?: AliasRules,
  ) {}

  /**
   * A routing rule matching `key_aliases` is an operator's decision about those keys: a non-admin
   * neither gives its key such an alias (taking over the rule, e.g. a permissive one placed above a
   * restrictive one) nor renames a key away from one (escaping the rule).
   */
  private assertAliasNotRouted(wanted: string | null | undefined, current: string | null): void {
    if (wanted === undefined || wanted === current) return;
    for (const alias of [current, wanted]) {
      const rule = alias ? this.rules?.namingKeyAlias(alias) : undefined;
      if (rule) throw denied(`key_alias "${alias}" is named by routing rule "${rule.name}": only an admin gives a key that alias or takes it away. Choose another alias, or ask an admin`);
    }
  }

  private async team(teamId: string): Promise<TeamRecord> {
    return this.service().requireTeam(teamId);
  }

  /**
   * The team a non-admin names, when it is one the actor belongs to; else 403 with `message`. An
   * unknown team answers exactly as a team of others does (as unknown and forbidden users and
   * models do), so team ids cannot be probed. Admins and readers of every team get the team or 404.
   */
  private async teamOfActor(actor: Actor, teamId: string, message: string): Promise<TeamRecord> {
    if (actor.kind === 'admin' || actor.readsAll) return this.team(teamId);
    const team = await this.service().findTeam(teamId);
    if (!team || !team.members.some((member) => member.userId === actor.user.userId)) throw denied(message);
    return team;
  }

  /** The team /team/info answers for: admins and proxy_admin_viewers read any team; members read their own. */
  async readableTeam(actor: Actor, teamId: string): Promise<TeamRecord> {
    return this.teamOfActor(actor, teamId, `not a member of team "${teamId}"`);
  }

  /** Whether the actor may read (or, with `write`, change) this key. */
  async mayManageKey(actor: Actor, key: KeyRecord, write: boolean): Promise<boolean> {
    if (actor.kind === 'admin') return true;
    if (!write && actor.readsAll) return true;
    if (write && !actor.writes) return false;
    if (key.userId === actor.user.userId) return true;
    if (key.teamId) {
      const team = await this.service().findTeam(key.teamId);
      return team !== undefined && isTeamAdmin(team, actor.user.userId);
    }
    return false;
  }

  async assertMayManageKey(actor: Actor, key: KeyRecord, write: boolean): Promise<void> {
    if (!(await this.mayManageKey(actor, key, write))) {
      throw denied(actor.kind === 'user' && !actor.writes && write ? `a ${actor.user.role} may only read keys` : 'this key belongs to another user or team: a non-admin key manages only its own user\'s keys (and, as a team admin, its team\'s)');
    }
  }

  /**
   * A non-admin never gets (creates, changes or regenerates) a key without a user: at call time such
   * a key is held to no user's models, tier, budget or credits, so it would carry more access than
   * its maker has.
   */
  assertMayHoldUserlessKey(actor: Actor, userId: string | null): void {
    if (actor.kind === 'admin' || userId !== null) return;
    throw denied('only an admin creates, changes or regenerates a key without a user ("user_id": null): a service key is held to no user\'s models, tier, budget or credits. Create the key for yourself (leave user_id out), or ask an admin to create the service key');
  }

  /**
   * A non-admin never gives an existing key to another user, itself included: the key would call
   * as its new user while keeping what an admin gave it — its key_alias and the routing rules that
   * name it, its aliases, routes and metadata — and /key/regenerate would then hand the caller its
   * new secret, cutting off whoever held the old one (an admin's service key of the team, or a
   * member's key). A non-admin's own keys are the ones it creates.
   */
  private assertKeepsUser(existing: KeyRecord | undefined, userId: string | null): void {
    if (!existing || userId === existing.userId) return;
    const from = existing.userId === null ? 'a key without a user' : `a key of user "${existing.userId}"`;
    throw denied(`only an admin gives a key to another user: ${from} would call as "${userId}" with the key_alias, routing rules and settings an admin gave it. Create a key of your own with /key/generate instead`);
  }

  /**
   * A new secret is handed only to whoever the key calls as: a non-admin regenerates keys of its own
   * user only. A team admin may block, unblock and delete its members' keys (less access), but the
   * new secret of a member's key would let it call as that member — its models, tier, budget and
   * credits — and of a service key as no user at all.
   */
  assertMayTakeSecret(actor: Actor, userId: string | null): void {
    this.assertMayHoldUserlessKey(actor, userId);
    if (actor.kind === 'admin' || userId === actor.user.userId) return;
    throw denied(`only an admin regenerates the key of another user ("${userId}"): its new secret would call as that user. A team admin may block, unblock or delete it`);
  }

  /**
   * A key's limits are what it was issued with: an admin (or whoever made it) holding a user's key
   * to fewer models, a lower budget or rate, or fewer routes than the user has. On a key the caller
   * did not create, a non-admin may only tighten them; else the key (or its user's other key, or a
   * team admin on a member's key) would lift them by updating itself, as it could an expiry
   * (assertKeepsExpiry, whose rule on the keys the caller created this follows). soft_budget only
   * alerts, so it stays free; budget_duration moves the period the spend counts in, so it stays
   * the admin's; and team_id stays, as leaving the team (or moving to another of the user's teams)
   * drops the team's models, budget, rates and guardrails.
   */
  private async assertOnlyTightens(fields: KeyFields, existing: KeyRecord | undefined, user: UserRecord): Promise<void> {
    if (!existing || createdByCaller(existing, user)) return;
    if (fields.team_id !== undefined && (fields.team_id ?? null) !== existing.teamId) {
      throw denied(`only an admin moves a key it did not create into, out of or between teams ("team_id"): this key is ${existing.teamId === null ? 'in no team' : `of team "${existing.teamId}"`}; leave "team_id" out`);
    }
    assertModelsNarrower(fields, existing);
    assertRoutesNarrower(fields.allowed_routes, existing.allowedRoutes ?? []);
    // A malformed period is left to the service's 400 (as assertKeepsExpiry leaves a malformed duration).
    const period = fields.budget_duration;
    if (period !== undefined && (period ?? null) !== existing.budgetDuration && (period === null || parseDuration(period))) {
      throw denied(`only an admin changes the "budget_duration" of a key it did not create (it is ${existing.budgetDuration === null ? 'unset' : `"${existing.budgetDuration}"`}): leave it out`);
    }
    assertModelRatesKept('model_rpm_limit', fields.model_rpm_limit, existing.modelRpmLimit);
    assertModelRatesKept('model_tpm_limit', fields.model_tpm_limit, existing.modelTpmLimit);
    const limits = fields.max_budget !== undefined || fields.rpm_limit !== undefined || fields.tpm_limit !== undefined || fields.max_parallel_requests !== undefined || fields.model_max_budget !== undefined;
    if (!limits) return;
    // The linked budget fills the limits the key leaves unset: read only when a limit is sent.
    const budget = existing.budgetId ? await this.service().budgetObject(existing.budgetId) : null;
    const id = existing.budgetId;
    assertNotRaised('max_budget', usdMicros(fields.max_budget), existing.maxBudgetMicros, usdMicros(budget?.max_budget) ?? null, id, showUsd);
    assertNotRaised('rpm_limit', fields.rpm_limit, existing.rpmLimit, countOf(budget?.rpm_limit), id);
    assertNotRaised('tpm_limit', fields.tpm_limit, existing.tpmLimit, countOf(budget?.tpm_limit), id);
    assertNotRaised('max_parallel_requests', fields.max_parallel_requests, existing.maxParallelRequests, countOf(budget?.max_parallel_requests), id);
    if (fields.model_max_budget !== undefined) assertModelBudgetsKept(fields.model_max_budget, existing, budget);
  }

  /**
   * The fields a non-admin may create a key with (or change one to), with its user filled in; throws
   * 403 for anything beyond the actor's own access. Admins get the fields back unchanged.
   */
  async checkKeyFields(actor: Actor, fields: KeyFields & { key?: string }, existing?: KeyRecord): Promise<KeyFields> {
    const teamId = fields.team_id !== undefined ? fields.team_id : existing?.teamId ?? null;
    const team = teamId ? await this.teamOfActor(actor, teamId, `not a member of team "${teamId}"`) : undefined;
    // A change of team or aliases alone is checked against the models the key keeps (aliases re-point them).
    const models = fields.models ?? (fields.team_id !== undefined || fields.aliases !== undefined ? existing?.models : undefined);
    assertWithinTeamModels({ models, aliases: fields.aliases ?? existing?.aliases }, team);
    if (actor.kind === 'admin') return fields;
    const self = actor.user;
    if (!actor.writes) throw denied(`a ${self.role} may only read keys`);
    if (fields.key !== undefined) throw denied('only an admin may import a key ("key")');
    if (fields.spend !== undefined) throw denied('only an admin may set a key\'s spend');
    if (fields.blocked !== undefined) throw denied('only an admin (or the key\'s team admin, with /key/block and /key/unblock) may block or unblock a key');
    // Budget objects are the admins' (/budget/info): a key linked to one shows the whole row, so a
    // non-admin choosing the link would read any budget (and learn which ids exist). Sending the
    // key's own link back is fine; checked before the budget is looked up, so unknown ids answer alike.
    if (fields.budget_id !== undefined && (fields.budget_id ?? null) !== (existing?.budgetId ?? null)) throw denied('only an admin links a key to a budget object or unlinks it ("budget_id")');
    // Granting a store reserves it to its grantees (vector-store-access.ts): the operator's decision, either way.
    if (fields.vector_stores !== undefined && !sameEntries(fields.vector_stores ?? [], existing?.vectorStores ?? [])) throw denied('only an admin grants vector stores to a key or takes them away ("object_permission.vector_stores"): leave it out, or send the key\'s own list unchanged');
    assertKeepsGuardrails(fields.metadata, existing);
    assertKeepsExpiry(fields.duration, existing, self);
    await this.assertOnlyTightens(fields, existing, self);
    assertIssuedKeyMayManage(actor, fields, existing);
    this.assertAliasNotRouted(fields.key_alias, existing?.alias ?? null);
    const teamAdmin = team !== undefined && isTeamAdmin(team, self.userId);
    if (team && !teamAdmin && !team.members.some((member) => member.userId === self.userId)) throw denied(`not a member of team "${team.teamId}"`);
    const userId = fields.user_id !== undefined ? fields.user_id : existing ? existing.userId : self.userId;
    this.assertMayHoldUserlessKey(actor, userId);
    this.assertKeepsUser(existing, userId);
    if (userId !== self.userId) {
      if (!teamAdmin) throw denied('a non-admin key may only create and change keys of its own user');
      // A team admin's keys are its own: a key for another member would spend that member's own
      // budget, and the team admin chooses who the members are.
      // (A key already on a member, made by an admin, stays manageable; assertKeepsUser keeps it on the member.)
      if (existing === undefined) throw denied(`a team admin creates keys for team "${team!.teamId}" for itself, not for user "${userId}"`);
      // Moving a member's key to another team it leads: the key's user must be a member there too.
      if (fields.team_id !== undefined && userId !== null && !team!.members.some((member) => member.userId === userId)) {
        throw denied(`user "${userId}" is not a member of team "${team!.teamId}": a key is moved only into a team its user belongs to (add the user with /team/member_add first)`);
      }
    }
    const owner = userId === self.userId ? self : undefined;
    if (owner) {
      const extra = outside(models ?? [], owner.models, fields.aliases ?? existing?.aliases ?? {});
      if (extra.length > 0) throw denied(`models ${extra.join(', ')} are not among your own models (${owner.models.join(', ')})`);
    }
    // A key moved into a team keeps its own budget, which must fit the team's as a new one would.
    const kept = fields.team_id !== undefined && existing && existing.maxBudgetMicros !== null ? existing.maxBudgetMicros / 1_000_000 : undefined;
    const budget = fields.max_budget !== undefined ? fields.max_budget : kept;
    for (const holder of [owner, team]) {
      if (!holder || holder.maxBudgetMicros === null || budget === undefined) continue;
      // No budget of its own (null) leaves the key under its user's and team's budgets all the same.
      if (budget !== null && Math.round(budget * 1_000_000) > holder.maxBudgetMicros) throw denied(`"max_budget" may not exceed the budget of ${holder === team ? `team "${team.teamId}"` : 'your user'} ($${holder.maxBudgetMicros / 1_000_000})`);
    }
    return { ...fields, user_id: userId };
  }

  /**
   * Resetting a key's spend gives its budget back, as raising its max_budget would: a team admin
   * (the only non-admin the route admits) does so only on keys it created itself, or on keys with no
   * budget to give back — never under the budget an admin set on a member's key (assertOnlyTightens).
   */
  assertMayResetSpend(actor: Actor, key: KeyRecord): void {
    if (actor.kind === 'admin' || createdByCaller(key, actor.user)) return;
    if (key.maxBudgetMicros === null && !key.budgetId) return;
    throw denied(`only an admin resets the spend of a key with a budget it did not create: it gives the key's budget back, as raising its "max_budget" would`);
  }

  /** Filters for /key/list: a non-admin sees its own user's keys, or (as team admin) its team's. */
  async listFilter(actor: Actor, asked: { userId?: string; teamId?: string }): Promise<{ userId?: string; teamId?: string }> {
    if (actor.kind === 'admin' || actor.readsAll) return asked;
    if (asked.teamId) {
      // An unknown team lists like a team the caller does not lead: its own keys there, none.
      const team = await this.service().findTeam(asked.teamId);
      if (team && isTeamAdmin(team, actor.user.userId)) return asked;
    }
    if (asked.userId && asked.userId !== actor.user.userId) throw denied('a non-admin key may only list its own user\'s keys (or, as a team admin, its team\'s: pass team_id)');
    return { ...asked, userId: actor.user.userId };
  }

  /** Team members may be managed by admins and the team's admins. */
  async assertMayManageTeam(actor: Actor, teamId: string): Promise<void> {
    if (actor.kind === 'admin') return;
    // An unknown team is refused as a team the caller does not lead.
    const team = await this.service().findTeam(teamId);
    if (!actor.writes || !team || !isTeamAdmin(team, actor.user.userId)) throw denied(`only an admin or an admin of team "${teamId}" may manage its members and keys`);
  }

  /** Admins and proxy_admin_viewers read any user; others only themselves. */
  assertMayReadUser(actor: Actor, userId: string): void {
    if (actor.kind === 'admin' || actor.readsAll) return;
    if (userId !== actor.user.userId) throw denied('a non-admin key may only read its own user (/user/info without user_id)');
  }
}
