/**
 * Budget periods on the UTC calendar: a day from midnight, a week from Monday's midnight, a
 * month from the 1st; `total` never ends.
 */
export const BUDGET_PERIODS = ['day', 'week', 'month', 'total'] as const;
export type BudgetPeriod = (typeof BUDGET_PERIODS)[number];

export const DEFAULT_BUDGET_PERIOD: BudgetPeriod = 'month';

const DAY_MS = 86_400_000;

/** When the period holding `nowMs` began (Unix ms); 0 for `total`. */
export function periodStart(period: BudgetPeriod, nowMs: number): number {
  const date = new Date(nowMs);
  switch (period) {
    case 'day':
      return Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate());
    case 'week': {
      const daysSinceMonday = (date.getUTCDay() + 6) % 7;
      return Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), date.getUTCDate()) - daysSinceMonday * DAY_MS;
    }
    case 'month':
      return Date.UTC(date.getUTCFullYear(), date.getUTCMonth(), 1);
    case 'total':
      return 0;
  }
}

/** When the period holding `nowMs` ends and the next begins (Unix ms); Infinity for `total`. */
export function periodEnd(period: BudgetPeriod, nowMs: number): number {
  const start = periodStart(period, nowMs);
  switch (period) {
    case 'day':
      return start + DAY_MS;
    case 'week':
      return start + 7 * DAY_MS;
    case 'month': {
      const date = new Date(start);
      return Date.UTC(date.getUTCFullYear(), date.getUTCMonth() + 1, 1);
    }
    case 'total':
      return Number.POSITIVE_INFINITY;
  }
}

/** "daily", "weekly", "monthly", "total": how a message names a period's budget. */
export function periodAdjective(period: BudgetPeriod): string {
  return period === 'total' ? 'total' : period === 'day' ? 'daily' : `${period}ly`;
}
