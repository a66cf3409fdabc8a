/**
 * The gateway with its ledger in a real PostgreSQL (`--database-url`): the totals equal the
 * requests made; PostgreSQL stopped mid-run and started again loses nothing the README promises
 * (records held in memory up to 10,000 are written when it returns; past that they are dropped
 * and counted in /metrics); a PostgreSQL down at start does not stop the gateway; the URL's
 * password never reaches a log or /health/ready.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { Writable } from 'node:stream';
import pg from 'pg';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeyCommand, listKeysWithLedger } from '../../src/auth/keys-command.js';
import { POSTGRES_SCHEMA_VERSION } from '../../src/usage/ledger/postgres-migrations.js';
import { usageCommand } from '../../src/usage/ledger/usage-command.js';
import { FAKE_API_KEY, startFakeOpenRouter, textStream, type FakeOpenRouter } from '../fakes/fake-openrouter.js';
import { killAllClis, spawnCli, withTimeout } from '../helpers/cli-process.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { postgresAvailable, postgresCanRestart, startTestPostgres, type TestPostgres } from '../helpers/postgres-server.js';
import { usageRecord } from '../helpers/usage-records.js';

const MODEL = 'openai/gpt-4o';
const today = (): string => new Date().toISOString().slice(0, 10);

async function waitFor(check: () => boolean | Promise<boolean>, timeoutMs = 10_000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error('timed out waiting');
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe.skipIf(!postgresAvailable())('the ledger in PostgreSQL', () => {
  let fake: FakeOpenRouter;
  let server: TestPostgres;
  const gateways: TestGateway[] = [];

  beforeAll(async () => {
    fake = await startFakeOpenRouter();
    // 7 prompt and 2 completion tokens, $0.000009 each answer.
    fake.script(MODEL, { sse: textStream(['Hello', ' there'], 'stop', [7, 2]) });
    server = await startTestPostgres();
  }, 60_000);
  afterAll(async () => {
    killAllClis();
    for (const gateway of gateways) await gateway.close();
    await fake?.close();
    server?.remove();
  });

  const start = async (databaseUrl: string, log?: Writable, settings: Record<string, unknown> = {}): Promise<TestGateway> => {
    const gateway = await startGateway(fake.baseUrl, { USAGE: true, DATABASE_URL: databaseUrl, METRICS_PUBLIC: true, ...settings, ...(log === undefined ? {} : { LOG_LEVEL: 'info' }) }, log === undefined ? {} : { logDestination: log });
    gateways.push(gateway);
    return gateway;
  };
  const send = async (gateway: TestGateway, key?: string): Promise<number> => {
    const response = await request(`${gateway.url}/api/chat`, {
      method: 'POST',
      headers: key === undefined ? {} : { authorization: `Bearer ${key}` },
      body: JSON.stringify({ model: MODEL, stream: false, messages: [{ role: 'user', content: 'hi' }] }),
    });
    await response.body.text();
    return response.statusCode;
  };
  const chat = async (gateway: TestGateway): Promise<void> => {
    expect(await send(gateway)).toBe(200);
  };
  const ready = async (gateway: TestGateway): Promise<any> => (await request(`${gateway.url}/health/ready`)).body.json();
  const todayTotal = async (databaseUrl: string): Promise<any> => JSON.parse(await usageCommand({ dbPath: '/nonexistent', databaseUrl, since: today(), until: today(), by: ['key'], format: 'json' })).total;

  it('two gateways on one database: the totals (the usage report with --database-url) equal the requests made through both', async () => {
    const url = await server.createDatabase();
    const first = await start(url);
    const second = await start(url);
    expect((await ready(first)).usage_ledger).toEqual({ state: 'writable' });
    for (let index = 0; index < 6; index++) await chat(index % 2 === 0 ? first : second);
    await Promise.all([first.app.usageLedger!.flush(), second.app.usageLedger!.flush()]);
    expect(await todayTotal(url)).toMatchObject({ requests: 6, prompt_tokens: 42, completion_tokens: 12, cost_usd: 0.000054 });
  });

  it.skipIf(!postgresCanRestart)('PostgreSQL stopped mid-run: the gateway serves, /health/ready says why, records wait in memory (past 10,000 dropped and counted) and are written when it is back', async () => {
    const url = await server.createDatabase();
    const lines: string[] = [];
    const log = new Writable({ write: (chunk: Buffer, _encoding, done) => { lines.push(chunk.toString()); done(); } });
    const gateway = await start(url.replace('postgres@', 'postgres:a-secret-password-9@'), log);
    await chat(gateway);
    await gateway.app.usageLedger!.flush();
    server.stop();
    try {
      for (let index = 0; index < 3; index++) await chat(gateway);
      await gateway.app.usageLedger!.flush();
      const report = await ready(gateway);
      expect(report.status).toBe('not_ready');
      expect(report.usage_ledger.state).toBe('not_writable');
      expect(report.usage_ledger.reason).toMatch(/^PostgreSQL at 127\.0\.0\.1:\d+\/bridge_test_\w+: /);
      expect(gateway.app.usageLedger!.pending).toBe(3);
      // More than the bound: the oldest 10,000 are kept, the rest dropped and counted.
      for (let index = 0; index < 10_000; index++) gateway.app.usageEvents.emit(usageRecord({ startedAt: Date.now(), costUsd: 0 }));
      expect(gateway.app.usageLedger!.pending).toBe(10_000);
      const metrics = await (await request(`${gateway.url}/metrics`)).body.text();
      expect(metrics).toMatch(/^ollama_bridge_usage_records_dropped_total 3$/m);
    } finally {
      server.start();
    }
    await waitFor(() => gateway.app.usageLedger!.pending === 0);
    expect((await ready(gateway)).usage_ledger).toEqual({ state: 'writable' });
    // The request before the stop, the three during it (held), and 9,997 of the emitted records.
    const total = await todayTotal(url);
    expect(total.requests).toBe(1 + 3 + 9_997);
    expect(total.prompt_tokens).toBe(4 * 7 + 9_997 * 10);
    const logged = lines.join('');
    expect(logged).toContain('usage database: a write failed; the records are kept in memory');
    expect(logged).toContain('usage database: writing again');
    expect(logged).not.toContain('a-secret-password-9');
  });

  it.skipIf(!postgresCanRestart)('PostgreSQL down at start: the gateway starts and serves; the records are written once it answers', async () => {
    const url = await server.createDatabase();
    server.stop();
    let gateway: TestGateway;
    try {
      gateway = await start(url);
      await chat(gateway);
      await chat(gateway);
      expect((await ready(gateway)).usage_ledger.state).toBe('not_writable');
    } finally {
      server.start();
    }
    await waitFor(() => gateway.app.usageLedger!.pending === 0);
    expect((await todayTotal(url)).requests).toBe(2);
  });

  it.skipIf(!postgresCanRestart)('budgets: a gateway seeds each key\'s spend from what every gateway recorded; one that started while PostgreSQL was down reads it again after its next write', async () => {
    const url = await server.createDatabase();
    const folder = mkdtempSync(join(tmpdir(), 'ollama-bridge-pg-keys-'));
    try {
      const keysFile = join(folder, 'keys.json');
      // $0.000009 an answer: the third passes the budget.
      const key = createKeyCommand({ keysFile, name: 'budgeted', budgetUsd: 0.0000225, budgetPeriod: 'day' }).trimEnd().split('\n').at(-1)!;
      const first = await start(url, undefined, { BRIDGE_KEYS_FILE: keysFile });
      for (let index = 0; index < 3; index++) expect(await send(first, key)).toBe(200);
      await first.app.usageLedger!.flush();
      // Started after: seeded from the ledger, so the key is over its budget there too.
      const later = await start(url, undefined, { BRIDGE_KEYS_FILE: keysFile });
      expect(await send(later, key)).toBe(402);
      // keys list --database-url reads the same spend.
      const id = JSON.parse(readFileSync(keysFile, 'utf8')).keys[0].id;
      expect(await listKeysWithLedger(keysFile, { dbPath: '/nonexistent', databaseUrl: url })).toMatch(new RegExp(`${id}\\s+budgeted.*\\$0\\.000027`));
      // Started while PostgreSQL is down: only this instance's spend counts, until its ledger writes again.
      server.stop();
      const lines: string[] = [];
      const log = new Writable({ write: (chunk: Buffer, _encoding, done) => { lines.push(chunk.toString()); done(); } });
      let blind: TestGateway;
      try {
        blind = await start(url, log, { BRIDGE_KEYS_FILE: keysFile });
        expect(lines.join('')).toContain("budgets: the usage ledger did not answer; each key's spend counts this instance's requests until it does");
        expect(await send(blind, key)).toBe(200);
      } finally {
        server.start();
      }
      // Its spend alone ($0.000009) is under the budget; once its ledger writes, it reads every gateway's.
      await waitFor(() => lines.join('').includes('budgets: spend read from the usage ledger again'), 15_000);
      expect(await send(blind, key)).toBe(402);
    } finally {
      rmSync(folder, { recursive: true, force: true });
    }
  });

  it('a database whose schema a newer version wrote stops the start-up with what to change', async () => {
    const url = await server.createDatabase();
    await (await start(url)).close();
    const client = new pg.Client({ connectionString: url });
    await client.connect();
    await client.query(`INSERT INTO schema_migrations (version, describe) VALUES (${POSTGRES_SCHEMA_VERSION + 1}, 'from the future')`);
    await client.end();
    await expect(start(url)).rejects.toMatchObject({
      code: 'CONFIG_INVALID',
      message: expect.stringMatching(/^the usage database at 127\.0\.0\.1:\d+\/bridge_test_\w+ was written by a newer ollama-bridge \(schema 2; this one knows up to 1\); point --database-url \(DATABASE_URL\) at another database, or run the newer ollama-bridge$/),
    });
  });

  it('`serve` with DATABASE_URL: the start-up summary names the server and database, never the password', async () => {
    const url = (await server.createDatabase()).replace('postgres@', 'postgres:summary-secret-password@');
    const cli = spawnCli(['serve', '--port', '0', '--log-level', 'info'], { env: { OPENROUTER_API_KEY: FAKE_API_KEY, OPENROUTER_BASE_URL: fake.baseUrl, USAGE: 'true', DATABASE_URL: url } });
    await waitFor(() => /usage\s+recorded in/.test(cli.stdout()), 30_000);
    expect(cli.stdout()).toMatch(/usage\s+recorded in PostgreSQL at 127\.0\.0\.1:\d+\/bridge_test_\w+ \(report: ollama-bridge usage\)/);
    cli.child.kill('SIGTERM');
    await withTimeout(cli.exit, 20_000, 'exit');
    expect(cli.stdout() + cli.stderr()).not.toContain('summary-secret-password');
  }, 60_000);
});
