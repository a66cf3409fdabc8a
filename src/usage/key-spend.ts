/**
 * What each key has spent in its current budget period, in USD, for the budget check: seeded
 * from the ledger at start-up, then added to from each answered request's record. Kept for
 * every period at once (a key's period may change when the keys file is edited), each rolled
 * over at its calendar boundary. Without a ledger it holds this process's spend only.
 */
import { BUDGET_PERIODS, periodEnd, periodStart, type BudgetPeriod } from './budget-period.js';
import type { UsageRecord } from './usage-record.js';

/** Spend per key id since a time (Unix ms): the usage store's `spendByKey`. */
export type SpendSince = (sinceMs: number) => ReadonlyMap<string, number>;

/** Spend per key id since each of several times, read together: the ledger's `spendByKeySince`. */
export type SpendSinceEach = (sinceTimes: readonly number[]) => Promise<ReadonlyArray<ReadonlyMap<string, number>>>;

/** Whose spend a request without a key is (a gateway without keys has one budget for everyone). */
export const KEYLESS_SUBJECT = '';

interface PeriodSpend {
  /** When the period ends (Unix ms). */
  end: number;
  spentBySubject: Map<string, number>;
}

export class KeySpend {
  private readonly periods = new Map<BudgetPeriod, PeriodSpend>();

  constructor(private readonly now: () => number = Date.now) {}

  /**
   * Starts each period's figures from the ledger (spend recorded before, and by other
   * instances), replacing what is counted: the ledger's figures include every record taken so far.
   */
  async seed(spendSince: SpendSinceEach): Promise<void> {
    const now = this.now();
    const spends = await spendSince(BUDGET_PERIODS.map((period) => periodStart(period, now)));
    BUDGET_PERIODS.forEach((period, index) => {
      this.periods.set(period, { end: periodEnd(period, now), spentBySubject: new Map(spends[index]) });
    });
  }

  /** Adds an answered request's cost to its key (or to the keyless gateway's). */
  record(record: UsageRecord): void {
    if (!(record.costUsd > 0)) return;
    this.add(record.keyId ?? KEYLESS_SUBJECT, record.costUsd);
  }

  private add(subject: string, costUsd: number): void {
    for (const period of BUDGET_PERIODS) {
      const spent = this.current(period).spentBySubject;
      spent.set(subject, (spent.get(subject) ?? 0) + costUsd);
    }
  }

  /** USD spent by a key (or KEYLESS_SUBJECT) in the current period. */
  spent(subject: string, period: BudgetPeriod): number {
    return this.current(period).spentBySubject.get(subject) ?? 0;
  }

  /** When the current period ends (Unix ms; Infinity for `total`). */
  resetsAt(period: BudgetPeriod): number {
    return this.current(period).end;
  }

  /** The period now running; a new one starts from nothing. */
  private current(period: BudgetPeriod): PeriodSpend {
    const now = this.now();
    const known = this.periods.get(period);
    // Periods only move forward: a clock set back keeps the figures it has.
    if (known !== undefined && now < known.end) return known;
    const fresh = { end: periodEnd(period, now), spentBySubject: new Map<string, number>() };
    this.periods.set(period, fresh);
    return fresh;
  }
}
