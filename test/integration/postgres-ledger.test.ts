/**
 * The gateway with its ledger in a real PostgreSQL (`--database-url`): the totals equal the
 * requests made; PostgreSQL stopped mid-run and started again loses nothing the README promises
 * (records held in memory up to 10,000 are written when it returns; past that they are dropped
 * and counted in /metrics); a PostgreSQL down at start does not stop the gateway; the URL's
 * password never reaches a log or /health/ready.
 */
import { Writable } from 'node:stream';
import { request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { usageCommand } from '../../src/usage/ledger/usage-command.js';
import { startFakeOpenRouter, textStream, type FakeOpenRouter } from '../fakes/fake-openrouter.js';
import { startGateway, type TestGateway } from '../helpers/gateway.js';
import { postgresAvailable, startTestPostgres, type TestPostgres } from '../helpers/postgres-server.js';
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
    for (const gateway of gateways) await gateway.close();
    await fake?.close();
    server?.remove();
  });

  const start = async (databaseUrl: string, log?: Writable): Promise<TestGateway> => {
    const gateway = await startGateway(fake.baseUrl, { USAGE: true, DATABASE_URL: databaseUrl, METRICS_PUBLIC: true, ...(log === undefined ? {} : { LOG_LEVEL: 'info' }) }, log === undefined ? {} : { logDestination: log });
    gateways.push(gateway);
    return gateway;
  };
  const chat = async (gateway: TestGateway): Promise<void> => {
    const response = await request(`${gateway.url}/api/chat`, { method: 'POST', body: JSON.stringify({ model: MODEL, stream: false, messages: [{ role: 'user', content: 'hi' }] }) });
    expect(response.statusCode).toBe(200);
    await response.body.text();
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

  it('PostgreSQL stopped mid-run: the gateway serves, /health/ready says why, records wait in memory (past 10,000 dropped and counted) and are written when it is back', async () => {
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

  it('PostgreSQL down at start: the gateway starts and serves; the records are written once it answers', async () => {
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
});
