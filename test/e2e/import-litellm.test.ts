/**
 * `switchboard import-litellm`: a LiteLLM database — tables created as LiteLLM's Prisma schema
 * (schema.prisma in BerriAI/litellm) declares them, for the columns the import reads — with 3
 * teams, 10 users, 20 keys with spend, 2 budgets and 3 end users, is imported into a fresh
 * Switchboard database; after it every key authenticates with its original secret and keeps its
 * limits and spend, and a second run changes nothing it should not.
 */
import { createHash } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import OpenAI from 'openai';
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { main } from '../../src/cli.js';
import { createPostgresDatabase, postgresAvailableForTests, type TestDatabase } from '../support/databases.js';
import { startGateway, type TestGateway } from '../support/gateway.js';
import { Management, pricedConfig } from '../support/management.js';
import { MockOpenAI } from '../support/mock-openai.js';

const postgres = await postgresAvailableForTests();

// The LiteLLM tables as schema.prisma declares them (Prisma's PostgreSQL types: String → text,
// Float → double precision, BigInt → bigint, Int → integer, DateTime → timestamp(3), Json → jsonb,
// String[] → text[]), for every column the import reads plus the required ones around them.
const LITELLM_SCHEMA = `
create table "LiteLLM_BudgetTable" (
  budget_id text primary key, max_budget double precision, soft_budget double precision, max_parallel_requests integer,
  tpm_limit bigint, rpm_limit bigint, model_max_budget jsonb, budget_duration text, budget_reset_at timestamp(3),
  allowed_models text[] not null default '{}',
  created_at timestamp(3) not null default current_timestamp, created_by text not null,
  updated_at timestamp(3) not null default current_timestamp, updated_by text not null);
create table "LiteLLM_TeamTable" (
  team_id text primary key, team_alias text, organization_id text, object_permission_id text, admins text[], members text[],
  members_with_roles jsonb not null default '{}', metadata jsonb not null default '{}', max_budget double precision, soft_budget double precision,
  spend double precision not null default 0, models text[], max_parallel_requests integer, tpm_limit bigint, rpm_limit bigint,
  budget_duration text, budget_reset_at timestamp(3), blocked boolean not null default false,
  created_at timestamp(3) not null default current_timestamp, updated_at timestamp(3) not null default current_timestamp,
  model_spend jsonb not null default '{}', model_max_budget jsonb not null default '{}');
create table "LiteLLM_UserTable" (
  user_id text primary key, user_alias text, team_id text, sso_user_id text unique, organization_id text, password text,
  teams text[] not null default '{}', user_role text, max_budget double precision, spend double precision not null default 0,
  user_email text, models text[], metadata jsonb not null default '{}', max_parallel_requests integer, tpm_limit bigint, rpm_limit bigint,
  budget_duration text, budget_reset_at timestamp(3), allowed_cache_controls text[] not null default '{}',
  model_spend jsonb not null default '{}', model_max_budget jsonb not null default '{}',
  created_at timestamp(3) default current_timestamp, updated_at timestamp(3) default current_timestamp);
create table "LiteLLM_VerificationToken" (
  token text primary key, key_name text, key_alias text, soft_budget_cooldown boolean not null default false,
  spend double precision not null default 0, expires timestamp(3), models text[], aliases jsonb not null default '{}',
  config jsonb not null default '{}', user_id text, team_id text, permissions jsonb not null default '{}',
  max_parallel_requests integer, metadata jsonb not null default '{}', blocked boolean, tpm_limit bigint, rpm_limit bigint,
  max_budget double precision, budget_duration text, budget_reset_at timestamp(3),
  allowed_cache_controls text[] not null default '{}', allowed_routes text[] not null default '{}',
  model_spend jsonb not null default '{}', model_max_budget jsonb not null default '{}', budget_id text, organization_id text, object_permission_id text,
  created_at timestamp(3) default current_timestamp, created_by text, updated_at timestamp(3) default current_timestamp, updated_by text);
create table "LiteLLM_ObjectPermissionTable" (
  object_permission_id text primary key, mcp_servers text[] not null default '{}', mcp_access_groups text[] not null default '{}',
  mcp_tool_permissions jsonb, vector_stores text[] not null default '{}');
create table "LiteLLM_SpendLogs" (
  request_id text primary key, call_type text not null, api_key text not null default '', spend double precision not null default 0,
  total_tokens integer not null default 0, prompt_tokens integer not null default 0, completion_tokens integer not null default 0,
  "startTime" timestamp(3) not null, "endTime" timestamp(3) not null, request_duration_ms integer, "completionStartTime" timestamp(3),
  model text not null default '', model_id text default '', model_group text default '', custom_llm_provider text default '',
  api_base text default '', "user" text default '', metadata jsonb default '{}', cache_hit text default '', cache_key text default '',
  request_tags jsonb default '[]', team_id text, organization_id text, end_user text, requester_ip_address text,
  messages jsonb default '{}', response jsonb default '{}', session_id text, status text);
create table "LiteLLM_EndUserTable" (
  user_id text primary key, alias text, spend double precision not null default 0, allowed_model_region text, default_model text,
  budget_id text, object_permission_id text, blocked boolean not null default false);
`;

