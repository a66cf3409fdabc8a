/**
 * The command line as a process: `node --conditions=source --import tsx src/cli.ts ...` from
 * the repository root (no build needed), with a minimal environment (no OpenRouter settings
 * inherited from the machine running the tests).
 */
import { once } from 'node:events';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { Agent, request } from 'undici';
import { DEFAULT_MODELS, SSE_DONE, sseChunk, startFakeOpenRouter, type FakeOpenRouter } from '../fakes/fake-openrouter.js';
import { checkStream, ndjson, ndjsonLines } from '../helpers/ollama-checks.js';
import { REPO_ROOT, killAllClis, spawnCli as spawnCliProcess, waitForOutput, withTimeout, type RunningCli } from '../helpers/cli-process.js';

/** The CLI with only these environment variables (see cli-process.ts). */
const spawnCli = (args: string[], env: Record<string, string> = {}): RunningCli => spawnCliProcess(args, { env });

const SECRET_KEY = 'sk-or-v1-cli-secret-0123456789abcdef';
const SLOW_MODEL = 'slow/model';

let scratch: string;
let emptyEnvFile: string;
let fake: FakeOpenRouter;
const agents: Agent[] = [];

beforeAll(async () => {
  scratch = mkdtempSync(join(tmpdir(), 'ollama-bridge-cli-'));
  // An explicit, empty .env so a developer's own ./.env can never leak into these runs.
  emptyEnvFile = join(scratch, 'empty.env');
  writeFileSync(emptyEnvFile, '');
  fake = await startFakeOpenRouter({ apiKey: SECRET_KEY, models: [...DEFAULT_MODELS, { id: SLOW_MODEL, context_length: 8192, created: 1700000000 }] });
  let sse = sseChunk({ role: 'assistant', content: '' });
  for (let index = 0; index < 6; index++) sse += sseChunk({ role: 'assistant', content: `w${index} ` });
  sse += sseChunk({ role: 'assistant', content: '' }, 'stop', { usage: { prompt_tokens: 2, completion_tokens: 6, total_tokens: 8 } });
  fake.script(SLOW_MODEL, { sse: sse + SSE_DONE, delayMs: 200 });
});
afterAll(async () => {
  killAllClis();
  await Promise.all(agents.map((agent) => agent.destroy()));
  await fake?.close();
  rmSync(scratch, { recursive: true, force: true });
});

/** Waits for the "listening on http://…" log line and returns that URL. */
async function listeningUrl(cli: RunningCli): Promise<string> {
  return (await waitForOutput(cli, /listening on (http:\/\/127\.0\.0\.1:\d+)/))[1]!;
}

function expectNoStackTrace(text: string): void {
  expect(text).not.toMatch(/\n\s+at /);
  expect(text).not.toMatch(/\.ts:\d+:\d+/);
}

