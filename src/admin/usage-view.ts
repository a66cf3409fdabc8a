/**
 * The Usage view and the Overview's totals, from the usage ledger's daily totals: the same
 * query rules, rows and CSV as `ollama-bridge usage` (usage-command.ts). Default range: this
 * month up to today (UTC); default grouping: by day.
 */
import { GatewayError } from '../errors.js';
import { UsageCommandError, csv, dayOption, groupingOption, usd } from '../usage/ledger/usage-command.js';
import { dayOf } from '../usage/ledger/usage-days.js';
import type { UsageLedger } from '../usage/ledger/usage-ledger.js';
import type { ReportGrouping, UsageReportRow, UsageTotals } from '../usage/ledger/usage-store.js';
import type { Totals, UsageReport } from './api-types.js';

export const USAGE_OFF_MESSAGE = 'usage recording is off (--no-usage)';

export interface UsageQueryText {
  since?: string | undefined;
  until?: string | undefined;
  by?: string | undefined;
}

interface UsageQuery {
  since: string;
  until: string;
  by: ReportGrouping[];
}

const NO_TOTALS: Totals = { requests: 0, promptTokens: 0, completionTokens: 0, reasoningTokens: 0, cachedTokens: 0, costUsd: 0 };

export function usageQuery(text: UsageQueryText, now: number): UsageQuery {
  try {
    const today = dayOf(now);
    const since = dayOption('since', text.since) ?? `${today.slice(0, 8)}01`;
    const until = dayOption('until', text.until) ?? today;
    if (since > until) throw new UsageCommandError(`since ${since} is after until ${until}`);
    const by = text.by === undefined || text.by.trim() === '' ? ['day' as const] : groupingOption([text.by]);
    return { since, until, by };
  } catch (error) {
    if (error instanceof UsageCommandError) throw new GatewayError('BAD_REQUEST', error.message);
    throw error;
  }
}

export async function usageReport(ledger: UsageLedger, query: UsageQuery): Promise<UsageReport> {
  const range = { sinceDay: query.since, untilDay: query.until };
  const rows = await ledger.report({ ...range, by: query.by });
  return { since: query.since, until: query.until, by: query.by, rows: rows.map((row) => ({ ...row, costUsd: usd(row.costUsd) })), total: await totals(ledger, range.sinceDay, range.untilDay) };
}

/** The CSV `ollama-bridge usage --csv` prints, with its final line break. */
export async function usageCsv(ledger: UsageLedger, query: UsageQuery): Promise<string> {
  const rows: UsageReportRow[] = await ledger.report({ sinceDay: query.since, untilDay: query.until, by: query.by });
  return `${csv(rows, query.by)}\n`;
}

/** The totals of a range of days; none without a ledger. */
export async function totals(ledger: UsageLedger | undefined, sinceDay: string, untilDay: string): Promise<Totals> {
  if (ledger === undefined) return NO_TOTALS;
  const [row] = await ledger.report({ sinceDay, untilDay, by: [] });
  return row === undefined ? NO_TOTALS : wireTotals(row);
}

function wireTotals(row: UsageTotals): Totals {
  return {
    requests: row.requests,
    promptTokens: row.promptTokens,
    completionTokens: row.completionTokens,
    reasoningTokens: row.reasoningTokens,
    cachedTokens: row.cachedTokens,
    costUsd: usd(row.costUsd),
  };
}
