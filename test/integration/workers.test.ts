/**
 * `--workers 2` (node:cluster) over the real command line: answers come from two worker
 * processes on one port; the start-up summary and a generated key are printed once, and both
 * workers accept that key; a worker killed is replaced and the port keeps answering; SIGHUP
 * replaces every worker one at a time without a refused request; SIGTERM stops them all and
 * the primary exits 0.
 */
import { execFileSync } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import { createKeyCommand } from '../../src/auth/keys-command.js';
import { FAKE_API_KEY, startFakeOpenRouter, type FakeOpenRouter } from '../fakes/fake-openrouter.js';
import { killAllClis, spawnCli, waitForOutput, withTimeout, type RunningCli } from '../helpers/cli-process.js';

let fake: FakeOpenRouter;
let directory: string;
let emptyEnvFile: string;

beforeAll(async () => {
  fake = await startFakeOpenRouter();
  directory = mkdtempSync(join(tmpdir(), 'ollama-bridge-workers-'));
  emptyEnvFile = join(directory, 'empty.env');
  writeFileSync(emptyEnvFile, '');
});
afterAll(async () => {
  killAllClis();
  await fake?.close();
  rmSync(directory, { recursive: true, force: true });
});

/** Pids of the primary's children that run the gateway: its workers (not the tsx loader's esbuild service). */
function workerPids(cli: RunningCli): number[] {
  try {
    return execFileSync('pgrep', ['-f', 'src/cli.ts', '-P', String(cli.child.pid)], { encoding: 'utf8' }).trim().split('\n').filter((line) => line !== '').map(Number);
  } catch {
    return [];
  }
}

/** Which workers answered `count` requests, each on a new connection (the kernel spreads connections, not requests). */
async function workersAnswering(url: string, count: number, headers: Record<string, string> = {}): Promise<{ workers: Set<string>; statuses: number[] }> {
  const workers = new Set<string>();
  const statuses: number[] = [];
  for (let index = 0; index < count; index++) {
    // A connection the primary handed to a worker at the moment it was killed is lost with it: the client's timeout ends it.
    const agent = new Agent({ pipelining: 0, headersTimeout: 10_000, bodyTimeout: 10_000 });
    const response = await request(`${url}/api/version`, { headers: { connection: 'close', ...headers }, dispatcher: agent }).catch(() => undefined);
    await response?.body.text();
    await agent.close();
    statuses.push(response?.statusCode ?? 0);
    if (response === undefined) continue;
    const worker = response.headers['x-ollama-bridge-worker'];
    if (typeof worker === 'string') workers.add(worker);
  }
  return { workers, statuses };
}

