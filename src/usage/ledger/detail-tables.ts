/**
 * Request detail: one table per UTC day, `request_detail_YYYYMMDD`, so that retention drops a
 * day whole (DROP TABLE frees its pages in one step; a DELETE of a day's rows would rewrite
 * every row and index page it touches, holding the write lock while it runs). Every field of a
 * UsageRecord, never the prompt or the answer.
 */
import type Database from 'better-sqlite3';
import type { UsageRecord } from '../usage-record.js';

const PREFIX = 'request_detail_';

/** The columns of a detail table and how a record fills each (booleans as 0/1, absent fields as NULL). */
const DETAIL_COLUMNS: ReadonlyArray<readonly [name: string, type: string, value: (record: UsageRecord) => string | number | null]> = [
  ['started_at', 'INTEGER NOT NULL', (record) => record.startedAt],
  ['key_id', 'TEXT', (record) => record.keyId ?? null],
  ['key_name', 'TEXT', (record) => record.keyName ?? null],
  ['client_address', 'TEXT NOT NULL', (record) => record.clientAddress],
  ['method', 'TEXT NOT NULL', (record) => record.method],
  ['route', 'TEXT NOT NULL', (record) => record.route],
  ['model_requested', 'TEXT', (record) => record.modelRequested ?? null],
  ['model_served', 'TEXT', (record) => record.modelServed ?? null],
  ['backend', 'TEXT', (record) => record.backend ?? null],
  ['status', 'INTEGER NOT NULL', (record) => record.status],
  ['outcome', 'TEXT NOT NULL', (record) => record.outcome],
  ['finish_reason', 'TEXT', (record) => record.finishReason ?? null],
  ['error_code', 'TEXT', (record) => record.errorCode ?? null],
  ['prompt_tokens', 'INTEGER NOT NULL', (record) => record.promptTokens],
  ['completion_tokens', 'INTEGER NOT NULL', (record) => record.completionTokens],
  ['reasoning_tokens', 'INTEGER', (record) => record.reasoningTokens ?? null],
  ['cached_tokens', 'INTEGER', (record) => record.cachedTokens ?? null],
  ['tokens_estimated', 'INTEGER NOT NULL', (record) => (record.tokensEstimated ? 1 : 0)],
  ['cost_usd', 'REAL NOT NULL', (record) => record.costUsd],
  ['generation_id', 'TEXT', (record) => record.generationId ?? null],
  ['time_to_first_token_ms', 'REAL', (record) => record.timeToFirstTokenMs ?? null],
  ['duration_ms', 'REAL NOT NULL', (record) => record.durationMs],
];

/** The detail table of a day (`2026-05-01` → `request_detail_20260501`). */
export function detailTableName(day: string): string {
  return `${PREFIX}${day.replaceAll('-', '')}`;
}

/** The days that have a detail table, oldest first. */
export function detailDays(database: Database.Database): string[] {
  const rows = database.prepare("SELECT name FROM sqlite_master WHERE type = 'table' AND name GLOB 'request_detail_[0-9]*' ORDER BY name").all() as Array<{ name: string }>;
  return rows.map(({ name }) => {
    const digits = name.slice(PREFIX.length);
    return `${digits.slice(0, 4)}-${digits.slice(4, 6)}-${digits.slice(6, 8)}`;
  });
}

export function createDetailTable(database: Database.Database, day: string): void {
  const columns = DETAIL_COLUMNS.map(([name, type]) => `${name} ${type}`).join(', ');
  database.exec(`CREATE TABLE IF NOT EXISTS ${detailTableName(day)} (${columns})`);
}

/** The INSERT of one record into a day's table, and the values it binds. */
export function detailInsertSql(day: string): string {
  return `INSERT INTO ${detailTableName(day)} (${DETAIL_COLUMNS.map(([name]) => name).join(', ')}) VALUES (${DETAIL_COLUMNS.map(() => '?').join(', ')})`;
}

export function detailValues(record: UsageRecord): Array<string | number | null> {
  return DETAIL_COLUMNS.map(([, , value]) => value(record));
}
