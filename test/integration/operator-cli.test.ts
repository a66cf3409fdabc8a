/**
 * Settings that cannot surprise and errors that say what to change, as the command line
 * shows them: a child process per case (see test/helpers/cli-process.ts).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request } from 'undici';
import { SSE_DONE, sseChunk, startFakeOpenRouter, type FakeOpenRouter } from '../fakes/fake-openrouter.js';
import { killAllClis, spawnCli, waitForOutput, withTimeout } from '../helpers/cli-process.js';

const KEY = 'sk-or-v1-operator-cli-0123456789abcdef';
/** A model whose answer takes 4 s (20 pieces, 200 ms apart). */
const SLOW_MODEL = 'openai/gpt-4o';
let fake: FakeOpenRouter;
let scratch: string;

beforeAll(async () => {
  fake = await startFakeOpenRouter({ apiKey: KEY });
  let sse = sseChunk({ role: 'assistant', content: '' });
  for (let index = 0; index < 20; index++) sse += sseChunk({ role: 'assistant', content: `w${index} ` });
  sse += sseChunk({ role: 'assistant', content: '' }, 'stop', { usage: { prompt_tokens: 2, completion_tokens: 20, total_tokens: 22 } });
  fake.script(SLOW_MODEL, { sse: sse + SSE_DONE, delayMs: 200 });
  scratch = mkdtempSync(join(tmpdir(), 'ollama-bridge-operator-'));
});
afterAll(async () => {
  killAllClis();
  await fake?.close();
  rmSync(scratch, { recursive: true, force: true });
});

async function failure(args: string[], options: { cwd?: string; env?: Record<string, string> } = {}): Promise<{ code: number | null; stderr: string }> {
  const cli = spawnCli(args, { ...options, env: { OPENROUTER_API_KEY: KEY, ...options.env } });
  const { code } = await withTimeout(cli.exit, 15_000, 'exit');
  return { code, stderr: cli.stderr() };
}