async function until(condition: () => boolean | Promise<boolean>, timeoutMs: number, what: string): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await condition())) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe('--workers 2', () => {
  let cli: RunningCli;
  let url: string;
  let key: string;

  beforeAll(async () => {
    // 0.0.0.0 with no keys and --generate-key: the first worker generates a key, the second serves the same one.
    cli = spawnCli(['--dotenv', emptyEnvFile, '--api-key', 'sk-or-test', '--openrouter-url', fake.baseUrl, '--host', '0.0.0.0', '--port', '0', '--generate-key', '--workers', '2', '--log-format', 'json']);
    const [, port] = await waitForOutput(cli, /listening on http:\/\/0\.0\.0\.0:(\d+)/, 30_000);
    url = `http://127.0.0.1:${port}`;
    await waitForOutput(cli, /2 workers serving/, 30_000);
    key = (await waitForOutput(cli, /(obk_[a-z0-9]{8}_[A-Za-z0-9]+)/))[1]!;
  }, 150_000);

  it('answers from two worker processes on one port, each accepting the one generated key; the summary is printed once', async () => {
    expect(workerPids(cli)).toHaveLength(2);
    const { workers, statuses } = await workersAnswering(url, 30, { authorization: `Bearer ${key}` });
    expect(statuses.every((status) => status === 200)).toBe(true);
    expect(workers.size).toBe(2);
    // Each worker refuses a request without the key, and accepts it: the same key in both.
    const refused = await workersAnswering(url, 10);
    expect(refused.statuses.every((status) => status === 200)).toBe(true); // /api/version is public
    for (let index = 0; index < 10; index++) {
      const agent = new Agent();
      const response = await request(`${url}/api/tags`, { headers: { connection: 'close', authorization: `Bearer ${key}` }, dispatcher: agent });
      await response.body.text();
      await agent.close();
      expect(response.statusCode).toBe(200);
      // Answered in front of Fastify (frontends/ollama/fast-tags.ts), with the worker's header all the same.
      expect(response.headers['x-ollama-bridge-worker']).toMatch(/^\d+$/);
    }
    expect(cli.stdout()).not.toMatch(/goes through Fastify's pipeline/);
    // One summary, one key: the second worker printed none and serves the first one's.
    expect(new Set(cli.stdout().match(/obk_[a-z0-9]{8}_[A-Za-z0-9]+/g))).toEqual(new Set([key]));
    expect(cli.stdout().match(/^ {2}listening +http/gm)).toHaveLength(1);
    expect(cli.stdout().match(/listening on http/g)).toHaveLength(2);
  });

  it('replaces a worker that was killed; the port keeps answering', async () => {
    const [victim] = workerPids(cli);
    process.kill(victim!, 'SIGKILL');
    // The other worker answers at once.
    await new Promise((resolve) => setTimeout(resolve, 200));
    const { statuses } = await workersAnswering(url, 10);
    expect(statuses.every((status) => status === 200)).toBe(true);
    await until(() => /a worker died; starting a replacement/.test(cli.stdout()), 20_000, 'the death logged');
    await until(() => workerPids(cli).length === 2 && !workerPids(cli).includes(victim!), 60_000, 'a replacement worker');
    await until(async () => (await workersAnswering(url, 10)).workers.size === 2, 60_000, 'two workers answering');
    expect(cli.stdout()).toMatch(/a worker died; starting a replacement/);
  }, 150_000);

  it('SIGHUP replaces every worker one at a time; no request is refused meanwhile', async () => {
    const before = workerPids(cli);
    cli.child.kill('SIGHUP');
    const statuses: number[] = [];
    await until(async () => {
      statuses.push(...(await workersAnswering(url, 2)).statuses);
      return /rolling restart done/.test(cli.stdout());
    }, 120_000, 'the rolling restart');
    expect(statuses.every((status) => status === 200)).toBe(true);
    const after = workerPids(cli);
    expect(after).toHaveLength(2);
    expect(after.filter((pid) => before.includes(pid))).toEqual([]);
  }, 150_000);

  it('SIGTERM stops every worker and the primary exits 0', async () => {
    const pids = workerPids(cli);
    cli.child.kill('SIGTERM');
    const { code } = await withTimeout(cli.exit, 20_000, 'the primary exits');
    expect(code).toBe(0);
    for (const pid of pids) expect(() => process.kill(pid, 0)).toThrow();
    expect(cli.stdout()).toMatch(/ollama-bridge stopped/);
  }, 30_000);
});

describe('--workers 2, stopped while starting', () => {
  it('SIGTERM while the second worker still starts: that one is stopped too, and the primary exits 0', async () => {
    const cli = spawnCli(['--dotenv', emptyEnvFile, '--api-key', 'sk-or-test', '--openrouter-url', fake.baseUrl, '--port', '0', '--workers', '2', '--log-format', 'json']);
    // The first worker serves; the primary has just forked the second, which has not said it serves.
    await waitForOutput(cli, /listening on http/, 60_000);
    cli.child.kill('SIGTERM');
    const { code } = await withTimeout(cli.exit, 30_000, 'the primary exits');
    expect(code).toBe(0);
    expect(cli.stdout()).not.toMatch(/2 workers serving/);
    await until(() => workerPids(cli).length === 0, 10_000, 'no worker left');
  }, 120_000);
});

describe('--workers 2 without Redis: budgets through the SQLite ledger', () => {
  it("a key that spent its budget on one worker is refused by the other within a few seconds (each re-reads the ledger every second)", async () => {
    const keysFile = join(directory, 'budget-keys.json');
    // About 15 tokens a chat at the fake's $0.000001 a token: the second chat spends it.
    const key = createKeyCommand({ keysFile, name: 'budgeted', budgetUsd: 0.00002, budgetPeriod: 'day' }).trimEnd().split('\n').at(-1)!;
    const cli = spawnCli(['--dotenv', emptyEnvFile, '--api-key', FAKE_API_KEY, '--openrouter-url', fake.baseUrl, '--port', '0', '--workers', '2', '--keys-file', keysFile, '--log-format', 'json'], {
      env: { USAGE: 'true', USAGE_DB: join(directory, 'usage.db') },
    });
    try {
      const [, url] = await waitForOutput(cli, /listening on (http:\/\/127\.0\.0\.1:\d+)/, 60_000);
      await waitForOutput(cli, /2 workers serving/, 60_000);
      const chat = JSON.stringify({ model: 'openai/gpt-4o', stream: false, messages: [{ role: 'user', content: 'hi' }] });
      const headers = { authorization: `Bearer ${key}`, 'content-type': 'application/json' };
      // One kept-alive connection: every chat on the same worker, until it refuses.
      const spender = new Agent({ connections: 1 });
      const spentOn = new Set<string>();
      let refused = false;
      for (let attempt = 0; attempt < 6 && !refused; attempt++) {
        const response = await request(`${url!}/api/chat`, { method: 'POST', headers, body: chat, dispatcher: spender });
        await response.body.text();
        spentOn.add(String(response.headers['x-ollama-bridge-worker']));
        refused = response.statusCode === 402;
      }
      await spender.close();
      expect(refused).toBe(true);
      expect(spentOn.size).toBe(1);
      // The other worker learns the spend from the ledger: one second of batching, one of re-reading.
      await new Promise((resolve) => setTimeout(resolve, 3_000));
      const statuses: number[] = [];
      const workers = new Set<string>();
      for (let index = 0; index < 10; index++) {
        const agent = new Agent();
        const response = await request(`${url!}/api/chat`, { method: 'POST', headers: { ...headers, connection: 'close' }, body: chat, dispatcher: agent });
        await response.body.text();
        await agent.close();
        statuses.push(response.statusCode);
        workers.add(String(response.headers['x-ollama-bridge-worker']));
      }
      expect(workers.size).toBe(2);
      expect(statuses).toEqual(statuses.map(() => 402));
    } finally {
      cli.child.kill('SIGTERM');
      await withTimeout(cli.exit, 30_000, 'the primary exits');
    }
  }, 150_000);
});

describe('--workers 2: admin sessions', () => {
  it('a session signed in on one worker is honoured by every worker (one signing secret from the primary)', async () => {
    const keysFile = join(directory, 'admin-keys.json');
    const adminKey = createKeyCommand({ keysFile, name: 'operator', scopes: ['admin'] }).trimEnd().split('\n').at(-1)!;
    const cli = spawnCli(['--dotenv', emptyEnvFile, '--api-key', FAKE_API_KEY, '--openrouter-url', fake.baseUrl, '--port', '0', '--workers', '2', '--keys-file', keysFile, '--log-format', 'json']);
    try {
      const [, url] = await waitForOutput(cli, /listening on (http:\/\/127\.0\.0\.1:\d+)/, 60_000);
      await waitForOutput(cli, /2 workers serving/, 60_000);
      const signIn = await request(`${url!}/admin/api/session`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ key: adminKey }) });
      await signIn.body.text();
      expect(signIn.statusCode).toBe(200);
      const cookie = String(signIn.headers['set-cookie']).split(';')[0]!;
      const workers = new Set<string>();
      const signedIn: boolean[] = [];
      for (let index = 0; index < 12; index++) {
        const agent = new Agent();
        const response = await request(`${url!}/admin/api/session`, { headers: { cookie, connection: 'close' }, dispatcher: agent });
        signedIn.push(((await response.body.json()) as { signedIn: boolean }).signedIn);
        await agent.close();
        workers.add(String(response.headers['x-ollama-bridge-worker']));
      }
      expect(workers.size).toBe(2);
      expect(signedIn.every(Boolean)).toBe(true);
    } finally {
      cli.child.kill('SIGTERM');
      await withTimeout(cli.exit, 30_000, 'the primary exits');
    }
  }, 150_000);
});
