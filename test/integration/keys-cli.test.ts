/**
 * `ollama-bridge keys` as a process: scopes on the command line (issue 12 §2).
 */
import { execFile } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';

const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
let scratch: string;
let keysFile: string;

async function keys(args: string[]): Promise<{ code: number; stdout: string; stderr: string }> {
  try {
    const { stdout, stderr } = await promisify(execFile)(process.execPath, ['--conditions=source', '--import', 'tsx', 'src/cli.ts', 'keys', ...args, '--keys-file', keysFile], {
      cwd: REPO_ROOT,
      env: { PATH: process.env.PATH ?? '', HOME: scratch },
    });
    return { code: 0, stdout, stderr };
  } catch (error) {
    const failed = error as { code: number; stdout: string; stderr: string };
    return { code: failed.code, stdout: failed.stdout, stderr: failed.stderr };
  }
}

beforeAll(() => {
  scratch = mkdtempSync(join(tmpdir(), 'ollama-bridge-keys-cli-'));
  keysFile = join(scratch, 'keys.json');
});
afterAll(() => rmSync(scratch, { recursive: true, force: true }));

describe('ollama-bridge keys', () => {
  it('create --admin and create --scopes admin grant the admin scope; list shows it', async () => {
    const admin = await keys(['create', '--name', 'operator', '--admin']);
    expect(admin.code).toBe(0);
    expect(admin.stdout).toContain('scopes: admin');
    expect((await keys(['create', '--name', 'second', '--scopes', 'admin'])).code).toBe(0);
    expect((await keys(['create', '--name', 'user'])).stdout).toContain('scopes: none');
    const stored = JSON.parse(readFileSync(keysFile, 'utf8'));
    expect(stored.keys.map((key: { scopes?: string[] }) => key.scopes)).toEqual([['admin'], ['admin'], undefined]);
    const listing = (await keys(['list'])).stdout.trimEnd().split('\n');
    expect(listing[0]).toMatch(/\bSCOPES$/);
    expect(listing.slice(1).map((line) => line.split(/\s+/).at(-1))).toEqual(['admin', 'admin', '-']);
  }, 30_000);

  it('an unknown scope: exit code 2 and a clear message', async () => {
    const typo = await keys(['create', '--name', 'typo', '--scopes', 'root']);
    expect(typo.code).toBe(2);
    expect(typo.stderr).toContain('unknown scope "root"');
  }, 30_000);
});
