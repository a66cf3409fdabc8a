import { join } from 'node:path';
import Database from 'better-sqlite3';
import { afterEach, beforeEach, describe, expect, it } from 'vitest';
import { openSqliteUsageStore, type SqliteUsageStore } from '../../src/usage/ledger/sqlite-usage-store.js';
import { UsageLedger, type LedgerLog } from '../../src/usage/ledger/usage-ledger.js';
import type { UsageStore } from '../../src/usage/ledger/usage-store.js';
import { scratchDir, usageRecord } from '../helpers/usage-records.js';

const MAY = { sinceDay: '2026-05-01', untilDay: '2026-05-31', by: [] };

interface LoggedLine { level: string; object: object; message: string }

function capturingLog(): LedgerLog & { lines: LoggedLine[] } {
  const lines: LoggedLine[] = [];
  const at = (level: string) => (object: object, message: string) => void lines.push({ level, object, message });
  return { lines, info: at('info'), warn: at('warn'), error: at('error') };
}

describe('usage ledger', async () => {
  let scratch: ReturnType<typeof scratchDir>;
  let path: string;
  let reader: SqliteUsageStore | undefined;
  const ledgers: UsageLedger[] = [];
  const ledger = (options: Partial<ConstructorParameters<typeof UsageLedger>[0]> = {}): UsageLedger => {
    const created = new UsageLedger({ store: openSqliteUsageStore(path), retentionDays: 90, log: capturingLog(), ...options });
    ledgers.push(created);
    return created;
  };
  /** Requests in May, as another connection (the `usage` report) sees them. */
  const written = async (): Promise<number> => {
    reader ??= openSqliteUsageStore(path, { readonly: true });
    return (await reader.report(MAY))[0]!.requests;
  };

  beforeEach(() => {
    scratch = scratchDir();
    path = join(scratch.dir, 'usage.db');
  });
  afterEach(async () => {
    for (const created of ledgers.splice(0)) await created.close();
    await reader?.close();
    reader = undefined;
    scratch.remove();
  });

  it('holds a record in memory until the flush timer writes it: nothing is written on the request\'s path', async () => {
    const usage = ledger({ flushIntervalMs: 100 });
    usage.add(usageRecord());
    usage.add(usageRecord());
    expect((await written())).toBe(0);
    expect(usage.pending).toBe(2);
    const deadline = Date.now() + 2_000;
    while ((await written()) === 0 && Date.now() < deadline) await new Promise((resolve) => setTimeout(resolve, 20));
    expect((await written())).toBe(2);
    expect(usage.pending).toBe(0);
  });

  it('flushes at least every second by default', async () => {
    const usage = ledger();
    usage.add(usageRecord());
    await new Promise((resolve) => setTimeout(resolve, 1_100));
    expect((await written())).toBe(1);
  });

  it('writes what it holds when closed, then closes the store', async () => {
    const usage = ledger({ flushIntervalMs: 60_000 });
    usage.add(usageRecord());
    expect((await written())).toBe(0);
    await usage.close();
    expect((await written())).toBe(1);
    expect(usage.health()).toEqual({ writable: false, reason: 'the usage ledger is closed' });
    // A record that comes after the close is counted, not written.
    usage.add(usageRecord());
    expect(usage.dropped).toBe(1);
  });

  it('is bounded: past the limit records are dropped, counted, and said once per flush', async () => {
    const log = capturingLog();
    const usage = ledger({ flushIntervalMs: 60_000, maxBuffered: 2, log });
    for (let index = 0; index < 5; index++) usage.add(usageRecord());
    expect(usage.dropped).toBe(3);
    await usage.flush();
    expect((await written())).toBe(2);
    expect(log.lines).toEqual([{ level: 'warn', object: { dropped: 3, droppedTotal: 3 }, message: 'usage database: 3 request record(s) dropped (more than 2 waiting to be written)' }]);
    await usage.flush();
    expect(log.lines).toHaveLength(1);
  });

  it('a failed write keeps the records for the next flush and makes the ledger unwritable until a write goes through', async () => {
    const log = capturingLog();
    const usage = ledger({ store: openSqliteUsageStore(path, { busyTimeoutMs: 10 }), flushIntervalMs: 60_000, maxBuffered: 3, log });
    // Another writer holds the database's write lock.
    const blocker = new Database(path);
    blocker.exec('BEGIN IMMEDIATE');
    usage.add(usageRecord());
    usage.add(usageRecord());
    await usage.flush();
    expect(usage.health()).toEqual({ writable: false, reason: 'the last write to the usage database failed: database is locked' });
    expect(usage.pending).toBe(2);
    usage.add(usageRecord());
    usage.add(usageRecord());
    await usage.flush();
    expect(usage.pending).toBe(3);
    expect(usage.dropped).toBe(1);
    expect(log.lines.filter((line) => line.level === 'error')).toHaveLength(1);
    blocker.exec('COMMIT');
    blocker.close();
    await usage.flush();
    expect((await written())).toBe(3);
    expect(usage.health()).toEqual({ writable: true });
    expect(log.lines.map((line) => line.message)).toContain('usage database: writing again');
  });

  it('a record that cannot be stored is skipped, counted and logged; the rest of its batch is written', async () => {
    const log = capturingLog();
    const usage = ledger({ flushIntervalMs: 60_000, log });
    usage.add(usageRecord());
    usage.add(usageRecord({ durationMs: Number.POSITIVE_INFINITY }));
    await usage.flush();
    expect((await written())).toBe(1);
    expect(usage.dropped).toBe(1);
    expect(usage.health()).toEqual({ writable: true });
    expect(log.lines).toEqual([{ level: 'error', object: { records: 1, problems: ['duration_ms is Infinity, not a finite number'] }, message: 'usage database: 1 request record(s) could not be stored and were skipped' }]);
  });

  it('drops detail past the retention at start and when the UTC day changes, keeping the totals', async () => {
    const seed = openSqliteUsageStore(path);
    await seed.append(['2026-04-01', '2026-04-02', '2026-04-03'].map((day) => usageRecord({ startedAt: Date.parse(`${day}T12:00:00Z`) })));
    await seed.close();
    let now = Date.parse('2026-04-05T23:59:00Z');
    const log = capturingLog();
    const usage = ledger({ retentionDays: 3, now: () => now, flushIntervalMs: 60_000, log });
    const days = async (): Promise<string[]> => {
      reader ??= openSqliteUsageStore(path, { readonly: true });
      return reader.detailDays();
    };
    // Kept: the three whole days before today, and today (the flush joins the one queued at start).
    await usage.flush();
    expect(await days()).toEqual(['2026-04-02', '2026-04-03']);
    await usage.flush();
    expect(await days()).toEqual(['2026-04-02', '2026-04-03']);
    now = Date.parse('2026-04-06T00:00:01Z');
    await usage.flush();
    expect(await days()).toEqual(['2026-04-03']);
    expect(log.lines.map((line) => line.message)).toEqual([
      'usage database: dropped request detail of 1 day(s) past the 3-day retention (daily totals are kept)',
      'usage database: dropped request detail of 1 day(s) past the 3-day retention (daily totals are kept)',
    ]);
    expect((await reader!.report({ sinceDay: '2026-04-01', untilDay: '2026-04-30', by: [] }))[0]!.requests).toBe(3);
  });

  it('spend per key counts the records not yet written', async () => {
    const usage = ledger({ flushIntervalMs: 60_000 });
    usage.add(usageRecord({ costUsd: 1 }));
    await usage.flush();
    usage.add(usageRecord({ costUsd: 2 }));
    usage.add(usageRecord({ costUsd: 4, keyId: undefined, keyName: undefined }));
    usage.add(usageRecord({ costUsd: 8, startedAt: Date.parse('2026-04-30T00:00:00Z') }));
    expect(await usage.spendByKeySince([Date.parse('2026-05-01T00:00:00Z'), Date.parse('2026-05-04T12:00:00Z')])).toEqual([new Map([['key-1', 3], ['', 4]]), new Map()]);
  });
});

