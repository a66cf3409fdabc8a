/**
 * What a new user sees in the first five minutes: `--models-filter models-filter.txt` in an
 * empty folder, `--version`, and the start-up summary printed before the logs.
 */
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { DEFAULT_MODELS, startFakeOpenRouter, type FakeOpenRouter } from '../fakes/fake-openrouter.js';
import { REPO_ROOT, killAllClis, spawnCli, waitForOutput, withTimeout } from '../helpers/cli-process.js';

const KEY = 'sk-or-v1-first-five-minutes-0123456789';
const VERSION = (JSON.parse(readFileSync(join(REPO_ROOT, 'package.json'), 'utf8')) as { version: string }).version;

let fake: FakeOpenRouter;
let scratch: string;

beforeAll(async () => {
  fake = await startFakeOpenRouter({ apiKey: KEY });
  scratch = mkdtempSync(join(tmpdir(), 'ollama-bridge-first-'));
});
afterAll(async () => {
  killAllClis();
  await fake?.close();
  rmSync(scratch, { recursive: true, force: true });
});

function emptyFolder(name: string): string {
  return mkdtempSync(join(scratch, `${name}-`));
}

async function tagNames(url: string): Promise<string[]> {
  const response = await fetch(`${url}/api/tags`);
  expect(response.status).toBe(200);
  return ((await response.json()) as { models: Array<{ name: string }> }).models.map((model) => model.name);
}

describe.concurrent('first five minutes', () => {
  it('--models-filter naming a missing file creates it with a guide, says so, and serves every model until it is edited', async () => {
    const folder = emptyFolder('filter');
    const cli = spawnCli(['--openrouter-url', fake.baseUrl, '--port', '0', '--models-filter', 'models-filter.txt'], { cwd: folder, env: { OPENROUTER_API_KEY: KEY } });
    const [, url] = await waitForOutput(cli, /listening on (http:\/\/127\.0\.0\.1:\d+)/);
    const guide = readFileSync(join(folder, 'models-filter.txt'), 'utf8');
    expect(guide).toMatch(/EVERY model is served/);
    expect(guide.split('\n').filter((line) => line.trim() !== '' && !line.startsWith('#'))).toEqual([]);
    expect(cli.stdout()).toContain(`${join(folder, 'models-filter.txt')} did not exist: created it with a guide`);
    expect(await tagNames(url!)).toHaveLength(DEFAULT_MODELS.length);

    writeFileSync(join(folder, 'models-filter.txt'), `${guide}openai/*\n`);
    const deadline = Date.now() + 10_000;
    let names = await tagNames(url!);
    while (names.length === DEFAULT_MODELS.length && Date.now() < deadline) {
      await new Promise((resolve) => setTimeout(resolve, 100));
      names = await tagNames(url!);
    }
    expect(names.every((name) => name.startsWith('openai/'))).toBe(true);
    expect(names.length).toBeGreaterThan(0);
    cli.child.kill('SIGTERM');
    expect((await withTimeout(cli.exit, 10_000, 'exit')).code).toBe(0);
  }, 30_000);

  it('a models filter in a folder that does not exist: exit 2 with the path, nothing created', async () => {
    const folder = emptyFolder('nofolder');
    const cli = spawnCli(['--port', '0', '--models-filter', 'missing/models-filter.txt'], { cwd: folder, env: { OPENROUTER_API_KEY: KEY } });
    const { code } = await withTimeout(cli.exit, 15_000, 'exit');
    expect(code).toBe(2);
    expect(cli.stderr()).toContain(`the folder ${join(folder, 'missing')} does not exist`);
  }, 20_000);

  it('--version and -v print the package version', async () => {
    for (const flag of ['--version', '-v']) {
      const cli = spawnCli([flag]);
      const { code } = await withTimeout(cli.exit, 15_000, 'exit');
      expect(code).toBe(0);
      expect(cli.stdout().trim()).toBe(VERSION);
    }
  }, 30_000);

  it('the start-up summary comes first: where it listens, what the backend serves, keys without the key, the line for clients; JSON logs after it', async () => {
    const clientKey = 'obk-plain-client-key-for-summary-test';
    const cli = spawnCli(['--openrouter-url', fake.baseUrl, '--port', '0', '--api-keys', clientKey, '--log-format', 'json'], { env: { OPENROUTER_API_KEY: KEY } });
    const [, url] = await waitForOutput(cli, /listening on (http:\/\/127\.0\.0\.1:\d+)/);
    const out = cli.stdout();
    expect(out.startsWith(`ollama-bridge ${VERSION} (Ollama API `)).toBe(true);
    const summary = out.slice(0, out.indexOf('\n{'));
    expect(summary).toContain(`listening ${url}`);
    expect(summary).toMatch(new RegExp(`OpenRouter ${fake.baseUrl.replace(/[/.]/g, '\\$&')}: ${DEFAULT_MODELS.length} models`));
    expect(summary).toContain('1 client key');
    expect(summary).toContain(`${url}/key/<your key>`);
    // Where the admin page is, and what it needs (the plain key has no admin scope).
    expect(summary).toContain(`  admin     ${url}/admin needs a key with the admin scope: ollama-bridge keys create --name NAME --admin --keys-file FILE`);
    expect(out).not.toContain(clientKey);
    expect(out).not.toContain(KEY);
    // Everything after the summary is one JSON object per line.
    const logLines = out.slice(summary.length).split('\n').filter((line) => line !== '');
    expect(logLines.length).toBeGreaterThan(0);
    for (const line of logLines) expect(() => JSON.parse(line), line).not.toThrow();
    cli.child.kill('SIGTERM');
    await withTimeout(cli.exit, 10_000, 'exit');
  }, 30_000);

  it('an open gateway on loopback: the summary gives the OLLAMA_HOST line to paste', async () => {
    const cli = spawnCli(['--openrouter-url', fake.baseUrl, '--port', '0'], { env: { OPENROUTER_API_KEY: KEY } });
    const [, url] = await waitForOutput(cli, /listening on (http:\/\/127\.0\.0\.1:\d+)/);
    expect(cli.stdout()).toContain(`OLLAMA_HOST=${url}`);
    expect(cli.stdout()).toContain('open on loopback only');
    cli.child.kill('SIGTERM');
    await withTimeout(cli.exit, 10_000, 'exit');
  }, 30_000);
});
