/**
 * The usage store in PostgreSQL (`--database-url`), shared by every instance: request detail in
 * one table partitioned by UTC day (retention DROPs a day's partition whole), daily roll-ups
 * upserted in the same transaction as the batch's detail. A small pool and explicit timeouts:
 * a server that is down or slow makes a flush fail (the ledger keeps its records and tries again),
 * never hangs it. Opening never fails for an unreachable server: the store says it in its
 * health, and connects and migrates on its next call.
 */
import pg from 'pg';
import type { UsageRecord } from '../usage-record.js';
import { DETAIL_COLUMNS, detailValues } from './detail-tables.js';
import { migratePostgres, POSTGRES_SCHEMA_VERSION, postgresSchemaVersion, SCHEMA_LOCK } from './postgres-migrations.js';
import { addToRollup, type Rollup } from './rollups.js';
import { UsageStoreError } from './sqlite-usage-store.js';
import { addDays, dayOf, dayStartMs } from './usage-days.js';
import type { RejectedRecord, StoreHealth, UsageReportQuery, UsageReportRow, UsageStore } from './usage-store.js';

export interface PostgresStoreOptions {
  /** Read only (the `usage` report, `keys list`): never migrates nor writes; the schema must exist. */
  readonly?: boolean;
  /** Connections at most (default 2: one flush at a time, plus a report or a retention run). */
  poolSize?: number;
  /** Time to connect, and the server's statement timeout, in ms (default 5000 and 15000). */
  connectTimeoutMs?: number;
  statementTimeoutMs?: number;
  /** Days of partitions made ahead of today (default 2), so a batch seldom makes one. */
  partitionsAhead?: number;
  now?: () => number;
}

const PARTITION_PREFIX = 'request_detail_';
/** PostgreSQL binds at most 65535 parameters per statement: 1000 detail rows (22 columns) or roll-ups (10) stay well under. */
const ROWS_PER_INSERT = 1_000;
const ROLLUP_COLUMNS = ['day', 'key_id', 'key_name', 'model', 'requests', 'prompt_tokens', 'completion_tokens', 'reasoning_tokens', 'cached_tokens', 'cost_usd'] as const;
const GROUP_COLUMNS = { key: 'key_name', model: 'model', day: 'day' } as const;
/** Text grouped and ordered byte-wise, as SQLite does, whatever the database's collation. */
const ORDER_COLUMNS = { key: 'key_name COLLATE "C"', model: 'model COLLATE "C"', day: 'day' } as const;
const TOTALS = [
  'COALESCE(SUM(requests), 0)::float8 AS "requests"',
  'COALESCE(SUM(prompt_tokens), 0)::float8 AS "promptTokens"',
  'COALESCE(SUM(completion_tokens), 0)::float8 AS "completionTokens"',
  'COALESCE(SUM(reasoning_tokens), 0)::float8 AS "reasoningTokens"',
  'COALESCE(SUM(cached_tokens), 0)::float8 AS "cachedTokens"',
  'COALESCE(SUM(cost_usd), 0)::float8 AS "costUsd"',
];

/** A day's partition name (`2026-05-04` → `request_detail_20260504`). */
function partitionName(day: string): string {
  return `${PARTITION_PREFIX}${day.replaceAll('-', '')}`;
}

function dayOfPartition(name: string): string {
  const digits = name.slice(PARTITION_PREFIX.length);
  return `${digits.slice(0, 4)}-${digits.slice(4, 6)}-${digits.slice(6, 8)}`;
}

/** A pg error's text: connection errors to a host with several addresses carry theirs in `errors`. */
export function postgresErrorText(error: unknown): string {
  const failure = error as Error & { code?: string; errors?: Error[] };
  if (failure.message !== undefined && failure.message !== '') return failure.message;
  const inner = failure.errors?.[0]?.message;
  return inner ?? failure.code ?? String(error);
}

/** The server and database a URL names, for messages (never its password). */
export function postgresLocation(url: string): string {
  try {
    const parsed = new URL(url);
    return `${parsed.hostname}${parsed.port === '' ? '' : `:${parsed.port}`}${parsed.pathname}`;
  } catch {
    return 'the database URL';
  }
}

/** What of a database URL must never be logged: the URL itself and its password (as written and decoded). */
export function databaseUrlSecrets(url: string | undefined): string[] {
  if (url === undefined) return [];
  try {
    const { password } = new URL(url);
    return password === '' ? [url] : [url, password, decodeURIComponent(password)];
  } catch {
    return [url];
  }
}

