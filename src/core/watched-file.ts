/**
 * Keeps a setting in step with its file while the gateway runs. The path is polled (a stat
 * every 500 ms), which also catches editors that save by writing a new file and renaming it
 * over the old one. A missing, unreadable or unparsable file keeps the last good value.
 */
import { readFileSync, unwatchFile, watchFile, type Stats } from 'node:fs';
import type { FastifyBaseLogger } from 'fastify';
import { GatewayError } from '../errors.js';

export interface FileWatcher {
  close(): void;
}

export const FILE_POLL_INTERVAL_MS = 500;

export interface WatchOptions<T> {
  path: string;
  /** What the file is, for log lines ("models filter"). */
  label: string;
  /** Parses the text; throws on a file that cannot be used at all. */
  parse: (text: string) => T;
  apply: (value: T) => void;
  log: FastifyBaseLogger;
}

/** Loads the file once (failing start-up if it cannot be used), then follows its changes. */
export function watchFileSetting<T>(options: WatchOptions<T>): FileWatcher {
  const { path, label, log } = options;
  const load = (): string | undefined => {
    try {
      options.apply(options.parse(readFileSync(path, 'utf8')));
      return undefined;
    } catch (error) {
      return (error as Error).message;
    }
  };

  const failure = load();
  if (failure !== undefined) throw new GatewayError('CONFIG_INVALID', `cannot use the ${label} file ${path}: ${failure}`);

  const onChange = (current: Stats, previous: Stats): void => {
    if (current.mtimeMs === previous.mtimeMs && current.size === previous.size && current.ino === previous.ino) return;
    if (current.nlink === 0) return; // removed (mid-rename): keep the last value until it comes back
    const problem = load();
    if (problem === undefined) log.info({ path }, `${label} reloaded`);
    else log.warn({ path, reason: problem }, `cannot use the changed ${label}; keeping the previous one`);
  };
  watchFile(path, { interval: FILE_POLL_INTERVAL_MS, persistent: false }, onChange);
  return { close: () => unwatchFile(path, onChange) };
}
