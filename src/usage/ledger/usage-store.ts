/**
 * Where answered requests are kept: every request's detail for a while, and per key × model ×
 * day totals for ever. SQLite (sqlite-usage-store.ts, one machine) and PostgreSQL
 * (postgres-usage-store.ts, shared by several instances) implement it.
 *
 * Asynchronous, as a networked store is (SQLite answers at once, behind promises): the ledger
 * calls `append` only from its flush, never on a request's path, and the budgets read
 * `spendByKey` at start-up. `health` is synchronous: it says what the last call found.
 */
import type { UsageRecord } from '../usage-record.js';

export const REPORT_GROUPINGS = ['key', 'model', 'day'] as const;
export type ReportGrouping = (typeof REPORT_GROUPINGS)[number];

export interface UsageReportQuery {
  /** First and last day included, `YYYY-MM-DD` (UTC). */
  sinceDay: string;
  untilDay: string;
  /** The fields rows are grouped by, in this order; none: one row of totals. */
  by: readonly ReportGrouping[];
  /** Only this key's requests (the key's name at the time of the request). */
  keyName?: string;
}

export interface UsageTotals {
  requests: number;
  promptTokens: number;
  completionTokens: number;
  reasoningTokens: number;
  cachedTokens: number;
  costUsd: number;
}

/** Totals for one group; only the fields of the grouping are set (`key` is null for requests without a key). */
export interface UsageReportRow extends UsageTotals {
  key?: string | null;
  model?: string;
  day?: string;
}

export interface StoreHealth {
  writable: boolean;
  /** Why not, when not (never a secret: the store's own error text). */
  reason?: string;
}

/** A record the store could not keep, and why (never its content beyond a field's name and type). */
export interface RejectedRecord {
  record: UsageRecord;
  problem: string;
}

export interface UsageStore {
  /**
   * Writes records in one transaction: their detail and their days' totals, or none of it
   * (then it throws: the store is failing). A record whose fields cannot be stored is skipped
   * and returned, and the others are written.
   */
  append(records: readonly UsageRecord[]): Promise<RejectedRecord[]>;
  /** Totals from the daily roll-ups (fast over months). */
  report(query: UsageReportQuery): Promise<UsageReportRow[]>;
  /** USD spent per key id since a time (Unix ms); requests without a key under ''. */
  spendByKey(sinceMs: number): Promise<Map<string, number>>;
  /** Drops the detail of every day before `day` (`YYYY-MM-DD`), whole days at a time; totals stay. Returns the days dropped. */
  dropDetailBefore(day: string): Promise<string[]>;
  /** The days that still have detail, oldest first. */
  detailDays(): Promise<string[]>;
  /** Whether the last write went through (a store opened read-only never writes); from cached state, no query. */
  health(): StoreHealth;
  close(): Promise<void>;
}
