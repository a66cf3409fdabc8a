/**
 * The built admin page (dist/admin-page), built first when it is missing or older than any
 * file under admin-page/ (its sources and build config), so a browser test never runs old code.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, readdirSync, statSync } from 'node:fs';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';

export const REPOSITORY = fileURLToPath(new URL('../..', import.meta.url));
export const BUILT_PAGE = join(REPOSITORY, 'dist', 'admin-page');

function newestChange(directory: string): number {
  let newest = 0;
  for (const entry of readdirSync(directory, { withFileTypes: true })) {
    const path = join(directory, entry.name);
    newest = Math.max(newest, entry.isDirectory() ? newestChange(path) : statSync(path).mtimeMs);
  }
  return newest;
}

/** Builds the page with Vite unless dist/admin-page/index.html is newer than every source; says whether it built. */
export function buildAdminPageIfStale(): boolean {
  const index = join(BUILT_PAGE, 'index.html');
  if (existsSync(index) && statSync(index).mtimeMs >= newestChange(join(REPOSITORY, 'admin-page'))) return false;
  execFileSync(process.execPath, [join(REPOSITORY, 'node_modules', 'vite', 'bin', 'vite.js'), 'build', '--config', 'admin-page/vite.config.ts'], {
    cwd: REPOSITORY,
    // As `npm run build` builds it: vitest sets NODE_ENV=test, which would bundle development code.
    env: { ...process.env, NODE_ENV: 'production' },
    stdio: 'pipe',
    timeout: 120_000,
  });
  return true;
}
