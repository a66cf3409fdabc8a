/**
 * Three gateway processes behind nginx (round-robin), sharing one keys file, one Redis and one
 * PostgreSQL (issue 18), as the README's docker-compose example: a key's requests per minute
 * and budget hold over all of them (the total, not per instance); a key revoked on one instance
 * is refused by every instance within a second; the ledger's totals (`ollama-bridge usage
 * --database-url`) equal the requests made; Redis, then PostgreSQL, stopped and started
 * mid-test: every request is still answered and every one of them is in the ledger. The
 * instances trust nginx (TRUST_PROXY): the ledger names the client nginx saw, not nginx.
 */
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { connect } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import pg from 'pg';
import { Agent, request } from 'undici';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { createKeyCommand } from '../../src/auth/keys-command.js';
import { usageCommand } from '../../src/usage/ledger/usage-command.js';
import { startFakeOpenRouter, textStream, type FakeOpenRouter } from '../fakes/fake-openrouter.js';
import { killAllClis, spawnCli } from '../helpers/cli-process.js';
import { postgresAvailable, postgresCanRestart, startTestPostgres, type TestPostgres } from '../helpers/postgres-server.js';
import { redisAvailable, startRedis, type TestRedis } from '../helpers/redis-server.js';
import { nginxAvailable, startCluster, type Cluster } from './cluster.js';

const MODEL = 'openai/gpt-4o';
/** Each answer: 7 prompt and 2 completion tokens, $0.000009. */
const ANSWER_COST = 0.000009;
const INSTANCES = 3;
/** SKIP_MULTI_INSTANCE=1: .ci/run's extra Node majors skip it (the main run has it; it takes most of a minute). */
const available = process.env.SKIP_MULTI_INSTANCE !== '1' && nginxAvailable() && redisAvailable() && postgresAvailable();

let fake: FakeOpenRouter;
let redis: TestRedis;
let postgres: TestPostgres;
let databaseUrl: string;
let folder: string;
let cluster: Cluster;
const keys: Record<string, { key: string; id: string }> = {};
/** Answered chat requests per key name, as the ledger must count them. */
const made: Record<string, number> = {};

function createKey(keysFile: string, name: string, options: { rpm?: number; budgetUsd?: number; admin?: boolean } = {}): void {
  const printed = createKeyCommand({
    keysFile, name,
    ...(options.admin === true ? { scopes: ['admin'] } : {}),
    ...(options.rpm === undefined ? {} : { requestsPerMinute: options.rpm }),
    ...(options.budgetUsd === undefined ? {} : { budgetUsd: options.budgetUsd, budgetPeriod: 'day' }),
  });
  const stored = JSON.parse(readFileSync(keysFile, 'utf8')).keys.find((record: { name: string }) => record.name === name);
  keys[name] = { key: printed.trimEnd().split('\n').at(-1)!, id: stored.id };
}

/** A client on another loopback address than nginx's 127.0.0.1 (Linux routes all of 127/8 to lo). */
const clientElsewhere = new Agent({
  connect: (options, callback) => {
    const socket = connect({ host: options.hostname, port: Number(options.port), localAddress: '127.0.0.2' });
    socket.once('connect', () => callback(null, socket));
    socket.once('error', (error) => callback(error, null));
  },
});

async function chat(url: string, name: string, from: { dispatcher: Agent; headers: Record<string, string> } | undefined = undefined): Promise<number> {
  const response = await request(`${url}/api/chat`, {
    method: 'POST',
    headers: { authorization: `Bearer ${keys[name]!.key}`, 'content-type': 'application/json', ...from?.headers },
    body: JSON.stringify({ model: MODEL, stream: false, messages: [{ role: 'user', content: 'hi' }] }),
    ...(from === undefined ? {} : { dispatcher: from.dispatcher }),
  });
  await response.body.text();
  if (response.statusCode === 200) made[name] = (made[name] ?? 0) + 1;
  return response.statusCode;
}

async function until(condition: () => Promise<boolean>, timeoutMs: number): Promise<number> {
  const started = Date.now();
  while (!(await condition())) {
    if (Date.now() - started > timeoutMs) throw new Error(`not within ${timeoutMs} ms`);
    await new Promise((resolve) => setTimeout(resolve, 25));
  }
  return Date.now() - started;
}

