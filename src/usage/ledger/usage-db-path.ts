/** Where the usage database is: `--usage-db` (USAGE_DB), else a data folder in the user's home. */
import { homedir } from 'node:os';
import { join } from 'node:path';

/** `~/.ollama-bridge/usage.db`; the folder is created on first use, readable by the owner only. */
function defaultUsageDbPath(): string {
  return join(homedir(), '.ollama-bridge', 'usage.db');
}

export function usageDbPath(configured: string | undefined): string {
  return configured ?? defaultUsageDbPath();
}
