/**
 * The usage_logs table: inserting rows (skipping call_ids already stored), reading them back,
 * retention deletes. What else a stored row changes (spend, credits, rollups, billing events) is the
 * usage ingest's business (../usage-ingest.ts), which calls `insertNew` inside its transaction.
 */
import type { Database as SQLiteConnection } from 'better-sqlite3';
import type { Kysely, Transaction } from 'kysely';
import type { Database, StoredUsageLog, UsageLogRow } from '../schema.js';

// SQLite caps bound parameters per statement; 47 columns x 200 rows stays under 32766.
const ROWS_PER_INSERT = 200;

/** Every column a usage row may carry (all but the generated id). */
const COLUMNS = [
  'call_id', 'created_at', 'endpoint', 'key_hash', 'key_id', 'key_alias', 'user_id', 'team_id', 'model_group', 'deployment_id', 'provider',
  'upstream_model', 'stream', 'prompt_tokens', 'completion_tokens', 'total_tokens', 'cached_tokens', 'cache_creation_tokens', 'reasoning_tokens',
  'tokens_estimated', 'cost_micros', 'latency_ms', 'time_to_first_token_ms', 'upstream_latency_ms', 'status', 'http_status', 'error_code',
  'error_message', 'retries', 'fallbacks', 'metadata', 'byok', 'credits_millicredits', 'power_level', 'messages', 'response',
  'aborted', 'usage_adjusted', 'cache_hit', 'saved_cost_micros', 'agent', 'agent_execution', 'routing_rule',
  'request_tags', 'end_user', 'requester_ip', 'api_base', 'model_budgets',
] as const satisfies ReadonlyArray<keyof UsageLogRow>;

type InsertOne = (row: UsageLogRow) => boolean;

// A row's shape is a number with one bit per column (shapedInserts): exact up to 53 columns.
if (COLUMNS.length > 53) throw new Error(`usage_logs has ${COLUMNS.length} columns: shapedInserts' one-bit-per-column shape key holds 53 at most; key the shapes by string`);

/** Statements kept for the distinct sets of non-null columns rows come with; past this many, rows bind every column. */
export const MAX_ROW_SHAPES = 128;

/**
 * SQLite inserts through prepared statements that name only the columns a row has a value for
 * (a cache hit's row leaves half of them null): each bound parameter costs the writer thread time,
 * and a left-out column takes its default, which for these columns is NULL. Columns that have a
 * default of their own (the 0/1 flags, retries, …) are always named, as before.
 */
function shapedInserts(sqlite: SQLiteConnection): InsertOne {
  const declared = sqlite.prepare("select name, dflt_value from pragma_table_info('usage_logs')").all() as Array<{ name: string; dflt_value: unknown }>;
  const withDefault = new Set(declared.filter((column) => column.dflt_value !== null).map((column) => column.name));
  // Columns that are NOT NULL with a default: a row without them takes the default, not null.
  const flags = new Set<string>(['byok', 'aborted', 'usage_adjusted', 'cache_hit']);
  const always = COLUMNS.map((column) => withDefault.has(column) || flags.has(column));
  const fallback = COLUMNS.map((column) => (flags.has(column) ? 0 : null));
  const prepare = (indexes: number[]) => {
    const columns = indexes.map((index) => COLUMNS[index]!);
    const statement = sqlite.prepare(`insert into usage_logs (${columns.join(', ')}) values (${columns.map(() => '?').join(', ')}) on conflict (call_id) do nothing`);
    return { statement, indexes, values: new Array<unknown>(indexes.length) };
  };
  const everyColumn = prepare(COLUMNS.map((_, index) => index));
  // A row's shape: one bit per column that is bound (at most 53 columns: checked at load).
  const shapes = new Map<number, ReturnType<typeof prepare>>();
  return (row) => {
    let shape = 0;
    for (let index = 0; index < COLUMNS.length; index++) shape = shape * 2 + (always[index] || row[COLUMNS[index]!] != null ? 1 : 0);
    let insert = shapes.get(shape);
    if (insert === undefined) {
      const full = shapes.size >= MAX_ROW_SHAPES;
      insert = full ? everyColumn : prepare(COLUMNS.flatMap((column, index) => (always[index] || row[column] != null ? [index] : [])));
      if (!full) shapes.set(shape, insert);
    }
    const { indexes, values, statement } = insert;
    // Positional parameters: binding an array skips the by-name lookup of every property.
    for (let position = 0; position < indexes.length; position++) {
      const index = indexes[position]!;
      values[position] = row[COLUMNS[index]!] ?? fallback[index];
    }
    return statement.run(values).changes === 1;
  };
}

export class UsageLogRepository {
  private insertOne: InsertOne | undefined;

  /**
   * `sqlite` is the better-sqlite3 connection behind `db`, when the database is SQLite: rows are
   * then inserted with cached prepared statements (2–3× cheaper than building a multi-row insert
   * per batch), inside the caller's transaction.
   */
  constructor(
    private readonly db: Kysely<Database>,
    sqlite?: SQLiteConnection,
  ) {
    if (sqlite) this.insertOne = shapedInserts(sqlite);
  }

  /**
   * Inserts rows within `transaction` and returns those that were new: a row whose call_id is
   * already stored is skipped (retried batches are safe), and a call carried twice in one batch is
   * returned once.
   */
  async insertNew(transaction: Transaction<Database>, rows: UsageLogRow[]): Promise<UsageLogRow[]> {
    const inserted = new Set<string>();
    // The prepared statement runs on the same (single) connection, inside this transaction.
    if (this.insertOne) for (const row of rows) if (this.insertOne(row)) inserted.add(row.call_id);
    for (let start = 0; !this.insertOne && start < rows.length; start += ROWS_PER_INSERT) {
      const returned = await transaction
        .insertInto('usage_logs')
        .values(rows.slice(start, start + ROWS_PER_INSERT))
        .onConflict((conflict) => conflict.column('call_id').doNothing())
        .returning('call_id')
        .execute();
      for (const row of returned) inserted.add(row.call_id);
    }
    return rows.filter((row) => inserted.delete(row.call_id));
  }

  async findByCallId(callId: string): Promise<StoredUsageLog | undefined> {
    return this.db.selectFrom('usage_logs').selectAll().where('call_id', '=', callId).executeTakeFirst();
  }

  async listRecent(limit = 100): Promise<StoredUsageLog[]> {
    return this.db.selectFrom('usage_logs').selectAll().orderBy('created_at', 'desc').orderBy('id', 'desc').limit(limit).execute();
  }

  /**
   * Deletes up to `limit` rows older than `cutoff` (epoch ms), oldest first; returns how many. The
   * retention job calls it in a loop, so no single statement holds the table for long. Rollups are
   * kept.
   */
  async deleteOlderThan(cutoff: number, limit: number): Promise<number> {
    const result = await this.db
      .deleteFrom('usage_logs')
      .where('id', 'in', (eb) => eb.selectFrom('usage_logs').select('id').where('created_at', '<', cutoff).orderBy('created_at').limit(limit))
      .executeTakeFirst();
    return Number(result.numDeletedRows);
  }

  async count(): Promise<number> {
    const row = await this.db.selectFrom('usage_logs').select((eb) => eb.fn.countAll<number>().as('count')).executeTakeFirstOrThrow();
    return Number(row.count);
  }
}