/** The flag names declared in src/cli.ts's FLAGS table, read from the source (importing it would run the CLI). */
function declaredFlags(): string[] {
  const source = readFileSync(join(REPO_ROOT, 'src/cli.ts'), 'utf8');
  const table = source.slice(source.indexOf('export const FLAGS'), source.indexOf('} as const satisfies'));
  const names = [...table.matchAll(/^\s+'?([a-z][a-z-]*)'?: \{ key:/gm)].map((match) => match[1]!);
  expect(names.length).toBeGreaterThanOrEqual(10);
  return names;
}

// Quick runs that only start and stop a process: concurrently, to keep the suite fast.
describe.concurrent('ollama-bridge CLI: start-up', () => {
  it('without an OpenRouter key: exit code 2 and a clear message', async () => {
    const cli = spawnCli(['--dotenv', emptyEnvFile, '--port', '0']);
    const { code } = await withTimeout(cli.exit, 15_000, 'exit');
    expect(code).toBe(2);
    expect(cli.stderr()).toMatch(/OpenRouter API key/);
    expect(cli.stderr()).toMatch(/--api-key/);
    expect(cli.stderr()).toMatch(/OPENROUTER_API_KEY/);
    expectNoStackTrace(cli.stderr());
  }, 20_000);

  it('port already in use: a clear message, no stack trace, non-zero exit', async () => {
    const blocker = createServer();
    blocker.listen(0, '127.0.0.1');
    await once(blocker, 'listening');
    const { port } = blocker.address() as AddressInfo;
    try {
      const cli = spawnCli(['--dotenv', emptyEnvFile, '--api-key', SECRET_KEY, '--openrouter-url', fake.baseUrl, '--host', '127.0.0.1', '--port', String(port)]);
      const { code } = await withTimeout(cli.exit, 15_000, 'exit');
      expect(code).not.toBe(0);
      expect(code).not.toBeNull();
      expect(cli.stderr()).toMatch(/already in use/);
      expect(cli.stderr()).toContain(String(port));
      expectNoStackTrace(cli.stderr());
      expectNoStackTrace(cli.stdout());
      expect(cli.stdout() + cli.stderr()).not.toContain(SECRET_KEY);
    } finally {
      blocker.close();
    }
  }, 20_000);

  it('--help lists every flag', async () => {
    const cli = spawnCli(['--help']);
    const { code } = await withTimeout(cli.exit, 15_000, 'exit');
    expect(code).toBe(0);
    const help = cli.stdout();
    for (const flag of [...declaredFlags(), 'dotenv', 'help', 'version']) expect(help, `--${flag} in --help`).toMatch(new RegExp(`--${flag}\\b`));
  }, 20_000);

  it('an unknown flag is refused with a message', async () => {
    const cli = spawnCli(['--bogus-flag', '--dotenv', emptyEnvFile]);
    const { code } = await withTimeout(cli.exit, 15_000, 'exit');
    expect(code).not.toBe(0);
    expect(cli.stderr()).toMatch(/bogus-flag/);
    expectNoStackTrace(cli.stderr());
  }, 20_000);
});

describe('ollama-bridge CLI: serving', () => {

  /** Starts the CLI, opens a slow stream, sends SIGTERM after its first line and reads it to the end. */
  async function sigtermDuringStream(graceMs: number): Promise<{ cli: RunningCli; lines: any[]; signalledAt: number }> {
    const cli = spawnCli(['--dotenv', emptyEnvFile, '--openrouter-url', fake.baseUrl, '--port', '0', '--shutdown-grace', String(graceMs)], {
      OPENROUTER_API_KEY: SECRET_KEY,
    });
    const url = await listeningUrl(cli);
    // A keep-alive client, as ollama-js, Open WebUI or the Go client are: it keeps its connection after the answer.
    const agent = new Agent();
    agents.push(agent);
    const response = await request(`${url}/api/chat`, {
      method: 'POST',
      dispatcher: agent,
      body: JSON.stringify({ model: SLOW_MODEL, messages: [{ role: 'user', content: 'count' }] }),
    });
    expect(response.statusCode).toBe(200);
    const lines: any[] = [];
    let signalledAt = 0;
    for await (const line of ndjsonLines(response.body)) {
      lines.push(line);
      if (lines.length === 1) {
        cli.child.kill('SIGTERM');
        signalledAt = Date.now();
      }
    }
    return { cli, lines, signalledAt };
  }

  it('SIGTERM while a slow stream is open: the stream completes with its done line and the process exits 0', async () => {
    const { cli, lines } = await sigtermDuringStream(3000);
    checkStream(lines, 'chat');
    expect(lines.map((line) => line.message.content).join('')).toBe('w0 w1 w2 w3 w4 w5 ');
    expect(lines.at(-1)).toMatchObject({ done: true, done_reason: 'stop', eval_count: 6 });
    const { code, signal } = await withTimeout(cli.exit, 15_000, 'exit after SIGTERM');
    expect(signal).toBeNull();
    expect(code).toBe(0);
    expectNoStackTrace(cli.stderr());
  }, 30_000);

  it('SIGTERM: the process exits once its open streams are done, without waiting out the grace period', async () => {
    const { cli, lines, signalledAt } = await sigtermDuringStream(20_000);
    expect(lines.at(-1)).toMatchObject({ done: true });
    // The stream needs ~1.2 s more after the signal; 5 s is generous, 20 s is the grace period.
    const exited = await withTimeout(cli.exit, 5_000, 'exit within 5 s of SIGTERM').catch((error: Error) => error);
    expect(exited, `still running ${Date.now() - signalledAt} ms after SIGTERM, its stream long finished`).not.toBeInstanceOf(Error);
    expect((exited as { code: number | null }).code).toBe(0);
  }, 30_000);

  it('the OpenRouter key never appears in stdout/stderr, even at --log-level debug', async () => {
    const cli = spawnCli(['--dotenv', emptyEnvFile, '--api-key', SECRET_KEY, '--openrouter-url', fake.baseUrl, '--port', '0', '--log-level', 'debug']);
    const url = await listeningUrl(cli);
    const agent = new Agent();
    try {
      const post = async (body: unknown, headers: Record<string, string> = {}) => {
        const response = await request(`${url}/api/chat`, { method: 'POST', dispatcher: agent, headers, body: JSON.stringify(body) });
        return { status: response.statusCode, text: await response.body.text() };
      };
      const ok = await post({ model: 'openai/gpt-4o', messages: [{ role: 'user', content: 'hello' }] }, { authorization: 'Bearer secret-client-key' });
      expect(ok.status).toBe(200);
      checkStream(ndjson(ok.text), 'chat');
      expect((await post({ model: 'nope/missing', messages: [{ role: 'user', content: 'x' }] }, { authorization: `Bearer ${SECRET_KEY}` })).status).toBe(404);
      expect((await post('{not json', {})).status).toBe(400);
    } finally {
      await agent.close();
    }
    cli.child.kill('SIGTERM');
    expect((await withTimeout(cli.exit, 15_000, 'exit')).code).toBe(0);
    const output = cli.stdout() + cli.stderr();
    // The requests were logged, so the check below is not vacuous.
    expect(output).toContain('/api/chat');
    expect(output).toMatch(/"status":404/);
    expect(output).not.toContain(SECRET_KEY);
    expect(output).not.toContain(SECRET_KEY.slice(-16));
    expect(output).not.toContain('secret-client-key');
  }, 30_000);

  it('an upstream that refuses the key: the client gets a 502 and the logs still hold no key', async () => {
    const refusingFake = await startFakeOpenRouter({ apiKey: 'a-different-key' });
    const cli = spawnCli(['--dotenv', emptyEnvFile, '--api-key', SECRET_KEY, '--openrouter-url', refusingFake.baseUrl, '--port', '0', '--log-level', 'debug']);
    try {
      const url = await listeningUrl(cli);
      const agent = new Agent();
      const response = await request(`${url}/api/chat`, {
        method: 'POST',
        dispatcher: agent,
        body: JSON.stringify({ model: 'openai/gpt-4o', messages: [{ role: 'user', content: 'x' }], stream: false }),
      });
      expect(response.statusCode).toBe(502);
      expect(JSON.parse(await response.body.text()).error).toMatch(/refused/);
      await agent.close();
      cli.child.kill('SIGTERM');
      expect((await withTimeout(cli.exit, 15_000, 'exit')).code).toBe(0);
      const output = cli.stdout() + cli.stderr();
      expect(output).toMatch(/refused/);
      expect(output).not.toContain(SECRET_KEY);
    } finally {
      await refusingFake.close();
    }
  }, 30_000);
});