const today = (): string => new Date().toISOString().slice(0, 10);

/** Today's requests per key name in the ledger (the usage report over PostgreSQL). */
async function ledgerRequests(): Promise<Record<string, number>> {
  const report = JSON.parse(await usageCommand({ dbPath: '/nonexistent', databaseUrl, since: today(), until: today(), by: ['key'], format: 'json' }));
  return Object.fromEntries(report.rows.map((row: { key: string; requests: number }) => [row.key, row.requests]));
}

/**
 * Waits until the ledger holds every request of the key `counted` (each instance flushes every
 * second; the other keys' refused requests are in the ledger too, so only this one is compared).
 */
async function ledgerHoldsEveryRequest(timeoutMs = 15_000): Promise<void> {
  let counted: Record<string, number> = {};
  await until(async () => {
    counted = await ledgerRequests().catch(() => ({}));
    return counted.counted === made.counted;
  }, timeoutMs).catch((error: unknown) => {
    throw new Error(`the ledger holds ${counted.counted} requests of the key "counted", ${made.counted} were answered`, { cause: error });
  });
}

async function chatRequestsServedBy(url: string): Promise<number> {
  const response = await request(`${url}/metrics`, { headers: { authorization: `Bearer ${keys.admin!.key}` } });
  const text = await response.body.text();
  let total = 0;
  for (const match of text.matchAll(/^ollama_bridge_requests_total\{[^}]*route="\/api\/chat"[^}]*\} (\d+)$/gm)) total += Number(match[1]);
  return total;
}

