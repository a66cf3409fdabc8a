/**
 * The usage store in a SQLite file (better-sqlite3): WAL, so the `usage` report and `keys
 * list` read while the gateway writes; a busy timeout, so a reader's checkpoint or a second
 * writer waits instead of failing. Roll-ups are updated in the same transaction as the detail.
 */
import { closeSync, mkdirSync, openSync } from 'node:fs';
import { dirname } from 'node:path';
import Database from 'better-sqlite3';
import type { UsageRecord } from '../usage-record.js';
import { createDetailTable, detailDays, detailInsertSql, detailTableName, detailValues } from './detail-tables.js';
import { migrate, schemaVersion, SCHEMA_VERSION } from './migrations.js';
import { addToRollup, type Rollup } from './rollups.js';
import { dayOf, dayStartMs } from './usage-days.js';
import type { RejectedRecord, StoreHealth, UsageReportQuery, UsageReportRow, UsageStore } from './usage-store.js';

/** A usage database that cannot be opened or used; the message names the file and why. */
export class UsageStoreError extends Error {
  override name = 'UsageStoreError';
}

export interface OpenUsageStoreOptions {
  /** Open for reading only (the `usage` report, `keys list`); the file must exist. */
  readonly?: boolean;
  /**
   * How long to wait for another connection's write lock (ms). It blocks the event loop, so
   * a writer waits briefly (only another writer holds that lock in WAL mode; a failed flush
   * is tried again a second later) and a reader longer. Default 250 to write, 5000 to read.
   */
  busyTimeoutMs?: number;
}

const GROUP_COLUMNS = { key: 'key_name', model: 'model', day: 'day' } as const;

export function openSqliteUsageStore(path: string, options: OpenUsageStoreOptions = {}): SqliteUsageStore {
  const readonly = options.readonly === true;
  let database: Database.Database | undefined;
  try {
    if (!readonly) createOwnerOnly(path);
    database = new Database(path, { readonly, fileMustExist: readonly });
    database.pragma(`busy_timeout = ${options.busyTimeoutMs ?? (readonly ? 5_000 : 250)}`);
    if (readonly) {
      const version = schemaVersion(database);
      if (version === 0) throw new UsageStoreError(`${path} is not a usage database (no ledger tables in it)`);
    } else {
      database.pragma('journal_mode = WAL');
      // In WAL mode a commit is durable at the next checkpoint; a crash loses at most the last commits, never the file.
      database.pragma('synchronous = NORMAL');
      const found = migrate(database);
      if (found > SCHEMA_VERSION) {
        throw new UsageStoreError(`the usage database ${path} was written by a newer ollama-bridge (schema ${found}; this one knows up to ${SCHEMA_VERSION})`);
      }
    }
    return new SqliteUsageStore(database, readonly);
  } catch (error) {
    database?.close();
    if (error instanceof UsageStoreError) throw error;
    throw new UsageStoreError(`cannot open the usage database ${path}: ${reasonOf(error)}`, { cause: error });
  }
}

/** The folder (and the file) created readable by the owner only: the ledger names keys and client addresses. */
function createOwnerOnly(path: string): void {
  mkdirSync(dirname(path), { recursive: true, mode: 0o700 });
  // 'a' creates the file when it is missing and leaves an existing one alone; SQLite gives its -wal and -shm files the same mode.
  closeSync(openSync(path, 'a', 0o600));
}

function reasonOf(error: unknown): string {
  const code = (error as NodeJS.ErrnoException).code;
  if (code === 'ENOENT' || code === 'SQLITE_CANTOPEN') return 'no such file, or its folder cannot be written';
  if (code === 'EACCES' || code === 'EPERM' || code === 'SQLITE_READONLY') return 'permission denied';
  if (code === 'SQLITE_NOTADB') return 'the file is not a SQLite database';
  if (code === 'EISDIR') return 'it is a directory';
  return (error as Error).message;
}

export class SqliteUsageStore implements UsageStore {
  private readonly detailInserts = new Map<string, Database.Statement>();
  private readonly upsertRollup: Database.Statement | undefined;
  private lastWriteError: string | undefined;

  constructor(private readonly database: Database.Database, private readonly readonly: boolean) {
    this.upsertRollup = readonly ? undefined : database.prepare(`INSERT INTO daily_usage
      (day, key_id, key_name, model, requests, prompt_tokens, completion_tokens, reasoning_tokens, cached_tokens, cost_usd)
      VALUES (@day, @keyId, @keyName, @model, @requests, @promptTokens, @completionTokens, @reasoningTokens, @cachedTokens, @costUsd)
      ON CONFLICT (day, key_id, key_name, model) DO UPDATE SET
        requests = requests + excluded.requests,
        prompt_tokens = prompt_tokens + excluded.prompt_tokens,
        completion_tokens = completion_tokens + excluded.completion_tokens,
        reasoning_tokens = reasoning_tokens + excluded.reasoning_tokens,
        cached_tokens = cached_tokens + excluded.cached_tokens,
        cost_usd = cost_usd + excluded.cost_usd`);
  }

