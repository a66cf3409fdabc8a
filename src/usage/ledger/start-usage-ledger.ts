/**
 * The ledger as the gateway runs it: the store opened and subscribed to every answered
 * request's record; undefined with `--no-usage`. PostgreSQL (`--database-url`) when set, else
 * the SQLite file. A SQLite file that cannot be opened is a start-up error (with what to
 * change); a PostgreSQL that does not answer is not: the gateway serves, the ledger holds its
 * records (up to its bound) and writes them when the server answers.
 */
import type { Config } from '#schemas/config.js';
import { GatewayError } from '../../errors.js';
import type { UsageEvents } from '../usage-record.js';
import { openPostgresUsageStore, postgresLocation } from './postgres-usage-store.js';
import { openSqliteUsageStore, UsageStoreError } from './sqlite-usage-store.js';
import { usageDbPath } from './usage-db-path.js';
import { UsageLedger, type LedgerLog } from './usage-ledger.js';
import type { UsageStore } from './usage-store.js';

export async function startUsageLedger(config: Config, usageEvents: UsageEvents, log: LedgerLog): Promise<UsageLedger | undefined> {
  if (!config.USAGE) return undefined;
  const store = config.DATABASE_URL === undefined ? openSqlite(config) : await openPostgres(config.DATABASE_URL, log);
  const ledger = new UsageLedger({ store, retentionDays: config.USAGE_RETENTION_DAYS, log });
  usageEvents.subscribe((record) => ledger.add(record));
  return ledger;
}

function openSqlite(config: Config): UsageStore {
  try {
    return openSqliteUsageStore(usageDbPath(config.USAGE_DB));
  } catch (error) {
    throw new GatewayError('CONFIG_INVALID', `${(error as Error).message}; choose another file with --usage-db (USAGE_DB), or turn usage recording off with --no-usage (USAGE=false)`, { cause: error });
  }
}

async function openPostgres(url: string, log: LedgerLog): Promise<UsageStore> {
  const store = openPostgresUsageStore(url);
  try {
    await store.ready();
    log.info({ database: postgresLocation(url) }, 'usage ledger: PostgreSQL');
  } catch (error) {
    // A schema from a newer gateway is a setting to change; a server that does not answer is a passing fault.
    if (error instanceof UsageStoreError) {
      await store.close();
      throw new GatewayError('CONFIG_INVALID', `${error.message}; point --database-url (DATABASE_URL) at another database, or run the newer ollama-bridge`, { cause: error });
    }
    log.error({ err: error, database: postgresLocation(url) }, 'usage ledger: PostgreSQL does not answer; serving anyway, records are held in memory and written when it does');
  }
  return store;
}
