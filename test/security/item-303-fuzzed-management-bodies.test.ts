/**
 * A seeded fuzz of the management API by attackers holding ordinary keys: an internal_user ("alice",
 * models [cheap], budget $5, her key [cheap] / $2), the admin of team T ("lead", models [cheap, mid],
 * budget $20, his team key $8) and a key without a user. Thousands of mutated bodies (wrong types,
 * huge, negative and NaN-ish numbers, objects where scalars go, other users', teams' and keys' ids,
 * unicode, unknown fields, __proto__/constructor keys, duplicate keys, non-object bodies) go to every
 * management route src/http/routes registers. After every request: no 5xx, an error is a JSON
 * { error: { message } }, nothing is logged at error level, nothing unhandled. Periodically and at
 * the end, through the admin API:
 * - every key of alice or lead (or made by them) has models within its user's (and team T's)
 *   models, a budget within its user's (and T's), no team but T, and stays on its user; the keys an
 *   admin issued them are never loosened (budget removed or raised, team changed);
 * - no key of another user, of team U or without a user is one a non-admin made or moved there;
 * - other users, teams U and T (but T's membership, which its admin manages), budget objects,
 *   customers, models and router settings are as they were, ignoring spend and timestamps;
 * - no user or team was created or deleted by a non-admin;
 * and at the end no non-admin secret (held or obtained) reaches model "dear" (by name or alias) or
 * an admin-only read.
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { MASTER_KEY, startGateway, type TestGateway } from '../support/gateway.js';
import { Management, type GeneratedKey, type KeyView } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';
import { seededRandom } from '../support/random.js';

const REQUESTS_PER_CALLER = Number(process.env.ITEM303_REQUESTS ?? 1500);
const CHECK_EVERY = 300;
const REARM_EVERY = 10;

const USERS = {
  alice: { models: ['cheap'], budget: 5 },
  lead: { models: ['cheap', 'mid'], budget: 20 },
} as const;
const TEAM_T = { models: ['cheap'], budget: 10 };
type Attacker = keyof typeof USERS;

let upstream: MockOpenAI;
let gateway: TestGateway;
let api: Management;
const errorLines: string[] = [];
const unhandled: unknown[] = [];
const onUnhandled = (error: unknown) => unhandled.push(error);

/** The fields the admin issues each attacker's key with (re-issued the same if the fuzz kills it). */
const ISSUED: Record<Attacker | 'userless', Record<string, unknown>> = {
  alice: { user_id: 'alice', models: ['cheap'], max_budget: 2 },
  lead: { user_id: 'lead', team_id: 'T', models: ['cheap'], max_budget: 8 },
  userless: { models: ['cheap'], max_budget: 1 },
};
const held: Record<Attacker | 'userless', string> = { alice: '', lead: '', userless: '' };
/** Tokens of every key an admin made (the attackers' issued keys, the victims'). */
const adminMade = new Map<string, { user: string | null; team: string | null; budget: number | null }>();
/** Secrets a non-admin caller got back (generated or regenerated). */
const obtained = new Set<string>();
let victimTokens: { vic: string; mem: string; teamU: string; userless: string };

async function issue(fields: Record<string, unknown>): Promise<GeneratedKey> {
  const key = await api.generateKey(fields);
  adminMade.set(key.token, { user: key.user_id, team: key.team_id, budget: key.max_budget });
  return key;
}

