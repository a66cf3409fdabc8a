/**
 * The rules for a key's fields, shared by `ollama-bridge keys create` and the admin page's key
 * editor. Each takes the name its caller knows the field by (`--rpm`, `requestsPerMinute`),
 * so the message speaks the caller's language. A broken rule throws KeyFieldError.
 */
import { KEY_SCOPES, type KeyRecord, type KeyScope } from './api-keys.js';
import { BUDGET_PERIODS, DEFAULT_BUDGET_PERIOD, type BudgetPeriod } from '../usage/budget-period.js';

export class KeyFieldError extends Error {}

/** The name is another key's (the admin API answers 409: it conflicts with what is there). */
export class KeyNameTakenError extends KeyFieldError {}

/** A trimmed, non-empty name that no other record has. */
export function keyName(name: string, label: string, others: readonly KeyRecord[]): string {
  const trimmed = name.trim();
  if (trimmed === '') throw new KeyFieldError(`${label} must not be empty`);
  if (others.some((record) => record.name === trimmed)) throw new KeyNameTakenError(`a key named "${trimmed}" already exists; revoke it first or choose another name`);
  return trimmed;
}

/** A date in the future, as an ISO date-time. */
export function keyExpiry(text: string, label: string, now: Date): string {
  const time = Date.parse(text);
  if (Number.isNaN(time)) throw new KeyFieldError(`${label} "${text}" is not a date (use e.g. 2027-01-31 or 2027-01-31T12:00:00Z)`);
  if (time <= now.getTime()) throw new KeyFieldError(`${label} ${text} is in the past`);
  return new Date(time).toISOString();
}

/** Model entries trimmed, the empty ones dropped. */
export function keyModels(entries: readonly string[]): string[] {
  return entries.map((model) => model.trim()).filter((model) => model !== '');
}

/** A requests- or tokens-per-minute limit: a positive whole number. */
export function keyLimit(value: number, label: string): number {
  if (!Number.isInteger(value) || value <= 0) throw new KeyFieldError(`${label} must be a positive whole number`);
  return value;
}

/** A budget in USD and its period as key record fields; the period is always written (default month). */
export function keyBudget(usd: number | undefined, period: string | undefined, labels: { usd: string; period: string }): Pick<KeyRecord, 'budgetUsd' | 'budgetPeriod'> {
  if (usd === undefined) {
    if (period !== undefined) throw new KeyFieldError(`${labels.period} needs ${labels.usd}`);
    return {};
  }
  if (!Number.isFinite(usd) || usd <= 0) throw new KeyFieldError(`${labels.usd} must be a positive amount in USD, e.g. 10 or 2.50`);
  const budgetPeriod = period ?? DEFAULT_BUDGET_PERIOD;
  if (!(BUDGET_PERIODS as readonly string[]).includes(budgetPeriod)) throw new KeyFieldError(`${labels.period} "${budgetPeriod}" is not one of ${BUDGET_PERIODS.join(', ')}`);
  return { budgetUsd: usd, budgetPeriod: budgetPeriod as BudgetPeriod };
}

/** Validates scope names (comma-separated values allowed), without duplicates. */
export function keyScopes(values: readonly string[]): KeyScope[] {
  const scopes = new Set<KeyScope>();
  for (const value of values.flatMap((entry) => entry.split(','))) {
    const scope = value.trim();
    if (scope === '') continue;
    if (!(KEY_SCOPES as readonly string[]).includes(scope)) throw new KeyFieldError(`unknown scope "${scope}"; scopes: ${KEY_SCOPES.join(', ')}`);
    scopes.add(scope as KeyScope);
  }
  return [...scopes];
}