export function openPostgresUsageStore(url: string, options: PostgresStoreOptions = {}): PostgresUsageStore {
  const statementTimeoutMs = options.statementTimeoutMs ?? 15_000;
  const pool = new pg.Pool({
    connectionString: url,
    max: options.poolSize ?? 2,
    connectionTimeoutMillis: options.connectTimeoutMs ?? 5_000,
    idleTimeoutMillis: 30_000,
    statement_timeout: statementTimeoutMs,
    // The client gives up a little after the server would have.
    query_timeout: statementTimeoutMs + 2_000,
    lock_timeout: Math.min(statementTimeoutMs, 5_000),
    idle_in_transaction_session_timeout: statementTimeoutMs * 2,
    application_name: 'ollama-bridge',
    keepAlive: true,
  });
  return new PostgresUsageStore(pool, url, options);
}

export class PostgresUsageStore implements UsageStore {
  private readonly readonly: boolean;
  private readonly now: () => number;
  private readonly partitionsAhead: number;
  /** Set once the schema is known to be current (migrated, or checked read-only). */
  private schemaReady: Promise<void> | undefined;
  /** Partitions known to exist (made or seen). */
  private readonly partitions = new Set<string>();
  private lastError: string | undefined;

  constructor(private readonly pool: pg.Pool, private readonly url: string, options: PostgresStoreOptions) {
    this.readonly = options.readonly === true;
    this.now = options.now ?? Date.now;
    this.partitionsAhead = options.partitionsAhead ?? 2;
    // An idle connection the server drops must not crash the process: the next call reconnects.
    pool.on('error', (error) => {
      this.lastError = `PostgreSQL at ${postgresLocation(url)}: ${postgresErrorText(error)}`;
    });
  }

  /** Connects and migrates (or checks the schema, read-only), once; a failure is kept in the health and thrown. */
  async ready(): Promise<void> {
    this.schemaReady ??= this.tracked(this.prepareSchema()).catch((error: unknown) => {
      this.schemaReady = undefined;
      throw error;
    });
    return this.schemaReady;
  }

  async append(records: readonly UsageRecord[]): Promise<RejectedRecord[]> {
    if (this.readonly) throw new UsageStoreError('the usage database was opened read-only');
    const rejected: RejectedRecord[] = [];
    if (records.length === 0) return rejected;
    await this.ready();
    const rows: Array<Array<string | number | null>> = [];
    const rollups = new Map<string, Rollup>();
    const days = new Set<string>();
    for (const record of records) {
      const values = detailValues(record);
      if (!Array.isArray(values)) {
        rejected.push({ record, problem: values.problem });
        continue;
      }
      const day = dayOf(record.startedAt);
      days.add(day);
      rows.push(values);
      addToRollup(rollups, day, record);
    }
    if (rows.length === 0) return rejected;
    try {
      await this.tracked(this.ensurePartitions([...days]));
      await this.tracked(this.transaction(async (client) => {
        for (let start = 0; start < rows.length; start += ROWS_PER_INSERT) await insertDetail(client, rows.slice(start, start + ROWS_PER_INSERT));
        // The same order in every instance, so two batches never wait on each other's rows crosswise.
        const sorted = [...rollups.values()].sort((left, right) => compareRollups(left, right));
        for (let start = 0; start < sorted.length; start += ROWS_PER_INSERT) await upsertRollups(client, sorted.slice(start, start + ROWS_PER_INSERT));
      }));
    } catch (error) {
      // Another instance's retention may have dropped a partition this one knew: made again at the next try.
      this.partitions.clear();
      throw error;
    }
    return rejected;
  }

  async report(query: UsageReportQuery): Promise<UsageReportRow[]> {
    await this.ready();
    const columns = query.by.map((grouping) => GROUP_COLUMNS[grouping]);
    const select = [...query.by.map((grouping) => (grouping === 'day' ? `to_char(day, 'YYYY-MM-DD') AS "day"` : `${GROUP_COLUMNS[grouping]} AS "${grouping}"`)), ...TOTALS].join(', ');
    const where = `day >= $1::date AND day <= $2::date${query.keyName === undefined ? '' : ' AND key_name = $3'}`;
    const grouped = columns.length === 0 ? '' : ` GROUP BY ${columns.join(', ')} ORDER BY ${query.by.map((grouping) => ORDER_COLUMNS[grouping]).join(', ')}`;
    const parameters = [query.sinceDay, query.untilDay, ...(query.keyName === undefined ? [] : [query.keyName])];
    const result = await this.tracked(this.pool.query<UsageReportRow>(`SELECT ${select} FROM daily_usage WHERE ${where}${grouped}`, parameters));
    // Requests without a key are kept under the name '' (a primary key cannot hold NULL).
    for (const row of result.rows) if (row.key === '') row.key = null;
    return result.rows;
  }