beforeAll(async () => {
  process.on('unhandledRejection', onUnhandled);
  process.on('uncaughtException', onUnhandled);
  upstream = new MockOpenAI();
  await upstream.start();
  const sink = new Writable({
    write(chunk, _encoding, done) {
      errorLines.push(String(chunk));
      done();
    },
  });
  gateway = await startGateway(
    `
model_list:
  - model_name: cheap
    litellm_params: {model: openai/cheap-upstream, api_base: "${upstream.url}", api_key: sk-upstream-test}
    model_info: {id: dep-cheap, input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}
  - model_name: mid
    litellm_params: {model: openai/mid-upstream, api_base: "${upstream.url}", api_key: sk-upstream-test}
    model_info: {id: dep-mid, input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}
  - model_name: dear
    litellm_params: {model: openai/dear-upstream, api_base: "${upstream.url}", api_key: sk-upstream-test}
    model_info: {id: dep-dear, input_cost_per_token: 0.000001, output_cost_per_token: 0.000002}
router_settings:
  num_retries: 0
general_settings:
  master_key: ${MASTER_KEY}
`,
    { logger: pino({ level: 'error' }, sink) },
  );
  api = new Management(gateway.url);
  await api.newTeam({ team_id: 'T', models: TEAM_T.models, max_budget: TEAM_T.budget });
  await api.newTeam({ team_id: 'U', max_budget: 100 });
  await api.newUser({ user_id: 'alice', user_role: 'internal_user', models: USERS.alice.models, max_budget: USERS.alice.budget, auto_create_key: false });
  await api.newUser({ user_id: 'lead', user_role: 'internal_user', models: USERS.lead.models, max_budget: USERS.lead.budget, teams: [{ team_id: 'T', user_role: 'admin' }], auto_create_key: false });
  await api.newUser({ user_id: 'mem', user_role: 'internal_user', models: ['cheap'], teams: ['T'], auto_create_key: false });
  await api.newUser({ user_id: 'vic', user_role: 'internal_user', models: ['dear'], max_budget: 100, teams: ['U'], auto_create_key: false });
  await api.ok('POST', '/budget/new', { budget_id: 'bx', max_budget: 3, rpm_limit: 10 });
  await api.ok('POST', '/customer/new', { user_id: 'cust1', max_budget: 4 });
  held.alice = (await issue(ISSUED.alice)).key;
  held.lead = (await issue(ISSUED.lead)).key;
  held.userless = (await issue(ISSUED.userless)).key;
  victimTokens = {
    vic: (await issue({ user_id: 'vic', models: ['dear'], max_budget: 50, key_alias: 'vic-key' })).token,
    mem: (await issue({ user_id: 'mem', team_id: 'T', models: ['cheap'], max_budget: 3 })).token,
    teamU: (await issue({ team_id: 'U', max_budget: 60 })).token,
    userless: (await issue({ models: ['dear'], budget_id: 'bx' })).token,
  };
}, 30_000);

afterAll(async () => {
  process.off('unhandledRejection', onUnhandled);
  process.off('uncaughtException', onUnhandled);
  await gateway?.close();
  await upstream?.close();
});

// ---------------------------------------------------------------------------------------------
// What an attacker sends

const WEIRD: unknown[] = [
  null, true, false, 0, -0, -1, 2.0000004, 5.0000004, 10.0000004, 8.0000001, 5e-7, -1e308, 1e308, 1e21, 2 ** 53 + 1, -(2 ** 31), 0.1, 1e-300, 99999999999,
  'NaN', 'Infinity', '-Infinity', '1e999', '-1', '0x10', '', ' ', '0', 'null', 'true', 'undefined',
  '🙂', 'é\u0301', '\u0000', '\u202e', '\ud800', 'Ω'.repeat(300), 'a'.repeat(3000), '../../etc', '%00', '*', 'all-proxy-models',
  'dear', 'proxy_admin', 'admin', 'master', 'vic', 'T', 'U', 'bx', '1d', '-1d', '99999999999d', '0s', '2020-01-01T00:00:00Z',
  [], [null], [{}], [[]], ['dear'], ['*'], ['all-proxy-models'], ['cheap', 'dear'], ['vic', 'mem', 'lead', 'alice'], ['T', 'U'],
  {}, { $gt: '' }, { dear: 'cheap' }, { cheap: 'dear' }, { a: { b: { c: { d: [1, { e: 'f' }] } } } }, { user_id: 'vic' },
  { budget_limit: 1e9, time_period: '1d' }, { dear: { budget_limit: 1e9 } }, { role: 'admin' }, { guardrails: [] },
];
const FIELDS = [
  'models', 'max_budget', 'soft_budget', 'budget_duration', 'rpm_limit', 'tpm_limit', 'max_parallel_requests', 'metadata', 'blocked',
  'key_alias', 'budget_id', 'aliases', 'duration', 'user_id', 'team_id', 'tags', 'allowed_routes', 'key_type', 'spend', 'model_max_budget',
  'key', 'keys', 'new_key', 'team_ids', 'user_ids', 'member', 'members_with_roles', 'role', 'user_role', 'teams', 'guardrails', 'permissions',
  'expires', 'created_by', 'token', 'user_email', 'end_user_id', 'id', 'model_id', 'model_name', 'litellm_params', 'model_info', 'tier',
  'team_alias', 'max_budget_in_team', 'allowed_model_region', 'default_model', 'reset_to', 'key_aliases', 'budgets', 'amount', 'kind',
  'provider', 'api_key', 'is_admin', 'admin', 'auto_create_key', 'blocked_users', 'litellm_budget_table', 'organization_id', 'enforced_params',
];

type Template = { method: 'POST' | 'PATCH'; path: string; body: unknown };

