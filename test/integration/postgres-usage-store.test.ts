/**
 * The usage store in a real PostgreSQL (a throwaway cluster, test/helpers/postgres-server.ts):
 * the same contract as SQLite, then what is PostgreSQL's own: partitions by day dropped whole,
 * migrations run once by instances starting together, instances appending at once, a server
 * that is down at open and comes back.
 */
import pg from 'pg';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openPostgresUsageStore, type PostgresUsageStore } from '../../src/usage/ledger/postgres-usage-store.js';
import { POSTGRES_SCHEMA_VERSION } from '../../src/usage/ledger/postgres-migrations.js';
import { freePort, postgresAvailable, startTestPostgres, type TestPostgres } from '../helpers/postgres-server.js';
import { usageRecord } from '../helpers/usage-records.js';
import { describeUsageStoreContract } from '../helpers/usage-store-contract.js';

const at = (iso: string): number => Date.parse(iso);

async function query<T extends pg.QueryResultRow>(url: string, sql: string): Promise<T[]> {
  const client = new pg.Client({ connectionString: url });
  await client.connect();
  try {
    return (await client.query<T>(sql)).rows;
  } finally {
    await client.end();
  }
}

describe.skipIf(!postgresAvailable())('PostgreSQL usage store', () => {
  let server: TestPostgres;
  beforeAll(async () => {
    server = await startTestPostgres();
  }, 60_000);
  afterAll(() => server?.remove());

  describeUsageStoreContract('PostgreSQL', async () => {
    const store = openPostgresUsageStore(await server.createDatabase());
    await store.ready();
    return store;
  });

  describe('its own', () => {
    const stores: PostgresUsageStore[] = [];
    const open = (url: string, options: Parameters<typeof openPostgresUsageStore>[1] = {}): PostgresUsageStore => {
      const store = openPostgresUsageStore(url, options);
      stores.push(store);
      return store;
    };
    afterAll(async () => {
      for (const store of stores) await store.close();
    });

    it('keeps detail in one table partitioned by UTC day, today and the days ahead made at open; retention DROPs partitions', async () => {
      const url = await server.createDatabase();
      const store = open(url, { now: () => at('2026-05-10T12:00:00Z') });
      await store.ready();
      const partitions = async (): Promise<string[]> => (await query<{ name: string }>(url, "SELECT c.relname AS name FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid WHERE i.inhparent = 'request_detail'::regclass ORDER BY 1")).map((row) => row.name);
      expect(await partitions()).toEqual(['request_detail_20260510', 'request_detail_20260511', 'request_detail_20260512']);
      expect((await query<{ strategy: string }>(url, "SELECT partstrat AS strategy FROM pg_partitioned_table WHERE partrelid = 'request_detail'::regclass"))[0]!.strategy).toBe('r');
      await store.append([usageRecord({ startedAt: at('2026-05-08T23:59:59.999Z') }), usageRecord({ startedAt: at('2026-05-09T00:00:00Z'), keyId: undefined, keyName: undefined, timeToFirstTokenMs: undefined })]);
      expect(await partitions()).toEqual(['request_detail_20260508', 'request_detail_20260509', 'request_detail_20260510', 'request_detail_20260511', 'request_detail_20260512']);
      // Every field of the record, as the SQLite store keeps it.
      const rows = await query(url, "SELECT (extract(epoch FROM started_at) * 1000)::bigint::text AS started_ms, * FROM request_detail_20260508");
      expect(rows).toEqual([expect.objectContaining({
        started_ms: String(at('2026-05-08T23:59:59.999Z')), key_id: 'key-1', key_name: 'laptop', client_address: '127.0.0.1', method: 'POST', route: '/api/chat',
        model_requested: 'gpt-4o', model_served: 'openai/gpt-4o-2024-08-06', backend: 'openrouter', status: '200', outcome: 'completed',
        finish_reason: 'stop', error_code: null, prompt_tokens: '10', completion_tokens: '20', reasoning_tokens: '0', cached_tokens: '0',
        tokens_estimated: '0', cost_usd: 0.001, generation_id: 'gen-1', time_to_first_token_ms: 50, duration_ms: 200,
      })]);
      expect(await query(url, 'SELECT key_id, time_to_first_token_ms FROM request_detail_20260509')).toEqual([{ key_id: null, time_to_first_token_ms: null }]);
      expect(await store.dropDetailBefore('2026-05-10')).toEqual(['2026-05-08', '2026-05-09']);
      expect(await partitions()).toEqual(['request_detail_20260510', 'request_detail_20260511', 'request_detail_20260512']);
      expect((await store.report({ sinceDay: '2026-05-08', untilDay: '2026-05-09', by: [] }))[0]!.requests).toBe(2);
    });

    it('migrations: four instances starting at once apply each one once; a second start changes nothing', async () => {
      const url = await server.createDatabase();
      await Promise.all(Array.from({ length: 4 }, () => open(url).ready()));
      expect(await query(url, 'SELECT version, describe FROM schema_migrations')).toEqual([{ version: 1, describe: expect.stringContaining('partitioned by UTC day') }]);
      await open(url).ready();
      expect((await query(url, 'SELECT count(*)::int AS n FROM schema_migrations'))[0]).toEqual({ n: POSTGRES_SCHEMA_VERSION });
    });

    it('refuses a schema written by a newer version', async () => {
      const url = await server.createDatabase();
      await open(url).ready();
      await query(url, `INSERT INTO schema_migrations (version, describe) VALUES (${POSTGRES_SCHEMA_VERSION + 1}, 'from the future')`);
      const store = open(url);
      await expect(store.ready()).rejects.toThrow(/written by a newer ollama-bridge \(schema 2; this one knows up to 1\)/);
      expect(store.health()).toMatchObject({ writable: false, reason: expect.stringContaining('newer ollama-bridge') });
    });

    it('two instances appending at once, batch after batch, the same keys and days: every record counted once', async () => {
      const url = await server.createDatabase();
      const first = open(url);
      const second = open(url);
      const batch = (instance: number, round: number) => Array.from({ length: 50 }, (_, index) => usageRecord({
        keyId: `key-${index % 5}`, keyName: `name-${index % 5}`, costUsd: 0.25, startedAt: at('2026-05-04T10:00:00Z') + (index % 3) * 86_400_000 + instance + round,
      }));
      for (let round = 0; round < 10; round++) await Promise.all([first.append(batch(1, round)), second.append(batch(2, round))]);
      expect((await first.report({ sinceDay: '2026-05-01', untilDay: '2026-05-31', by: [] }))[0]).toMatchObject({ requests: 1_000, costUsd: 250 });
      expect((await second.report({ sinceDay: '2026-05-01', untilDay: '2026-05-31', by: ['day'] })).map((row) => row.requests)).toEqual([340, 340, 320]);
      expect((await query(url, "SELECT count(*)::int AS n FROM request_detail"))[0]).toEqual({ n: 1_000 });
    });

    it('a partition another instance\'s retention dropped is made again: the batch that failed on it goes through at the next try', async () => {
      const url = await server.createDatabase();
      const writer = open(url);
      const retention = open(url);
      const lateDay = usageRecord({ startedAt: at('2026-05-01T12:00:00Z') });
      await writer.append([lateDay]);
      expect(await retention.dropDetailBefore('2026-05-02')).toEqual(['2026-05-01']);
      // The writer still thinks the day's partition is there: this write fails, the next makes it again.
      await expect(writer.append([lateDay])).rejects.toThrow(/no partition of relation "request_detail" found for row/);
      expect(await writer.append([lateDay])).toEqual([]);
      expect((await writer.report({ sinceDay: '2026-05-01', untilDay: '2026-05-01', by: [] }))[0]!.requests).toBe(2);
    });

    it('a read-only store (the usage report) never migrates, and says when there is no ledger', async () => {
      const url = await server.createDatabase();
      const reader = open(url, { readonly: true });
      await expect(reader.ready()).rejects.toThrow(/holds no usage ledger/);
      expect(await query(url, "SELECT to_regclass('schema_migrations') AS found")).toEqual([{ found: null }]);
      await expect(reader.append([usageRecord()])).rejects.toThrow(/read-only/);
    });

    it('a server that does not answer: the store opens, says why in its health, and writes once the server is there', async () => {
      const port = await freePort();
      const store = open(`postgres://postgres:a-long-password-here@127.0.0.1:${port}/postgres`, { connectTimeoutMs: 1_000 });
      await expect(store.ready()).rejects.toThrow();
      expect(store.health()).toEqual({ writable: false, reason: `PostgreSQL at 127.0.0.1:${port}/postgres: connect ECONNREFUSED 127.0.0.1:${port}` });
      await expect(store.append([usageRecord()])).rejects.toThrow(/ECONNREFUSED/);
      // The same store against a server that answers (a store keeps no state from a failed open).
      const url = await server.createDatabase();
      const working = open(url);
      expect(await working.append([usageRecord()])).toEqual([]);
      expect(working.health()).toEqual({ writable: true });
    });
  });
});