  async spendByKey(sinceMs: number): Promise<Map<string, number>> {
    await this.ready();
    const firstDay = dayOf(sinceMs);
    const spend = new Map<string, number>();
    const add = (rows: Array<{ keyId: string; costUsd: number }>): void => {
      for (const { keyId, costUsd } of rows) spend.set(keyId, (spend.get(keyId) ?? 0) + costUsd);
    };
    const partialFirstDay = sinceMs > dayStartMs(firstDay) && (await this.detailDays()).includes(firstDay);
    // Whole days from the roll-ups; a day cut by `sinceMs` from its detail (while it is kept).
    const whole = await this.tracked(this.pool.query<{ keyId: string; costUsd: number }>(`SELECT key_id AS "keyId", SUM(cost_usd)::float8 AS "costUsd" FROM daily_usage WHERE day ${partialFirstDay ? '>' : '>='} $1::date GROUP BY key_id`, [firstDay]));
    add(whole.rows);
    if (partialFirstDay) {
      const cut = await this.tracked(this.pool.query<{ keyId: string; costUsd: number }>(
        `SELECT COALESCE(key_id, '') AS "keyId", SUM(cost_usd)::float8 AS "costUsd" FROM request_detail
         WHERE started_at >= to_timestamp($1::float8 / 1000) AND started_at < to_timestamp($2::float8 / 1000) GROUP BY key_id`,
        [sinceMs, dayStartMs(addDays(firstDay, 1))],
      ));
      add(cut.rows);
    }
    return spend;
  }

  async dropDetailBefore(day: string): Promise<string[]> {
    if (this.readonly) throw new UsageStoreError('the usage database was opened read-only');
    await this.ready();
    const dropped = await this.tracked(this.transaction(async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK.toString()]);
      const old = (await partitionDays(client)).filter((kept) => kept < day);
      for (const oldDay of old) await client.query(`DROP TABLE IF EXISTS ${partitionName(oldDay)}`);
      return old;
    }));
    for (const oldDay of dropped) this.partitions.delete(oldDay);
    // Retention runs once a day: the days ahead are made then too.
    await this.tracked(this.ensurePartitions(this.daysAhead()));
    return dropped;
  }

  async detailDays(): Promise<string[]> {
    await this.ready();
    return this.tracked(this.withClient(partitionDays));
  }

  health(): StoreHealth {
    if (this.readonly) return { writable: false, reason: 'the usage database was opened read-only' };
    return this.lastError === undefined ? { writable: true } : { writable: false, reason: this.lastError };
  }

  async close(): Promise<void> {
    await this.pool.end().catch(() => undefined);
  }

  private async prepareSchema(): Promise<void> {
    await this.withClient(async (client) => {
      const found = this.readonly ? await postgresSchemaVersion(client) : await migratePostgres(client);
      if (this.readonly && found === 0) throw new UsageStoreError(`PostgreSQL at ${postgresLocation(this.url)} holds no usage ledger (no schema_migrations table): a gateway started with --database-url creates it`);
      if (found > POSTGRES_SCHEMA_VERSION) throw new UsageStoreError(`the usage database at ${postgresLocation(this.url)} was written by a newer ollama-bridge (schema ${found}; this one knows up to ${POSTGRES_SCHEMA_VERSION})`);
      for (const day of await partitionDays(client)) this.partitions.add(day);
    });
    if (!this.readonly) await this.ensurePartitions(this.daysAhead());
  }

  /** Today and the days ahead. */
  private daysAhead(): string[] {
    const today = dayOf(this.now());
    return Array.from({ length: this.partitionsAhead + 1 }, (_, index) => addDays(today, index));
  }

  /** Makes the partitions of days that have none, under the schema lock (another instance may be making them too). */
  private async ensurePartitions(days: readonly string[]): Promise<void> {
    const missing = days.filter((day) => !this.partitions.has(day));
    if (missing.length === 0) return;
    await this.transaction(async (client) => {
      await client.query('SELECT pg_advisory_xact_lock($1)', [SCHEMA_LOCK.toString()]);
      for (const day of missing) {
        const from = new Date(dayStartMs(day)).toISOString();
        const to = new Date(dayStartMs(addDays(day, 1))).toISOString();
        await client.query(`CREATE TABLE IF NOT EXISTS ${partitionName(day)} PARTITION OF request_detail FOR VALUES FROM ('${from}') TO ('${to}')`);
      }
    });
    for (const day of missing) this.partitions.add(day);
  }

  private async transaction<T>(work: (client: pg.PoolClient) => Promise<T>): Promise<T> {
    return this.withClient(async (client) => {
      await client.query('BEGIN');
      const result = await work(client);
      await client.query('COMMIT');
      return result;
    }, true);
  }

  /**
   * A pooled connection for `work`. While it is held, a connection the server drops between two
   * queries is an error of the work, not an uncaught 'error' event; a broken one is not reused.
   */
  private async withClient<T>(work: (client: pg.PoolClient) => Promise<T>, inTransaction = false): Promise<T> {
    const client = await this.pool.connect();
    let broken: Error | undefined;
    const onError = (error: Error): void => {
      broken = error;
    };
    client.on('error', onError);
    try {
      return await work(client);
    } catch (error) {
      if (inTransaction && broken === undefined) {
        await client.query('ROLLBACK').catch((rollbackError: unknown) => {
          broken = rollbackError as Error;
        });
      }
      throw error;
    } finally {
      client.removeListener('error', onError);
      client.release(broken);
    }
  }

  /** Keeps the health: the last call's failure (in words), cleared by the next that succeeds. */
  private async tracked<T>(work: Promise<T>): Promise<T> {
    try {
      const result = await work;
      this.lastError = undefined;
      return result;
    } catch (error) {
      this.lastError = error instanceof UsageStoreError ? error.message : `PostgreSQL at ${postgresLocation(this.url)}: ${postgresErrorText(error)}`;
      throw error;
    }
  }
}

