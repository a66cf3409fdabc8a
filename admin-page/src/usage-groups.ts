/** A usage report's day rows, regrouped for the charts (a series per key or model) and the totals table. */
import type { Totals, UsageReport, UsageRow } from '../../src/admin/api-types';

export type GroupBy = 'key' | 'model';

/** At most this many lines per chart; the rest are summed as "others". */
const MOST_SERIES = 6;

export function groupName(row: UsageRow, by: GroupBy): string {
  if (by === 'model') return row.model ?? '(unknown)';
  return row.key ?? '(no key)';
}

function emptyTotals(): Totals {
  return { requests: 0, promptTokens: 0, completionTokens: 0, reasoningTokens: 0, cachedTokens: 0, costUsd: 0 };
}

function add(into: Totals, row: Totals): void {
  into.requests += row.requests;
  into.promptTokens += row.promptTokens;
  into.completionTokens += row.completionTokens;
  into.reasoningTokens += row.reasoningTokens;
  into.cachedTokens += row.cachedTokens;
  into.costUsd += row.costUsd;
}

/** Each group's totals over the range, the costliest first. */
export function totalsByGroup(report: UsageReport, by: GroupBy): { name: string; totals: Totals }[] {
  const groups = new Map<string, Totals>();
  for (const row of report.rows) {
    const name = groupName(row, by);
    let totals = groups.get(name);
    if (totals === undefined) groups.set(name, (totals = emptyTotals()));
    add(totals, row);
  }
  return [...groups].map(([name, totals]) => ({ name, totals })).sort((a, b) => b.totals.costUsd - a.totals.costUsd || b.totals.requests - a.totals.requests);
}

/** Every UTC day from `since` to `until`, both included. */
export function daysBetween(since: string, until: string): string[] {
  const days: string[] = [];
  const end = Date.parse(`${until}T00:00:00Z`);
  for (let time = Date.parse(`${since}T00:00:00Z`); time <= end && days.length < 3660; time += 86_400_000) {
    days.push(new Date(time).toISOString().slice(0, 10));
  }
  return days;
}

/** A series per group (the biggest ones, then "others"): the value of each day. */
export function seriesPerDay(report: UsageReport, by: GroupBy, days: string[], value: (row: Totals) => number): { label: string; values: number[] }[] {
  const ranked = totalsByGroup(report, by).map((group) => group.name);
  const named = new Set(ranked.slice(0, ranked.length > MOST_SERIES ? MOST_SERIES - 1 : MOST_SERIES));
  const index = new Map(days.map((day, position) => [day, position]));
  const series = new Map<string, number[]>();
  for (const row of report.rows) {
    const position = row.day === undefined ? undefined : index.get(row.day);
    if (position === undefined) continue;
    const name = groupName(row, by);
    const label = named.has(name) ? name : 'others';
    let values = series.get(label);
    if (values === undefined) series.set(label, (values = days.map(() => 0)));
    values[position] = (values[position] ?? 0) + value(row);
  }
  return [...series].map(([label, values]) => ({ label, values })).sort((a, b) => (a.label === 'others' ? 1 : b.label === 'others' ? -1 : ranked.indexOf(a.label) - ranked.indexOf(b.label)));
}
