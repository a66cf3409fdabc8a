/**
 * The ledger: every answered request's record, kept in memory and written to the store in one
 * transaction per flush, at least every second (an unref'd timer) and when the app closes —
 * never a write on a request's own path. The buffer is bounded: past it, records are dropped and
 * counted (and said in the log), so a store that stops taking writes cannot exhaust memory.
 * Once a day, detail older than the retention is dropped (whole days; roll-ups stay).
 */
import type { UsageLedgerHealth, UsageRecord } from '../usage-record.js';
import { addDays, dayOf } from './usage-days.js';
import type { StoreHealth, UsageReportQuery, UsageReportRow, UsageStore } from './usage-store.js';

export interface LedgerLog {
  info(object: object, message: string): void;
  warn(object: object, message: string): void;
  error(object: object, message: string): void;
}

export interface UsageLedgerOptions {
  store: UsageStore;
  /** Detail is kept for at least this many whole days before today (UTC). */
  retentionDays: number;
  log: LedgerLog;
  flushIntervalMs?: number;
  /** Records held at most between two flushes. */
  maxBuffered?: number;
  now?: () => number;
}

const FLUSH_INTERVAL_MS = 1_000;
const MAX_BUFFERED_RECORDS = 10_000;

export class UsageLedger implements UsageLedgerHealth {
  private buffer: UsageRecord[] = [];
  private droppedTotal = 0;
  /** Dropped since the log last said so. */
  private droppedUnreported = 0;
  private failing = false;
  private closed = false;
  /** The day retention last ran on. */
  private retentionDay: string | undefined;
  private readonly timer: NodeJS.Timeout;
  private readonly store: UsageStore;
  private readonly log: LedgerLog;
  private readonly now: () => number;
  private readonly maxBuffered: number;

  constructor(private readonly options: UsageLedgerOptions) {
    this.store = options.store;
    this.log = options.log;
    this.now = options.now ?? Date.now;
    this.maxBuffered = options.maxBuffered ?? MAX_BUFFERED_RECORDS;
    this.applyRetention();
    this.timer = setInterval(() => this.flush(), options.flushIntervalMs ?? FLUSH_INTERVAL_MS);
    this.timer.unref();
  }

  /** Takes one record (an `app.usageEvents` subscriber): kept until the next flush. */
  add(record: UsageRecord): void {
    if (this.closed || this.buffer.length >= this.maxBuffered) {
      this.drop(1);
      return;
    }
    this.buffer.push(record);
  }

  /** Writes what is held in one transaction; a failed write is kept for the next flush (within the bound). */
  flush(): void {
    this.applyRetention();
    if (this.buffer.length > 0) {
      const batch = this.buffer;
      this.buffer = [];
      try {
        const rejected = this.store.append(batch);
        if (this.failing) this.log.info({}, 'usage database: writing again');
        this.failing = false;
        if (rejected.length > 0) {
          this.droppedTotal += rejected.length;
          this.log.error({ records: rejected.length, problems: [...new Set(rejected.map((entry) => entry.problem))].slice(0, 5) }, `usage database: ${rejected.length} request record(s) could not be stored and were skipped`);
        }
      } catch (error) {
        if (!this.failing) this.log.error({ err: error, records: batch.length }, 'usage database: a write failed; the records are kept in memory and tried again every flush');
        this.failing = true;
        const room = this.maxBuffered - this.buffer.length;
        if (batch.length > room) this.drop(batch.length - room);
        this.buffer = [...batch.slice(0, Math.max(0, room)), ...this.buffer];
      }
    }
    if (this.droppedUnreported > 0) {
      this.log.warn({ dropped: this.droppedUnreported, droppedTotal: this.droppedTotal }, `usage database: ${this.droppedUnreported} request record(s) dropped (more than ${this.maxBuffered} waiting to be written)`);
      this.droppedUnreported = 0;
    }
  }

  /** USD per key id since a time (Unix ms): the store's figures and what is still held. */
  spendByKey(sinceMs: number): Map<string, number> {
    const spend = this.store.spendByKey(sinceMs);
    for (const record of this.buffer) {
      if (record.startedAt < sinceMs || !(record.costUsd > 0)) continue;
      const keyId = record.keyId ?? '';
      spend.set(keyId, (spend.get(keyId) ?? 0) + record.costUsd);
    }
    return spend;
  }

  /**
   * Totals from the daily roll-ups, after writing what is held (so a report includes every
   * request answered so far). A promise: a networked store answers asynchronously.
   */
  async report(query: UsageReportQuery): Promise<UsageReportRow[]> {
    this.flush();
    return this.store.report(query);
  }

  /** Records dropped since start (buffer full, or after close). */
  get dropped(): number {
    return this.droppedTotal;
  }

  /** Records held, not yet written. */
  get pending(): number {
    return this.buffer.length;
  }

  health(): StoreHealth {
    if (this.closed) return { writable: false, reason: 'the usage ledger is closed' };
    return this.store.health();
  }

  /** The last flush, then the store is closed (app onClose: after the open answers have ended). */
  close(): void {
    if (this.closed) return;
    clearInterval(this.timer);
    this.flush();
    this.closed = true;
    this.store.close();
  }

  private drop(count: number): void {
    this.droppedTotal += count;
    this.droppedUnreported += count;
  }

  /** Once per UTC day: drops the detail of days past the retention. */
  private applyRetention(): void {
    const today = dayOf(this.now());
    if (today === this.retentionDay) return;
    this.retentionDay = today;
    try {
      const dropped = this.store.dropDetailBefore(addDays(today, -this.options.retentionDays));
      if (dropped.length > 0) this.log.info({ days: dropped }, `usage database: dropped request detail of ${dropped.length} day(s) past the ${this.options.retentionDays}-day retention (daily totals are kept)`);
    } catch (error) {
      this.log.error({ err: error }, 'usage database: dropping old request detail failed; tried again tomorrow');
    }
  }
}