function templates(pick: <T>(items: readonly T[]) => T, n: number, keyRef: () => string, userRef: () => string, teamRef: () => string): Template[] {
  const modelsPick = () => pick([['cheap'], ['cheap'], [], ['mid'], ['dear'], ['cheap', 'mid'], ['all-proxy-models']]);
  const encoded = (text: string) => encodeURIComponent(text);
  return [
    { method: 'POST', path: '/key/generate', body: { models: modelsPick(), max_budget: pick([0.5, 1, 5, 50, undefined]), key_alias: `fz-${n}`, team_id: pick([undefined, undefined, teamRef()]), user_id: pick([undefined, undefined, userRef()]), duration: pick([undefined, '1d']), metadata: { n } } },
    { method: 'POST', path: '/key/generate', body: { models: ['cheap'], max_budget: 0.5, team_id: pick([undefined, 'T']) } },
    { method: 'POST', path: '/key/generate', body: { models: pick([['fast'], ['cheap'], []]), aliases: { fast: 'cheap' }, team_id: pick([undefined, 'T']) } },
    { method: 'POST', path: '/key/update', body: { key: keyRef(), models: modelsPick(), max_budget: pick([0.5, 1, 100, null, undefined]), rpm_limit: pick([5, null, undefined]) } },
    { method: 'POST', path: '/key/update', body: { key: keyRef(), key_alias: `fz-alias-${n}`, max_budget: pick([0.25, 0.5]), aliases: pick([undefined, { fast: 'cheap' }, { fast: 'mid' }, { fast: 'dear' }]), models: pick([undefined, undefined, ['cheap'], ['fast']]) } },
    { method: 'POST', path: '/key/bulk_update', body: { keys: [{ key: keyRef(), max_budget: pick([0.5, 1, 100]), models: modelsPick() }] } },
    { method: 'POST', path: '/key/bulk_update', body: { keys: [{ key: keyRef(), team_id: pick(['T', null]) }, { key: keyRef(), models: modelsPick(), max_budget: pick([0.5, 15]) }] } },
    { method: 'POST', path: '/key/update', body: { key: keyRef(), team_id: pick(['T', 'U', null]), models: pick([['mid'], ['cheap'], undefined]), max_budget: pick([undefined, 15]) } },
    { method: 'POST', path: '/key/delete', body: { key_aliases: [pick(['vic-key', `fz-${n - 1}`])], keys: pick([undefined, [keyRef()]]) } },
    { method: 'POST', path: '/key/regenerate', body: { key: keyRef(), max_budget: pick([undefined, 1, 100]) } },
    { method: 'POST', path: `/key/${encoded(keyRef())}/regenerate`, body: { models: modelsPick() } },
    { method: 'POST', path: '/key/delete', body: { keys: [keyRef()] } },
    { method: 'POST', path: '/key/block', body: { key: keyRef() } },
    { method: 'POST', path: '/key/unblock', body: { key: keyRef() } },
    { method: 'POST', path: `/key/${encoded(keyRef())}/reset_spend`, body: { reset_to: 0 } },
    { method: 'POST', path: '/team/new', body: { team_id: `fz-team-${n}`, models: modelsPick(), max_budget: 1000, members_with_roles: [{ user_id: userRef(), role: 'admin' }] } },
    { method: 'POST', path: '/team/update', body: { team_id: teamRef(), models: modelsPick(), max_budget: 1000 } },
    { method: 'POST', path: '/team/delete', body: { team_ids: [teamRef()] } },
    { method: 'POST', path: '/team/block', body: { team_id: teamRef() } },
    { method: 'POST', path: '/team/unblock', body: { team_id: teamRef() } },
    { method: 'POST', path: '/team/member_add', body: { team_id: teamRef(), member: { user_id: userRef(), role: pick(['admin', 'user']) } } },
    { method: 'POST', path: '/team/member_add', body: { team_id: teamRef(), member: [{ user_id: userRef(), role: 'admin' }, { user_id: userRef() }] } },
    { method: 'POST', path: '/team/member_update', body: { team_id: teamRef(), user_id: userRef(), role: pick(['admin', 'user']) } },
    { method: 'POST', path: '/team/member_delete', body: { team_id: teamRef(), user_id: userRef() } },
    { method: 'POST', path: '/user/new', body: { user_id: `fz-user-${n}`, user_role: 'proxy_admin', models: [], max_budget: 1e6 } },
    { method: 'POST', path: '/user/update', body: { user_id: userRef(), user_role: 'proxy_admin', models: modelsPick(), max_budget: 1e6 } },
    { method: 'POST', path: '/user/delete', body: { user_ids: [userRef()] } },
    { method: 'POST', path: `/${pick(['customer', 'end_user'])}/new`, body: { user_id: `fz-cust-${n}`, max_budget: 1 } },
    { method: 'POST', path: `/${pick(['customer', 'end_user'])}/update`, body: { user_id: 'cust1', max_budget: 1e6, blocked: false } },
    { method: 'POST', path: `/${pick(['customer', 'end_user'])}/${pick(['delete', 'block', 'unblock'])}`, body: { user_ids: ['cust1'] } },
    { method: 'POST', path: '/budget/new', body: { budget_id: `fz-budget-${n}`, max_budget: 1 } },
    { method: 'POST', path: '/budget/update', body: { budget_id: 'bx', max_budget: 1e9, rpm_limit: null } },
    { method: 'POST', path: '/budget/delete', body: { id: 'bx' } },
    { method: 'POST', path: '/budget/info', body: { budgets: ['bx'] } },
    { method: 'POST', path: '/model/new', body: { model_name: pick(['cheap', 'fz-model']), litellm_params: { model: 'openai/dear-upstream', api_base: upstream.url, api_key: 'sk-x' }, model_info: { id: `fz-dep-${n}` } } },
    { method: 'POST', path: '/model/update', body: { model_info: { id: pick(['dep-cheap', 'dep-dear']) }, model_name: 'cheap', litellm_params: { model: 'openai/dear-upstream' } } },
    { method: pick(['POST', 'PATCH'] as const), path: `/model/${pick(['dep-cheap', 'dep-dear'])}/update`, body: { model_name: 'cheap', litellm_params: { model: 'openai/dear-upstream' } } },
    { method: 'POST', path: '/model/delete', body: { id: pick(['dep-cheap', 'dep-dear']) } },
    { method: 'POST', path: `/model/${pick(['disable', 'enable'])}`, body: { id: pick(['dep-cheap', 'dep-dear']) } },
    { method: 'POST', path: `/model/dep-${pick(['cheap', 'dear'])}/${pick(['disable', 'enable'])}`, body: {} },
    { method: 'PATCH', path: '/router/settings', body: { routing_strategy: 'simple-shuffle', num_retries: 5, model_group_alias: { cheap: 'dear' } } },
    { method: 'POST', path: '/config/update', body: { router_settings: { model_group_alias: { cheap: 'dear' } }, general_settings: { master_key: 'sk-mine' } } },
    { method: 'POST', path: '/cache/delete', body: { keys: ['a'] } },
    { method: 'POST', path: '/cache/flushall', body: {} },
    { method: 'POST', path: '/health/check', body: { model: 'dear' } },
    { method: 'POST', path: '/global/spend/end_users', body: { api_key: keyRef() } },
    { method: 'POST', path: '/agents', body: { name: `fz-agent-${n}`, model: 'dear' } },
    { method: 'POST', path: '/api/v1/llm/routing/rules', body: { name: `fz-rule-${n}`, match: { key_alias: 'vic-key' }, target: 'dear' } },
    { method: 'POST', path: '/api/v1/llm/credits/add', body: { user_id: pick(['alice', 'lead', 'vic']), amount: 1e6 } },
    { method: 'POST', path: '/api/v1/llm/credits/purchase', body: { package: 'x' } },
    { method: 'POST', path: '/api/v1/llm/byok/keys', body: { provider: 'openai', api_key: 'sk-byok' } },
  ];
}