const secretOf = (index: number) => `sk-litellm-imported-key-${String(index).padStart(2, '0')}-abcdef`;
const sha256 = (text: string) => createHash('sha256').update(text).digest('hex');

interface KeyFixture {
  secret: string;
  user: string;
  team: string;
  maxBudget: number | null;
  spend: number;
  rpm: number | null;
  tpm: number | null;
  parallel: number | null;
  models: string[];
  blocked: boolean;
  /** Days from now the key expires (negative: it has expired), or null. */
  expiresInDays: number | null;
  allowedRoutes: string[];
  tags: string[];
  modelMaxBudget: Record<string, unknown>;
  modelSpend: Record<string, number>;
}

const KEYS: KeyFixture[] = Array.from({ length: 20 }, (_, index) => ({
  secret: secretOf(index),
  user: `user-${index % 10}`,
  team: `team-${index % 3}`,
  maxBudget: index % 4 === 0 ? null : 10 + index,
  spend: index === 7 ? 18 : index * 0.25, // key 7: $18 of its $17 budget spent
  rpm: index % 2 === 0 ? 100 + index : null,
  tpm: index % 3 === 0 ? 5_000 + index : null,
  parallel: index % 5 === 0 ? 3 : null,
  models: index === 12 ? ['cheap'] : [],
  blocked: index === 5,
  expiresInDays: index === 13 ? 30 : index === 14 ? -1 : null,
  // Key 10 may only read (LiteLLM's info_routes); key 11 lists a LiteLLM route group Switchboard does not know.
  allowedRoutes: index === 10 ? ['info_routes'] : index === 11 ? ['/key/info', 'spend_tracking_routes'] : [],
  tags: index === 15 ? ['imported-tag', 'batch'] : [],
  // Key 16: a per-model budget LiteLLM's model_spend has used up; key 17: the older shape; key 18: malformed.
  modelMaxBudget: index === 16 ? { cheap: { budget_limit: 1, time_period: '30d' } } : index === 17 ? { premium: 2 } : index === 18 ? { cheap: { budget_limit: 'lots' } } : {},
  modelSpend: (index === 16 ? { cheap: 1, premium: 0.5 } : index === 17 ? { premium: 0.5 } : {}) as Record<string, number>,
}));

