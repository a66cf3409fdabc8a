/**
 * The budgets' spend seeded from the ledger at start-up: what every instance recorded in each
 * budget period. When the store does not answer (a PostgreSQL that is down), budgets count
 * this instance's spend from its start, and are seeded again after the ledger's next write
 * that goes through (then the store holds what was missed).
 */
import type { KeySpend } from '../key-spend.js';
import type { LedgerLog, UsageLedger } from './usage-ledger.js';

export async function seedKeySpend(keySpend: KeySpend, ledger: UsageLedger, log: LedgerLog): Promise<void> {
  const seed = (): Promise<void> => keySpend.seed((sinceTimes) => ledger.spendByKeySince(sinceTimes));
  try {
    await seed();
    return;
  } catch (error) {
    log.warn({ err: error }, 'budgets: the usage ledger did not answer; each key\'s spend counts this instance\'s requests until it does');
  }
  let seeding = false;
  const stop = ledger.onWrite(() => {
    if (seeding) return;
    seeding = true;
    seed().then(
      () => {
        stop();
        log.info({}, 'budgets: spend read from the usage ledger again');
      },
      () => {
        seeding = false;
      },
    );
  });
}