describe.concurrent('operator CLI', () => {
  it('an unknown flag: exit 2, "did you mean" the closest flag', async () => {
    const { code, stderr } = await failure(['--prot', '8080']);
    expect(code).toBe(2);
    expect(stderr).toMatch(/Unknown argument: prot/);
    expect(stderr).toMatch(/did you mean --port\?/);
  }, 20_000);

  it('a bad value names the flag and its environment variable; an enum lists its values; a minimum is stated', async () => {
    const port = await failure(['--port', 'abc']);
    expect(port.code).toBe(2);
    expect(port.stderr).toMatch(/--port \(env BRIDGE_PORT\): must be an integer/);
    const level = await failure(['--log-level', 'loud']);
    expect(level.stderr).toMatch(/--log-level \(env LOG_LEVEL\): must be one of fatal, error, warn, info, debug, trace, silent/);
    const ttl = await failure(['--catalog-ttl', '1']);
    expect(ttl.stderr).toMatch(/--catalog-ttl \(env CATALOG_TTL_SECONDS\): must be >= 10/);
  }, 30_000);

  it('--dotenv naming a missing file is our exit-2 configuration error (Node 20 takes --env-file for itself)', async () => {
    const { code, stderr } = await failure(['--dotenv', join(scratch, 'nope.env')]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/cannot read the settings file .*nope\.env: no such file/);
  }, 20_000);

  it('--keys-file naming a missing file says how to create it', async () => {
    const { code, stderr } = await failure(['--keys-file', 'nope.json', '--port', '0'], { cwd: scratch });
    expect(code).toBe(2);
    expect(stderr).toContain('ollama-bridge keys create --name NAME --keys-file nope.json');
  }, 20_000);

  it('keys list on a file that is not a keys file exits 2 like every configuration error', async () => {
    const bad = join(scratch, 'bad-keys.json');
    writeFileSync(bad, '{"not": "keys"}');
    const { code, stderr } = await failure(['keys', 'list', '--keys-file', bad]);
    expect(code).toBe(2);
    expect(stderr).toMatch(/not a keys file/);
  }, 20_000);

  it('keys made by `keys create` without --keys-file are read by `serve` in the same folder: it is not open', async () => {
    const folder = mkdtempSync(join(scratch, 'default-keys-'));
    const create = spawnCli(['keys', 'create', '--name', 'laptop'], { cwd: folder });
    expect((await withTimeout(create.exit, 15_000, 'create')).code).toBe(0);
    const key = create.stdout().trim().split('\n').at(-1)!;
    const serve = spawnCli(['--openrouter-url', fake.baseUrl, '--port', '0', '--log-format', 'json'], { cwd: folder, env: { OPENROUTER_API_KEY: KEY } });
    const [, url] = await waitForOutput(serve, /listening on (http:\/\/127\.0\.0\.1:\d+)/);
    expect(serve.stdout()).toMatch(/1 client key \(ollama-bridge-keys\.json\)/);
    expect((await fetch(`${url}/api/tags`)).status).toBe(401);
    expect((await fetch(`${url}/api/tags`, { headers: { authorization: `Bearer ${key}` } })).status).toBe(200);
    serve.child.kill('SIGTERM');
    await withTimeout(serve.exit, 10_000, 'exit');
  }, 30_000);

  it('OLLAMA_HOST sets the listen address as Ollama reads it; a generic PORT does not', async () => {
    const cli = spawnCli(['--openrouter-url', fake.baseUrl, '--log-format', 'json'], { env: { OPENROUTER_API_KEY: KEY, OLLAMA_HOST: 'http://127.0.0.1:0', PORT: '1' } });
    const [, url] = await waitForOutput(cli, /listening on (http:\/\/127\.0\.0\.1:\d+)/);
    expect(url).not.toBe('http://127.0.0.1:1');
    expect((await fetch(`${url}/api/version`)).status).toBe(200);
    cli.child.kill('SIGTERM');
    await withTimeout(cli.exit, 10_000, 'exit');
  }, 30_000);

  it('shutdown: a stream still open when the grace period ends gets the dialect\'s error, not a cut; the last line says the gateway stopped', async () => {
    const cli = spawnCli(['--openrouter-url', fake.baseUrl, '--port', '0', '--shutdown-grace', '300', '--log-format', 'json'], { env: { OPENROUTER_API_KEY: KEY } });
    const [, url] = await waitForOutput(cli, /listening on (http:\/\/127\.0\.0\.1:\d+)/);
    const messages = [{ role: 'user', content: 'count' }];
    const ndjson = await request(`${url}/api/chat`, { method: 'POST', body: JSON.stringify({ model: SLOW_MODEL, messages }) });
    const sse = await request(`${url}/v1/chat/completions`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ model: SLOW_MODEL, messages, stream: true }) });
    const ndjsonText = ndjson.body.text();
    const sseText = sse.body.text();
    await new Promise((resolve) => setTimeout(resolve, 400));
    cli.child.kill('SIGTERM');
    const lines = (await ndjsonText).trim().split('\n').map((line) => JSON.parse(line));
    expect(lines.length).toBeGreaterThan(1);
    expect(lines.at(-1)).toEqual({ error: 'ollama-bridge is shutting down: the answer was cut short' });
    expect(lines.some((line) => line.done === true)).toBe(false);
    const events = (await sseText).trim().split('\n\n');
    expect(events.at(-1)).toMatch(/^data: \{"error":\{"message":"ollama-bridge is shutting down: the answer was cut short"/);
    expect(events).not.toContain('data: [DONE]');
    const { code } = await withTimeout(cli.exit, 10_000, 'exit');
    expect(code).toBe(0);
    const logLines = cli.stdout().split('\n').filter((line) => line.startsWith('{')).map((line) => JSON.parse(line));
    expect(logLines.some((line) => /ending 2 open answers with an error/.test(line.msg))).toBe(true);
    expect(logLines.at(-1).msg).toBe('ollama-bridge stopped');
  }, 30_000);

  it('shutdown: a second signal says it is forcing the exit', async () => {
    const cli = spawnCli(['--openrouter-url', fake.baseUrl, '--port', '0', '--shutdown-grace', '10000', '--log-format', 'json'], { env: { OPENROUTER_API_KEY: KEY } });
    const [, url] = await waitForOutput(cli, /listening on (http:\/\/127\.0\.0\.1:\d+)/);
    const open = await request(`${url}/api/chat`, { method: 'POST', body: JSON.stringify({ model: SLOW_MODEL, messages: [{ role: 'user', content: 'count' }] }) });
    const drained = open.body.text().catch(() => '');
    cli.child.kill('SIGINT');
    await waitForOutput(cli, /shutting down: no new connections/);
    cli.child.kill('SIGINT');
    const { code } = await withTimeout(cli.exit, 10_000, 'exit');
    await drained;
    expect(code).toBe(1);
    expect(cli.stdout()).toMatch(/second signal: forcing the exit now/);
  }, 30_000);
});
