/**
 * `ollama-bridge keys create|list|revoke`: manage the hashed keys file. Each returns the text
 * to print; `create` puts the new key alone on the last line (shown once, never stored);
 * `list` shows each key's budget and what it has spent in the budget's current period.
 */
import { createKey, isExpired } from './api-keys.js';
import { KeyFieldError, keyBudget, keyExpiry, keyLimit, keyModels, keyName, keyScopes } from './key-fields.js';
import { readKeysFile, writeKeysFile } from './keys-file.js';
import { budgetOf, type Budget } from './budgets.js';
import { BUDGET_PERIODS, DEFAULT_BUDGET_PERIOD, periodStart, type BudgetPeriod } from '../usage/budget-period.js';
import { formatUsd } from '../usage/format-usd.js';
import type { SpendSince } from '../usage/key-spend.js';
import { openLedgerReader, type LedgerLocation } from '../usage/ledger/open-ledger-reader.js';
import type { UsageStore } from '../usage/ledger/usage-store.js';

export const DEFAULT_KEYS_FILE = 'ollama-bridge-keys.json';

/** What the keys commands refuse (a field's rule, a missing key), printed without a stack. */
export { KeyFieldError as KeysCommandError };

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
  const records = readKeysFile(options.keysFile);
  const name = keyName(options.name, '--name', records);
  const now = options.now ?? new Date();
  const expiresAt = options.expires === undefined ? undefined : keyExpiry(options.expires, '--expires', now);
  const models = options.models === undefined ? undefined : keyModels(options.models);
  const scopes = keyScopes(options.scopes ?? []);
  const { key, record } = createKey({ name, scopes, now, ...(models === undefined ? {} : { models }), ...(expiresAt === undefined ? {} : { expiresAt }) });
  if (options.requestsPerMinute !== undefined) record.requestsPerMinute = keyLimit(options.requestsPerMinute, '--rpm');
  if (options.tokensPerMinute !== undefined) record.tokensPerMinute = keyLimit(options.tokensPerMinute, '--tpm');
  Object.assign(record, keyBudget(options.budgetUsd, options.budgetPeriod, { usd: '--budget-usd', period: '--budget-period' }));
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
 * `keys list` with each key's spend read from the usage ledger (read-only: the gateway may be
 * writing it): PostgreSQL when a database URL is given, else the SQLite file. No database
 * file: the SPENT column shows "-".
 */
export async function listKeysWithLedger(keysFile: string, ledger: LedgerLocation, options: Omit<ListKeysOptions, 'spendSince'> = {}): Promise<string> {
  let store: UsageStore | undefined;
  try {
    store = await openLedgerReader(ledger);
  } catch (error) {
    throw new KeyFieldError(`${(error as Error).message}; name the usage database with --usage-db or --database-url`);
  }
  if (store === undefined) return listKeysCommand(keysFile, options);
  try {
    const now = options.now ?? new Date();
    // Every period's spend read before the (synchronous) table is drawn.
    const spends = new Map<number, ReadonlyMap<string, number>>();
    for (const period of BUDGET_PERIODS) {
      const since = periodStart(period, now.getTime());
      if (!spends.has(since)) spends.set(since, await store.spendByKey(since));
    }
    return listKeysCommand(keysFile, { ...options, now, spendSince: (sinceMs) => spends.get(sinceMs) ?? new Map() });
  } finally {
    await store.close();
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

/** `$10.00/month`, `$50.00 total`. */
function budgetText(usd: number, period: BudgetPeriod = DEFAULT_BUDGET_PERIOD): string {
  return period === 'total' ? `${formatUsd(usd)} total` : `${formatUsd(usd)}/${period}`;
}

export function revokeKeyCommand(keysFile: string, idOrName: string): string {
  const records = readKeysFile(keysFile);
  const matches = records.filter((record) => record.id === idOrName || record.name === idOrName);
  if (matches.length === 0) throw new KeyFieldError(`no key with id or name "${idOrName}" in ${keysFile}`);
  if (matches.length > 1) throw new KeyFieldError(`"${idOrName}" names several keys; use the id`);
  writeKeysFile(keysFile, records.filter((record) => record !== matches[0]));
  return `revoked key ${matches[0]!.id} ("${matches[0]!.name}"); a running gateway stops accepting it within a second`;
}
