/**
 * The ledger: every answered request's record, kept in memory and written to the store in one
 * transaction per flush, at least every second (an unref'd timer) and when the app closes —
 * never a write on a request's own path. One store call at a time (flushes, spend reads,
 * retention are queued). The buffer is bounded: past it, records are dropped and counted (and
 * said in the log), so a store that stops taking writes (a PostgreSQL that is down) cannot
 * exhaust memory; what is held is written when it returns. Once a day, detail older than the
 * retention is dropped (whole days; roll-ups stay).
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
  /** The batch being written now. */
  private writing = 0;
  private droppedTotal = 0;
  /** Dropped since the log last said so. */
  private droppedUnreported = 0;
  private failing = false;
  private retentionFailing = false;
  private closed = false;
  /** The day retention last ran on. */
  private retentionDay: string | undefined;
  /** The store calls, one after another. */
  private queue: Promise<unknown> = Promise.resolve();
  /** A flush queued and not started yet: later flush calls share it. */
  private queuedFlush: Promise<void> | undefined;
  private readonly writeListeners = new Set<() => void>();
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
    // Retention runs at start (and then when the UTC day changes).
    void this.flush();
    this.timer = setInterval(() => void this.flush(), options.flushIntervalMs ?? FLUSH_INTERVAL_MS);
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

  /**
   * Writes what is held in one transaction, after the store calls before it; a failed write is
   * kept for the next flush (within the bound). Never rejects: failures are logged and shown in
   * the health.
   */
  flush(): Promise<void> {
    this.queuedFlush ??= this.serial(async () => {
      this.queuedFlush = undefined;
      await this.applyRetention();
      await this.writeHeld();
    });
    return this.queuedFlush;
  }

  /**
   * USD per key id since each of several times (Unix ms), read together: the store's figures and
   * what is still held. Between two flushes, so no record is counted twice or missed.
   */
  async spendByKeySince(sinceTimes: readonly number[]): Promise<Array<Map<string, number>>> {
    return this.serial(async () => {
      const spends: Array<Map<string, number>> = [];
      for (const sinceMs of sinceTimes) spends.push(await this.store.spendByKey(sinceMs));
      // Records taken while the store answered are held too: counted here, after the last await.
      sinceTimes.forEach((sinceMs, index) => {
        const spend = spends[index]!;
        for (const record of this.buffer) {
          if (record.startedAt < sinceMs || !(record.costUsd > 0)) continue;
          const keyId = record.keyId ?? '';
          spend.set(keyId, (spend.get(keyId) ?? 0) + record.costUsd);
        }
      });
      return spends;
    });
  }

  /**
   * Totals from the daily roll-ups, after writing what is held (so a report includes every
   * request answered so far). A promise: a networked store answers asynchronously.
   */
  async report(query: UsageReportQuery): Promise<UsageReportRow[]> {
    await this.flush();
    return this.store.report(query);
  }

  /** Calls `listener` after each write that goes through; returns its unsubscribe. */
  onWrite(listener: () => void): () => void {
    this.writeListeners.add(listener);
    return () => this.writeListeners.delete(listener);
  }

  /** Records dropped since start (buffer full, could not be stored, or after close). */
  get dropped(): number {
    return this.droppedTotal;
  }

  /** Records held, not yet written (the batch being written included). */
  get pending(): number {
    return this.buffer.length + this.writing;
  }

  health(): StoreHealth {
    if (this.closed) return { writable: false, reason: 'the usage ledger is closed' };
    return this.store.health();
  }

  /** The last flush, then the store is closed (app onClose: after the open answers have ended). */
  async close(): Promise<void> {
    if (this.closed) return;
    clearInterval(this.timer);
    await this.flush();
    this.closed = true;
    if (this.buffer.length > 0) {
      this.log.error({ records: this.buffer.length }, `usage database: ${this.buffer.length} request record(s) could not be written before closing and are lost`);
      this.drop(this.buffer.length);
      this.buffer = [];
    }
    await this.serial(() => this.store.close());
  }

  private serial<T>(job: () => Promise<T>): Promise<T> {
    const run = this.queue.then(job, job);
    this.queue = run.catch(() => undefined);
    return run;
  }

  private async writeHeld(): Promise<void> {
    if (this.buffer.length > 0) {
      const batch = this.buffer;
      this.buffer = [];
      this.writing = batch.length;
      try {
        const rejected = await this.store.append(batch);
        if (this.failing) this.log.info({}, 'usage database: writing again');
        this.failing = false;
        if (rejected.length > 0) {
          this.droppedTotal += rejected.length;
          this.log.error({ records: rejected.length, problems: [...new Set(rejected.map((entry) => entry.problem))].slice(0, 5) }, `usage database: ${rejected.length} request record(s) could not be stored and were skipped`);
        }
        for (const listener of this.writeListeners) listener();
      } catch (error) {
        if (!this.failing) this.log.error({ err: error, records: batch.length }, 'usage database: a write failed; the records are kept in memory and tried again every flush');
        this.failing = true;
        // Records taken during the write come after the batch; the oldest are kept first.
        const room = this.maxBuffered - this.buffer.length;
        if (batch.length > room) this.drop(batch.length - room);
        this.buffer = [...batch.slice(0, Math.max(0, room)), ...this.buffer];
      } finally {
        this.writing = 0;
      }
    }
    if (this.droppedUnreported > 0) {
      this.log.warn({ dropped: this.droppedUnreported, droppedTotal: this.droppedTotal }, `usage database: ${this.droppedUnreported} request record(s) dropped (more than ${this.maxBuffered} waiting to be written)`);
      this.droppedUnreported = 0;
    }
  }

  private drop(count: number): void {
    this.droppedTotal += count;
    this.droppedUnreported += count;
  }

  /** Once per UTC day: drops the detail of days past the retention (tried again each flush while it fails). */
  private async applyRetention(): Promise<void> {
    const today = dayOf(this.now());
    if (today === this.retentionDay) return;
    try {
      const dropped = await this.store.dropDetailBefore(addDays(today, -this.options.retentionDays));
      this.retentionDay = today;
      this.retentionFailing = false;
      if (dropped.length > 0) this.log.info({ days: dropped }, `usage database: dropped request detail of ${dropped.length} day(s) past the ${this.options.retentionDays}-day retention (daily totals are kept)`);
    } catch (error) {
      if (!this.retentionFailing) this.log.error({ err: error }, 'usage database: dropping old request detail failed; tried again at the next flush');
      this.retentionFailing = true;
    }
  }
}
