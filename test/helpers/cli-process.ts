/**
 * The command line as a child process: `node --conditions=source --import tsx src/cli.ts …`
 * (no build needed), with a minimal environment so nothing from the machine running the
 * tests (OpenRouter settings, HOST, PORT) leaks in.
 */
import { spawn, type ChildProcessWithoutNullStreams } from 'node:child_process';
import { once } from 'node:events';
import { tmpdir } from 'node:os';
import { fileURLToPath } from 'node:url';

export const REPO_ROOT = fileURLToPath(new URL('../../', import.meta.url));
const TSX_LOADER = fileURLToPath(new URL('../../node_modules/tsx/dist/esm/index.mjs', import.meta.url));
const CLI_SOURCE = fileURLToPath(new URL('../../src/cli.ts', import.meta.url));

export interface RunningCli {
  child: ChildProcessWithoutNullStreams;
  stdout: () => string;
  stderr: () => string;
  exit: Promise<{ code: number | null; signal: NodeJS.Signals | null }>;
}

export interface SpawnCliOptions {
  env?: Record<string, string>;
  /** Working directory (default: the repository root). */
  cwd?: string;
}

const running: RunningCli[] = [];

export function spawnCli(args: string[], options: SpawnCliOptions = {}): RunningCli {
  const child = spawn(process.execPath, ['--conditions=source', '--import', TSX_LOADER, CLI_SOURCE, ...args], {
    cwd: options.cwd ?? REPO_ROOT,
    // USAGE=false: a served gateway writes no usage database into the home directory unless a test names one.
    env: { PATH: process.env.PATH ?? '', HOME: process.env.HOME ?? tmpdir(), TMPDIR: process.env.TMPDIR ?? tmpdir(), USAGE: 'false', ...options.env },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.setEncoding('utf8').on('data', (text: string) => (stdout += text));
  child.stderr.setEncoding('utf8').on('data', (text: string) => (stderr += text));
  const exit = once(child, 'exit').then(([code, signal]) => ({ code: code as number | null, signal: signal as NodeJS.Signals | null }));
  const cli = { child, stdout: () => stdout, stderr: () => stderr, exit };
  running.push(cli);
  return cli;
}

/** Kills every CLI process still running (afterAll). */
export function killAllClis(): void {
  for (const cli of running.splice(0)) if (cli.child.exitCode === null && cli.child.signalCode === null) cli.child.kill('SIGKILL');
}

export async function withTimeout<T>(promise: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout | undefined;
  try {
    return await Promise.race([promise, new Promise<never>((_resolve, reject) => (timer = setTimeout(() => reject(new Error(`timed out: ${what}`)), ms)))]);
  } finally {
    clearTimeout(timer);
  }
}

/** Waits until stdout matches `pattern` and returns the match (or throws when the process exits first). */
export async function waitForOutput(cli: RunningCli, pattern: RegExp, timeoutMs = 15_000): Promise<RegExpExecArray> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    const match = pattern.exec(cli.stdout());
    if (match) return match;
    if (cli.child.exitCode !== null) throw new Error(`the CLI exited early (${cli.child.exitCode}): ${cli.stderr()}`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  throw new Error(`the CLI never printed ${pattern}; stdout: ${cli.stdout()} stderr: ${cli.stderr()}`);
}
