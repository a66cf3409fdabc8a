/**
 * Request detail: one table per UTC day, `request_detail_YYYYMMDD`, so that retention drops a
 * day whole (DROP TABLE frees its pages in one step; a DELETE of a day's rows would rewrite
 * every row and index page it touches, holding the write lock while it runs). Every field of a
 * UsageRecord, never the prompt or the answer.
 */
import type Database from 'better-sqlite3';
import type { UsageRecord } from '../usage-record.js';

const PREFIX = 'request_detail_';

type ColumnValue = string | number | null;

/** A column of a detail table: its SQL type, whether a record must fill it, and how it does. */
export interface DetailColumn {
  name: string;
  kind: 'INTEGER' | 'REAL' | 'TEXT';
  required: boolean;
  value: (record: UsageRecord) => ColumnValue;
}

const column = (name: string, kind: DetailColumn['kind'], required: boolean, value: DetailColumn['value']): DetailColumn => ({ name, kind, required, value });

/** Booleans as 0/1, absent fields as NULL. In this order in every store (PostgreSQL's too). */
export const DETAIL_COLUMNS: readonly DetailColumn[] = [
  column('started_at', 'INTEGER', true, (record) => record.startedAt),
  column('key_id', 'TEXT', false, (record) => record.keyId ?? null),
  column('key_name', 'TEXT', false, (record) => record.keyName ?? null),
  column('client_address', 'TEXT', true, (record) => record.clientAddress),
  column('method', 'TEXT', true, (record) => record.method),
  column('route', 'TEXT', true, (record) => record.route),
  column('model_requested', 'TEXT', false, (record) => record.modelRequested ?? null),
  column('model_served', 'TEXT', false, (record) => record.modelServed ?? null),
  column('backend', 'TEXT', false, (record) => record.backend ?? null),
  column('status', 'INTEGER', true, (record) => record.status),
  column('outcome', 'TEXT', true, (record) => record.outcome),
  column('finish_reason', 'TEXT', false, (record) => record.finishReason ?? null),
  column('error_code', 'TEXT', false, (record) => record.errorCode ?? null),
  column('prompt_tokens', 'INTEGER', true, (record) => record.promptTokens),
  column('completion_tokens', 'INTEGER', true, (record) => record.completionTokens),
  column('reasoning_tokens', 'INTEGER', false, (record) => record.reasoningTokens ?? null),
  column('cached_tokens', 'INTEGER', false, (record) => record.cachedTokens ?? null),
  column('tokens_estimated', 'INTEGER', true, (record) => (record.tokensEstimated ? 1 : 0)),
  column('cost_usd', 'REAL', true, (record) => record.costUsd),
  column('generation_id', 'TEXT', false, (record) => record.generationId ?? null),
  column('time_to_first_token_ms', 'REAL', false, (record) => record.timeToFirstTokenMs ?? null),
  column('duration_ms', 'REAL', true, (record) => record.durationMs),
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
  const columns = DETAIL_COLUMNS.map(({ name, kind, required }) => `${name} ${kind}${required ? ' NOT NULL' : ''}`).join(', ');
  database.exec(`CREATE TABLE IF NOT EXISTS ${detailTableName(day)} (${columns})`);
}

/** The INSERT of one record into a day's table, and the values it binds. */
export function detailInsertSql(day: string): string {
  return `INSERT INTO ${detailTableName(day)} (${DETAIL_COLUMNS.map(({ name }) => name).join(', ')}) VALUES (${DETAIL_COLUMNS.map(() => '?').join(', ')})`;
}

/**
 * The values of a record's row, or why it cannot be stored (a field of the wrong type, a
 * number that is not finite): such a record is a bug upstream of the ledger, and is skipped
 * rather than failing the batch it came in.
 */
export function detailValues(record: UsageRecord): ColumnValue[] | { problem: string } {
  const values: ColumnValue[] = [];
  for (const { name, kind, required, value } of DETAIL_COLUMNS) {
    const field = value(record);
    if (field === null || field === undefined) {
      if (required) return { problem: `${name} is missing` };
      values.push(null);
    } else if (kind === 'TEXT' ? typeof field !== 'string' : typeof field !== 'number' || !Number.isFinite(field)) {
      const found = kind !== 'TEXT' && typeof field === 'number' ? String(field) : `a ${typeof field}`;
      return { problem: `${name} is ${found}, not ${kind === 'TEXT' ? 'a text' : 'a finite number'}` };
    } else if (kind === 'TEXT' && (field as string).includes('\u0000')) {
      // PostgreSQL's text refuses NUL (and would fail the whole batch); a client can send one in a model name.
      return { problem: `${name} holds a NUL character` };
    } else if (kind === 'INTEGER' && !Number.isSafeInteger(field)) {
      // PostgreSQL's bigint columns refuse a fraction or one past their range (and would fail the whole batch).
      return { problem: `${name} is ${String(field)}, not a whole number up to 2^53` };
    } else {
      values.push(field);
    }
  }
  return values;
}
