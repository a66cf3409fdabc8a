/**
 * `ollama-bridge keys create|list|revoke`: manage the hashed keys file. Each returns the text
 * to print; `create` puts the new key alone on the last line (shown once, never stored);
 * `list` shows each key's budget and what it has spent in the budget's current period.
 */
import { existsSync } from 'node:fs';
import { KEY_SCOPES, createKey, isExpired, type KeyRecord, type KeyScope } from './api-keys.js';
import { readKeysFile, writeKeysFile } from './keys-file.js';
import { budgetOf, type Budget } from './budgets.js';
import { BUDGET_PERIODS, DEFAULT_BUDGET_PERIOD, periodStart, type BudgetPeriod } from '../usage/budget-period.js';
import { formatUsd } from '../usage/format-usd.js';
import type { SpendSince } from '../usage/key-spend.js';
import { openSqliteUsageStore } from '../usage/ledger/sqlite-usage-store.js';
import type { UsageStore } from '../usage/ledger/usage-store.js';

export const DEFAULT_KEYS_FILE = 'ollama-bridge-keys.json';

export class KeysCommandError extends Error {}

export interface CreateKeyOptions {
  keysFile: string;
  name: string;
  models?: string[];
  expires?: string;
  /** This key's own limits (overriding --rate-limit-rpm/--rate-limit-tpm). */
  requestsPerMinute?: number;
  tokensPerMinute?: number;
  /** Extra rights (`--scopes admin`, or `--admin`). */
  scopes?: string[];
  /** This key's spending budget in USD per period (overriding --budget-usd). */
  budgetUsd?: number;
  budgetPeriod?: string;
  now?: Date;
}

export function createKeyCommand(options: CreateKeyOptions): string {
  const name = options.name.trim();
  if (name === '') throw new KeysCommandError('--name must not be empty');
  const records = readKeysFile(options.keysFile);
  if (records.some((record) => record.name === name)) throw new KeysCommandError(`a key named "${name}" already exists; revoke it first or choose another name`);
  let expiresAt: string | undefined;
  if (options.expires !== undefined) {
    const time = Date.parse(options.expires);
    if (Number.isNaN(time)) throw new KeysCommandError(`--expires "${options.expires}" is not a date (use e.g. 2027-01-31 or 2027-01-31T12:00:00Z)`);
    if (time <= (options.now ?? new Date()).getTime()) throw new KeysCommandError(`--expires ${options.expires} is in the past`);
    expiresAt = new Date(time).toISOString();
  }
  const models = options.models?.map((model) => model.trim()).filter((model) => model !== '');
  const scopes = scopesFrom(options.scopes ?? []);
  const { key, record } = createKey({ name, scopes, ...(models === undefined ? {} : { models }), ...(expiresAt === undefined ? {} : { expiresAt }), ...(options.now === undefined ? {} : { now: options.now }) });
  for (const [field, value, flag] of [['requestsPerMinute', options.requestsPerMinute, '--rpm'], ['tokensPerMinute', options.tokensPerMinute, '--tpm']] as const) {
    if (value === undefined) continue;
    if (!Number.isInteger(value) || value <= 0) throw new KeysCommandError(`${flag} must be a positive whole number`);
    record[field] = value;
  }
  Object.assign(record, budgetFrom(options.budgetUsd, options.budgetPeriod));
  writeKeysFile(options.keysFile, [...records, record]);
  const limits = [record.requestsPerMinute && `${record.requestsPerMinute} requests/min`, record.tokensPerMinute && `${record.tokensPerMinute} tokens/min`].filter(Boolean).join(', ');
  return [
    `created key ${record.id} ("${record.name}") in ${options.keysFile}`,
    `models: ${record.models?.join(', ') ?? 'all served models'}; expires: ${record.expiresAt ?? 'never'}; limits: ${limits || 'the defaults'}; ` +
      `budget: ${record.budgetUsd === undefined ? 'the default' : budgetText(record.budgetUsd, record.budgetPeriod)}; scopes: ${record.scopes?.join(', ') ?? 'none (no model management)'}`,
    'the key is shown once, below; only its hash is stored:',
    key,
  ].join('\n');
}

export interface ListKeysOptions {
  now?: Date;
  /** The budget of keys without their own (`--budget-usd`, `--budget-period`). */
  defaultBudget?: Budget;
  /** Spend per key from the ledger; without it the SPENT column shows "-". */
  spendSince?: SpendSince;
}