describe('usage ledger over a store that answers later (as PostgreSQL does)', () => {
  /** A store whose writes wait until released, recording each batch and whether two ever overlap. */
  function slowStore() {
    const batches: number[] = [];
    let open = 0;
    let overlapped = false;
    let release: (() => void) | undefined;
    let failNext = false;
    const store: UsageStore = {
      append: async (records) => {
        open++;
        if (open > 1) overlapped = true;
        await new Promise<void>((resolve) => { release = resolve; });
        open--;
        if (failNext) {
          failNext = false;
          throw new Error('connection refused');
        }
        batches.push(records.length);
        return [];
      },
      report: async () => [],
      spendByKey: async () => new Map(),
      dropDetailBefore: async () => [],
      detailDays: async () => [],
      health: () => ({ writable: true }),
      close: async () => undefined,
    };
    return { store, batches, overlapped: () => overlapped, release: () => release?.(), failNext: () => { failNext = true; } };
  }

  it('one write at a time: flushes asked for during a write wait for it and share one write; records taken meanwhile are kept', async () => {
    const slow = slowStore();
    const usage = new UsageLedger({ store: slow.store, retentionDays: 90, log: capturingLog(), flushIntervalMs: 60_000 });
    usage.add(usageRecord());
    usage.add(usageRecord());
    const first = usage.flush();
    await new Promise((resolve) => setTimeout(resolve, 10));
    usage.add(usageRecord());
    const second = usage.flush();
    const third = usage.flush();
    expect(third).toBe(second);
    expect(usage.pending).toBe(3);
    slow.release();
    await first;
    await new Promise((resolve) => setTimeout(resolve, 10));
    slow.release();
    await second;
    expect(slow.batches).toEqual([2, 1]);
    expect(slow.overlapped()).toBe(false);
    expect(usage.pending).toBe(0);
    await usage.close();
  });

  it('a write that fails puts its batch back before the records taken during it, oldest first', async () => {
    const slow = slowStore();
    const usage = new UsageLedger({ store: slow.store, retentionDays: 90, log: capturingLog(), flushIntervalMs: 60_000 });
    usage.add(usageRecord({ costUsd: 1 }));
    slow.failNext();
    const failing = usage.flush();
    await new Promise((resolve) => setTimeout(resolve, 10));
    usage.add(usageRecord({ costUsd: 2 }));
    slow.release();
    await failing;
    expect(usage.pending).toBe(2);
    // Spend read between flushes counts what is held, once.
    expect(await usage.spendByKeySince([0])).toEqual([new Map([['key-1', 3]])]);
    const retry = usage.flush();
    await new Promise((resolve) => setTimeout(resolve, 10));
    slow.release();
    await retry;
    expect(slow.batches).toEqual([2]);
    await usage.close();
  });

  it('closing while the store takes no writes: one last try, then the records held are logged as lost and counted', async () => {
    const slow = slowStore();
    const log = capturingLog();
    const usage = new UsageLedger({ store: slow.store, retentionDays: 90, log, flushIntervalMs: 60_000 });
    usage.add(usageRecord());
    usage.add(usageRecord());
    slow.failNext();
    const closing = usage.close();
    await new Promise((resolve) => setTimeout(resolve, 10));
    slow.release();
    await closing;
    expect(usage.dropped).toBe(2);
    expect(usage.pending).toBe(0);
    expect(log.lines.map((line) => line.message)).toContain('usage database: 2 request record(s) could not be written before closing and are lost');
  });
});
