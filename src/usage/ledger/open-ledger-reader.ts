/**
 * The usage store a command reads (`usage`, `keys list`), read-only: PostgreSQL when a database
 * URL is given, else the SQLite file (undefined when it does not exist yet). Errors say which
 * store and what to change.
 */
import { openPostgresUsageStore, postgresErrorText, postgresLocation } from './postgres-usage-store.js';
import { openSqliteUsageStore, UsageStoreError } from './sqlite-usage-store.js';
import type { UsageStore } from './usage-store.js';
import { existsSync } from 'node:fs';

export interface LedgerLocation {
  /** The SQLite file (`--usage-db`). */
  dbPath: string;
  /** PostgreSQL (`--database-url`); wins over the file when set. */
  databaseUrl?: string | undefined;
}

/** The store, checked (PostgreSQL answered and holds a ledger); undefined when the SQLite file does not exist. */
export async function openLedgerReader(location: LedgerLocation): Promise<UsageStore | undefined> {
  if (location.databaseUrl !== undefined) {
    const store = openPostgresUsageStore(location.databaseUrl, { readonly: true, poolSize: 1 });
    try {
      await store.ready();
    } catch (error) {
      await store.close();
      if (error instanceof UsageStoreError) throw error;
      throw new UsageStoreError(`cannot read the usage ledger in PostgreSQL at ${postgresLocation(location.databaseUrl)}: ${postgresErrorText(error)}`, { cause: error });
    }
    return store;
  }
  if (!existsSync(location.dbPath)) return undefined;
  return openSqliteUsageStore(location.dbPath, { readonly: true });
}