/** A mutated copy of a JSON value: 0-4 changes somewhere in it. */
function mutate(random: () => number, pick: <T>(items: readonly T[]) => T, value: unknown, extraIds: () => unknown): unknown {
  const copy = structuredClone(value) as unknown;
  const weird = () => (random() < 0.15 ? extraIds() : random() < 0.1 ? [pick(WEIRD), pick(WEIRD)] : random() < 0.05 ? { [pick(FIELDS)]: pick(WEIRD) } : pick(WEIRD));
  const objects: Array<Record<string, unknown> | unknown[]> = [];
  const walk = (node: unknown, depth: number) => {
    if (depth > 4 || node === null || typeof node !== 'object') return;
    objects.push(node as Record<string, unknown>);
    for (const child of Object.values(node as object)) walk(child, depth + 1);
  };
  walk(copy, 0);
  const changes = Math.floor(random() * 5);
  for (let i = 0; i < changes && objects.length > 0; i++) {
    const target = pick(objects);
    if (Array.isArray(target)) {
      if (random() < 0.5 && target.length > 0) target[Math.floor(random() * target.length)] = weird();
      else target.push(weird());
      continue;
    }
    const own = Object.keys(target);
    const roll = random();
    if (roll < 0.45 && own.length > 0) target[pick(own)] = weird();
    else if (roll < 0.6 && own.length > 0) delete target[pick(own)];
    else if (roll < 0.9) target[pick(FIELDS)] = weird();
    else target[`x-${Math.floor(random() * 1000)}-\u00e9\u4e2d`] = weird();
  }
  return copy;
}