async function partitionDays(client: pg.ClientBase): Promise<string[]> {
  const result = await client.query<{ name: string }>(
    `SELECT child.relname AS name FROM pg_inherits JOIN pg_class child ON child.oid = pg_inherits.inhrelid
     WHERE pg_inherits.inhparent = 'request_detail'::regclass ORDER BY child.relname`,
  );
  return result.rows.map(({ name }) => dayOfPartition(name));
}

/** One multi-row INSERT of detail rows (started_at from Unix ms). */
async function insertDetail(client: pg.ClientBase, rows: ReadonlyArray<ReadonlyArray<string | number | null>>): Promise<void> {
  const width = DETAIL_COLUMNS.length;
  const parameters: Array<string | number | null> = [];
  const tuples = rows.map((row, rowIndex) => {
    parameters.push(...row);
    const slots = DETAIL_COLUMNS.map(({ name }, column) => {
      const slot = `$${rowIndex * width + column + 1}`;
      return name === 'started_at' ? `to_timestamp(${slot}::float8 / 1000)` : slot;
    });
    return `(${slots.join(', ')})`;
  });
  await client.query(`INSERT INTO request_detail (${DETAIL_COLUMNS.map(({ name }) => name).join(', ')}) VALUES ${tuples.join(', ')}`, parameters);
}

async function upsertRollups(client: pg.ClientBase, rollups: readonly Rollup[]): Promise<void> {
  const width = ROLLUP_COLUMNS.length;
  const parameters: Array<string | number> = [];
  const tuples = rollups.map((rollup, rowIndex) => {
    parameters.push(rollup.day, rollup.keyId, rollup.keyName, rollup.model, rollup.requests, rollup.promptTokens, rollup.completionTokens, rollup.reasoningTokens, rollup.cachedTokens, rollup.costUsd);
    const base = rowIndex * width;
    return `($${base + 1}::date, $${base + 2}, $${base + 3}, $${base + 4}, $${base + 5}::bigint, $${base + 6}::bigint, $${base + 7}::bigint, $${base + 8}::bigint, $${base + 9}::bigint, $${base + 10}::float8)`;
  });
  const added = ROLLUP_COLUMNS.slice(4).map((name) => `${name} = daily_usage.${name} + EXCLUDED.${name}`).join(', ');
  await client.query(`INSERT INTO daily_usage (${ROLLUP_COLUMNS.join(', ')}) VALUES ${tuples.join(', ')}
    ON CONFLICT (day, key_id, key_name, model) DO UPDATE SET ${added}`, parameters);
}

function compareRollups(left: Rollup, right: Rollup): number {
  for (const field of ['day', 'keyId', 'keyName', 'model'] as const) {
    if (left[field] !== right[field]) return left[field] < right[field] ? -1 : 1;
  }
  return 0;
}
