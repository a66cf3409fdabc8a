/**
 * Keeps the models filter in step with its file while the gateway runs. The file's path is
 * polled (stat every 500 ms), which also catches editors that save by writing a new file
 * and renaming it over the old one. A missing or unreadable file keeps the last filter.
 */
import { readFileSync, unwatchFile, watchFile, type Stats } from 'node:fs';
import type { FastifyBaseLogger } from 'fastify';
import { GatewayError } from '../errors.js';
import { parseModelFilter, type ModelFilter } from './model-filter.js';

export interface FilterWatcher {
  close(): void;
}

export const FILTER_POLL_INTERVAL_MS = 500;

export async function watchModelFilter(
  path: string,
  apply: (filter: ModelFilter) => void,
  log: FastifyBaseLogger,
): Promise<FilterWatcher> {
  const load = (): boolean => {
    let text: string;
    try {
      text = readFileSync(path, 'utf8');
    } catch (error) {
      log.warn({ path, reason: (error as Error).message }, 'cannot read the models filter; keeping the previous one');
      return false;
    }
    const filter = parseModelFilter(text);
    for (const problem of filter.problems) log.warn({ path }, `models filter ${problem}; skipped`);
    apply(filter);
    log.info({ path, entries: filter.rules.length }, 'models filter loaded');
    return true;
  };

  if (!load()) {
    throw new GatewayError('CONFIG_INVALID', `cannot read the models filter file ${path}`);
  }
  const onChange = (current: Stats, previous: Stats): void => {
    if (current.mtimeMs === previous.mtimeMs && current.size === previous.size && current.ino === previous.ino) return;
    if (current.nlink === 0 && current.mtimeMs === 0) return; // removed: keep the last filter until it comes back
    load();
  };
  watchFile(path, { interval: FILTER_POLL_INTERVAL_MS, persistent: false }, onChange);
  return { close: () => unwatchFile(path, onChange) };
}