/** The body as sent: JSON text, sometimes with prototype keys, duplicate keys, or not an object. */
function bodyText(random: () => number, pick: <T>(items: readonly T[]) => T, body: unknown): string {
  const text = JSON.stringify(body) ?? 'null';
  const roll = random();
  const isObject = text.startsWith('{') && text.length > 2;
  if (roll < 0.08 && isObject) return `{"__proto__":{"isAdmin":true,"role":"proxy_admin","user_role":"proxy_admin","models":[],"llm.configure":true},${text.slice(1)}`;
  if (roll < 0.12 && isObject) return `{"constructor":{"prototype":{"isAdmin":true,"models":["dear"]}},${text.slice(1)}`;
  if (roll < 0.16 && isObject) return `${text.slice(0, -1)},"${pick(['user_id', 'team_id', 'models', 'max_budget', 'key', 'user_role'])}":${JSON.stringify(pick(WEIRD))}}`;
  if (roll < 0.18) return pick(['[]', '"text"', '42', 'null', 'true', `[${text}]`, text.slice(0, Math.max(1, text.length - 3)), '{"a":', '\ufeff{}', '{"models":["cheap"]}'.repeat(2)]);
  return text;
}

// ---------------------------------------------------------------------------------------------
// What is checked

const VOLATILE = /spend|updated_at|created_at|reset_at|last_|expires/;
function stable(value: unknown, drop: readonly string[] = []): unknown {
  if (Array.isArray(value)) return value.map((item) => stable(item, drop));
  if (value === null || typeof value !== 'object') return value;
  const out: Record<string, unknown> = {};
  for (const [name, child] of Object.entries(value)) if (!VOLATILE.test(name) && !drop.includes(name)) out[name] = stable(child, drop);
  return out;
}

async function allKeys(): Promise<KeyView[]> {
  const keys: KeyView[] = [];
  for (let page = 1; ; page++) {
    const batch = (await api.ok<{ keys: KeyView[] }>('GET', `/key/list?size=100&page=${page}&return_full_object=true`)).keys;
    keys.push(...batch);
    if (batch.length < 100) return keys;
  }
}

/** Everything a non-admin must never change (T's membership and keys are its admin's to manage). */
async function snapshot(): Promise<Record<string, unknown>> {
  const user = async (id: string) => {
    const info = await api.ok<{ user_info: unknown; keys: KeyView[]; teams: Array<{ team_id: string }> }>('GET', `/user/info?user_id=${id}`);
    return {
      user: stable(info.user_info, ['teams']),
      // T's admin manages the user's keys in T and the user's membership of T.
      keys: stable(info.keys.filter((key) => key.team_id !== 'T' && !['alice', 'lead'].includes(id)).sort((a, b) => a.token.localeCompare(b.token))),
      teams: info.teams.map((team) => team.team_id).filter((team) => team !== 'T').sort(),
    };
  };
  const team = async (id: string, drop: string[]) => {
    const info = await api.ok<{ team_info: unknown; keys: KeyView[] }>('GET', `/team/info?team_id=${id}`);
    return { team: stable(info.team_info, drop), keys: id === 'T' ? undefined : stable(info.keys) };
  };
  const key = async (token: string) => stable((await api.call<{ info: KeyView }>('GET', `/key/info?key=${token}`)).body);
  const users = await api.ok<{ users: Array<{ user_id: string }> }>('GET', '/user/list?page_size=100');
  return {
    alice: await user('alice'),
    lead: await user('lead'),
    mem: await user('mem'),
    vic: await user('vic'),
    T: await team('T', ['members_with_roles', 'members', 'team_memberships']),
    U: await team('U', []),
    vicKey: await key(victimTokens.vic),
    teamUKey: await key(victimTokens.teamU),
    userlessKey: await key(victimTokens.userless),
    users: users.users.map((item) => item.user_id).sort(),
    teams: (await api.ok<Array<{ team_id: string }>>('GET', '/team/list')).map((item) => item.team_id).sort(),
    budgets: stable(await api.ok('GET', '/budget/list')),
    customers: stable(await api.ok('GET', '/customer/list')),
    models: stable(await api.ok('GET', '/model/info')),
    router: stable((await api.call('GET', '/router/settings')).body),
  };
}

