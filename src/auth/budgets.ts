/**
 * Spending budgets: a key's own (`budgetUsd`, `budgetPeriod` in the keys file) or the default
 * one (`--budget-usd`, `--budget-period`); on a gateway without keys the default is one budget
 * for everyone. A key whose spend in the period has reached its budget is refused (402) before
 * anything goes upstream; requests already running finish, so a budget is overshot by at most
 * what the requests in flight when it was reached cost.
 */
import type { Config } from '#schemas/config.js';
import type { KeyRecord } from './api-keys.js';
import { GatewayError } from '../errors.js';
import { DEFAULT_BUDGET_PERIOD, periodAdjective, type BudgetPeriod } from '../usage/budget-period.js';
import { formatUsd } from '../usage/format-usd.js';
import { KEYLESS_SUBJECT } from '../usage/key-spend.js';

/**
 * Spend per subject (a key id, or KEYLESS_SUBJECT) in a budget period: this process's
 * KeySpend, or spend shared by several gateways (shared-state/redis-spend.ts), which may
 * throw a GatewayError when it cannot say.
 */
export interface SpendReader {
  spent(subject: string, period: BudgetPeriod): number | Promise<number>;
  /** When the current period ends (Unix ms; Infinity for `total`). */
  resetsAt(period: BudgetPeriod): number;
}

export interface Budget {
  usd: number;
  period: BudgetPeriod;
}

/** The default budget (`--budget-usd`, `--budget-period`); undefined when it is 0. */
export function defaultBudgetFrom(config: Pick<Config, 'BUDGET_USD' | 'BUDGET_PERIOD'>): Budget | undefined {
  return config.BUDGET_USD > 0 ? { usd: config.BUDGET_USD, period: config.BUDGET_PERIOD } : undefined;
}

/** A key's budget: its own, else the default; undefined when neither is set. */
export function budgetOf(key: KeyRecord | undefined, defaultBudget: Budget | undefined): Budget | undefined {
  if (key?.budgetUsd !== undefined) return { usd: key.budgetUsd, period: key.budgetPeriod ?? DEFAULT_BUDGET_PERIOD };
  return defaultBudget;
}

export class Budgets {
  constructor(
    private readonly spend: SpendReader,
    /** For keys without their own, and for everyone on a gateway without keys. */
    readonly defaultBudget: Budget | undefined,
  ) {}

  /** The 402 for a key (undefined: the gateway without keys) whose budget is spent; undefined while it is not. */
  async refusal(key: KeyRecord | undefined): Promise<GatewayError | undefined> {
    const budget = budgetOf(key, this.defaultBudget);
    if (budget === undefined) return undefined;
    const spent = await this.spend.spent(key?.id ?? KEYLESS_SUBJECT, budget.period);
    if (spent < budget.usd) return undefined;
    const resetsAt = this.spend.resetsAt(budget.period);
    const who = key === undefined ? 'this gateway' : 'this API key';
    return new GatewayError(
      'BUDGET_EXHAUSTED',
      `budget spent: ${who} has spent ${formatUsd(spent)} of its ${periodAdjective(budget.period)} budget of ${formatUsd(budget.usd)}; ` +
        `resets: ${Number.isFinite(resetsAt) ? new Date(resetsAt).toISOString() : 'never'}`,
    );
  }
}