  async append(records: readonly UsageRecord[]): Promise<RejectedRecord[]> {
    const rejected: RejectedRecord[] = [];
    if (records.length === 0) return rejected;
    const upsert = this.upsertRollup;
    if (upsert === undefined) throw new UsageStoreError('the usage database was opened read-only');
    try {
      this.database.transaction(() => {
        const rollups = new Map<string, Rollup>();
        for (const record of records) {
          const values = detailValues(record);
          if (!Array.isArray(values)) {
            rejected.push({ record, problem: values.problem });
            continue;
          }
          const day = dayOf(record.startedAt);
          this.detailInsert(day).run(values);
          addToRollup(rollups, day, record);
        }
        for (const rollup of rollups.values()) upsert.run(rollup);
      }).immediate();
      this.lastWriteError = undefined;
      return rejected;
    } catch (error) {
      // A day's table created in the rolled-back transaction is gone with it.
      this.detailInserts.clear();
      this.lastWriteError = `the last write to the usage database failed: ${(error as Error).message}`;
      throw error;
    }
  }

  async report(query: UsageReportQuery): Promise<UsageReportRow[]> {
    const columns = query.by.map((grouping) => GROUP_COLUMNS[grouping]);
    const select = [...query.by.map((grouping) => `${GROUP_COLUMNS[grouping]} AS ${grouping}`), ...TOTALS].join(', ');
    const where = `day >= ? AND day <= ?${query.keyName === undefined ? '' : ' AND key_name = ?'}`;
    const grouped = columns.length === 0 ? '' : ` GROUP BY ${columns.join(', ')} ORDER BY ${columns.join(', ')}`;
    const parameters = [query.sinceDay, query.untilDay, ...(query.keyName === undefined ? [] : [query.keyName])];
    const rows = this.database.prepare(`SELECT ${select} FROM daily_usage WHERE ${where}${grouped}`).all(...parameters) as UsageReportRow[];
    // Requests without a key are kept under the name '' (a primary key cannot hold NULL).
    for (const row of rows) if (row.key === '') row.key = null;
    return rows;
  }

  async spendByKey(sinceMs: number): Promise<Map<string, number>> {
    const firstDay = dayOf(sinceMs);
    const spend = new Map<string, number>();
    const add = (rows: unknown[]): void => {
      for (const { keyId, costUsd } of rows as Array<{ keyId: string; costUsd: number }>) spend.set(keyId, (spend.get(keyId) ?? 0) + costUsd);
    };
    const partialFirstDay = sinceMs > dayStartMs(firstDay) && detailDays(this.database).includes(firstDay);
    // Whole days from the roll-ups; a day cut by `sinceMs` from its detail (while it is kept).
    add(this.database.prepare(`SELECT key_id AS keyId, SUM(cost_usd) AS costUsd FROM daily_usage WHERE day ${partialFirstDay ? '>' : '>='} ? GROUP BY key_id`).all(firstDay));
    if (partialFirstDay) {
      add(this.database.prepare(`SELECT COALESCE(key_id, '') AS keyId, SUM(cost_usd) AS costUsd FROM ${detailTableName(firstDay)} WHERE started_at >= ? GROUP BY key_id`).all(sinceMs));
    }
    return spend;
  }

  async dropDetailBefore(day: string): Promise<string[]> {
    const dropped = detailDays(this.database).filter((kept) => kept < day);
    for (const old of dropped) {
      this.database.exec(`DROP TABLE IF EXISTS ${detailTableName(old)}`);
      this.detailInserts.delete(old);
    }
    return dropped;
  }

  async detailDays(): Promise<string[]> {
    return detailDays(this.database);
  }

  health(): StoreHealth {
    if (this.readonly) return { writable: false, reason: 'the usage database was opened read-only' };
    return this.lastWriteError === undefined ? { writable: true } : { writable: false, reason: this.lastWriteError };
  }

  async close(): Promise<void> {
    if (this.database.open) this.database.close();
  }

  /** The prepared INSERT into a day's table, the table created on the day's first record. */
  private detailInsert(day: string): Database.Statement {
    let insert = this.detailInserts.get(day);
    if (insert === undefined) {
      createDetailTable(this.database, day);
      insert = this.database.prepare(detailInsertSql(day));
      this.detailInserts.set(day, insert);
    }
    return insert;
  }
}

const TOTALS = [
  'COALESCE(SUM(requests), 0) AS requests',
  'COALESCE(SUM(prompt_tokens), 0) AS promptTokens',
  'COALESCE(SUM(completion_tokens), 0) AS completionTokens',
  'COALESCE(SUM(reasoning_tokens), 0) AS reasoningTokens',
  'COALESCE(SUM(cached_tokens), 0) AS cachedTokens',
  'COALESCE(SUM(cost_usd), 0) AS costUsd',
];
