/**
 * `ollama-bridge usage`: spend and tokens from the usage database's daily totals (fast over
 * months), grouped by key, model (as served) and/or day, as a table with a totals row, one
 * JSON object, or CSV. Opens the database read-only: it works while the gateway writes.
 */
import { openLedgerReader } from './open-ledger-reader.js';
import { postgresLocation } from './postgres-usage-store.js';
import { dayOf, isDay } from './usage-days.js';
import { REPORT_GROUPINGS, type ReportGrouping, type UsageReportRow, type UsageTotals } from './usage-store.js';

export class UsageCommandError extends Error {}

type UsageFormat = 'table' | 'json' | 'csv';

export interface UsageCommandOptions {
  dbPath: string;
  /** The ledger in PostgreSQL (`--database-url`); read instead of the file when set. */
  databaseUrl?: string | undefined;
  /** First and last day, `YYYY-MM-DD` (UTC), both included; default the current month up to today. */
  since?: string;
  until?: string;
  /** Groupings as given: repeated and/or comma-separated (`--by key,model --by day`); default key and model. */
  by?: readonly string[];
  keyName?: string;
  format: UsageFormat;
  now?: number;
}

const DEFAULT_GROUPING: readonly ReportGrouping[] = ['key', 'model'];

/** The text to print. */
export async function usageCommand(options: UsageCommandOptions): Promise<string> {
  const today = dayOf(options.now ?? Date.now());
  const since = dayOption('--since', options.since) ?? `${today.slice(0, 8)}01`;
  const until = dayOption('--until', options.until) ?? today;
  if (since > until) throw new UsageCommandError(`--since ${since} is after --until ${until}`);
  const by = groupingOption(options.by);
  let store;
  try {
    store = await openLedgerReader(options);
  } catch (error) {
    throw new UsageCommandError((error as Error).message);
  }
  if (store === undefined) {
    throw new UsageCommandError(`no usage database at ${options.dbPath}: the gateway creates it on its first start with usage recording on (the default); name another with --usage-db (env USAGE_DB), or read PostgreSQL with --database-url (env DATABASE_URL)`);
  }
  let rows: UsageReportRow[];
  let total: UsageTotals;
  try {
    const query = { sinceDay: since, untilDay: until, ...(options.keyName === undefined ? {} : { keyName: options.keyName }) };
    rows = await store.report({ ...query, by });
    total = (await store.report({ ...query, by: [] }))[0]!;
  } catch (error) {
    throw new UsageCommandError(`cannot read the usage ledger: ${(error as Error).message}`);
  } finally {
    await store.close();
  }
  switch (options.format) {
    case 'json':
      return JSON.stringify({ since, until, rows: rows.map((row) => wireRow(row, by)), total: wireTotals(total) });
    case 'csv':
      return csv(rows, by);
    case 'table':
      return table(rows, total, by, { since, until, source: options.databaseUrl === undefined ? options.dbPath : `PostgreSQL at ${postgresLocation(options.databaseUrl)}`, keyName: options.keyName });
  }
}

export function dayOption(flag: string, value: string | undefined): string | undefined {
  if (value === undefined) return undefined;
  if (!isDay(value)) throw new UsageCommandError(`${flag} ${value} is not a day: use YYYY-MM-DD (UTC), e.g. ${dayOf(Date.now())}`);
  return value;
}

export function groupingOption(values: readonly string[] | undefined): ReportGrouping[] {
  const names = (values ?? []).flatMap((value) => value.split(',')).map((name) => name.trim()).filter((name) => name !== '');
  if (names.length === 0) return [...DEFAULT_GROUPING];
  const groupings: ReportGrouping[] = [];
  for (const name of names) {
    if (!(REPORT_GROUPINGS as readonly string[]).includes(name)) throw new UsageCommandError(`--by ${name}: group by ${REPORT_GROUPINGS.join(', ')} (one or more, e.g. --by key,day)`);
    if (!groupings.includes(name as ReportGrouping)) groupings.push(name as ReportGrouping);
  }
  return groupings;
}

/** Costs are sums of floating-point figures: nine decimals (a billionth of a dollar) say them exactly enough. */
export function usd(value: number): number {
  return Number(value.toFixed(9));
}

function wireTotals(totals: UsageTotals): Record<string, number> {
  return {
    requests: totals.requests,
    prompt_tokens: totals.promptTokens,
    completion_tokens: totals.completionTokens,
    reasoning_tokens: totals.reasoningTokens,
    cached_tokens: totals.cachedTokens,
    cost_usd: usd(totals.costUsd),
  };
}

type WireValue = string | number | null | undefined;

function wireRow(row: UsageReportRow, by: readonly ReportGrouping[]): Record<string, WireValue> {
  return { ...Object.fromEntries(by.map((grouping) => [grouping, row[grouping]])), ...wireTotals(row) };
}

export function csv(rows: readonly UsageReportRow[], by: readonly ReportGrouping[]): string {
  const header = [...by, 'requests', 'prompt_tokens', 'completion_tokens', 'reasoning_tokens', 'cached_tokens', 'cost_usd'];
  const lines = rows.map((row) => Object.values(wireRow(row, by)).map((value) => csvField(value)).join(','));
  return [header.join(','), ...lines].join('\n');
}

/** RFC 4180: a field with a comma, quote or line break is quoted, its quotes doubled; no key is an empty field. */
function csvField(value: WireValue): string {
  const text = value === null || value === undefined ? '' : String(value);
  return /[",\r\n]/.test(text) ? `"${text.replaceAll('"', '""')}"` : text;
}

const HEADINGS: Record<ReportGrouping, string> = { key: 'KEY', model: 'MODEL', day: 'DAY' };

function table(rows: readonly UsageReportRow[], total: UsageTotals, by: readonly ReportGrouping[], facts: { since: string; until: string; source: string; keyName: string | undefined }): string {
  const numbers = (totals: UsageTotals): string[] => [String(totals.requests), String(totals.promptTokens), String(totals.completionTokens), totals.costUsd.toFixed(6)];
  const body = rows.map((row) => [...by.map((grouping) => (grouping === 'key' && row.key === null ? '(no key)' : String(row[grouping]))), ...numbers(row)]);
  const lines = [
    [...by.map((grouping) => HEADINGS[grouping]), 'REQUESTS', 'PROMPT TOKENS', 'COMPLETION TOKENS', 'COST (USD)'],
    ...body,
    [...(by.length === 0 ? [] : ['TOTAL', ...Array<string>(by.length - 1).fill('')]), ...numbers(total)],
  ];
  const widths = lines[0]!.map((_, column) => Math.max(...lines.map((line) => line[column]!.length)));
  const render = (line: string[]): string => line.map((cell, column) => (column < by.length ? cell.padEnd(widths[column]!) : cell.padStart(widths[column]!))).join('  ').trimEnd();
  const title = `Usage from ${facts.since} to ${facts.until} (UTC days)${facts.keyName === undefined ? '' : ` for key ${facts.keyName}`}, from ${facts.source}`;
  return [title, '', ...lines.map(render), ...(rows.length === 0 ? ['', 'no requests recorded in these days'] : [])].join('\n');
}
