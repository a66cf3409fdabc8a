/** How many processes `--workers` asks for: a number, or `auto` = one per core the process may use. */
import { availableParallelism } from 'node:os';

export function workerCount(setting: number | 'auto'): number {
  return setting === 'auto' ? availableParallelism() : setting;
}