const within = (models: string[], aliases: Record<string, string> | null | undefined, allowed: readonly string[]) =>
  models.every((model) => model !== 'all-proxy-models' && allowed.includes(aliases?.[model] ?? model));

/** Every way a key could hold more than whoever changed it. */
function escalations(keys: KeyView[]): string[] {
  const problems: string[] = [];
  for (const key of keys) {
    const label = `${key.token.slice(0, 10)} ${JSON.stringify({ user: key.user_id, team: key.team_id, models: key.models, aliases: key.aliases, budget: key.max_budget, by: key.created_by, routes: key.allowed_routes, type: key.key_type })}`;
    const issued = adminMade.get(key.token);
    const attacker = (key.user_id === 'alice' || key.user_id === 'lead' ? key.user_id : undefined) as Attacker | undefined;
    if (key.created_by === 'alice' || key.created_by === 'lead') {
      if (key.user_id !== key.created_by) problems.push(`a key made by ${key.created_by} is on another user: ${label}`);
    }
    if (!attacker) {
      // Keys of other users, of team U and without a user: only ever the admin's.
      if (!issued) problems.push(`a key an admin did not make is on ${key.user_id ?? 'no user'}: ${label}`);
      else if (issued.user !== key.user_id || issued.team !== key.team_id) problems.push(`an admin's key moved: ${label}`);
      else if (key.team_id === 'T' && (issued.budget === null ? false : key.max_budget === null || key.max_budget > issued.budget)) problems.push(`a member's key in T was loosened: ${label}`);
      continue;
    }
    const { models: userModels, budget: userBudget } = USERS[attacker];
    if (!within(key.models, key.aliases, userModels)) problems.push(`models beyond ${attacker}'s ${userModels.join(',')}: ${label}`);
    if (key.max_budget !== null && key.max_budget > userBudget) problems.push(`budget above ${attacker}'s $${userBudget}: ${label}`);
    if (key.team_id !== null && key.team_id !== 'T') problems.push(`key in a team ${attacker} cannot reach: ${label}`);
    if (key.team_id === 'T') {
      if (!within(key.models, key.aliases, TEAM_T.models)) problems.push(`models beyond T's: ${label}`);
      if (key.created_by !== 'master' && key.max_budget !== null && key.max_budget > TEAM_T.budget) problems.push(`budget above T's: ${label}`);
    }
    if (issued) {
      if (issued.team !== key.team_id) problems.push(`an issued key changed team: ${label}`);
      if (issued.budget !== null && (key.max_budget === null || key.max_budget > issued.budget)) problems.push(`an issued key's budget was lifted: ${label}`);
    }
  }
  return problems;
}

function diff(before: Record<string, unknown>, after: Record<string, unknown>): string[] {
  return Object.keys(before)
    .filter((name) => JSON.stringify(before[name]) !== JSON.stringify(after[name]))
    .map((name) => `${name} changed:\n  before ${JSON.stringify(before[name]).slice(0, 1500)}\n  after  ${JSON.stringify(after[name]).slice(0, 1500)}`);
}

/** Keeps the attackers armed: a key the fuzz deleted, blocked or regenerated away is issued again, and lead stays T's admin. */
async function rearm(): Promise<void> {
  for (const caller of ['alice', 'lead', 'userless'] as const) {
    const probe = await fetch(`${gateway.url}/key/info`, { headers: { authorization: `Bearer ${held[caller]}` } });
    const text = await probe.text();
    const info = probe.status === 200 ? (JSON.parse(text) as { info: KeyView }).info : undefined;
    if (!info || info.blocked) held[caller] = (await issue(ISSUED[caller])).key;
  }
  const team = await api.teamInfo('T');
  const member = team.team_info.members_with_roles.find((item) => item.user_id === 'lead');
  if (!member) await api.ok('POST', '/team/member_add', { team_id: 'T', member: { user_id: 'lead', role: 'admin' } });
  else if (member.role !== 'admin') await api.ok('POST', '/team/member_update', { team_id: 'T', user_id: 'lead', role: 'admin' });
}

