/**
 * The OpenRouter key from a file (`--api-key-file`, `OPENROUTER_API_KEY_FILE`), through the
 * real command line: the key stays out of the process list, the file's trailing newline is
 * trimmed, and a missing, unreadable or empty file, or a key given twice, is a clear exit-2
 * configuration error that never prints the file's content.
 */
import { mkdirSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startFakeOpenRouter, type FakeOpenRouter } from '../fakes/fake-openrouter.js';
import { killAllClis, spawnCli, waitForOutput, withTimeout, type RunningCli } from '../helpers/cli-process.js';

const KEY = `sk-or-v1-${'5e'.repeat(32)}`;

let fake: FakeOpenRouter;
let scratch: string;
let emptyEnvFile: string;

beforeAll(async () => {
  fake = await startFakeOpenRouter({ apiKey: KEY });
  scratch = mkdtempSync(join(tmpdir(), 'ollama-bridge-key-file-'));
  emptyEnvFile = join(scratch, 'empty.env');
  writeFileSync(emptyEnvFile, '');
});
afterAll(async () => {
  killAllClis();
  await fake?.close();
  rmSync(scratch, { recursive: true, force: true });
});

function file(name: string, content: string): string {
  const path = join(scratch, name);
  writeFileSync(path, content, { mode: 0o600 });
  return path;
}

/** Starts the CLI, chats once through it (the fake accepts only KEY), and stops it. */
async function chatsWithTheKey(cli: RunningCli): Promise<void> {
  const [, url] = await waitForOutput(cli, /listening on (http:\/\/127\.0\.0\.1:\d+)/);
  const response = await fetch(`${url}/api/chat`, { method: 'POST', body: JSON.stringify({ model: 'openai/gpt-4o', messages: [{ role: 'user', content: 'hi' }], stream: false }) });
  expect(response.status).toBe(200);
  expect(((await response.json()) as { message: { content: string } }).message.content).toContain('hi');
  expect(fake.requests.at(-1)?.headers.authorization).toBe(`Bearer ${KEY}`);
  cli.child.kill('SIGTERM');
  expect((await withTimeout(cli.exit, 10_000, 'exit')).code).toBe(0);
  expect(cli.stdout() + cli.stderr()).not.toContain(KEY);
}

async function failsWithConfigError(cli: RunningCli, message: RegExp): Promise<void> {
  const { code } = await withTimeout(cli.exit, 15_000, 'exit');
  expect(code, cli.stderr()).toBe(2);
  expect(cli.stderr()).toMatch(message);
  expect(cli.stderr()).not.toMatch(/\n\s+at /);
  expect(cli.stdout() + cli.stderr()).not.toContain(KEY);
}

describe.concurrent('the OpenRouter key from a file', () => {
  it('--api-key-file: the key is read (trailing newline trimmed) and never on the command line', async () => {
    const cli = spawnCli(['--dotenv', emptyEnvFile, '--api-key-file', file('flag.key', `${KEY}\n`), '--openrouter-url', fake.baseUrl, '--port', '0']);
    expect(cli.child.spawnargs.join(' ')).not.toContain(KEY);
    await chatsWithTheKey(cli);
  }, 30_000);

  it('OPENROUTER_API_KEY_FILE: the same from the environment (a CRLF file too)', async () => {
    const cli = spawnCli(['--dotenv', emptyEnvFile, '--openrouter-url', fake.baseUrl, '--port', '0'], { env: { OPENROUTER_API_KEY_FILE: file('env.key', `${KEY}\r\n`) } });
    await chatsWithTheKey(cli);
  }, 30_000);

  it('a missing file: exit 2, naming the file', async () => {
    const missing = join(scratch, 'no-such.key');
    await failsWithConfigError(spawnCli(['--dotenv', emptyEnvFile, '--api-key-file', missing, '--port', '0']), new RegExp(`cannot read the OpenRouter key file ${missing}: no such file`));
  }, 20_000);

  it('an unreadable path (a directory): exit 2', async () => {
    const directory = join(scratch, 'a-directory.key');
    mkdirSync(directory);
    await failsWithConfigError(spawnCli(['--dotenv', emptyEnvFile, '--port', '0'], { env: { OPENROUTER_API_KEY_FILE: directory } }), /cannot read the OpenRouter key file .*: it is a directory/);
  }, 20_000);

  it('an empty file (only a newline): exit 2', async () => {
    await failsWithConfigError(spawnCli(['--dotenv', emptyEnvFile, '--api-key-file', file('empty.key', '\n'), '--port', '0']), /the OpenRouter key file .*empty\.key is empty/);
  }, 20_000);

  it('a file with more than the key: exit 2, without printing what it holds', async () => {
    await failsWithConfigError(spawnCli(['--dotenv', emptyEnvFile, '--api-key-file', file('two-lines.key', `${KEY}\nOPENROUTER_API_KEY=${KEY}\n`), '--port', '0']), /holds more than one key/);
  }, 20_000);

  it('a key and a key file both given (flag and flag, or environment and flag): exit 2', async () => {
    const keyFile = file('both.key', `${KEY}\n`);
    await failsWithConfigError(spawnCli(['--dotenv', emptyEnvFile, '--api-key', KEY, '--api-key-file', keyFile, '--port', '0']), /given twice: use either --api-key-file .* or --api-key/);
    await failsWithConfigError(spawnCli(['--dotenv', emptyEnvFile, '--api-key-file', keyFile, '--port', '0'], { env: { OPENROUTER_API_KEY: KEY } }), /given twice/);
  }, 20_000);
});