describe.skipIf(!available)(`${INSTANCES} gateways behind nginx, sharing a keys file, Redis and PostgreSQL`, () => {
  beforeAll(async () => {
    fake = await startFakeOpenRouter();
    fake.script(MODEL, { sse: textStream(['Hello', ' there'], 'stop', [7, 2]) });
    [redis, postgres] = await Promise.all([startRedis(), startTestPostgres()]);
    databaseUrl = await postgres.createDatabase();
    folder = mkdtempSync(join(tmpdir(), 'ollama-bridge-multi-'));
    const keysFile = join(folder, 'keys.json');
    createKey(keysFile, 'counted');
    createKey(keysFile, 'limited', { rpm: 5 });
    createKey(keysFile, 'budgeted', { budgetUsd: ANSWER_COST * 2.5 });
    createKey(keysFile, 'revoked');
    createKey(keysFile, 'admin', { admin: true });
    createKey(keysFile, 'proxied');
    // nginx connects from 127.0.0.1, as examples/docker-compose.yml's gateways trust its network.
    cluster = await startCluster({ instances: INSTANCES, openRouterUrl: fake.baseUrl, keysFile, redisUrl: redis.url, databaseUrl, env: { TRUST_PROXY: '127.0.0.1' } });
  }, 120_000);
  afterAll(async () => {
    await clientElsewhere.close();
    await cluster?.stop();
    killAllClis();
    await redis?.stop();
    postgres?.remove();
    await fake?.close();
    if (folder !== undefined) rmSync(folder, { recursive: true, force: true });
  }, 60_000);

  it('nginx spreads requests over every instance, and the ledger totals (usage --database-url) equal the requests made', async () => {
    for (let index = 0; index < 4 * INSTANCES; index++) expect(await chat(cluster.url, 'counted')).toBe(200);
    for (const instance of cluster.instances) expect(await chatRequestsServedBy(instance.url)).toBeGreaterThan(0);
    await ledgerHoldsEveryRequest();
    // The command line as a user runs it.
    const cli = spawnCli(['usage', '--json', '--by', 'key', '--since', today(), '--until', today()], { env: { DATABASE_URL: databaseUrl } });
    expect((await cli.exit).code).toBe(0);
    const report = JSON.parse(cli.stdout());
    expect(report.rows.find((row: { key: string }) => row.key === 'counted')).toMatchObject({ requests: 4 * INSTANCES, prompt_tokens: 4 * INSTANCES * 7, completion_tokens: 4 * INSTANCES * 2 });
  }, 60_000);

  it('with TRUST_PROXY naming nginx, the ledger names the client nginx saw (its X-Forwarded-For), not nginx nor what the client forged', async () => {
    const from = { dispatcher: clientElsewhere, headers: { 'x-forwarded-for': '203.0.113.66' } };
    for (let index = 0; index < 2 * INSTANCES; index++) expect(await chat(cluster.url, 'proxied', from)).toBe(200);
    const client = new pg.Client({ connectionString: databaseUrl });
    await client.connect();
    try {
      const addresses = async () => (await client.query<{ client_address: string; requests: number }>(
        'SELECT client_address, COUNT(*)::int AS requests FROM request_detail WHERE key_id = $1 GROUP BY client_address',
        [keys.proxied!.id],
      )).rows;
      await until(async () => (await addresses()).reduce((sum, row) => sum + row.requests, 0) === 2 * INSTANCES, 15_000);
      expect(await addresses()).toEqual([{ client_address: '127.0.0.2', requests: 2 * INSTANCES }]);
    } finally {
      await client.end();
    }
  }, 30_000);

  it('a key\'s requests per minute hold over all instances together (5, not 5 per instance)', async () => {
    const statuses: number[] = [];
    for (let index = 0; index < 8; index++) statuses.push(await chat(cluster.url, 'limited'));
    expect(statuses.filter((status) => status === 200)).toHaveLength(5);
    expect(statuses.slice(5)).toEqual([429, 429, 429]);
  });

  it('a key\'s budget holds over all instances together: spent through any, refused by every one', async () => {
    const statuses: number[] = [];
    for (let index = 0; index < 3 * INSTANCES; index++) {
      statuses.push(await chat(cluster.url, 'budgeted'));
      // The answer's cost is counted in Redis when its response closes.
      await new Promise((resolve) => setTimeout(resolve, 50));
    }
    // $0.000009 an answer, a budget of $0.0000225: the third answer passes the budget, every later request is refused.
    expect(statuses.slice(0, 3)).toEqual([200, 200, 200]);
    expect(statuses.slice(3)).toEqual(Array(3 * INSTANCES - 3).fill(402));
  });

  it('a key revoked on one instance (the admin API) is refused by every instance within a second', async () => {
    for (const instance of cluster.instances) expect(await chat(instance.url, 'revoked')).toBe(200);
    const response = await request(`${cluster.instances[0]!.url}/admin/api/keys/${keys.revoked!.id}`, { method: 'DELETE', headers: { authorization: `Bearer ${keys.admin!.key}` } });
    await response.body.text();
    expect(response.statusCode).toBe(204);
    const waited = await until(async () => (await Promise.all(cluster.instances.map(async (instance) => {
      const status = await chat(instance.url, 'revoked');
      return status === 401;
    }))).every(Boolean), 1_000);
    expect(waited).toBeLessThan(1_000);
  });

  it('Redis stopped and started mid-test: every request is answered, and every one is in the ledger', async () => {
    await redis.stop();
    try {
      for (let index = 0; index < 2 * INSTANCES; index++) expect(await chat(cluster.url, 'counted')).toBe(200);
    } finally {
      await redis.start();
    }
    for (let index = 0; index < 2 * INSTANCES; index++) expect(await chat(cluster.url, 'counted')).toBe(200);
    await ledgerHoldsEveryRequest();
  }, 60_000);

  it.skipIf(!postgresCanRestart)('PostgreSQL stopped and started mid-test: every request is answered, /health/ready says the ledger is not writable, and no request is missing from the ledger', async () => {
    postgres.stop();
    try {
      for (let index = 0; index < 3 * INSTANCES; index++) expect(await chat(cluster.url, 'counted')).toBe(200);
      await until(async () => {
        const response = await request(`${cluster.instances[0]!.url}/health/ready`);
        const report = (await response.body.json()) as { usage_ledger: { state: string } };
        return report.usage_ledger.state === 'not_writable';
      }, 5_000);
    } finally {
      postgres.start();
    }
    await ledgerHoldsEveryRequest(20_000);
    const counted = await ledgerRequests();
    expect(counted.counted).toBe(made.counted);
  }, 60_000);
});