describe('fuzzed management bodies from ordinary keys (item 303)', () => {
  // What the fuzz found: the checks read only the fields a request sends, so a change of one field
  // could leave a key the caller made outside what it may set in one request.
  it.each([
    ['its aliases alone, re-pointing a listed model outside its user\'s models', { models: ['fast'], aliases: { fast: 'cheap' } }, { aliases: { fast: 'dear' } }],
    ['its aliases alone, re-pointing a listed model of a team key outside the team\'s models', { team_id: 'T', models: ['fast'], aliases: { fast: 'cheap' } }, { aliases: { fast: 'mid' } }],
    // (Made within the models of the key it is made through, which an admin narrowed: item 336.)
    ['its team alone, moving a key with a budget above the team\'s into it', { max_budget: 15, models: ['cheap'] }, { team_id: 'T' }],
  ])('a team admin cannot change %s', async (_label, created, change) => {
    const made = await api.call<GeneratedKey>('POST', '/key/generate', created, held.lead);
    expect(made.status, JSON.stringify(made.body)).toBe(200);
    const before = stable(await api.keyInfo(made.body.token));
    const changed = await api.call('POST', '/key/update', { key: made.body.token, ...change }, held.lead);
    expect([400, 403], JSON.stringify(changed.body)).toContain(changed.status);
    expect(stable(await api.keyInfo(made.body.token))).toEqual(before);
    await api.ok('POST', '/key/delete', { keys: [made.body.token] });
  });

  it(`${3 * REQUESTS_PER_CALLER} mutated bodies: no 5xx, no error logs, no escalation`, async () => {
    const random = seededRandom(Number(process.env.ITEM303_SEED ?? 303));
    const pick = <T>(items: readonly T[]): T => items[Math.floor(random() * items.length)];
    const tokens = new Set<string>([...adminMade.keys()]);
    const mine: Record<string, string[]> = { alice: [], lead: [], userless: [] };
    let current: 'alice' | 'lead' | 'userless' = 'alice';
    const keyRef = () =>
      random() < 0.5 && mine[current].length > 0 ? (random() < 0.5 ? mine[current][mine[current].length - 1] : pick(mine[current])) : pick([held[current], ...Object.values(held), ...Object.values(victimTokens), pick([...tokens]), 'sk-does-not-exist', '']);
    const userRef = () => pick(['alice', 'lead', 'mem', 'vic', 'master', 'fz-nobody', 'cust1', 'admin', 'Alice', 'vic ']);
    const teamRef = () => pick(['T', 'T', 'U', 'fz-none', 't']);
    const extraIds = () => pick([[...tokens].slice(0, 5), ['alice', 'lead', 'mem', 'vic'], ['T', 'U'], [{ user_id: 'vic', role: 'admin' }], [{ key: victimTokens.vic }], Object.values(victimTokens)]);

    const before = await snapshot();
    const failures: string[] = [];
    const statuses: Record<string, number> = {};
    let sent = 0;
    const check = async (when: string) => {
      const problems = [...escalations(await allKeys()), ...diff(before, await snapshot())];
      for (const problem of problems) failures.push(`${when}: ${problem}`);
    };

    for (let n = 0; n < REQUESTS_PER_CALLER; n++) {
      for (const caller of ['alice', 'lead', 'userless'] as const) {
        current = caller;
        // Two thirds of the bodies go to the routes a non-admin may use (keys, team members), the rest anywhere.
        const all = templates(pick, n, keyRef, userRef, teamRef);
        const template = random() < 0.65 ? pick(all.filter((item) => item.path.startsWith('/key/') || item.path.startsWith('/team/member'))) : pick(all);
        const text = bodyText(random, pick, random() < 0.25 ? template.body : mutate(random, pick, template.body, extraIds));
        const response = await fetch(`${gateway.url}${template.path}`, { method: template.method, headers: { authorization: `Bearer ${held[caller]}`, 'content-type': 'application/json' }, body: text });
        const answer = await response.text();
        sent++;
        const route = template.path.replace(/^\/key\/[^/]+\/(regenerate|reset_spend)$/, '/key/{key}/$1').replace(/^\/model\/[^/]+\/(update|enable|disable)$/, '/model/{id}/$1');
        const bucket = `${caller} ${template.method} ${route} ${response.status}`;
        statuses[bucket] = (statuses[bucket] ?? 0) + 1;
        const where = `#${sent} ${caller} ${template.method} ${template.path} ${text.slice(0, 300)} -> ${response.status} ${answer.slice(0, 300)}`;
        let parsed: { error?: { message?: unknown }; key?: unknown; token?: unknown } | undefined;
        try {
          parsed = JSON.parse(answer);
        } catch {
          failures.push(`not JSON: ${where}`);
        }
        if (response.status >= 500) failures.push(`5xx: ${where}`);
        else if (response.status >= 400 && typeof parsed?.error?.message !== 'string') failures.push(`error without a JSON error body: ${where}`);
        if (response.status === 200 && typeof parsed?.key === 'string' && parsed.key.startsWith('sk-')) obtained.add(parsed.key);
        // Every key view a non-admin gets back is checked at once (the periodic checks see only the keys still there).
        if (response.status === 200 && template.path.startsWith('/key/')) {
          const views = [parsed, ...((parsed as { successful_updates?: unknown[] } | undefined)?.successful_updates ?? [])].filter((view): view is KeyView => typeof (view as KeyView | undefined)?.token === 'string' && Array.isArray((view as KeyView).models));
          for (const problem of escalations(views)) failures.push(`${problem}\n  from ${where}`);
        }
        if (response.status === 200 && typeof parsed?.token === 'string') {
          tokens.add(parsed.token);
          mine[caller].push(parsed.token);
        }
        if (errorLines.length > 0) failures.push(`logged an error: ${where}\n  ${errorLines.splice(0).join('\n  ').slice(0, 800)}`);
      }
      if ((n + 1) % CHECK_EVERY === 0) await check(`after ${sent} requests`);
      if ((n + 1) % REARM_EVERY === 0) await rearm();
    }
    await check('at the end');

    expect(upstream.requests.filter((request) => JSON.stringify(request.body ?? '').includes('dear-upstream')), 'the fuzz reached "dear"').toEqual([]);
    // No non-admin secret reaches "dear" (by name, or through its own models and aliases) or an admin-only read.
    const secrets = [...new Set([...Object.values(held), ...obtained])];
    const calls: Record<number, number> = {};
    const dearCalls = () => upstream.requests.splice(0).filter((request) => JSON.stringify(request.body ?? '').includes('dear-upstream')).length;
    for (const secret of secrets) {
      const probe = await fetch(`${gateway.url}/key/info`, { headers: { authorization: `Bearer ${secret}` } });
      if (probe.status !== 200) {
        await probe.body?.cancel();
        continue;
      }
      const info = ((await probe.json()) as { info: KeyView }).info;
      for (const model of new Set(['dear', ...info.models, ...Object.keys(info.aliases ?? {})])) {
        const chat = await fetch(`${gateway.url}/v1/chat/completions`, { method: 'POST', headers: { authorization: `Bearer ${secret}`, 'content-type': 'application/json' }, body: JSON.stringify({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 1 }) });
        await chat.text();
        // (A key may alias the name "dear" to a model it may use: what counts is the deployment reached.)
        if (dearCalls() > 0) failures.push(`a non-admin key reaches the "dear" deployment as "${model}": ${secret.slice(0, 12)} ${JSON.stringify(info).slice(0, 300)}`);
        calls[chat.status] = (calls[chat.status] ?? 0) + 1;
      }
      for (const path of ['/user/list', '/budget/list', '/customer/list']) {
        const read = await fetch(`${gateway.url}${path}`, { headers: { authorization: `Bearer ${secret}` } });
        await read.text();
        if (read.status === 200) failures.push(`a non-admin key reads ${path}: ${secret.slice(0, 12)} ${JSON.stringify(info).slice(0, 300)}`);
      }
    }
    // The probe reached the upstream (cheap answers 200), so a refusal of "dear" is the model check's, not a dead key's.
    expect(calls[200] ?? 0, JSON.stringify(calls)).toBeGreaterThan(0);
    const liveness = await fetch(`${gateway.url}/health/liveliness`);
    await liveness.text();
    expect(liveness.status).toBe(200);

    expect(unhandled.map(String)).toEqual([]);
    expect(failures.slice(0, 30), `${failures.length} failures`).toEqual([]);
    // The walk exercised both sides: things were accepted and refused for each attacker.
    const total = (prefix: string, status: number) => Object.entries(statuses).filter(([name]) => name.startsWith(prefix) && name.endsWith(` ${status}`)).reduce((sum, [, count]) => sum + count, 0);
    const accepted = Object.entries(statuses).filter(([name]) => name.endsWith(' 200')).sort();
    if (process.env.ITEM303_STATS) console.log(JSON.stringify(accepted), calls, obtained.size);
    expect(total('alice', 200), JSON.stringify(accepted)).toBeGreaterThan(20);
    expect(total('lead', 200), JSON.stringify(accepted)).toBeGreaterThan(20);
    expect(total('alice', 403)).toBeGreaterThan(100);
    expect(total('userless', 200), 'a userless key manages nothing').toBe(0);
  }, 120_000);
});
