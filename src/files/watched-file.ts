/**
 * Keeps a setting in step with its file while the gateway runs. The path is polled (a stat
 * every 500 ms), which also catches editors that save by writing a new file and renaming it
 * over the old one. A changed file is used only once two reads `settleMs` apart agree, with
 * the file's stat unchanged around each, so a file caught mid-write is never applied. An
 * empty file that had content is applied only if it is still empty a full poll later (an
 * editor that truncates and then writes leaves one for a moment). A missing, unreadable or
 * unparsable file keeps the last good value, and says so once.
 */
import { readFileSync, statSync, type Stats } from 'node:fs';
import { setTimeout as sleep } from 'node:timers/promises';
import type { Log } from '../core/log.js';
import { GatewayError } from '../errors.js';

export interface FileWatcher {
  close(): void;
  /** How many times a changed file has been applied. */
  readonly reloads: number;
}

export const FILE_POLL_INTERVAL_MS = 500;
/** Two reads of a changed file this far apart must agree before it is used. */
export const FILE_SETTLE_MS = 100;
/** Reads of a changed file before giving up until the next poll. */
const MAX_READS = 5;

export interface WatchOptions<T> {
  path: string;
  /** What the file is, for log lines ("models filter"). */
  label: string;
  /** Parses the text; throws on a file that cannot be used at all. */
  parse: (text: string) => T;
  apply: (value: T) => void;
  log: Log;
  /** What applying an empty file means, for the warning when that happens ("every model is served"). */
  emptyMeaning?: string;
  /** Called after each value applied from a changed file. */
  onApplied?: () => void;
  pollIntervalMs?: number;
  settleMs?: number;
}

interface Reading {
  text: string;
  /** The file's identity and version: inode, size, times. */
  version: string;
}

/** Loads the file once (failing start-up if it cannot be used), then follows its changes. */
export function watchFileSetting<T>(options: WatchOptions<T>): FileWatcher {
  const { path, label, log } = options;
  const pollIntervalMs = options.pollIntervalMs ?? FILE_POLL_INTERVAL_MS;
  const settleMs = options.settleMs ?? FILE_SETTLE_MS;

  let appliedText: string;
  let seenVersion: string;
  try {
    // Should it change while being read, the first poll sees a new version and reads it again.
    seenVersion = versionOf(statSync(path));
    appliedText = readFileSync(path, 'utf8');
    options.apply(options.parse(appliedText));
  } catch (error) {
    throw new GatewayError('CONFIG_INVALID', `cannot use the ${label} file ${path}: ${(error as Error).message}`);
  }

  let closed = false;
  let missing = false;
  /** When an empty file (replacing content) was first seen; undefined when there is none. */
  let emptySince: number | undefined;
  let reloads = 0;
  /** The last read failure reported, so that it is said once. */
  let unreadable = '';
  let timer: NodeJS.Timeout | undefined;

  /** Reads until two reads `settleMs` apart agree; undefined while the file keeps changing. */
  const readSettled = async (): Promise<Reading | undefined> => {
    let previous = readOnce(path);
    for (let read = 1; read < MAX_READS; read++) {
      await sleep(settleMs, undefined, { ref: false });
      if (closed) return undefined;
      const next = readOnce(path);
      if (previous !== undefined && next !== undefined && next.text === previous.text && next.version === previous.version) return next;
      previous = next;
    }
    return undefined;
  };

  const use = (reading: Reading): void => {
    let value: T;
    try {
      value = options.parse(reading.text);
      options.apply(value);
    } catch (error) {
      log.warn({ path, reason: (error as Error).message }, `cannot use the changed ${label}; keeping the previous one`);
      return;
    }
    appliedText = reading.text;
    reloads++;
    if (isBlank(reading.text)) log.warn({ path }, `the ${label} file is now empty${options.emptyMeaning === undefined ? '' : `: ${options.emptyMeaning}`}`);
    else log.info({ path }, `${label} reloaded`);
    options.onApplied?.();
  };

  const check = async (): Promise<void> => {
    const stats = statIfPresent(path);
    if (stats === undefined) {
      emptySince = undefined;
      if (!missing) log.warn({ path }, `the ${label} file is gone; keeping the last ${label} until it comes back`);
      missing = true;
      return;
    }
    if (missing) {
      missing = false;
      seenVersion = '';
      log.info({ path }, `the ${label} file is back`);
    }
    if (versionOf(stats) === seenVersion && emptySince === undefined) return;
    const reading = await readSettled();
    if (reading === undefined || closed) return; // still changing: the next poll tries again
    unreadable = '';
    seenVersion = reading.version;
    if (reading.text === appliedText) {
      emptySince = undefined;
      return;
    }
    if (isBlank(reading.text) && !isBlank(appliedText)) {
      const now = Date.now();
      if (emptySince === undefined) {
        emptySince = now;
        log.debug({ path }, `the ${label} file is empty; it is applied only if it stays empty for ${pollIntervalMs} ms`);
        return;
      }
      if (now - emptySince < pollIntervalMs) return;
    }
    emptySince = undefined;
    use(reading);
  };

  const poll = (): void => {
    timer = setTimeout(() => {
      check()
        .catch((error: unknown) => {
          // Said once, not on every poll while the problem lasts.
          const reason = (error as Error).message;
          if (reason !== unreadable) log.warn({ path, reason }, `cannot read the changed ${label}; keeping the previous one`);
          unreadable = reason;
        })
        .finally(() => {
          if (!closed) poll();
        });
    }, pollIntervalMs);
    timer.unref();
  };
  poll();

  return {
    close: () => {
      closed = true;
      if (timer !== undefined) clearTimeout(timer);
    },
    get reloads() {
      return reloads;
    },
  };
}

/** One read with the file's version before and after; undefined when it changed during the read or went away. */
function readOnce(path: string): Reading | undefined {
  const before = statIfPresent(path);
  if (before === undefined) return undefined;
  let text: string;
  try {
    text = readFileSync(path, 'utf8');
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
  const version = versionOf(before);
  return versionOf(statIfPresent(path)) === version ? { text, version } : undefined;
}

function statIfPresent(path: string): Stats | undefined {
  try {
    return statSync(path);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return undefined;
    throw error;
  }
}

function versionOf(stats: Stats | undefined): string {
  return stats === undefined ? '' : `${stats.ino}:${stats.size}:${stats.mtimeMs}:${stats.ctimeMs}`;
}

function isBlank(text: string): boolean {
  return text.trim() === '';
}