async function fill(url: string): Promise<void> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    await client.query(LITELLM_SCHEMA);
    await client.query(`insert into "LiteLLM_BudgetTable" (budget_id, max_budget, rpm_limit, budget_duration, budget_reset_at, created_by, updated_by) values ('gold', 50, 500, '30d', now() + interval '10 days', 'admin', 'admin'), ('tiny', 0.001, null, null, null, 'admin', 'admin')`);
    for (let team = 0; team < 3; team++) {
      await client.query(`insert into "LiteLLM_TeamTable" (team_id, team_alias, members_with_roles, max_budget, spend, models, tpm_limit) values ($1, $2, $3, $4, $5, $6, $7)`, [
        `team-${team}`, `Team ${team}`, JSON.stringify([{ user_id: `user-${team}`, role: 'admin' }, { user_id: `user-${team + 3}`, role: 'user' }]), 100 * (team + 1), 1.5 * team, [], team === 2 ? 100000 : null,
      ]);
    }
    for (let user = 0; user < 10; user++) {
      await client.query(`insert into "LiteLLM_UserTable" (user_id, user_email, user_role, max_budget, spend, models, teams) values ($1, $2, $3, $4, $5, $6, $7)`, [
        `user-${user}`, `user${user}@example.com`, user === 0 ? 'proxy_admin' : 'internal_user', user === 9 ? 25 : null, 0.75 * user, [], [`team-${user % 3}`],
      ]);
    }
    for (const [index, key] of KEYS.entries()) {
      await client.query(
        `insert into "LiteLLM_VerificationToken" (token, key_name, key_alias, spend, models, user_id, team_id, max_budget, rpm_limit, blocked, budget_id, metadata, tpm_limit, max_parallel_requests, expires, allowed_routes, model_max_budget, created_by, model_spend)
         values ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $11, $12, $13, $14, now() + ($15 || ' days')::interval, $16, $17, $18, $19)`,
        [
          sha256(key.secret), `sk-...${key.secret.slice(-4)}`, `imported-${index}`, key.spend, key.models, key.user, key.team, key.maxBudget, key.rpm, key.blocked ? true : null, index === 3 ? 'gold' : null,
          JSON.stringify(key.tags.length > 0 ? { source: 'litellm', tags: key.tags } : { source: 'litellm' }), key.tpm, key.parallel, key.expiresInDays === null ? null : String(key.expiresInDays), key.allowedRoutes, JSON.stringify(key.modelMaxBudget), key.user, JSON.stringify(key.modelSpend),
        ],
      );
    }
    for (let log = 0; log < 30; log++) {
      const key = KEYS[log % 20];
      await client.query(`insert into "LiteLLM_SpendLogs" (request_id, call_type, api_key, spend, total_tokens, prompt_tokens, completion_tokens, "startTime", "endTime", "completionStartTime", model, model_group, custom_llm_provider, "user", team_id, end_user, request_tags, status) values ($1, 'acompletion', $2, $3, 30, 20, 10, now() - ($4 || ' minutes')::interval, now() - ($4 || ' minutes')::interval + interval '2 seconds', now() - ($4 || ' minutes')::interval + interval '1 second', 'gpt-4o-mini', 'cheap', 'openai', $5, $6, $7, $8, 'success')`, [
        `req-${log}`, sha256(key.secret), 0.001 * (log + 1), String(log * 7), key.user, key.team, log % 3 === 0 ? 'cust-a' : null, JSON.stringify(log % 2 === 0 ? ['batch'] : []),
      ]);
    }
    // Team 1 is granted a vector store; key 19 one of its own, and an MCP server Switchboard does not serve.
    await client.query(`insert into "LiteLLM_ObjectPermissionTable" (object_permission_id, vector_stores, mcp_servers) values ('op-team-1', '{vs_team1}', '{}'), ('op-key-19', '{vs_key19}', '{github}')`);
    await client.query(`update "LiteLLM_TeamTable" set object_permission_id = 'op-team-1' where team_id = 'team-1'`);
    await client.query(`update "LiteLLM_VerificationToken" set object_permission_id = 'op-key-19' where token = $1`, [sha256(KEYS[19].secret)]);
    // Key 19 holds a per-model rate limit, which LiteLLM keeps in the key's metadata.
    await client.query(`update "LiteLLM_VerificationToken" set metadata = metadata || '{"model_rpm_limit": {"cheap": 1}}'::jsonb where token = $1`, [sha256(KEYS[19].secret)]);
    await client.query(`insert into "LiteLLM_EndUserTable" (user_id, alias, spend, budget_id, blocked, allowed_model_region) values ('cust-a', 'A', 0.5, 'tiny', false, 'eu'), ('cust-b', null, 0, null, true, null), ('cust-c', null, 2, 'gold', false, null)`);
  } finally {
    await client.end();
  }
}

