/**
 * The ledger as the gateway runs it: the store opened (a start-up error when it cannot be, with
 * what to change), subscribed to every answered request's record; undefined with `--no-usage`.
 */
import type { Config } from '#schemas/config.js';
import { GatewayError } from '../../errors.js';
import type { UsageEvents } from '../usage-record.js';
import { openSqliteUsageStore } from './sqlite-usage-store.js';
import { usageDbPath } from './usage-db-path.js';
import { UsageLedger, type LedgerLog } from './usage-ledger.js';

export function startUsageLedger(config: Config, usageEvents: UsageEvents, log: LedgerLog): UsageLedger | undefined {
  if (!config.USAGE) return undefined;
  const path = usageDbPath(config.USAGE_DB);
  let store;
  try {
    store = openSqliteUsageStore(path);
  } catch (error) {
    throw new GatewayError('CONFIG_INVALID', `${(error as Error).message}; choose another file with --usage-db (USAGE_DB), or turn usage recording off with --no-usage (USAGE=false)`, { cause: error });
  }
  const ledger = new UsageLedger({ store, retentionDays: config.USAGE_RETENTION_DAYS, log });
  usageEvents.subscribe((record) => ledger.add(record));
  return ledger;
}
