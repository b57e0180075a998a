/**
 * `import-litellm --with-spend-logs`: LiteLLM's request log (`LiteLLM_SpendLogs`) as usage history.
 * Read in pages (keyset on startTime, request_id), each page written in its own transaction with
 * its daily rollups; call ids are "litellm:<request_id>", so a re-run skips what is stored. The
 * rows' spend is NOT added again to keys, users, teams and end users: LiteLLM's spend totals, which
 * the import carries over, already count it.
 */
import type { Kysely } from 'kysely';
import type pg from 'pg';
import { lazyModule } from '../lazy-module.js';

/** pg is loaded when LiteLLM's database is read, not at start. */
const loadPg = lazyModule<typeof pg>('pg');
import type { Database, UsageLogRow } from '../storage/schema.js';
import { UsageLogRepository } from '../storage/repositories/usage-logs.js';
import { applyRollups } from '../storage/repositories/usage-rollups.js';

const PAGE = 2_000;

type Row = Record<string, unknown>;

/** LiteLLM's call_type → the endpoint a usage row names. */
function endpointOf(callType: unknown): string {
  const type = String(callType ?? '');
  if (type.includes('embedding')) return 'embeddings';
  if (type.includes('text_completion')) return 'completions';
  if (type.includes('anthropic_messages')) return 'messages';
  return 'chat/completions';
}

const text = (value: unknown): string | null => (typeof value === 'string' && value !== '' ? value : null);
const time = (value: unknown): number | null => (value === null || value === undefined ? null : new Date(value as string | Date).getTime());
const count = (value: unknown): number | null => (value === null || value === undefined ? null : Number(value));

function usageRowOf(row: Row, keyIds: Map<string, string>): UsageLogRow {
  const started = time(row.startTime) ?? 0;
  const ended = time(row.endTime) ?? started;
  const firstToken = time(row.completionStartTime);
  const keyHash = text(row.api_key);
  const failed = row.status === 'failure';
  const tags = row.request_tags;
  return {
    call_id: `litellm:${String(row.request_id)}`,
    created_at: started,
    endpoint: endpointOf(row.call_type),
    key_hash: keyHash,
    key_id: keyHash ? (keyIds.get(keyHash) ?? null) : null,
    key_alias: null,
    user_id: text(row.user),
    team_id: text(row.team_id),
    model_group: text(row.model_group) ?? text(row.model),
    deployment_id: text(row.model_id),
    provider: text(row.custom_llm_provider),
    upstream_model: text(row.model),
    stream: 0,
    prompt_tokens: count(row.prompt_tokens),
    completion_tokens: count(row.completion_tokens),
    total_tokens: count(row.total_tokens),
    cached_tokens: null,
    cache_creation_tokens: null,
    reasoning_tokens: null,
    tokens_estimated: 0,
    cost_micros: row.spend === null || row.spend === undefined ? null : Math.round(Number(row.spend) * 1_000_000),
    latency_ms: Math.max(0, ended - started),
    time_to_first_token_ms: firstToken === null ? null : Math.max(0, firstToken - started),
    upstream_latency_ms: null,
    status: failed ? 'failure' : 'success',
    http_status: failed ? 500 : 200,
    error_code: null,
    error_message: null,
    retries: 0,
    fallbacks: 0,
    metadata: JSON.stringify({ imported_from: 'litellm', call_type: row.call_type ?? null }),
    credits_millicredits: null,
    power_level: null,
    cache_hit: row.cache_hit === 'True' || row.cache_hit === 'true' ? 1 : 0,
    request_tags: Array.isArray(tags) && tags.length > 0 ? JSON.stringify(tags) : null,
    end_user: text(row.end_user),
    requester_ip: text(row.requester_ip_address),
    api_base: text(row.api_base),
  };
}

/** Imports every spend log row; returns how many were new. */
export async function importSpendLogs(databaseUrl: string, db: Kysely<Database>): Promise<{ read: number; stored: number }> {
  const keyIds = new Map((await db.selectFrom('api_keys').select(['key_hash', 'key_id']).execute()).map((row) => [row.key_hash, row.key_id]));
  const client = new (loadPg().Client)({ connectionString: databaseUrl });
  await client.connect();
  let read = 0;
  let stored = 0;
  try {
    let after: { start: unknown; id: unknown } | undefined;
    for (;;) {
      const page = after
        ? await client.query<Row>(`select * from "LiteLLM_SpendLogs" where ("startTime", request_id) > ($1, $2) order by "startTime", request_id limit ${PAGE}`, [after.start, after.id])
        : await client.query<Row>(`select * from "LiteLLM_SpendLogs" order by "startTime", request_id limit ${PAGE}`);
      if (page.rows.length === 0) break;
      read += page.rows.length;
      const rows = page.rows.map((row) => usageRowOf(row, keyIds));
      await db.transaction().execute(async (transaction) => {
        const fresh = await new UsageLogRepository(transaction).insertNew(transaction, rows);
        await applyRollups(transaction, fresh);
        stored += fresh.length;
      });
      const last = page.rows[page.rows.length - 1];
      after = { start: last.startTime, id: last.request_id };
      if (page.rows.length < PAGE) break;
    }
  } finally {
    await client.end();
  }
  return { read, stored };
}