describe.runIf(postgres)('switchboard import-litellm from a LiteLLM PostgreSQL database', () => {
  const upstream = new MockOpenAI({ promptTokens: 5, completionTokens: 5 });
  let source: TestDatabase;
  let dataDir: string;
  let gateway: TestGateway;
  let api: Management;

  /** What the import printed: its summary (stdout), then its warnings (stderr). */
  async function runImport(): Promise<string> {
    const log = vi.spyOn(console, 'log').mockImplementation(() => undefined);
    const warn = vi.spyOn(console, 'warn').mockImplementation(() => undefined);
    try {
      expect(await main(['import-litellm', '--database-url', source.url, '--with-spend-logs', '--data-dir', dataDir], {})).toBe(0);
      return [...log.mock.calls, ...warn.mock.calls].map((call) => String(call[0])).join('\n');
    } finally {
      log.mockRestore();
      warn.mockRestore();
    }
  }

  beforeAll(async () => {
    await upstream.start();
    source = await createPostgresDatabase();
    await fill(source.url);
    dataDir = mkdtempSync(join(tmpdir(), 'switchboard-import-'));
  });

  afterAll(async () => {
    await gateway?.close();
    await upstream.close();
    await source?.drop();
    rmSync(dataDir, { recursive: true, force: true });
  });

  let firstOutput = '';

  it('imports 3 teams, 10 users, 20 keys, 2 budgets and 3 end users', async () => {
    const output = await runImport();
    firstOutput = output;
    expect(output).toContain('budgets: 2 created, 0 updated; teams: 3 created, 0 updated; users: 10 created, 0 updated; keys: 20 created, 0 updated; end users: 3 created, 0 updated');
    expect(output).toContain('spend logs: 30 read, 30 stored as usage history (0 already there)');
    // What could not be carried over as it was is said, never dropped in silence.
    expect(output).toContain(`key sk-...${KEYS[11].secret.slice(-4)}: allowed_routes ["spend_tracking_routes"] name routes Switchboard does not know`);
    // Per-model budgets are imported (keys 16 and 17); only a malformed one is left out, in words.
    expect(output).not.toMatch(/model_max_budget \{"cheap":\{[^}]*"budget_limit":1[^}]*\}\}/);
    expect(output).not.toContain('{"premium":2}');
    expect(output).toMatch(/key sk-\.\.\.cdef: model_max_budget \{"cheap":\{"budget_limit":"lots"\}\} cannot be read \(model_max_budget\.cheap\.budget_limit: expected a budget in USD \(a number of 0 or more\)\); imported without per-model budgets \(its max_budget still applies\)/);
    gateway = await startGateway(pricedConfig(upstream.url), { databaseUrl: `sqlite:${join(dataDir, 'switchboard.db')}` });
    api = new Management(gateway.url);
  });

  it('every key authenticates with its original secret and keeps its limits and spend', async () => {
    for (const [index, key] of KEYS.entries()) {
      const response = await fetch(`${gateway.url}/key/info`, { headers: { authorization: `Bearer ${key.secret}` } });
      if (key.blocked || (key.expiresInDays !== null && key.expiresInDays < 0)) {
        expect(response.status, `key ${index}`).toBe(401);
        continue;
      }
      expect(response.status, `key ${index}`).toBe(200);
      const { info } = (await response.json()) as {
        info: { key_alias: string; spend: number; max_budget: number | null; rpm_limit: number | null; tpm_limit: number | null; max_parallel_requests: number | null; models: string[]; expires: string | null; allowed_routes: string[]; tags: string[]; created_by: string | null; user_id: string; team_id: string; key_name: string; metadata: unknown; budget_id: string | null };
      };
      expect(info).toMatchObject({ key_alias: `imported-${index}`, user_id: key.user, team_id: key.team, key_name: `sk-...${key.secret.slice(-4)}`, metadata: { source: 'litellm' }, budget_id: index === 3 ? 'gold' : null });
      expect(info).toMatchObject({ tpm_limit: key.tpm, max_parallel_requests: key.parallel, models: key.models, allowed_routes: key.allowedRoutes, tags: key.tags, created_by: key.user });
      expect(info.spend).toBeCloseTo(key.spend, 6);
      expect(info.max_budget).toBe(key.maxBudget);
      expect(info.rpm_limit).toBe(key.rpm);
      if (key.expiresInDays === null) expect(info.expires).toBeNull();
      else expect(Math.abs(Date.parse(info.expires!) - (Date.now() + key.expiresInDays * 86_400_000))).toBeLessThan(60_000);
    }
  });

  it("an imported key keeps its model_max_budget, enforced from LiteLLM's model_spend", async () => {
    const client = (secret: string) => new OpenAI({ apiKey: secret, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
    const chat = (secret: string, model: string) => client(secret).chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 });
    const info16 = (await api.keyInfo(KEYS[16].secret));
    expect(info16.model_max_budget).toEqual({ cheap: { budget_limit: 1, time_period: '30d' } });
    expect(info16.model_spend).toEqual({ cheap: 1 });
    await expect(chat(KEYS[16].secret, 'cheap')).rejects.toMatchObject({ status: 400, message: expect.stringContaining('on model "cheap" (model_max_budget): spent $1 of its $1 budget') });
    await expect(chat(KEYS[16].secret, 'premium')).resolves.toMatchObject({ object: 'chat.completion' });
    const info17 = (await api.keyInfo(KEYS[17].secret));
    expect(info17.model_max_budget).toEqual({ premium: { budget_limit: 2, time_period: null } });
    expect(info17.model_spend).toEqual({ premium: 0.5 });
    expect(((await api.keyInfo(KEYS[18].secret))).model_max_budget).toEqual({});
  });

  it("object permissions: a key's and a team's vector_stores are imported, the MCP servers left behind in words", async () => {
    expect(firstOutput).toContain(`key sk-...${KEYS[19].secret.slice(-4)}: object permissions mcp_servers are not served by Switchboard`);
    expect(await api.keyInfo(KEYS[19].secret)).toMatchObject({ object_permission: { vector_stores: ['vs_key19'] } });
    expect(await api.keyInfo(KEYS[18].secret)).toMatchObject({ object_permission: { vector_stores: [] } });
    expect((await api.teamInfo('team-1')).team_info).toMatchObject({ object_permission: { vector_stores: ['vs_team1'] } });
  });

  it('an imported key stays as narrow as it was: allowed_routes and models hold', async () => {
    const client = (secret: string) => new OpenAI({ apiKey: secret, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
    const chat = (secret: string, model = 'cheap') => client(secret).chat.completions.create({ model, messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 });
    await expect(chat(KEYS[10].secret)).rejects.toMatchObject({ status: 403, message: expect.stringContaining('allowed_routes') });
    await expect(chat(KEYS[11].secret)).rejects.toMatchObject({ status: 403 });
    await expect(chat(KEYS[12].secret, 'premium')).rejects.toMatchObject({ status: 403 });
    await expect(chat(KEYS[12].secret)).resolves.toMatchObject({ object: 'chat.completion' });
  });

  it('the imported keys call models, within their limits: a spent budget is refused, a blocked key too', async () => {
    const client = (secret: string) => new OpenAI({ apiKey: secret, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
    await expect(client(KEYS[1].secret).chat.completions.create({ model: 'cheap', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 })).resolves.toMatchObject({ object: 'chat.completion' });
    await expect(client(KEYS[7].secret).chat.completions.create({ model: 'cheap', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 })).rejects.toMatchObject({ status: 400 });
    await expect(client(KEYS[5].secret).chat.completions.create({ model: 'cheap', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 })).rejects.toMatchObject({ status: 401 });
    // A blocked LiteLLM end user stays blocked.
    await expect(client(KEYS[1].secret).chat.completions.create({ model: 'cheap', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5, user: 'cust-b' })).rejects.toMatchObject({ status: 403 });
  });

  it('--with-spend-logs: LiteLLM_SpendLogs become usage history, their spend not counted twice', async () => {
    const db = gateway.runtime.principals()!.db;
    const rows = await db.selectFrom('usage_logs').selectAll().where('call_id', 'like', 'litellm:%').orderBy('created_at').execute();
    expect(rows).toHaveLength(30);
    const first = rows.find((row) => row.call_id === 'litellm:req-0')!;
    expect(first).toMatchObject({ endpoint: 'chat/completions', key_hash: sha256(KEYS[0].secret), key_id: `key_${sha256(KEYS[0].secret).slice(0, 24)}`, model_group: 'cheap', provider: 'openai', prompt_tokens: 20, completion_tokens: 10, cost_micros: 1000, end_user: 'cust-a', request_tags: '["batch"]', status: 'success', latency_ms: 2000, time_to_first_token_ms: 1000 });
    // The key's spend is LiteLLM's total, not the total plus its logs.
    expect((await api.keyInfo(KEYS[0].secret)).spend).toBeCloseTo(KEYS[0].spend, 9);
  });

  it('teams, users, budgets and end users keep their limits, members and spend', async () => {
    const team = await api.teamInfo('team-2');
    expect(team.team_info).toMatchObject({ team_alias: 'Team 2', max_budget: 300, tpm_limit: 100000 });
    expect(team.team_info.spend).toBeCloseTo(3, 6);
    expect((team.team_info as unknown as { members_with_roles: unknown[] }).members_with_roles).toEqual(expect.arrayContaining([{ user_id: 'user-2', role: 'admin' }, { user_id: 'user-5', role: 'user' }]));
    const user = await api.userInfo('user-9');
    expect(user.user_info).toMatchObject({ max_budget: 25 });
    expect(user.user_info.spend).toBeCloseTo(6.75, 6);
    expect((await api.userInfo('user-0')).user_info).toMatchObject({ user_role: 'proxy_admin' });
    expect(await api.ok('POST', '/budget/info', { budgets: ['gold'] })).toEqual([expect.objectContaining({ budget_id: 'gold', max_budget: 50, rpm_limit: 500, budget_duration: '30d', created_by: 'admin' })]);
    expect(await api.ok('GET', '/customer/info?end_user_id=cust-a')).toMatchObject({ user_id: 'cust-a', alias: 'A', spend: 0.5, budget_id: 'tiny', blocked: false, allowed_model_region: 'eu' });
  });

  it('a second run updates in place: same rows, same limits, and spend counted since is kept', async () => {
    await gateway.flushUsage();
    const spentSince = (await api.keyInfo(KEYS[1].secret)).spend;
    expect(spentSince).toBeGreaterThan(KEYS[1].spend);
    const output = await runImport();
    expect(output).toContain('budgets: 0 created, 2 updated; teams: 0 created, 3 updated; users: 0 created, 10 updated; keys: 0 created, 20 updated; end users: 0 created, 3 updated');
    expect(output).toContain('spend logs: 30 read, 0 stored as usage history (30 already there)');
    const count = await gateway.runtime.principals()!.db.selectFrom('api_keys').select((eb) => eb.fn.countAll<number>().as('count')).executeTakeFirstOrThrow();
    expect(Number(count.count)).toBe(20);
    // The running gateway picks the re-import up (version poll); the key's spend did not go back.
    await expect.poll(async () => (await api.keyInfo(KEYS[1].secret)).spend, { timeout: 5_000 }).toBeCloseTo(spentSince, 9);
    expect((await api.keyInfo(KEYS[2].secret)).max_budget).toBe(KEYS[2].maxBudget);
  });

  it("an imported key keeps the model_rpm_limit LiteLLM kept in its metadata, enforced (last: its calls add spend)", async () => {
    const client = new OpenAI({ apiKey: KEYS[19].secret, baseURL: `${gateway.url}/v1`, maxRetries: 0 });
    expect((await api.keyInfo(KEYS[19].secret)).model_rpm_limit).toEqual({ cheap: 1 });
    await expect(client.chat.completions.create({ model: 'cheap', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 })).resolves.toMatchObject({ object: 'chat.completion' });
    await expect(client.chat.completions.create({ model: 'cheap', messages: [{ role: 'user', content: 'hi' }], max_tokens: 5 })).rejects.toMatchObject({ status: 429, message: expect.stringContaining('model_rpm_limit["cheap"]') });
  });
});