export function listKeysCommand(keysFile: string, options: ListKeysOptions = {}): string {
  const now = options.now ?? new Date();
  const records = readKeysFile(keysFile);
  if (records.length === 0) return `no keys in ${keysFile}`;
  const spendInPeriod = spendReader(options.spendSince, now.getTime());
  const rows = records.map((record) => {
    const budget = budgetOf(record, options.defaultBudget);
    return [
      record.id,
      record.name,
      record.models?.join(',') ?? '*',
      record.createdAt.slice(0, 10),
      expiryCell(record.expiresAt, isExpired(record, now)),
      budget === undefined ? '-' : `${budgetText(budget.usd, budget.period)}${record.budgetUsd === undefined ? ' (default)' : ''}`,
      spendInPeriod === undefined ? '-' : formatUsd(spendInPeriod(record.id, budget?.period ?? DEFAULT_BUDGET_PERIOD)),
      record.scopes?.join(',') ?? '-',
    ];
  });
  const header = ['ID', 'NAME', 'MODELS', 'CREATED', 'EXPIRES', 'BUDGET', 'SPENT', 'SCOPES'];
  const widths = header.map((title, column) => Math.max(title.length, ...rows.map((row) => row[column]!.length)));
  return [header, ...rows].map((row) => row.map((cell, column) => cell.padEnd(widths[column]!)).join('  ').trimEnd()).join('\n');
}

/**
 * `keys list` with each key's spend read from the usage database (read-only: the gateway may be
 * writing it). No database file: the SPENT column shows "-".
 */
export function listKeysWithLedger(keysFile: string, usageDb: string, options: Omit<ListKeysOptions, 'spendSince'> = {}): string {
  if (!existsSync(usageDb)) return listKeysCommand(keysFile, options);
  let store: UsageStore;
  try {
    store = openSqliteUsageStore(usageDb, { readonly: true });
  } catch (error) {
    throw new KeysCommandError(`${(error as Error).message}; name the usage database with --usage-db`);
  }
  try {
    return listKeysCommand(keysFile, { ...options, spendSince: (sinceMs) => store.spendByKey(sinceMs) });
  } finally {
    store.close();
  }
}

/** A key's spend in the current period, one ledger query per period. */
function spendReader(spendSince: SpendSince | undefined, nowMs: number): ((keyId: string, period: BudgetPeriod) => number) | undefined {
  if (spendSince === undefined) return undefined;
  const byPeriod = new Map<BudgetPeriod, ReadonlyMap<string, number>>();
  return (keyId, period) => {
    let spend = byPeriod.get(period);
    if (spend === undefined) {
      spend = spendSince(periodStart(period, nowMs));
      byPeriod.set(period, spend);
    }
    return spend.get(keyId) ?? 0;
  };
}

function expiryCell(expiresAt: string | undefined, expired: boolean): string {
  if (expiresAt === undefined) return 'never';
  if (Number.isNaN(Date.parse(expiresAt))) return 'not a date (refused)';
  return `${expiresAt.slice(0, 10)}${expired ? ' (expired)' : ''}`;
}

/** `--budget-usd N [--budget-period P]` as key record fields; the period is always written (default month). */
function budgetFrom(usd: number | undefined, period: string | undefined): Pick<KeyRecord, 'budgetUsd' | 'budgetPeriod'> {
  if (usd === undefined) {
    if (period !== undefined) throw new KeysCommandError('--budget-period needs --budget-usd');
    return {};
  }
  if (!Number.isFinite(usd) || usd <= 0) throw new KeysCommandError('--budget-usd must be a positive amount in USD, e.g. 10 or 2.50');
  const budgetPeriod = period ?? DEFAULT_BUDGET_PERIOD;
  if (!(BUDGET_PERIODS as readonly string[]).includes(budgetPeriod)) throw new KeysCommandError(`--budget-period "${budgetPeriod}" is not one of ${BUDGET_PERIODS.join(', ')}`);
  return { budgetUsd: usd, budgetPeriod: budgetPeriod as BudgetPeriod };
}

/** `$10.00/month`, `$50.00 total`. */
function budgetText(usd: number, period: BudgetPeriod = DEFAULT_BUDGET_PERIOD): string {
  return period === 'total' ? `${formatUsd(usd)} total` : `${formatUsd(usd)}/${period}`;
}

/** Validates scope names (comma-separated values allowed), without duplicates. */
function scopesFrom(values: readonly string[]): KeyScope[] {
  const scopes = new Set<KeyScope>();
  for (const value of values.flatMap((entry) => entry.split(','))) {
    const scope = value.trim();
    if (scope === '') continue;
    if (!(KEY_SCOPES as readonly string[]).includes(scope)) throw new KeysCommandError(`unknown scope "${scope}"; scopes: ${KEY_SCOPES.join(', ')}`);
    scopes.add(scope as KeyScope);
  }
  return [...scopes];
}

export function revokeKeyCommand(keysFile: string, idOrName: string): string {
  const records = readKeysFile(keysFile);
  const matches = records.filter((record) => record.id === idOrName || record.name === idOrName);
  if (matches.length === 0) throw new KeysCommandError(`no key with id or name "${idOrName}" in ${keysFile}`);
  if (matches.length > 1) throw new KeysCommandError(`"${idOrName}" names several keys; use the id`);
  writeKeysFile(keysFile, records.filter((record) => record !== matches[0]));
  return `revoked key ${matches[0]!.id} ("${matches[0]!.name}"); a running gateway stops accepting it within a second`;
}
