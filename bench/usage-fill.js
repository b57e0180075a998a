/**
 * Existing usage rows for the growth benchmarks (usage-growth.js, usage-growth-gateway.js), written
 * in one SQL statement: a recursive CTE on SQLite, generate_series on PostgreSQL. Rows are shaped
 * like the gateway's: time-ordered UUIDv7-like call ids, one per millisecond from `start`, 20 keys
 * over 5 users, 4 model groups, an end user on every row (as the bench's requests send `user`).
 */
import { performance } from 'node:perf_hooks';
import { sql } from 'kysely';

/** Tops usage_logs up from `from` to `to` rows: created_at from `start` on, one per ms; returns seconds. */
export async function fill(handle, from, to, start) {
  const count = to - from;
  if (count <= 0) return 0;
  const began = performance.now();
  if (handle.dialect === 'sqlite') {
    handle.sqlite
      .prepare(
        `with recursive n(i) as (select ${from} union all select i + 1 from n where i < ${to - 1})
         insert into usage_logs (call_id, created_at, endpoint, key_id, key_alias, user_id, model_group, deployment_id, provider, upstream_model,
           stream, prompt_tokens, completion_tokens, total_tokens, cached_tokens, tokens_estimated, cost_micros, latency_ms, upstream_latency_ms,
           status, http_status, retries, fallbacks, metadata, end_user)
         select printf('%08x-%04x-7%03x-8%03x-%012x', (${start} + i) / 65536, (${start} + i) % 65536, i % 4096, i % 4096, i),
           ${start} + i, 'chat/completions', 'key-' || (i % 20), 'alias-' || (i % 20), 'user-' || (i % 5),
           case i % 4 when 0 then 'gpt-4o-mini' when 1 then 'gpt-4o' when 2 then 'claude-sonnet' else 'gemini-flash' end,
           'dep-' || (i % 4), 'openai', 'gpt-4o-mini', i % 2, 40 + i % 300, 10 + i % 120, 50 + i % 300 + i % 120, 0, 0,
           (40 + i % 300) * 3 + (10 + i % 120) * 15, 2, 1, 'success', 200, 0, 0, '{"user_api_key_alias":"bench"}', 'bench-user-' || (i % 3)
         from n`,
      )
      .run();
  } else {
    await sql`
      insert into usage_logs (call_id, created_at, endpoint, key_id, key_alias, user_id, model_group, deployment_id, provider, upstream_model,
        stream, prompt_tokens, completion_tokens, total_tokens, cached_tokens, tokens_estimated, cost_micros, latency_ms, upstream_latency_ms,
        status, http_status, retries, fallbacks, metadata, end_user)
      select lpad(to_hex((${start}::bigint + i) / 65536), 8, '0') || '-' || lpad(to_hex((${start}::bigint + i) % 65536), 4, '0') || '-7000-8000-' || lpad(to_hex(i), 12, '0'),
        ${start}::bigint + i, 'chat/completions', 'key-' || (i % 20), 'alias-' || (i % 20), 'user-' || (i % 5),
        (array['gpt-4o-mini', 'gpt-4o', 'claude-sonnet', 'gemini-flash'])[1 + i % 4],
        'dep-' || (i % 4), 'openai', 'gpt-4o-mini', i % 2, 40 + i % 300, 10 + i % 120, 50 + i % 300 + i % 120, 0, 0,
        (40 + i % 300) * 3 + (10 + i % 120) * 15, 2, 1, 'success', 200, 0, 0, '{"user_api_key_alias":"bench"}', 'bench-user-' || (i % 3)
      from generate_series(${from}::bigint, ${to - 1}::bigint) as i`.execute(handle.db);
    await sql`vacuum analyze usage_logs`.execute(handle.db);
  }
  return (performance.now() - began) / 1000;
}

