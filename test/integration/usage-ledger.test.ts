/**
 * The ledger in the running gateway: the database opened at start-up (or a start-up error
 * saying what to change), every record of `app.usageEvents` written by the flush, the last
 * ones when the app closes, nothing at all with usage off.
 */
import { existsSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openSqliteUsageStore } from '../../src/usage/ledger/sqlite-usage-store.js';
import { startFakeOpenRouter, type FakeOpenRouter } from '../fakes/fake-openrouter.js';
import { startGateway } from '../helpers/gateway.js';
import { scratchDir, usageRecord } from '../helpers/usage-records.js';

let fake: FakeOpenRouter;
let scratch: ReturnType<typeof scratchDir>;

beforeAll(async () => {
  fake = await startFakeOpenRouter();
  scratch = scratchDir();
});
afterAll(async () => {
  await fake?.close();
  scratch.remove();
});

const requestsIn = (path: string): number => {
  const store = openSqliteUsageStore(path, { readonly: true });
  try {
    return store.report({ sinceDay: '2026-05-01', untilDay: '2026-05-31', by: [] })[0]!.requests;
  } finally {
    store.close();
  }
};

describe('usage ledger in the gateway', () => {
  it('--usage-db: the database is created owner-only, the ledger is writable, and closing the app writes what it holds', async () => {
    const path = join(scratch.dir, 'new', 'usage.db');
    const gateway = await startGateway(fake.baseUrl, { USAGE: true, USAGE_DB: path });
    try {
      expect(statSync(path).mode & 0o777).toBe(0o600);
      expect(gateway.app.usageLedgerHealth?.health()).toEqual({ writable: true });
      gateway.app.usageEvents.emit(usageRecord());
      gateway.app.usageEvents.emit(usageRecord());
      expect(requestsIn(path)).toBe(0);
    } finally {
      await gateway.close();
    }
    expect(requestsIn(path)).toBe(2);
  });

  it('a usage database that cannot be opened stops the start-up with what to change', async () => {
    const attempt = startGateway(fake.baseUrl, { USAGE: true, USAGE_DB: scratch.dir });
    await expect(attempt).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: `cannot open the usage database ${scratch.dir}: it is a directory; choose another file with --usage-db (USAGE_DB), or turn usage recording off with --no-usage (USAGE=false)`,
    });
  });

  it('usage off: no ledger, no file', async () => {
    const path = join(scratch.dir, 'off', 'usage.db');
    const gateway = await startGateway(fake.baseUrl, { USAGE: false, USAGE_DB: path });
    try {
      expect(gateway.app.usageLedger).toBeUndefined();
      expect(gateway.app.usageLedgerHealth).toBeUndefined();
      gateway.app.usageEvents.emit(usageRecord());
    } finally {
      await gateway.close();
    }
    expect(existsSync(path)).toBe(false);
  });
});
